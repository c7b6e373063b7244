/**
 * Policy rules in the cdk-nag style: one rule per file, each with an id, a level, why it matters
 * and how to fix it. Rules read the same DesiredHost as everything else, whether it came from
 * constructs (synth time), a spec.json (CLI, CI) or a Terraform plan (plan time).
 */
import { DesiredHost } from "../model";

export type RuleLevel = "error" | "warning" | "info";

export interface RuleHit {
  /** Where: a construct path or spec path from the model. */
  readonly path: string;
  /** What exactly is wrong here. */
  readonly detail: string;
}

export interface HostRule {
  readonly id: string;
  readonly level: RuleLevel;
  readonly summary: string;
  readonly explanation: string;
  readonly fix: string;
  check(host: DesiredHost): RuleHit[];
}

export interface Finding extends RuleHit {
  readonly ruleId: string;
  readonly level: RuleLevel;
  readonly summary: string;
  readonly fix: string;
}

export function formatFinding(f: Finding): string {
  return `[${f.level}] ${f.ruleId} ${f.path}: ${f.detail}\n    ${f.summary} Fix: ${f.fix}`;
}
