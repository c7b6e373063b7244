/**
 * The pairing enforced at synth on every stack of a cdktf app, whoever wrote its resources:
 *
 *   IpvsPolicyChecks.applyTo(app);            // every stack of the app, or
 *   Aspects.of(stack).add(new IpvsPolicyChecks());
 *
 * (cdktf 0.21 invokes aspects from each stack down, so an aspect added to the App itself never
 * runs; applyTo adds one to every stack.)
 *
 * runs the stack rules (lib/policy/stack) over each stack's synthesized JSON, so a hand-written
 * null_resource / terraform_data with `ipvsadm` and `iptables` lines is checked like ours.
 * Errors fail synth, warnings annotate; a finding can be suppressed on the resource, cdk-nag
 * style, with a reason that every report lists.
 */
import { Annotations, Aspects, TerraformElement, TerraformStack } from "./cdk";
import { IConstruct } from "constructs";
import { StackFinding, checkStack } from "../policy/stack";
import { buildStackModel, readTerraformConfiguration } from "../stack";

const SUPPRESSIONS = "cdktf-ipvs:suppressions";
const MIN_REASON = 10;

/** An accepted finding, recorded on a construct by {@link IpvsPolicy}.suppress. */
export interface IpvsSuppression {
  /** The rule whose findings are accepted, e.g. `IPVS101`. */
  readonly ruleId: string;
  /** Why, trimmed; at least 10 characters. Reports list it. */
  readonly reason: string;
}

/** Suppressions of stack-rule findings, cdk-nag style: on a resource or on every resource below a construct. */
export const IpvsPolicy = {
  /**
   * Accepts findings of `ruleId` on this resource (or on every resource below this construct),
   * with a reason of at least 10 characters that reports list.
   */
  suppress(scope: IConstruct, ruleId: string, reason: string): void {
    if (typeof reason !== "string" || reason.trim().length < MIN_REASON) {
      throw new Error(`${scope.node.path}: suppressing ${ruleId} needs a reason of at least ${MIN_REASON} characters (got ${JSON.stringify(reason)})`);
    }
    scope.node.addMetadata(SUPPRESSIONS, { ruleId, reason: reason.trim() });
  },

  /** Suppressions in force on a construct: its own and its ancestors'. */
  suppressionsOf(scope: IConstruct): IpvsSuppression[] {
    return scope.node.scopes.flatMap((s) => s.node.metadata.filter((m) => m.type === SUPPRESSIONS).map((m) => m.data as IpvsSuppression));
  },
};

/** What IpvsPolicyChecks found in one stack, suppressed findings included (with their reason). */
export interface IpvsPolicyReport {
  /** Construct path of the stack. */
  readonly stack: string;
  /** Every finding of the stack rules in this stack, suppressed ones included. */
  readonly findings: readonly (StackFinding & {
    /** The suppression's reason when the finding is suppressed; absent otherwise. */
    readonly suppressed?: string;
  })[];
}

/** Runs the IPVS pairing rules over every stack it visits (add it to the app or a stack). */
export class IpvsPolicyChecks {
  /** Reports of the stacks checked so far, for tests and tools. */
  readonly reports: IpvsPolicyReport[] = [];
  private readonly done = new Set<TerraformStack>();

  /** Adds one IpvsPolicyChecks to every stack under `scope` (call it after the stacks exist); returns it. */
  static applyTo(scope: IConstruct): IpvsPolicyChecks {
    const checks = new IpvsPolicyChecks();
    for (const c of scope.node.findAll()) if (TerraformStack.isStack(c)) Aspects.of(c).add(checks);
    return checks;
  }

  /**
   * Checks `node` when it is a stack not checked before: errors are added as error annotations
   * (synth fails), warnings and infos as annotations, suppressed findings as infos with their reason.
   */
  visit(node: IConstruct): void {
    if (!TerraformStack.isStack(node) || this.done.has(node)) return;
    this.done.add(node);
    const json = node.toTerraform();
    const findings = checkStack(buildStackModel(readTerraformConfiguration(json, { name: node.node.id })));
    const byAddress = resourcesByAddress(node);
    const reported: (StackFinding & { suppressed?: string })[] = [];
    for (const f of findings) {
      const target = byAddress.get(f.resource) ?? node;
      const suppression = IpvsPolicy.suppressionsOf(target).find((s) => s.ruleId === f.ruleId);
      if (suppression) {
        reported.push({ ...f, suppressed: suppression.reason });
        Annotations.of(target).addInfo(`${f.ruleId} suppressed (${suppression.reason}): ${f.detail}`);
        continue;
      }
      reported.push(f);
      const text = `${f.ruleId} ${f.host} ${f.resource}: ${f.detail} [${f.command}]. ${f.summary} Fix: ${f.fix}`;
      if (f.level === "error") Annotations.of(target).addError(text);
      else if (f.level === "warning") Annotations.of(target).addWarning(text);
      else Annotations.of(target).addInfo(text);
    }
    this.reports.push({ stack: node.node.path, findings: reported });
  }
}

/** Terraform address (`null_resource.lb_1A2B3C`) → the construct that synthesizes it. */
function resourcesByAddress(stack: TerraformStack): Map<string, IConstruct> {
  const out = new Map<string, IConstruct>();
  for (const c of stack.node.findAll()) {
    if (!(c instanceof TerraformElement)) continue;
    const type = (c as unknown as { terraformResourceType?: string }).terraformResourceType;
    if (type) out.set(`${type}.${stack.getLogicalId(c)}`, c);
  }
  return out;
}
