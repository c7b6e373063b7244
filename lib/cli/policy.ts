/**
 * `cdktf-ipvs policy TARGET`: the pairing rules over any stack (a cdk.tf.json, a stack directory,
 * cdktf.out, or a `terraform show -json` plan), hand-written or ours, with reports for CI.
 *
 * Exit 0: nothing at or above --fail-on (default error); 1: findings at or above it; 2: TARGET is
 * not a stack or plan (or cannot be read).
 */
import * as fs from "fs";
import * as path from "path";
import { DesiredHost } from "../model";
import { HOST_RULES, checkHost, checkTerraformPlan } from "../policy";
import { Finding, RuleLevel } from "../policy/rule";
import { ReportFinding, toJunit, toSarif } from "../policy/report";
import { STACK_RULES, StackFinding, checkStack, stackReportFinding } from "../policy/stack";
import { StackModel, buildStackModel, desiredHostKey, hostsOfStackJson, loadStacks } from "../stack";
import { readJsonFile } from "./json";
import { packageVersion } from "./version";

export interface PolicyOptions {
  readonly json?: boolean;
  readonly sarif?: string;
  readonly junit?: string;
  readonly failOn?: RuleLevel;
}

export interface PolicyIo {
  out(text: string): void;
  err(text: string): void;
}

export class PolicyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyInputError";
  }
}

const LEVELS: readonly RuleLevel[] = ["error", "warning", "info"];
const RANK: Record<RuleLevel, number> = { error: 0, warning: 1, info: 2 };

/** The stacks at TARGET, as models; a target that holds none is a PolicyInputError. */
export function loadPolicyTarget(target: string): StackModel[] {
  if (!fs.existsSync(target)) throw new PolicyInputError(`${target} does not exist; give a cdk.tf.json, a stack directory, cdktf.out or a terraform show -json plan`);
  // A malformed file is named with its line and column before loadStacks reads it (it reports
  // JSON.parse's own message, by character offset).
  for (const file of jsonFilesOf(target)) readPolicyJson(file);
  const stacks = loadStacks(target);
  const expected = "give a cdk.tf.json, a stack directory, cdktf.out or a terraform show -json plan";
  if (stacks.length === 0) throw new PolicyInputError(`${target} holds no Terraform JSON stack or plan; ${expected}`);
  for (const stack of stacks) {
    // loadStacks never throws: a target it could not read comes back without files, with the reason.
    if (stack.files.length === 0) throw new PolicyInputError(`${stack.problems.join("; ")}; ${expected}`);
    if (stack.format === "configuration" && !stack.files.some(isTerraformJson)) {
      throw new PolicyInputError(`${stack.files.join(", ")} is not Terraform JSON (none of ${TERRAFORM_KEYS.join(", ")} at the top); ${expected}`);
    }
  }
  return stacks.map(buildStackModel);
}

const readPolicyJson = (file: string): unknown => readJsonFile(file, "policy target", (message) => new PolicyInputError(message));

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The JSON files loadStacks (lib/stack) reads for TARGET, in the same order of preference: the
 * file itself; the stacks of a cdktf.out (or of a project holding one); the *.tf.json of a folder.
 */
function jsonFilesOf(target: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    return [];
  }
  if (stat.isFile()) return [target];
  for (const stacksDir of [path.join(target, "stacks"), path.join(target, "cdktf.out", "stacks")]) {
    const files = listDir(stacksDir)
      .sort()
      .map((n) => path.join(stacksDir, n, "cdk.tf.json"))
      .filter((f) => fs.existsSync(f));
    if (files.length > 0) return files;
  }
  return listDir(target)
    .filter((n) => n.endsWith(".tf.json"))
    .sort()
    .map((n) => path.join(target, n));
}

const TERRAFORM_KEYS = ["resource", "data", "module", "provider", "terraform", "variable", "output", "locals"];

/** A Terraform JSON configuration file has at least one of Terraform's top-level blocks. */
function isTerraformJson(file: string): boolean {
  try {
    const json = readPolicyJson(file);
    return typeof json === "object" && json !== null && !Array.isArray(json) && TERRAFORM_KEYS.some((k) => Object.prototype.hasOwnProperty.call(json, k));
  } catch {
    return false;
  }
}

/** The 1-based line of `"NAME": {` for a resource address in the stack's first file, when found. */
function lineOf(model: StackModel, address: string): { file: string; line?: number } {
  const file = model.stack.files[0] ?? model.stack.name;
  const name = address.split(".").pop() ?? address;
  try {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    const i = lines.findIndex((l) => l.includes(`"${name}"`));
    return { file: path.relative(process.cwd(), file) || file, ...(i >= 0 ? { line: i + 1 } : {}) };
  } catch {
    return { file };
  }
}

export function runPolicy(target: string, options: PolicyOptions, io: PolicyIo): number {
  const failOn = options.failOn ?? "error";
  if (!LEVELS.includes(failOn)) throw new PolicyInputError(`--fail-on ${JSON.stringify(failOn)} is not a level; allowed: ${LEVELS.join(", ")}`);
  const models = loadPolicyTarget(target);
  const all: { finding: StackFinding; report: ReportFinding }[] = [];
  for (const model of models) {
    for (const finding of [...checkStack(model), ...ourHostFindings(model)]) {
      const at = lineOf(model, finding.resource);
      all.push({ finding, report: stackReportFinding(finding, at.file, at.line) });
    }
  }
  const failing = all.filter(({ finding }) => RANK[finding.level] <= RANK[failOn]);
  const counts = LEVELS.map((l) => `${all.filter((x) => x.finding.level === l).length} ${l}`).join(", ");

  if (options.sarif) fs.writeFileSync(options.sarif, `${JSON.stringify(toSarif(all.map((x) => x.report), [...HOST_RULES, ...STACK_RULES], { name: "cdktf-ipvs", version: packageVersion() }), null, 2)}\n`);
  if (options.junit) {
    // A case per stack rule and resource, plus one per finding of the host rules (our hosts).
    const cases = models.flatMap((m) => m.hosts.flatMap((h) => h.resources.flatMap((r) => STACK_RULES.map((rule) => ({ ruleId: rule.id, where: `${h.target.key} ${r}` })))));
    for (const { report } of all) if (!cases.some((c) => c.ruleId === report.ruleId && c.where === report.where)) cases.push({ ruleId: report.ruleId, where: report.where });
    fs.writeFileSync(options.junit, toJunit(all.map((x) => x.report), cases, "cdktf-ipvs policy", failOn));
  }
  if (options.json) {
    io.out(JSON.stringify({ stacks: models.map((m) => m.stack.name), hosts: models.flatMap((m) => m.hosts.map((h) => h.target.key)), findings: all.map((x) => ({ ...x.finding, file: x.report.file, line: x.report.line })) }, null, 2));
  } else {
    for (const { finding: f } of all) {
      (f.level === "error" ? io.err : io.out)(`[${f.level}] ${f.ruleId} ${f.host} ${f.resource}: ${f.detail}\n    ${f.command}\n    ${f.summary} Fix: ${f.fix}`);
    }
    io.out(`${models.length} stack(s), ${models.reduce((n, m) => n + m.hosts.length, 0)} host(s): ${counts}`);
  }
  return failing.length > 0 ? 1 : 0;
}

/**
 * cdktf-ipvs's own hosts in the stack go through the same command: their scripts carry the
 * desired state, so the host rules (IPVS001-008) run on what will really be applied; for a plan,
 * also the plan-time checks (IPVS005-006: step order and one desired state per host).
 */
function ourHostFindings(model: StackModel): StackFinding[] {
  const json = model.stack.files.map(readPolicyJson);
  const asStackFinding = (f: Finding, host: string): StackFinding => ({ ruleId: f.ruleId, level: f.level, host, resource: f.path, command: "", detail: f.detail, summary: f.summary, fix: f.fix });
  if (model.stack.format === "plan") return json.flatMap((plan) => checkTerraformPlan(plan).map((f) => asStackFinding(f, "(plan)")));
  const hosts: DesiredHost[] = json.flatMap((j, i) => hostsOfStackJson(j, model.stack.files[i]));
  return hosts.flatMap((h) => checkHost(h).map((f) => asStackFinding(f, desiredHostKey(h))));
}
