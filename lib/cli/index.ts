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
 */
import * as fs from "fs";
import * as path from "path";
import { DesiredHost, IpvsModelError, IpvsSpec, buildDesiredSpec } from "../model";
import { formatPlan, planHost } from "../plan";
import { DriftCheckError, HostRunner, SshRunner, SshTarget, checkDrift, parseSshTarget } from "../drift";
import { Finding, checkHost, checkTerraformPlan, formatFinding } from "../policy";
import { renderHost } from "../render";

const USAGE = `usage:
  cdktf-ipvs plan   --spec SPEC.json
  cdktf-ipvs render --spec SPEC.json --out DIR
  cdktf-ipvs check  --spec SPEC.json [--strict]
  cdktf-ipvs check-plan --plan PLAN.json [--strict]   (PLAN.json from: terraform show -json PLANFILE)
  cdktf-ipvs drift --spec SPEC.json --host NAME --ssh [user@]host[:port] [--identity KEY] [--no-host-key-check]`;

export class CliError extends Error {}

/** Options that take no value. */
const FLAGS = ["--strict", "--no-host-key-check"];

interface Io {
  out(text: string): void;
  err(text: string): void;
}

function parseArgs(argv: string[]): { command: string; options: Record<string, string> } {
  const [command, ...rest] = argv;
  const options: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith("--")) throw new CliError(`unexpected argument "${arg}"\n${USAGE}`);
    if (FLAGS.includes(arg)) {
      options[arg.slice(2)] = "yes";
      continue;
    }
    const value = rest[i + 1];
    if (value === undefined || value.startsWith("--")) throw new CliError(`${arg} needs a value\n${USAGE}`);
    options[arg.slice(2)] = value;
    i++;
  }
  return { command: command ?? "", options };
}

function readJson(what: string, file: string | undefined): unknown {
  if (!file) throw new CliError(`--${what} is required\n${USAGE}`);
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

function loadSpec(file: string | undefined): DesiredHost[] {
  return buildDesiredSpec(readJson("spec", file) as IpvsSpec);
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
  const rendered = hosts.map((h) => ({ host: h, result: renderHost(planHost(h)) }));
  for (const { host, result } of rendered) {
    const dir = path.join(outDir, host.name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(result.scripts)) {
      fs.writeFileSync(path.join(dir, name), content, { mode: 0o755 });
    }
    fs.writeFileSync(path.join(dir, "manifest.json"), `${JSON.stringify(result.manifest, null, 2)}\n`);
    io.out(`wrote ${dir}/apply.sh, verify.sh, destroy.sh, manifest.json (plan ${result.manifest.planHash.slice(0, 12)})`);
  }
}

export interface CliDeps {
  /** How `drift` reaches a host; tests pass a fake. */
  readonly runner: (target: SshTarget) => HostRunner;
}

const DEFAULT_DEPS: CliDeps = { runner: (target) => new SshRunner(target) };
const CONSOLE_IO: Io = { out: (t) => console.log(t), err: (t) => console.error(t) };

/** Runs the CLI; returns the exit code. */
export function runCli(argv: string[], io: Io = CONSOLE_IO, deps: CliDeps = DEFAULT_DEPS): number {
  try {
    const { command, options } = parseArgs(argv);
    switch (command) {
      case "plan": {
        const hosts = loadSpec(options.spec);
        io.out(hosts.map((h) => formatPlan(planHost(h))).join("\n\n"));
        return 0;
      }
      case "render": {
        if (!options.out) throw new CliError(`--out is required\n${USAGE}`);
        writeRendered(loadSpec(options.spec), options.out, io);
        return 0;
      }
      case "check":
        return report(loadSpec(options.spec).flatMap((h) => checkHost(h)), options.strict === "yes", io);
      case "check-plan": {
        const findings = checkTerraformPlan(readJson("plan", options.plan));
        return report(findings, options.strict === "yes", io);
      }
      case "drift": {
        const hosts = loadSpec(options.spec);
        const host = hosts.find((h) => h.name === options.host) ?? (hosts.length === 1 && !options.host ? hosts[0] : undefined);
        if (!host) throw new CliError(`--host must name one of the spec's hosts: ${hosts.map((h) => h.name).join(", ")}`);
        if (!options.ssh) throw new CliError(`--ssh is required\n${USAGE}`);
        let target;
        try {
          target = parseSshTarget(options.ssh);
        } catch (e) {
          throw new CliError((e as Error).message);
        }
        const runner = deps.runner({ ...target, identityFile: options.identity, noHostKeyCheck: options["no-host-key-check"] === "yes" });
        const report = checkDrift(host, runner);
        if (report.inSync) {
          io.out(`${host.name}: in sync with the desired state`);
          return 0;
        }
        io.err(`${host.name}: ${report.differences.length} difference(s) from the desired state:`);
        for (const d of report.differences) io.err(`  - ${d}`);
        return 1;
      }
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return 0;
      default:
        throw new CliError(`unknown command "${command}"\n${USAGE}`);
    }
  } catch (e) {
    if (e instanceof IpvsModelError) {
      io.err(`invalid spec (${e.issues.length} problem${e.issues.length === 1 ? "" : "s"}); nothing written:\n${e.message}`);
      return 1;
    }
    if (e instanceof CliError || e instanceof DriftCheckError) {
      io.err(e.message);
      return 2;
    }
    throw e;
  }
}
