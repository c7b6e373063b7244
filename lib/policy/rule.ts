/**
 * Policy rules in the cdk-nag style: one rule per file, each with an id, a level, why it matters
 * and how to fix it. Rules read the same DesiredHost as everything else, whether it came from
 * constructs (synth time), a spec.json (CLI, CI) or a Terraform plan (plan time).
 */
import { DesiredHost } from "../model";

/**
 * How serious a finding is, most severe first. IpvsPolicyChecks fails synth on "error" and only
 * annotates the others; `cdktf-ipvs policy` exits 1 at or above `--fail-on` (default error).
 */
export type RuleLevel = "error" | "warning" | "info";

/** One place where a rule found something. */
export interface RuleHit {
  /** Where: a construct path or spec path from the model. */
  readonly path: string;
  /** What exactly is wrong here. */
  readonly detail: string;
}

/** A policy rule over one host's desired state (see {@link HOST_RULES}). */
export interface HostRule {
  /** Stable rule id, e.g. `IPVS001`; what suppressions and reports name. */
  readonly id: string;
  /** Level of every finding of this rule. */
  readonly level: RuleLevel;
  /** One sentence: what is wrong. */
  readonly summary: string;
  /** Why it matters on a load balancer. */
  readonly explanation: string;
  /** How to fix it. */
  readonly fix: string;
  /** The places on this host that break the rule; empty when none. */
  check(host: DesiredHost): RuleHit[];
}

/** A rule hit with its rule's id, level, summary and fix (what {@link checkHost} returns). */
export interface Finding extends RuleHit {
  /** Id of the rule that fired, e.g. `IPVS001`. */
  readonly ruleId: string;
  /** The rule's level. */
  readonly level: RuleLevel;
  /** The rule's summary: what is wrong. */
  readonly summary: string;
  /** The rule's fix. */
  readonly fix: string;
}

/** A finding as two lines for a terminal: `[level] ID path: detail`, then the summary and the fix. */
export function formatFinding(f: Finding): string {
  return `[${f.level}] ${f.ruleId} ${f.path}: ${f.detail}\n    ${f.summary} Fix: ${f.fix}`;
}
