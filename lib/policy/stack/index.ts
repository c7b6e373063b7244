/**
 * The pairing enforced on any stack: rules over lib/stack's per-host command model, so stacks
 * written by hand (null_resource / terraform_data with remote-exec) are checked like ours.
 */
import { StackModel } from "../../stack";
import { stackAliasNeedsConntrack } from "./alias-needs-conntrack";
import { stackAliasNeedsMasquerade } from "./alias-needs-masquerade";
import { stackConntrackBeforeAlias } from "./conntrack-before-alias";
import { stackConntrackSurvivesReboot } from "./conntrack-survives-reboot";
import { hostFacts } from "./facts";
import { stackHostKeyUnchecked } from "./host-key-unchecked";
import { stackIpvsadmClear } from "./ipvsadm-clear";
import { stackKeyTextInline } from "./key-text-inline";
import { stackRedirectOtherAddress } from "./redirect-other-address";
import { ReportFinding } from "../report";
import { StackFinding, StackRule } from "./rule";

export * from "./facts";
export * from "./rule";
export {
  stackAliasNeedsConntrack,
  stackAliasNeedsMasquerade,
  stackConntrackBeforeAlias,
  stackConntrackSurvivesReboot,
  stackHostKeyUnchecked,
  stackIpvsadmClear,
  stackKeyTextInline,
  stackRedirectOtherAddress,
};

export const STACK_RULES: readonly StackRule[] = [
  stackAliasNeedsConntrack,
  stackConntrackBeforeAlias,
  stackConntrackSurvivesReboot,
  stackAliasNeedsMasquerade,
  stackIpvsadmClear,
  stackRedirectOtherAddress,
  stackKeyTextInline,
  stackHostKeyUnchecked,
];

/** Runs every stack rule on every host of the model; errors first. A rule that throws becomes a finding (cdk-nag style), never an abort. */
export function checkStack(stack: StackModel, rules: readonly StackRule[] = STACK_RULES): StackFinding[] {
  const findings: StackFinding[] = [];
  for (const host of stack.hosts) {
    const facts = hostFacts(host);
    for (const rule of rules) {
      const base = { ruleId: rule.id, level: rule.level, host: host.target.key, summary: rule.summary, fix: rule.fix };
      try {
        for (const hit of rule.check(host, facts, stack)) findings.push({ ...base, ...hit });
      } catch (e) {
        findings.push({ ...base, level: "error", resource: "(rule)", command: "", detail: `rule ${rule.id} failed: ${(e as Error).message}` });
      }
    }
  }
  const order = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => order[a.level] - order[b.level]);
}

/** A stack finding in the reporters' shape (SARIF, JUnit): where = host and resource. */
export function stackReportFinding(f: StackFinding, file: string, line?: number): ReportFinding {
  return { ruleId: f.ruleId, level: f.level, where: `${f.host} ${f.resource}`, command: f.command, detail: f.detail, file, ...(line ? { line } : {}) };
}
