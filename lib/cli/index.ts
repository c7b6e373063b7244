/**
 * cdktf-ipvs command line: the same model, plan and render as the constructs, driven by a JSON
 * spec (schema/spec.schema.json), for CI checks and for hosts managed without Terraform. The
 * commands, their options, help and exit codes are declared in ./args.ts (parsed by commander):
 *
 *   plan, render, check, check-plan   over a spec or a terraform show -json plan
 *   drift, preview                    a live host (verify.sh, apply.sh --dry-run) over SSH
 *   policy TARGET                     the pairing rules over any stack or plan
 *
 * Every JSON input is read by ./json.ts (errors as FILE:LINE:COLUMN: reason).
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
import { UsageError, formatUsageError, parseCommandLine } from "./args";
import { readJsonFile } from "./json";
import { ImportInputError, importCommand } from "./import";

export { Io, escapeControls, safeIo } from "./output";
export { COMMANDS, EXIT_CODES, UsageError } from "./args";
export { jsonSyntaxProblem, lineColumn, syntaxErrorOffset } from "./json";
export { StackReadError, hostsOfStackJson, readStackHosts, unescapeTerraformTemplate } from "./stack";
export { HostFiles, MANIFEST_FILE, RenderOutError, RenderOutFs, RenderOutResult, inspectHostFolder, writeHostFolders } from "./render-out";

/** An input or IO problem (a file that cannot be read, a host that is not in the spec): printed as is, exit 2. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Reads a JSON input of the CLI; a malformed one is `FILE:LINE:COLUMN: WHAT is not valid JSON: REASON`. */
function readJson(what: string, file: string): unknown {
  return readJsonFile(file, what, (message) => new CliError(message));
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

/** How to log in, from the options every SSH command shares: --identity, --no-host-key-check, --sudo, --jump. */
type SshAccess = Pick<SshTarget, "identityFile" | "noHostKeyCheck" | "become" | "jump">;

function sshAccessOf(options: Record<string, string>): SshAccess {
  let jump: SshTarget | undefined;
  if (options.jump !== undefined) {
    try {
      jump = parseSshTarget(options.jump);
    } catch (e) {
      throw new CliError((e as Error).message.replace(/^--ssh/, "--jump"));
    }
  }
  return {
    ...(options.identity !== undefined ? { identityFile: options.identity } : {}),
    ...(options["no-host-key-check"] === "yes" ? { noHostKeyCheck: true } : {}),
    ...(options.sudo === "yes" ? { become: "sudo" as const } : {}),
    ...(jump ? { jump } : {}),
  };
}

function runnerFor(options: Record<string, string>, target: SshTarget, deps: CliDeps): HostRunner {
  return deps.runner({ ...target, ...sshAccessOf(options) });
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
  if ((options.spec === undefined) === (options.stack === undefined)) throw new UsageError("drift needs exactly one of --spec SPEC.json or --stack cdktf.out/stacks/STACK", "drift");
  if (options.ssh !== undefined && options.user !== undefined) throw new UsageError("--user goes with the endpoints the stack names; with --ssh, give user@host[:port]", "drift");
  if (options.spec !== undefined) {
    if (options.ssh === undefined) throw new UsageError("--ssh is required with --spec", "drift");
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
    throw new UsageError("preview needs exactly one of --spec SPEC.json or --stack cdktf.out/stacks/STACK", "preview");
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
  const line = parseCommandLine(argv, io);
  if ("exit" in line) return line.exit;
  const { command, options } = line;
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
    case "import":
      return importCommand(options, io, (target) => deps.runner({ ...target, ...sshAccessOf(options) }), parseSshTarget);
    case "policy":
      return runPolicy(options.target, { json: options.json === "yes", sarif: options.sarif, junit: options.junit, failOn: options["fail-on"] as RuleLevel | undefined }, io);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
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
 * Runs the CLI; returns the exit code and never throws. The exit codes (EXIT_CODES in ./args.ts,
 * printed by --help, each command's own by COMMAND --help):
 *   0  success (plan printed, render written, check/check-plan without errors, drift in sync,
 *      preview found nothing to change); --help, --version
 *   1  invalid spec (every problem printed); check/check-plan found errors (or warnings with
 *      --strict); drift found differences
 *   2  usage (UsageError: one line, then the usage), IO, malformed JSON (FILE:LINE:COLUMN), a file
 *      that is not a plan, render --out refused, a stack that cannot be read, a host that could
 *      not be checked or previewed, or an internal error (printed as one line)
 *   3  preview: changes are pending (each printed)
 * policy: 1 findings at or above --fail-on, 2 TARGET is not a stack or plan. drift: 2 when any
 * host could not be checked (or --fix could not apply), else 1 when drift remains.
 * Everything printed (help and usage included) passes through escapeControls.
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
      if (e instanceof UsageError) {
        safe.err(formatUsageError(e));
        return 2;
      }
      if (e instanceof CliError || e instanceof PolicyInputError || e instanceof DriftCheckError || e instanceof PreviewCheckError || e instanceof StackReadError || e instanceof PlanFormatError || e instanceof RenderOutError || e instanceof ImportInputError) {
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
