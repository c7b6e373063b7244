/**
 * Plan-time checks over `terraform show -json PLANFILE`: finds the cdktf-ipvs step resources by
 * the commands their provisioners run, reads the desired state each apply.sh carries, and checks
 * what synth-time checks cannot see, such as escape-hatch overrides that reordered or edited
 * steps. Then runs the host rules on what will really be applied.
 */
import { DesiredHost } from "../model";
import { StepName } from "../plan";
import { readDesiredState, stepOfCommand } from "../render";
import { checkHost } from "./check";
import { Finding } from "./rule";

interface PlanResource {
  address: string;
  depends_on?: string[];
  expressions?: Record<string, { references?: string[] }>;
  provisioners?: { type: string; expressions?: Record<string, { constant_value?: unknown }> }[];
}
interface PlanModule {
  resources?: PlanResource[];
  module_calls?: Record<string, { module?: PlanModule }>;
}

interface StepResource {
  address: string;
  step: StepName;
  dependsOn: string[];
  desired?: DesiredHost;
}

function collectResources(module: PlanModule | undefined, prefix = ""): PlanResource[] {
  if (!module) return [];
  // Terraform orders by depends_on and by references in expressions (our upstream trigger).
  const own = (module.resources ?? []).map((r) => {
    const refs = Object.values(r.expressions ?? {}).flatMap((e) => e.references ?? []);
    const deps = [...(r.depends_on ?? []), ...refs].map((d) => prefix + d);
    return { ...r, address: prefix + r.address, depends_on: [...new Set(deps)] };
  });
  const nested = Object.entries(module.module_calls ?? {}).flatMap(([name, call]) => collectResources(call.module, `${prefix}module.${name}.`));
  return [...own, ...nested];
}

function stepOf(r: PlanResource): StepResource | undefined {
  let step: StepName | undefined;
  let desired: DesiredHost | undefined;
  for (const p of r.provisioners ?? []) {
    const inline = p.expressions?.inline?.constant_value;
    if (p.type === "remote-exec" && Array.isArray(inline)) {
      for (const cmd of inline) if (typeof cmd === "string") step = stepOfCommand(cmd) ?? step;
    }
    const content = p.expressions?.content?.constant_value;
    if (p.type === "file" && typeof content === "string" && !desired) desired = readDesiredState(content);
  }
  return step ? { address: r.address, step, dependsOn: r.depends_on ?? [], desired } : undefined;
}

function finding(ruleId: string, path: string, summary: string, detail: string, fix: string): Finding {
  return { ruleId, level: "error", path, summary, detail, fix };
}

/** Checks a plan in `terraform show -json` form; returns findings, errors first. */
export function checkTerraformPlan(plan: unknown): Finding[] {
  const root = (plan as { configuration?: { root_module?: PlanModule } })?.configuration?.root_module;
  const steps = collectResources(root).map(stepOf).filter((s): s is StepResource => s !== undefined);
  const byAddress = new Map(steps.map((s) => [s.address, s]));
  const findings: Finding[] = [];

  // One host = the chain of step resources linked by depends_on, ending in verify.
  for (const verify of steps.filter((s) => s.step === "verify")) {
    const chain: StepResource[] = [];
    const seen = new Set<string>();
    const walk = (s: StepResource) => {
      if (seen.has(s.address)) return;
      seen.add(s.address);
      chain.push(s);
      for (const d of s.dependsOn) {
        const up = byAddress.get(d);
        if (up) walk(up);
      }
    };
    walk(verify);
    const applySteps = chain.filter((s) => s.step !== "verify");
    const desired = applySteps.find((s) => s.desired)?.desired;
    const path = desired?.path ?? verify.address;

    const aliasesStep = applySteps.find((s) => s.step === "aliases");
    const sysctlsStep = applySteps.find((s) => s.step === "sysctls");
    if (aliasesStep && !sysctlsStep) {
      findings.push(
        finding("IPVS005", path, "The aliases step must run after the sysctls step.", `${aliasesStep.address} does not depend on a sysctls step, so alias rules could reach IPVS before conntrack=1`, "Do not override depends_on of cdktf-ipvs step resources."),
      );
    } else if (aliasesStep && sysctlsStep) {
      const upstreamOfAliases = new Set<string>();
      const up = (s: StepResource) => {
        for (const d of s.dependsOn) if (!upstreamOfAliases.has(d)) {
          upstreamOfAliases.add(d);
          const next = byAddress.get(d);
          if (next) up(next);
        }
      };
      up(aliasesStep);
      if (!upstreamOfAliases.has(sysctlsStep.address)) {
        findings.push(
          finding("IPVS005", path, "The aliases step must run after the sysctls step.", `${aliasesStep.address} does not depend on ${sysctlsStep.address}`, "Do not override depends_on of cdktf-ipvs step resources."),
        );
      }
    }
    const states = new Set(applySteps.filter((s) => s.desired).map((s) => JSON.stringify(s.desired)));
    if (states.size > 1) {
      findings.push(
        finding("IPVS006", path, "All steps of a host must carry the same desired state.", `the steps of ${path} upload apply.sh scripts rendered from ${states.size} different desired states`, "Do not override the provisioners of cdktf-ipvs step resources; change the constructs instead."),
      );
    }
    if (desired) findings.push(...checkHost(desired));
  }
  const order = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => order[a.level] - order[b.level]);
}
