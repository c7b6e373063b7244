/**
 * The command line of cdktf-ipvs, parsed by commander: the commands, their options, their help
 * and the exit codes, in one table. Conventions:
 *
 * - `--help`/`-h` (the tool, every command, or `help COMMAND`) prints usage to stdout, exit 0;
 *   `--version`/`-V` prints the version of package.json, exit 0.
 * - `--opt VALUE` and `--opt=VALUE` are the same; `--` ends the options.
 * - An unknown command or option, a missing or empty value, an option given twice, a missing
 *   required option and a surplus argument are usage errors: one line naming it, then the usage
 *   of the command, exit 2 (UsageError). Nothing here writes to the process or exits it.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { Io } from "./output";
import { packageVersion } from "./version";

/** A command line the tool cannot run: printed as one line, then the usage of the command; exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to print; undefined for the tool's. */
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** The exit codes of every command; each command's --help lists its own. */
export const EXIT_CODES: readonly (readonly [number, string])[] = [
  [0, "success: the command did its work and found nothing failing; also --help and --version"],
  [1, "the input was read but fails: an invalid spec (every problem printed), check/check-plan/policy findings at the failing level, drift that remains"],
  [2, "usage or input error: unknown command or option, missing or surplus argument, a file that cannot be read or is not valid JSON (FILE:LINE:COLUMN), not a plan or stack, render --out refused, a host that could not be checked or previewed, an internal error (one line)"],
  [3, "preview: changes are pending"],
];

interface OptionSpec {
  /** commander flags: `--name <VALUE>` takes a value, `--name` is a flag. */
  readonly flags: string;
  readonly description: string;
}

const OPTIONS: Record<string, OptionSpec> = {
  spec: { flags: "--spec <SPEC.json>", description: "the spec file, in the format of schema/spec.schema.json" },
  out: { flags: "--out <DIR>", description: "write DIR/<host>/{apply,verify,destroy}.sh and manifest.json; replaces only folders cdktf-ipvs wrote" },
  strict: { flags: "--strict", description: "fail (exit 1) on warnings too" },
  plan: { flags: "--plan <PLAN.json>", description: "the output of: terraform show -json PLANFILE" },
  stack: { flags: "--stack <STACK>", description: "a synthesized stack: cdktf.out/stacks/NAME (or its cdk.tf.json)" },
  host: { flags: "--host <NAME>", description: "the host to check, by its name (needed when there are several)" },
  ssh: { flags: "--ssh <[user@]host[:port]>", description: "where to reach the host over SSH (user root, port 22 unless given)" },
  user: { flags: "--user <USER>", description: "the SSH user at the endpoints the stack names (default root)" },
  identity: { flags: "--identity <KEY>", description: "the SSH private key file" },
  "no-host-key-check": { flags: "--no-host-key-check", description: "do not check the host key (lab hosts only)" },
  sudo: { flags: "--sudo", description: "run the script on the host through sudo -n (a non-root SSH user with passwordless sudo, as connection.become: \"sudo\")" },
  jump: { flags: "--jump <[user@]host[:port]>", description: "reach the host through this SSH jump host (a bastion), with the same --identity" },
  fix: { flags: "--fix", description: "run apply.sh on each host that drifted, then verify again" },
  json: { flags: "--json", description: "print one JSON document (for machines) instead of text" },
  junit: { flags: "--junit <FILE>", description: "also write a JUnit XML report to FILE" },
  sarif: { flags: "--sarif <FILE>", description: "also write a SARIF 2.1.0 report to FILE" },
  "fail-on": { flags: "--fail-on <LEVEL>", description: "exit 1 on findings at or above LEVEL: error (default), warning or info" },
  ipvs: { flags: "--ipvs <FILE>", description: "saved output of: ipvsadm -Sn" },
  thresholds: { flags: "--thresholds <FILE>", description: "saved output of: ipvsadm -Ln --thresholds" },
  nat: { flags: "--nat <FILE>", description: "saved output of: iptables-save -t nat (and ip6tables-save -t nat after it, for IPv6 aliases)" },
  sysctls: { flags: "--sysctls <FILE>", description: "saved output of: sysctl -a" },
  ts: { flags: "--ts <FILE>", description: "also write the host as TypeScript (a function declaring it with IpvsHost) to FILE" },
};

interface CommandSpec {
  readonly name: string;
  /** One line, in the tool's command list. */
  readonly summary: string;
  /** What follows `cdktf-ipvs NAME` in the usage; one form per line. */
  readonly usage: readonly string[];
  readonly description: string;
  readonly argument?: { readonly name: string; readonly description: string };
  /** Keys of OPTIONS. */
  readonly options: readonly string[];
  /** Options that are always required (drift and preview check their combinations themselves). */
  readonly required: readonly string[];
  /** This command's own description of a shared option (import's --out is a file, not render's folder). */
  readonly optionText?: Readonly<Record<string, string>>;
  /** This command's own placeholder of a shared option's value (`--out <SPEC.json>`). */
  readonly optionFlags?: Readonly<Record<string, string>>;
  readonly exits: readonly (readonly [number, string])[];
}

const INPUT_ERROR = "usage or input error (a spec that cannot be read or is not valid JSON: FILE:LINE:COLUMN)";

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "plan",
    summary: "print the ordered steps of each host of a spec",
    usage: ["--spec SPEC.json"],
    description: "Print the ordered steps (modules, sysctls, ipvs, aliases, boot, verify) of each host of the spec.",
    options: ["spec"],
    required: ["spec"],
    exits: [
      [0, "the plan is printed"],
      [1, "invalid spec (every problem printed)"],
      [2, INPUT_ERROR],
    ],
  },
  {
    name: "render",
    summary: "write each host's apply.sh, verify.sh, destroy.sh and manifest.json",
    usage: ["--spec SPEC.json --out DIR"],
    description: "Render the host scripts of every host of the spec into DIR/<host>/, all hosts or none.",
    options: ["spec", "out"],
    required: ["spec", "out"],
    exits: [
      [0, "every host is written; folders of hosts no longer in the spec are removed"],
      [1, "invalid spec (every problem printed); nothing is written"],
      [2, `${INPUT_ERROR}; --out refused (a symlink, or a folder cdktf-ipvs did not write); nothing is changed`],
    ],
  },
  {
    name: "check",
    summary: "run the policy rules over a spec",
    usage: ["--spec SPEC.json [--strict]"],
    description: "Run the policy rules (IPVS001-008) over the spec; errors on stderr, the rest on stdout.",
    options: ["spec", "strict"],
    required: ["spec"],
    exits: [
      [0, "no errors (and no warnings with --strict)"],
      [1, "invalid spec, errors, or warnings with --strict"],
      [2, INPUT_ERROR],
    ],
  },
  {
    name: "check-plan",
    summary: "run the plan-time checks over terraform show -json output",
    usage: ["--plan PLAN.json [--strict]"],
    description: "Run the plan-time checks (step order, one desired state per host) over a Terraform plan.\nPLAN.json comes from: terraform plan -out=plan.bin && terraform show -json plan.bin > plan.json",
    options: ["plan", "strict"],
    required: ["plan"],
    exits: [
      [0, "no errors (and no warnings with --strict)"],
      [1, "errors, or warnings with --strict"],
      [2, "usage or input error (malformed JSON: FILE:LINE:COLUMN); the file is not a terraform show -json plan"],
    ],
  },
  {
    name: "drift",
    summary: "compare live hosts with their desired state (verify.sh over SSH); --fix applies",
    usage: [
      "--spec SPEC.json --ssh [user@]host[:port] [--host NAME] [options]",
      "--stack STACK [--host NAME] [--ssh [user@]host[:port] | --user USER] [options]",
    ],
    description:
      "Run verify.sh on the live host(s) and list every difference from the desired state.\nWith --spec: the host --host names (or the only one), at --ssh.\nWith --stack: every host of the synthesized stack (or the one --host names), each at the SSH endpoint its connection names (as root, or --user), unless --ssh is given.",
    options: ["spec", "stack", "host", "ssh", "user", "identity", "no-host-key-check", "sudo", "jump", "fix", "json", "junit"],
    required: [],
    exits: [
      [0, "every host is in sync (or was fixed with --fix)"],
      [1, "invalid spec; differences remain"],
      [2, `${INPUT_ERROR}; a host could not be checked, or --fix could not apply`],
    ],
  },
  {
    name: "preview",
    summary: "show what apply.sh would change on a live host (apply.sh --dry-run over SSH)",
    usage: ["(--spec SPEC.json | --stack STACK) --ssh [user@]host[:port] [--host NAME] [options]"],
    description: "Run apply.sh --dry-run on the live host and print each change it would make, by step.",
    options: ["spec", "stack", "host", "ssh", "identity", "no-host-key-check", "sudo", "jump", "json"],
    required: ["ssh"],
    exits: [
      [0, "nothing to change"],
      [1, "invalid spec"],
      [2, `${INPUT_ERROR}; the host could not be previewed (with --json also as {"host", "error"})`],
      [3, "changes are pending (each printed)"],
    ],
  },
  {
    name: "import",
    summary: "write a spec (and TypeScript) for an IPVS host that is already running",
    usage: ["--ssh [user@]host[:port] --out SPEC.json [--ts FILE] [--host NAME] [options]", "--ipvs FILE --thresholds FILE --nat FILE --sysctls FILE --out SPEC.json [--ts FILE] [--host NAME]"],
    description:
      "Read a running load balancer (over SSH, read-only, as root: ipvsadm -Sn, ipvsadm -Ln --thresholds, iptables-save -t nat, ip6tables-save -t nat, sysctl -a; or the same outputs saved to files) and write its IPVS services and real servers, the REDIRECT/DNAT rules that lead to them (as aliases) and the sysctls that matter as a spec. Every service carries adopt: true, so the first apply takes it over unchanged instead of refusing it. What the model cannot express exactly is left out and listed on stderr (not imported: WHERE: LINE: why), never guessed; a sysctl the first apply would still change is listed as will change.",
    options: ["ssh", "identity", "no-host-key-check", "sudo", "jump", "ipvs", "thresholds", "nat", "sysctls", "out", "ts", "host"],
    required: ["out"],
    optionFlags: { out: "--out <SPEC.json>" },
    optionText: {
      out: "write the spec ({ hosts: [ host ] }, schema/spec.schema.json) to this file",
      host: "the host's name in the spec (default: kernel.hostname from sysctl -a)",
    },
    exits: [
      [0, "everything was imported; the files are written"],
      [1, "imported with notes: the files are written, and what was left out (or will change on the first apply) is listed on stderr"],
      [2, "usage or input error: --ssh and the files together or neither, a file that cannot be read or is not the output it should be, the host could not be read over SSH, an output file that cannot be written; nothing is written"],
    ],
  },
  {
    name: "policy",
    summary: "run the pairing rules over any stack or plan, with reports for CI",
    usage: ["TARGET [--json] [--sarif FILE] [--junit FILE] [--fail-on error|warning|info]"],
    description: "Run the pairing rules over any Terraform stack or plan, hand-written or synthesized by cdktf-ipvs.",
    argument: { name: "TARGET", description: "a cdk.tf.json, a stack directory, cdktf.out, or terraform show -json of a plan" },
    options: ["json", "sarif", "junit", "fail-on"],
    required: [],
    exits: [
      [0, "nothing at or above --fail-on"],
      [1, "findings at or above --fail-on"],
      [2, "usage or input error (malformed JSON: FILE:LINE:COLUMN); TARGET is not a stack or plan"],
    ],
  },
];

const HELP_WIDTH = 100;

/** Lines of a two-column table: `  CODE  text`, the text wrapped under itself. */
function exitTable(rows: readonly (readonly [number, string])[]): string {
  const indent = "     ";
  return rows
    .map(([code, text]) => {
      const lines: string[] = [];
      let line = "";
      for (const word of text.split(" ")) {
        if (line.length > 0 && indent.length + line.length + 1 + word.length > HELP_WIDTH) {
          lines.push(line);
          line = word;
        } else line = line.length > 0 ? `${line} ${word}` : word;
      }
      lines.push(line);
      return lines.map((l, i) => (i === 0 ? `  ${code}  ${l}` : `${indent}${l}`)).join("\n");
    })
    .join("\n");
}

const CONVENTIONS = `Conventions:
  --opt VALUE and --opt=VALUE are the same; -- ends the options.
  Unknown commands and options, missing or empty values, options given twice and surplus
  arguments are refused: one line naming the problem, then the usage; exit 2.
  Results go to stdout, errors to stderr; a malformed JSON file is reported as
  FILE:LINE:COLUMN: reason. Control characters in anything printed are escaped (\\u001b).`;

/** The usage of one command (or of the tool), as printed after a usage error. */
export function usageLines(command?: string): string[] {
  const spec = COMMANDS.find((c) => c.name === command);
  if (!spec) return [`usage: cdktf-ipvs COMMAND [options]   (commands: ${COMMANDS.map((c) => c.name).join(", ")})`, "run 'cdktf-ipvs --help' for the commands and exit codes"];
  return [...spec.usage.map((u, i) => `${i === 0 ? "usage:" : "      "} cdktf-ipvs ${spec.name} ${u}`), `run 'cdktf-ipvs ${spec.name} --help' for its options and exit codes`];
}

/** A usage error as printed: `cdktf-ipvs: MESSAGE` on one line, then the usage. */
export function formatUsageError(e: UsageError): string {
  return [`cdktf-ipvs: ${e.message.replace(/\r?\n/g, "\\n")}`, ...usageLines(e.command)].join("\n");
}

/** What the command line asks for: a command and its options (flags as "yes"), or an exit code (help, version). */
export type CommandLine = { readonly command: string; readonly options: Record<string, string> } | { readonly exit: number };

/** The help or the version was printed. */
class Printed extends Error {}

/**
 * Parses argv (without node and the script). Help and version go to io.out; every usage problem
 * is thrown as a UsageError.
 */
export function parseCommandLine(argv: readonly string[], io: Io): CommandLine {
  if (argv.length === 0) throw new UsageError("a command is required");
  // `help NAME`: commander prints the tool's help on stderr for an unknown NAME; say what it is.
  if (argv[0] === "help" && argv[1] !== undefined && !argv[1].startsWith("-") && !COMMANDS.some((c) => c.name === argv[1])) {
    throw new UsageError(`unknown command ${JSON.stringify(argv[1])} after help; the commands are ${COMMANDS.map((c) => c.name).join(", ")}`);
  }
  let parsed: CommandLine | undefined;
  let helpOnError = false;
  const program = new Command("cdktf-ipvs");

  const longs = (cmd: Command) => [...cmd.options.map((o) => o.long ?? o.short ?? o.flags), "--help"];
  const onExit =
    (cmd: Command) =>
    (err: CommanderError): never => {
      // The tool's help, printed on error: only when no command was given (`cdktf-ipvs --`).
      if (err.code === "commander.help" && helpOnError) throw new UsageError("a command is required");
      if (err.code === "commander.help" || err.code === "commander.helpDisplayed" || err.code === "commander.version") throw new Printed();
      let message = err.message.replace(/^error: /, "").replace(/\n\(Did you mean (.*)\?\)$/s, " (did you mean $1?)");
      const valued = err.code === "commander.unknownOption" ? /^error: unknown option '(--[^=]+)=/s.exec(err.message) : null;
      if (valued && cmd.options.some((o) => o.long === valued[1] && !o.required && !o.optional)) message = `${valued[1]} takes no value; give it alone`;
      else if (err.code === "commander.unknownOption") message += `; ${cmd === program ? "cdktf-ipvs takes, before a command," : `${cmd.name()} takes`} ${longs(cmd).join(", ")}`;
      if (err.code === "commander.unknownCommand") message += `; the commands are ${COMMANDS.map((c) => c.name).join(", ")}, help`;
      throw new UsageError(message, cmd === program ? undefined : cmd.name());
    };

  program
    .usage("COMMAND [options]")
    .description("CDK for Terraform constructs for Linux IPVS load balancers: the same model, plan and render, driven by a JSON spec (schema/spec.schema.json), for CI checks and for hosts managed without Terraform.")
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, "")),
      // commander writes to stderr only the tool's help when no command is given; onExit says so instead.
      writeErr: () => {
        helpOnError = true;
      },
      outputError: () => undefined,
      getOutHelpWidth: () => HELP_WIDTH,
      getErrHelpWidth: () => HELP_WIDTH,
    })
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .helpOption("-h, --help", "print this help and exit")
    .helpCommand("help [COMMAND]", "print the help of COMMAND")
    .exitOverride(onExit(program))
    .addHelpText("after", `\nExit codes:\n${exitTable(EXIT_CODES)}\n\n${CONVENTIONS}\n\nRun 'cdktf-ipvs COMMAND --help' for the options and exit codes of a command.`);

  for (const spec of COMMANDS) {
    const cmd = program.command(spec.name).summary(spec.summary).description(spec.description).usage(spec.usage.join(`\n       cdktf-ipvs ${spec.name} `));
    cmd.exitOverride(onExit(cmd)).helpOption("-h, --help", "print this help and exit");
    if (spec.argument) cmd.argument(`[${spec.argument.name}]`, spec.argument.description);
    const known = () => new Set([...longs(cmd), "-h"]);
    for (const key of spec.options) {
      const o = { ...OPTIONS[key], flags: spec.optionFlags?.[key] ?? OPTIONS[key].flags };
      const description = `${spec.optionText?.[key] ?? o.description}${spec.required.includes(key) ? " (required)" : ""}`;
      if (!o.flags.includes("<")) {
        cmd.option(o.flags, description);
        continue;
      }
      const name = `--${key}`;
      cmd.option(o.flags, description, (value: string, previous: string | undefined) => {
        if (previous !== undefined) throw new InvalidArgumentError(`${name} is given more than once (first ${JSON.stringify(previous)})`);
        if (value === "") throw new InvalidArgumentError(`${name} needs a non-empty value`);
        if (known().has(value)) throw new InvalidArgumentError(`${name} needs a value, and ${value} is an option of ${spec.name} (for a file of that name, write ./${value})`);
        return value;
      });
    }
    cmd.addHelpText("after", `\nExit codes:\n${exitTable(spec.exits)}`);
    cmd.action((...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      const expected = spec.argument ? 1 : 0;
      const surplus = self.args.slice(expected);
      if (surplus.length > 0) throw new UsageError(`unexpected argument${surplus.length === 1 ? "" : "s"} ${surplus.map((a) => JSON.stringify(a)).join(", ")}; ${spec.name} takes ${spec.argument ? `one ${spec.argument.name}` : "no arguments, only options"}`, spec.name);
      const options: Record<string, string> = {};
      for (const o of self.options) {
        const value: unknown = self.getOptionValue(o.attributeName());
        const key = (o.long ?? "").replace(/^--/, "");
        if (o.negate) {
          if (value === false) options[key] = "yes";
        } else if (value === true) options[key] = "yes";
        else if (typeof value === "string") options[key] = value;
      }
      const missing = spec.required.filter((k) => options[k] === undefined).map((k) => `--${k}`);
      if (spec.argument && self.args[0] === undefined) missing.unshift(spec.argument.name);
      if (missing.length > 0) throw new UsageError(`${missing.join(" and ")} ${missing.length === 1 ? "is" : "are"} required`, spec.name);
      if (spec.argument) options[spec.argument.name.toLowerCase()] = self.args[0];
      parsed = { command: spec.name, options };
    });
  }

  try {
    program.parse([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof Printed) return { exit: 0 };
    throw e;
  }
  if (!parsed) throw new UsageError("a command is required");
  return parsed;
}
