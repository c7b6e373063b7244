/**
 * cdktf-ipvs command line: the same model, plan and render as the constructs, driven by a JSON
 * spec (schema/spec.schema.json), for CI checks and for hosts managed without Terraform.
 *
 *   cdktf-ipvs plan   --spec spec.json              print the ordered steps per host
 *   cdktf-ipvs render --spec spec.json --out DIR    write DIR/<host>/{apply,verify,destroy}.sh, manifest.json
 *   cdktf-ipvs check  --spec spec.json [--strict]       policy rules over the spec
 *   cdktf-ipvs check-plan --plan plan.json [--strict]   plan-time checks over `terraform show -json`
 *   cdktf-ipvs drift --spec spec.json --host NAME --ssh [user@]host[:port] [--identity KEY] [--no-host-key-check]
 *                                                   run verify.sh on the live host; exit 1 on drift
 *   cdktf-ipvs preview (--spec spec.json | --stack cdktf.out/stacks/NAME) --host NAME --ssh [user@]host[:port]
 *                      [--identity KEY] [--no-host-key-check] [--json]
 *                                                   run apply.sh --dry-run on the live host; exit 3 when
 *                                                   changes are pending
 *   cdktf-ipvs drift --stack cdktf.out/stacks/NAME [--fix] [--json] [--junit FILE]
 *                                                   every host of a synthesized stack; --fix applies
 *   cdktf-ipvs policy TARGET [--json] [--sarif FILE] [--junit FILE] [--fail-on LEVEL]
 *                                                   the pairing rules over any stack or plan
 */
import * as fs from "fs";
import { DesiredHost, IpvsModelError, IpvsSpec, buildDesiredSpec, formatIssue } from "../model";
import { formatPlan, planHost } from "../plan";
import { DriftCheckError, HostRunner, PreviewCheckError, PreviewReport, SshRunner, SshTarget, checkDrift, fixDrift, parseSshTarget, previewHost } from "../drift";
import { Finding, PlanFormatError, checkHost, checkTerraformPlan, formatFinding } from "../policy";
import { xmlText } from "../policy/report";
import { RuleLevel } from "../policy/rule";
import { PolicyInputError, runPolicy } from "./policy";
import { renderHost } from "../render";
import { Io, safeIo } from "./output";
import { RenderOutError, writeHostFolders } from "./render-out";
import { StackReadError, readStackHosts } from "./stack";

export { Io, escapeControls, safeIo } from "./output";
export { StackReadError, hostsOfStackJson, readStackHosts, unescapeTerraformTemplate } from "./stack";
export { HostFiles, MANIFEST_FILE, RenderOutError, RenderOutFs, RenderOutResult, inspectHostFolder, writeHostFolders } from "./render-out";

const USAGE = `usage:
  cdktf-ipvs plan   --spec SPEC.json
  cdktf-ipvs render --spec SPEC.json --out DIR
  cdktf-ipvs check  --spec SPEC.json [--strict]
  cdktf-ipvs check-plan --plan PLAN.json [--strict]   (PLAN.json from: terraform show -json PLANFILE)
  cdktf-ipvs drift --spec SPEC.json --host NAME --ssh [user@]host[:port] [--identity KEY] [--no-host-key-check]
  cdktf-ipvs preview (--spec SPEC.json | --stack cdktf.out/stacks/STACK) --host NAME --ssh [user@]host[:port]
                     [--identity KEY] [--no-host-key-check] [--json]
  cdktf-ipvs drift --stack cdktf.out/stacks/STACK [--host NAME] [--ssh [user@]host[:port] | --user USER]
                   [--identity KEY] [--no-host-key-check] [--fix] [--json] [--junit FILE]
                   (every host of the stack, each at the SSH endpoint its connection names, unless --ssh)
  cdktf-ipvs policy TARGET [--json] [--sarif FILE] [--junit FILE] [--fail-on error|warning|info]
                   (TARGET: a cdk.tf.json, a stack dir, cdktf.out, or terraform show -json of a plan)`;

/** A usage, input or IO problem: printed as is, exit 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Options that take no value. */
const FLAGS = ["strict", "no-host-key-check", "json", "help", "fix"];

/** The options each command takes; the first list is required; `positional` names the one plain argument it takes. */
const COMMANDS: Record<string, { required: string[]; optional: string[]; positional?: string }> = {
  plan: { required: ["spec"], optional: [] },
  render: { required: ["spec", "out"], optional: [] },
  check: { required: ["spec"], optional: ["strict"] },
  "check-plan": { required: ["plan"], optional: ["strict"] },
  drift: { required: [], optional: ["spec", "stack", "ssh", "user", "host", "identity", "no-host-key-check", "fix", "json", "junit"] },
  policy: { required: [], optional: ["json", "sarif", "junit", "fail-on"], positional: "target" },
  preview: { required: ["ssh"], optional: ["spec", "stack", "host", "identity", "no-host-key-check", "json"] },
};

/** Parses argv; every problem with it is reported at once, then the usage. */
function parseArgs(argv: string[]): { command: string; options: Record<string, string> } {
  const [command = "", ...rest] = argv;
  const options: Record<string, string> = {};
  const problems: string[] = [];
  const known = COMMANDS[command];
  if (!known) {
    if (["help", "--help", "-h"].includes(command)) return { command: "help", options };
    if (command === "") throw new CliError(`a command is required\n${USAGE}`);
    throw new CliError(`unknown command "${command}"\n${USAGE}`);
  }
  if (rest.includes("--help") || rest.includes("-h")) return { command: "help", options };
  const allowed = [...known.required, ...known.optional];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith("--")) {
      if (known.positional && !(known.positional in options)) options[known.positional] = arg;
      else problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const name = arg.slice(2);
    if (!allowed.includes(name)) {
      problems.push(`unknown option "${arg}" for ${command}; it takes ${allowed.map((o) => `--${o}`).join(", ")}`);
      if (!FLAGS.includes(name) && rest[i + 1] !== undefined && !rest[i + 1].startsWith("--")) i++;
      continue;
    }
    if (name in options) problems.push(`${arg} is given more than once`);
    if (FLAGS.includes(name)) {
      options[name] = "yes";
      continue;
    }
    const value = rest[i + 1];
    if (value === undefined || value.startsWith("--")) {
      problems.push(`${arg} needs a value`);
      continue;
    }
    options[name] = value;
    i++;
  }
  for (const name of known.required) if (!(name in options) && !problems.some((p) => p.startsWith(`--${name} `))) problems.push(`--${name} is required`);
  if (known.positional && !(known.positional in options)) problems.push(`${known.positional.toUpperCase()} is required`);
  if (problems.length > 0) throw new CliError(`${problems.join("\n")}\n${USAGE}`);
  return { command, options };
}

function readJson(what: string, file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function loadSpec(file: string, adjust?: (spec: unknown) => unknown): DesiredHost[] {
  const spec = readJson("spec", file);
  return buildDesiredSpec((adjust ? adjust(spec) : spec) as IpvsSpec);
}

/** Prints findings; exit 1 on errors (or on warnings with --strict). */
function report(findings: Finding[], strict: boolean, io: Io): number {
  for (const f of findings) (f.level === "error" ? io.err : io.out)(formatFinding(f));
  const errors = findings.filter((f) => f.level === "error").length;
  const warnings = findings.filter((f) => f.level === "warning").length;
  io.out(`${errors} error(s), ${warnings} warning(s), ${findings.length - errors - warnings} info`);
  return errors > 0 || (strict && warnings > 0) ? 1 : 0;
}

function writeRendered(hosts: DesiredHost[], outDir: string, io: Io): void {
  // Render everything first: a failure must leave nothing half-written.
  const rendered = hosts.map((h) => renderHost(planHost(h)));
  const result = writeHostFolders(
    rendered.map((r) => ({
      host: r.manifest.host,
      planHash: r.manifest.planHash,
      files: { ...r.scripts, "manifest.json": `${JSON.stringify(r.manifest, null, 2)}\n` },
    })),
    outDir,
  );
  rendered.forEach((r, i) => io.out(`wrote ${result.written[i]}/apply.sh, verify.sh, destroy.sh, manifest.json (plan ${r.manifest.planHash.slice(0, 12)})`));
  for (const dir of result.removed) io.out(`removed ${dir}: its host is no longer in the spec`);
}

export interface CliDeps {
  /** How `drift` reaches a host; tests pass a fake. */
  readonly runner: (target: SshTarget) => HostRunner;
}

const DEFAULT_DEPS: CliDeps = { runner: (target) => new SshRunner(target) };
const CONSOLE_IO: Io = { out: (t) => console.log(t), err: (t) => console.error(t) };

/**
 * The spec as given, with the --ssh endpoint as `ssh` of the host drift checks when that host
 * declares none, so the model refuses a service or alias on the port SSH itself arrives on.
 */
function withSshEndpoint(spec: unknown, hostName: string | undefined, target: SshTarget): unknown {
  const hosts = (spec as { hosts?: unknown })?.hosts;
  if (!Array.isArray(hosts)) return spec;
  const named = hosts.filter((h) => typeof h === "object" && h !== null && (hostName === undefined ? hosts.length === 1 : (h as { name?: unknown }).name === hostName));
  if (named.length !== 1) return spec;
  const host = named[0] as Record<string, unknown>;
  if (host.ssh !== undefined) return spec;
  return { ...(spec as object), hosts: hosts.map((h) => (h === host ? { ...host, ssh: { host: target.host, port: target.port ?? 22 } } : h)) };
}

/** An invalid spec in `drift`, when the --ssh endpoint was given to the model as the host's ssh. */
class SpecWithSshError extends Error {
  constructor(
    readonly model: IpvsModelError,
    readonly note: string,
  ) {
    super(model.message);
  }
}

function sshTargetOf(options: Record<string, string>): SshTarget {
  try {
    return parseSshTarget(options.ssh);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** The host --host names (or the only one) from a spec, with the --ssh endpoint checked by the model. */
function hostFromSpec(options: Record<string, string>, target: SshTarget): DesiredHost {
  let injected: string | undefined;
  let hosts: DesiredHost[];
  try {
    hosts = loadSpec(options.spec, (spec) => {
      const adjusted = withSshEndpoint(spec, options.host, target);
      if (adjusted !== spec) injected = `${options.ssh} (--ssh)`;
      return adjusted;
    });
  } catch (e) {
    if (e instanceof IpvsModelError && injected) throw new SpecWithSshError(e, `the host checked has no "ssh" in the spec, so the model checked it with ssh ${injected}`);
    throw e;
  }
  return pickHost(hosts, options.host, "spec");
}

function pickHost(hosts: DesiredHost[], name: string | undefined, from: string): DesiredHost {
  const host = name === undefined ? (hosts.length === 1 ? hosts[0] : undefined) : hosts.find((h) => h.name === name);
  if (!host) {
    const which = name === undefined ? `--host is required: the ${from} has several hosts` : `--host "${name}" is not a host of the ${from}`;
    throw new CliError(`${which}; its hosts: ${hosts.map((h) => h.name).join(", ")}`);
  }
  return host;
}

function runnerFor(options: Record<string, string>, target: SshTarget, deps: CliDeps): HostRunner {
  return deps.runner({ ...target, identityFile: options.identity, noHostKeyCheck: options["no-host-key-check"] === "yes" });
}

/** A host to check, and where to reach it. */
interface DriftTarget {
  readonly host: DesiredHost;
  readonly target: SshTarget;
}

/**
 * From a spec: the host --host names, at --ssh. From a stack: every host (or the one --host
 * names), each at the SSH endpoint its connection names (as root, or --user), or at --ssh.
 */
function driftTargets(options: Record<string, string>): DriftTarget[] {
  if ((options.spec === undefined) === (options.stack === undefined)) throw new CliError(`drift needs exactly one of --spec SPEC.json or --stack cdktf.out/stacks/STACK\n${USAGE}`);
  if (options.ssh !== undefined && options.user !== undefined) throw new CliError("--user goes with the endpoints the stack names; with --ssh, give user@host[:port]");
  if (options.spec !== undefined) {
    if (options.ssh === undefined) throw new CliError(`--ssh is required with --spec\n${USAGE}`);
    const target = sshTargetOf(options);
    // The lockout guard checks the host with the --ssh endpoint; the scripts are rendered from the
    // spec as written (as `render` and `preview` render them), so an installed apply.sh compares equal.
    hostFromSpec(options, target);
    return [{ host: pickHost(loadSpec(options.spec), options.host, "spec"), target }];
  }
  const hosts = readStackHosts(options.stack);
  if (options.ssh !== undefined) return [{ host: pickHost(hosts, options.host, "stack"), target: sshTargetOf(options) }];
  const chosen = options.host !== undefined ? [pickHost(hosts, options.host, "stack")] : hosts;
  return chosen.map((host) => {
    if (host.ssh === undefined || host.ssh.host === undefined) {
      throw new CliError(`host "${host.name}": the stack does not name its SSH endpoint (the connection host is a Terraform reference); give --host ${host.name} --ssh user@host[:port]`);
    }
    return { host, target: { host: host.ssh.host, port: host.ssh.port, user: options.user ?? "root" } };
  });
}

type DriftStatus = "in-sync" | "fixed" | "drift" | "could-not-check";

interface DriftResult {
  readonly host: string;
  readonly endpoint: string;
  readonly status: DriftStatus;
  /** Differences still there (drift), or none. */
  readonly differences: readonly string[];
  /** With --fix: the differences the apply put right. */
  readonly fixed: readonly string[];
  readonly error?: string;
}

function driftOne({ host, target }: DriftTarget, options: Record<string, string>, deps: CliDeps): DriftResult {
  const endpoint = `${target.user ?? "root"}@${target.host.includes(":") ? `[${target.host}]` : target.host}:${target.port ?? 22}`;
  const runner = runnerFor(options, target, deps);
  try {
    if (options.fix === "yes") {
      const fix = fixDrift(host, runner);
      const status: DriftStatus = fix.after.inSync ? (fix.before.inSync ? "in-sync" : "fixed") : "drift";
      return { host: host.name, endpoint, status, differences: fix.after.differences, fixed: fix.before.inSync ? [] : fix.before.differences };
    }
    const r = checkDrift(host, runner);
    return { host: host.name, endpoint, status: r.inSync ? "in-sync" : "drift", differences: r.differences, fixed: [] };
  } catch (e) {
    if (e instanceof DriftCheckError) return { host: host.name, endpoint, status: "could-not-check", differences: [], fixed: [], error: e.message };
    throw e;
  }
}

/** drift: exit 0 every host in sync (or fixed), 1 drift remains, 2 a host could not be checked. */
function drift(options: Record<string, string>, io: Io, deps: CliDeps): number {
  const results = driftTargets(options).map((t) => driftOne(t, options, deps));
  if (options.json === "yes") io.out(JSON.stringify(results.length === 1 && options.spec !== undefined ? results[0] : results, null, 2));
  else {
    for (const r of results) {
      if (r.status === "could-not-check") io.err(r.error ?? `${r.host}: could not check`);
      if (r.fixed.length > 0) {
        io.out(`${r.host}: fixed ${r.fixed.length} difference(s):`);
        for (const d of r.fixed) io.out(`  - ${d}`);
      }
      if (r.status === "in-sync" || r.status === "fixed") io.out(`${r.host}: in sync with the desired state`);
      if (r.status === "drift") {
        io.err(`${r.host}: ${r.differences.length} difference(s) from the desired state${options.fix === "yes" ? " after the fix" : ""}:`);
        for (const d of r.differences) io.err(`  - ${d}`);
      }
    }
  }
  if (options.junit !== undefined) writeDriftJunit(options.junit, results);
  if (results.some((r) => r.status === "could-not-check")) return 2;
  return results.some((r) => r.status === "drift") ? 1 : 0;
}

function writeDriftJunit(file: string, results: readonly DriftResult[]): void {
  const cases = results.map((r) => {
    const open = `    <testcase classname="${xmlText(r.host)}" name="drift ${xmlText(r.endpoint)}">`;
    if (r.status === "could-not-check") return `${open}\n      <error message="could not check">${xmlText(r.error ?? "")}</error>\n    </testcase>`;
    if (r.status === "drift") return `${open}\n      <failure message="${r.differences.length} difference(s)">${xmlText(r.differences.join("\n"))}</failure>\n    </testcase>`;
    const out = r.fixed.length > 0 ? `\n      <system-out>${xmlText(`fixed:\n${r.fixed.join("\n")}`)}</system-out>\n    ` : "";
    return `${open}${out}</testcase>`;
  });
  const failures = results.filter((r) => r.status === "drift").length;
  const errors = results.filter((r) => r.status === "could-not-check").length;
  const xml = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites tests="${results.length}" failures="${failures}" errors="${errors}">`, `  <testsuite name="cdktf-ipvs drift" tests="${results.length}" failures="${failures}" errors="${errors}">`, ...cases, "  </testsuite>", "</testsuites>", ""].join("\n");
  try {
    fs.writeFileSync(file, xml);
  } catch (e) {
    throw new CliError(`cannot write --junit ${file}: ${(e as Error).message}`);
  }
}

/**
 * apply.sh --dry-run on the live host, from a spec or from a synthesized stack: exit 0 nothing to
 * change, 3 changes pending, 2 could not check (also as {"host", "error"} with --json).
 */
function preview(options: Record<string, string>, io: Io, deps: CliDeps): number {
  if ((options.spec === undefined) === (options.stack === undefined)) {
    throw new CliError(`preview needs exactly one of --spec SPEC.json or --stack cdktf.out/stacks/STACK\n${USAGE}`);
  }
  const target = sshTargetOf(options);
  // From a spec: the model checks the host with the --ssh endpoint (the lockout guard, as in
  // drift), but the script is rendered from the spec as written, as `render` renders it, so that
  // its own copy in /var/lib/cdktf-ipvs compares equal.
  let host: DesiredHost;
  if (options.spec !== undefined) {
    hostFromSpec(options, target);
    host = pickHost(loadSpec(options.spec), options.host, "spec");
  } else {
    host = pickHost(readStackHosts(options.stack), options.host, "stack");
  }
  let report: PreviewReport;
  try {
    report = previewHost(host, runnerFor(options, target, deps));
  } catch (e) {
    if (e instanceof PreviewCheckError && options.json === "yes") io.out(JSON.stringify({ host: host.name, error: e.message }));
    throw e;
  }
  if (options.json === "yes") {
    io.out(JSON.stringify(report));
  } else if (report.pending === 0) {
    io.out(`${host.name}: nothing to change`);
  } else {
    io.out(`${host.name}: ${report.pending} change(s) pending:`);
    for (const c of report.changes) io.out(`  ${c.step}: ${c.change}`);
  }
  return report.pending === 0 ? 0 : 3;
}

function run(argv: string[], io: Io, deps: CliDeps): number {
  const { command, options } = parseArgs(argv);
  switch (command) {
    case "plan": {
      const hosts = loadSpec(options.spec);
      io.out(hosts.map((h) => formatPlan(planHost(h))).join("\n\n"));
      return 0;
    }
    case "render":
      writeRendered(loadSpec(options.spec), options.out, io);
      return 0;
    case "check":
      return report(loadSpec(options.spec).flatMap((h) => checkHost(h)), options.strict === "yes", io);
    case "check-plan":
      return report(checkTerraformPlan(readJson("plan", options.plan)), options.strict === "yes", io);
    case "drift":
      return drift(options, io, deps);
    case "preview":
      return preview(options, io, deps);
    case "policy":
      return runPolicy(options.target, { json: options.json === "yes", sarif: options.sarif, junit: options.junit, failOn: options["fail-on"] as RuleLevel | undefined }, io);
    default:
      io.out(USAGE);
      return 0;
  }
}

/** One line for any error we did not expect: no stack trace, no multi-line message. */
function internalError(e: unknown): string {
  let message: string;
  try {
    message = e instanceof Error ? `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}` : String(e);
  } catch {
    message = "unprintable error";
  }
  return `cdktf-ipvs: internal error: ${message.replace(/\r?\n/g, "\\n")}`;
}

/**
 * Runs the CLI; returns the exit code and never throws:
 *   0  success (plan printed, render written, check/check-plan without errors, drift in sync,
 *      preview found nothing to change)
 *   1  invalid spec (every problem printed); check/check-plan found errors (or warnings with
 *      --strict); drift found differences
 *   2  usage, IO, a file that is not a plan, render --out refused, a stack that cannot be read, a
 *      host that could not be checked or previewed, or an internal error (printed as one line)
 *   3  preview: changes are pending (each printed)
 * policy: 1 findings at or above --fail-on, 2 TARGET is not a stack or plan. drift: 2 when any
 * host could not be checked (or --fix could not apply), else 1 when drift remains.
 * Everything printed passes through escapeControls.
 */
export function runCli(argv: string[], io: Io = CONSOLE_IO, deps: CliDeps = DEFAULT_DEPS): number {
  const safe = safeIo(io);
  try {
    return run(argv, safe, deps);
  } catch (e) {
    try {
      const model = e instanceof SpecWithSshError ? e.model : e;
      if (model instanceof IpvsModelError) {
        const issues = Array.isArray(model.issues) ? model.issues : [];
        safe.err(`invalid spec (${issues.length} problem${issues.length === 1 ? "" : "s"}); nothing written:`);
        if (issues.length > 0) for (const issue of issues) safe.err(formatIssue(issue));
        else safe.err(model.message);
        if (e instanceof SpecWithSshError) safe.err(`note: ${e.note}`);
        return 1;
      }
      if (e instanceof CliError || e instanceof PolicyInputError || e instanceof DriftCheckError || e instanceof PreviewCheckError || e instanceof StackReadError || e instanceof PlanFormatError || e instanceof RenderOutError) {
        safe.err(e.message);
        return 2;
      }
      safe.err(internalError(e));
    } catch (printing) {
      try {
        safe.err(internalError(printing));
      } catch {
        // Nowhere left to print.
      }
    }
    return 2;
  }
}
