/**
 * Policy rules over any stack's per-host command model (lib/stack), cdk-nag style: one rule per
 * file, each with an id, a level, why it matters and how to fix it. Hand-written provisioners and
 * cdktf-ipvs's own steps are read the same way.
 */
import { HostModel, StackModel } from "../../stack";
import { RuleLevel } from "../rule";
import { HostFacts } from "./facts";

/** One command of a stack where a stack rule found something. */
export interface StackRuleHit {
  /** Resource address of the offending command, `null_resource.lb`. */
  readonly resource: string;
  /** The command as written. */
  readonly command: string;
  /** What exactly is wrong here. */
  readonly detail: string;
}

export interface StackRule {
  readonly id: string;
  readonly level: RuleLevel;
  readonly summary: string;
  readonly explanation: string;
  readonly fix: string;
  check(host: HostModel, facts: HostFacts, stack: StackModel): StackRuleHit[];
}

/** A stack rule hit with its rule's id, level, summary and fix, and the host it targets. */
export interface StackFinding extends StackRuleHit {
  /** Id of the stack rule that fired, e.g. `IPVS101`. */
  readonly ruleId: string;
  /** The rule's level. */
  readonly level: RuleLevel;
  /** The target host, `172.16.1.8:22`. */
  readonly host: string;
  /** The rule's summary: what is wrong. */
  readonly summary: string;
  /** The rule's fix. */
  readonly fix: string;
}
