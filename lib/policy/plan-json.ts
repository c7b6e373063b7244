/**
 * Plan-time checks over `terraform show -json PLANFILE`: finds the cdktf-ipvs step resources by
 * the commands their provisioners run, reads the desired state the uploaded apply.sh carries, and
 * checks what synth-time checks cannot see, such as escape-hatch overrides that reordered steps,
 * edited the uploaded scripts or made a step run another script than the one uploaded. Then runs
 * the host rules on what will really be applied.
 */
import { DesiredHost } from "../model";
import { STEP_NAMES, StepName, sha256 } from "../plan";
import { BUNDLE_DESTINATIONS, ProvisioningStep, SCRIPT_NAMES, SCRIPT_PATHS, ScriptName, readBundle, readDesiredState, readStepCommand } from "../render";
import { checkHost } from "./check";
import { Finding } from "./rule";

/** The input is not a `terraform show -json PLANFILE` plan, or a part of it has the wrong type. */
export class PlanFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanFormatError";
  }
}

const HOW_TO_PLAN = "produce one with: terraform plan -out=plan.bin && terraform show -json plan.bin > plan.json";

interface PlanResource {
  address: string;
  depends_on: string[];
  provisioners: { type: string; inline?: string[]; content?: string; destination?: string }[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const kind = (v: unknown) => (v === undefined ? "missing" : v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`);

function bad(at: string, want: string, got: unknown): PlanFormatError {
  return new PlanFormatError(`plan: ${at} is ${kind(got)}, expected ${want}; is this the unedited output of terraform show -json?`);
}

function optObject(v: unknown, at: string): Json | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) throw bad(at, "an object", v);
  return v;
}

function optArray(v: unknown, at: string): unknown[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw bad(at, "an array", v);
  return v;
}

function strings(v: unknown, at: string): string[] {
  const list = optArray(v, at) ?? [];
  list.forEach((s, i) => {
    if (typeof s !== "string") throw bad(`${at}[${i}]`, "a string", s);
  });
  return list as string[];
}

/**
 * Refuses anything that is not a `terraform show -json PLANFILE` plan: a spec, `{}`, a state
 * (`terraform show -json` without a plan file prints "values" instead of "planned_values"), a
 * plan of another format version.
 */
export function assertTerraformPlan(plan: unknown): void {
  if (!isObject(plan)) throw new PlanFormatError(`plan: expected the JSON object terraform show -json prints for a plan, got ${kind(plan)}; ${HOW_TO_PLAN}`);
  if ("hosts" in plan && !("format_version" in plan)) {
    throw new PlanFormatError(`plan: this is a cdktf-ipvs spec, not a Terraform plan; check a spec with: cdktf-ipvs check --spec FILE; for check-plan, ${HOW_TO_PLAN}`);
  }
  if (isObject(plan.values) && !("planned_values" in plan)) {
    throw new PlanFormatError(`plan: this is a Terraform state (terraform show -json without a plan file prints "values"), not a plan; ${HOW_TO_PLAN}`);
  }
  const missing = ["format_version", "terraform_version", "planned_values", "configuration"].filter((k) => !(k in plan));
  if (missing.length > 0) {
    throw new PlanFormatError(`plan: not a terraform show -json plan: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing; ${HOW_TO_PLAN}`);
  }
  if (typeof plan.format_version !== "string") throw bad("format_version", "a string", plan.format_version);
  if (!/^1\.\d+$/.test(plan.format_version)) {
    throw new PlanFormatError(`plan: format_version ${JSON.stringify(plan.format_version)} is not supported; expected 1.x (Terraform 1.x)`);
  }
  if (typeof plan.terraform_version !== "string") throw bad("terraform_version", "a string", plan.terraform_version);
  if (!isObject(plan.planned_values)) throw bad("planned_values", "an object", plan.planned_values);
  optArray(plan.resource_changes, "resource_changes");
  if (!isObject(plan.configuration)) throw bad("configuration", "an object", plan.configuration);
  if (!isObject(plan.configuration.root_module)) throw bad("configuration.root_module", "an object", plan.configuration.root_module);
}

function readResource(value: unknown, at: string, prefix: string): PlanResource {
  if (!isObject(value)) throw bad(at, "an object", value);
  if (typeof value.address !== "string") throw bad(`${at}.address`, "a string", value.address);
  // Terraform orders by depends_on and by references in expressions (our upstream trigger).
  const deps = strings(value.depends_on, `${at}.depends_on`);
  for (const [name, e] of Object.entries(optObject(value.expressions, `${at}.expressions`) ?? {})) {
    if (Array.isArray(e)) continue; // a nested block: its own expressions, not references of this resource
    if (!isObject(e)) throw bad(`${at}.expressions.${name}`, "an object or an array", e);
    deps.push(...strings(e.references, `${at}.expressions.${name}.references`));
  }
  const provisioners = (optArray(value.provisioners, `${at}.provisioners`) ?? []).map((p, i) => {
    const pat = `${at}.provisioners[${i}]`;
    if (!isObject(p)) throw bad(pat, "an object", p);
    if (typeof p.type !== "string") throw bad(`${pat}.type`, "a string", p.type);
    const expressions = optObject(p.expressions, `${pat}.expressions`) ?? {};
    const out: PlanResource["provisioners"][number] = { type: p.type };
    if (p.type === "remote-exec") {
      const inline = optObject(expressions.inline, `${pat}.expressions.inline`);
      if (inline && inline.constant_value !== undefined) out.inline = strings(inline.constant_value, `${pat}.expressions.inline.constant_value`);
    }
    if (p.type === "file") {
      const content = optObject(expressions.content, `${pat}.expressions.content`);
      if (content && content.constant_value !== undefined) {
        if (typeof content.constant_value !== "string") throw bad(`${pat}.expressions.content.constant_value`, "a string", content.constant_value);
        out.content = content.constant_value;
      }
      const destination = optObject(expressions.destination, `${pat}.expressions.destination`);
      if (destination && typeof destination.constant_value === "string") out.destination = destination.constant_value;
    }
    return out;
  });
  return { address: prefix + value.address, depends_on: [...new Set(deps.map((d) => prefix + d))], provisioners };
}

function collectResources(module: unknown, at: string, prefix = ""): PlanResource[] {
  const m = optObject(module, at);
  if (!m) return [];
  const own = (optArray(m.resources, `${at}.resources`) ?? []).map((r, i) => readResource(r, `${at}.resources[${i}]`, prefix));
  const nested = Object.entries(optObject(m.module_calls, `${at}.module_calls`) ?? {}).flatMap(([name, call]) => {
    const cat = `${at}.module_calls.${name}`;
    if (!isObject(call)) throw bad(cat, "an object", call);
    return collectResources(call.module, `${cat}.module`, `${prefix}module.${name}.`);
  });
  return [...own, ...nested];
}

interface StepResource {
  address: string;
  step: ProvisioningStep;
  dependsOn: string[];
  desired?: DesiredHost;
  /** sha256 of the scripts the step's commands check on the host before running them. */
  checks: Partial<Record<ScriptName, string>>;
  /** sha256 of the scripts its file provisioners upload, by script name (when constant). */
  uploads: Partial<Record<ScriptName, string>>;
}

/** An upload of our scripts' bundle (become "sudo" uploads it elsewhere first). */
const isBundle = (destination: string | undefined) => destination !== undefined && BUNDLE_DESTINATIONS.includes(destination);

function stepOf(r: PlanResource): StepResource | undefined {
  let step: ProvisioningStep | undefined;
  let desired: DesiredHost | undefined;
  const checks: Partial<Record<ScriptName, string>> = {};
  const uploads: Partial<Record<ScriptName, string>> = {};
  for (const p of r.provisioners) {
    for (const cmd of p.inline ?? []) {
      const recognized = readStepCommand(cmd);
      if (recognized) {
        step = recognized.step;
        Object.assign(checks, recognized.checks);
      }
    }
    if (p.content !== undefined) {
      // This release uploads one bundle of the three scripts; earlier ones uploaded each script.
      let scripts: Partial<Record<ScriptName, string>>;
      try {
        scripts = isBundle(p.destination) ? readBundle(p.content) : { [SCRIPT_NAMES.find((n) => SCRIPT_PATHS[n] === p.destination) ?? "apply.sh"]: p.content };
      } catch (e) {
        throw new PlanFormatError(`plan: ${r.address}: the file provisioner's upload cannot be checked: ${(e as Error).message}`);
      }
      for (const [name, text] of Object.entries(scripts) as [ScriptName, string][]) {
        if (SCRIPT_PATHS[name] === p.destination || isBundle(p.destination)) uploads[name] = sha256(text);
        if (name !== "apply.sh" || desired) continue;
        try {
          desired = readDesiredState(text);
        } catch (e) {
          throw new PlanFormatError(`plan: ${r.address}: the file provisioner's script cannot be checked: ${(e as Error).message}`);
        }
      }
    }
  }
  return step ? { address: r.address, step, dependsOn: r.depends_on, desired, checks, uploads } : undefined;
}

function finding(ruleId: string, path: string, summary: string, detail: string, fix: string): Finding {
  return { ruleId, level: "error", path, summary, detail, fix };
}

/**
 * Checks a plan in `terraform show -json PLANFILE` form; returns findings, errors first. Throws
 * PlanFormatError for anything else (see assertTerraformPlan), for parts of the plan with the
 * wrong type, and for a step whose desired-state marker line is malformed (naming its address):
 * such a plan cannot be checked, which is not the same as passing.
 */
export function checkTerraformPlan(plan: unknown): Finding[] {
  assertTerraformPlan(plan);
  const root = (plan as { configuration: { root_module: unknown } }).configuration.root_module;
  const steps = collectResources(root, "configuration.root_module").map(stepOf).filter((s): s is StepResource => s !== undefined);
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
    // The upload step (and, in plans of earlier releases, every step) uploads apply.sh.
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
    // Each step runs the script the upload step uploads, checked by hash on the host: a step that
    // checks for another hash would stop the deploy there (or run a script of another plan).
    for (const upload of chain.filter((s) => s.step === "upload")) {
      const mismatches = new Map<string, { name: ScriptName; want: string; uploaded: string; steps: string[] }>();
      // In apply order, so the message reads like the plan.
      const ordered = [...chain].sort((a, b) => STEP_NAMES.indexOf(a.step as StepName) - STEP_NAMES.indexOf(b.step as StepName));
      for (const s of ordered) {
        for (const [name, want] of Object.entries(s.checks) as [ScriptName, string][]) {
          const uploaded = upload.uploads[name];
          if (s === upload || uploaded === undefined || uploaded === want) continue;
          const key = `${name} ${want}`;
          const m = mismatches.get(key) ?? { name, want, uploaded, steps: [] };
          m.steps.push(s.address);
          mismatches.set(key, m);
        }
      }
      for (const m of mismatches.values()) {
        findings.push(
          finding(
            "IPVS006",
            path,
            "All steps of a host must carry the same desired state.",
            `${m.steps.join(", ")} ${m.steps.length === 1 ? "runs" : "run"} ${m.name} with sha256 ${m.want.slice(0, 12)}…, but ${upload.address} uploads one with sha256 ${m.uploaded.slice(0, 12)}…`,
            "Do not override the provisioners of cdktf-ipvs step resources; change the constructs instead.",
          ),
        );
      }
    }
    if (desired) findings.push(...checkHost(desired));
  }
  const order = { error: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => order[a.level] - order[b.level]);
}
