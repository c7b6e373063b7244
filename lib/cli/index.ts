/**
 * cdktf-ipvs command line: the same model, plan and render as the constructs, driven by a JSON
 * spec (schema/spec.schema.json), for CI checks and for hosts managed without Terraform.
 *
 *   cdktf-ipvs plan   --spec spec.json              print the ordered steps per host
 *   cdktf-ipvs render --spec spec.json --out DIR    write DIR/<host>/{apply,verify,destroy}.sh, manifest.json
 */
import * as fs from "fs";
import * as path from "path";
import { DesiredHost, IpvsModelError, IpvsSpec, buildDesiredSpec } from "../model";
import { formatPlan, planHost } from "../plan";
import { renderHost } from "../render";

const USAGE = `usage:
  cdktf-ipvs plan   --spec SPEC.json
  cdktf-ipvs render --spec SPEC.json --out DIR`;

export class CliError extends Error {}

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
    const value = rest[i + 1];
    if (value === undefined || value.startsWith("--")) throw new CliError(`${arg} needs a value\n${USAGE}`);
    options[arg.slice(2)] = value;
    i++;
  }
  return { command: command ?? "", options };
}

function loadSpec(file: string | undefined): DesiredHost[] {
  if (!file) throw new CliError(`--spec is required\n${USAGE}`);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read spec ${file}: ${(e as Error).message}`);
  }
  let spec: IpvsSpec;
  try {
    spec = JSON.parse(text) as IpvsSpec;
  } catch (e) {
    throw new CliError(`spec ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return buildDesiredSpec(spec);
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

/** Runs the CLI; returns the exit code. */
export function runCli(argv: string[], io: Io = { out: (t) => console.log(t), err: (t) => console.error(t) }): number {
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
    if (e instanceof CliError) {
      io.err(e.message);
      return 2;
    }
    throw e;
  }
}
