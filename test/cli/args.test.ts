/**
 * The command-line conventions (issue 11): --help and --version, --opt=value, and usage errors
 * (unknown option or command, missing or empty value, surplus argument): exit 2, one line naming
 * the problem, then the usage of the command.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { SshTarget } from "../../lib/drift";
import { seedHost } from "../fixtures";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin", "cdktf-ipvs.js");
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Runs the CLI; SSH goes to a fake host whose verify.sh reports it in sync. */
function run(args: string[], targets: SshTarget[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const inSync = { code: 0, stdout: "cdktf-ipvs lb1 [verify] OK: host matches the desired state\n", stderr: "" };
  const code = runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, { runner: (t) => (targets.push(t), { run: () => inSync }) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function specFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-args-")), "spec.json");
  fs.writeFileSync(file, JSON.stringify({ hosts: [seedHost()] }));
  return file;
}

/** Every command and the options its help must name (written out here, not read from lib/cli/args.ts). */
const COMMAND_OPTIONS: Record<string, string[]> = {
  plan: ["--spec <SPEC.json>"],
  render: ["--spec <SPEC.json>", "--out <DIR>"],
  check: ["--spec <SPEC.json>", "--strict"],
  "check-plan": ["--plan <PLAN.json>", "--strict"],
  drift: ["--spec <SPEC.json>", "--stack <STACK>", "--host <NAME>", "--ssh <[user@]host[:port]>", "--user <USER>", "--identity <KEY>", "--no-host-key-check", "--sudo", "--jump <[user@]host[:port]>", "--fix", "--json", "--junit <FILE>"],
  preview: ["--spec <SPEC.json>", "--stack <STACK>", "--host <NAME>", "--ssh <[user@]host[:port]>", "--identity <KEY>", "--no-host-key-check", "--sudo", "--jump <[user@]host[:port]>", "--json"],
  policy: ["TARGET", "--json", "--sarif <FILE>", "--junit <FILE>", "--fail-on <LEVEL>"],
};

describe("--help", () => {
  test.each([["--help"], ["-h"], ["help"]])("the tool's %s: exit 0 on stdout, every command, the exit codes 0-3 and the conventions", (flag) => {
    const r = run([flag]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^Usage: cdktf-ipvs COMMAND \[options\]\n/);
    for (const name of Object.keys(COMMAND_OPTIONS)) expect(r.out).toMatch(new RegExp(`\\n  ${name} \\S`));
    for (const code of [0, 1, 2, 3]) expect(r.out).toMatch(new RegExp(`\\n  ${code}  \\S`));
    expect(r.out).toContain("--opt VALUE and --opt=VALUE are the same");
    expect(r.out).toContain("-V, --version");
  });

  test.each(Object.entries(COMMAND_OPTIONS))("%s --help, -h and `help %s`: exit 0, its usage, each of its options, its exit codes", (name, options) => {
    const r = run([name, "--help"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(new RegExp(`^Usage: cdktf-ipvs ${name} `));
    for (const option of options) expect(r.out).toContain(option);
    expect(r.out).toMatch(/\nExit codes:\n {2}0 {2}\S.*\n {2}1 {2}\S[^]*\n {2}2 {2}\S/);
    // Only preview has exit 3 (changes pending).
    expect(/\n {2}3 {2}\S/.test(r.out)).toBe(name === "preview");
    expect(run([name, "-h"])).toEqual(r);
    expect(run(["help", name])).toEqual(r);
  });

  test("--help wins over anything else on the line, even an unknown option", () => {
    expect(run(["plan", "--frob", "--help"])).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: cdktf-ipvs plan /), err: "" });
  });
});

describe("--version", () => {
  test.each([["--version"], ["-V"]])("%s prints package.json's version, exit 0", (flag) => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(run([flag])).toEqual({ code: 0, out: VERSION, err: "" });
  });
});

describe("the real binary (built: npm run build)", () => {
  test("--version and plan --help: exit 0 on stdout; a usage error: exit 2 on stderr, no stack trace", () => {
    expect(spawnSync("node", [BIN, "--version"], { encoding: "utf8" })).toMatchObject({ status: 0, stdout: `${VERSION}\n`, stderr: "" });
    expect(spawnSync("node", [BIN, "plan", "--help"], { encoding: "utf8" })).toMatchObject({ status: 0, stdout: expect.stringMatching(/^Usage: cdktf-ipvs plan --spec SPEC\.json\n[^]*\nExit codes:\n/), stderr: "" });
    const bad = spawnSync("node", [BIN, "plan", "--spec=x.json", "--frob"], { encoding: "utf8" });
    expect(bad).toMatchObject({ status: 2, stdout: "" });
    expect(bad.stderr).toBe("cdktf-ipvs: unknown option '--frob'; plan takes --spec, --help\nusage: cdktf-ipvs plan --spec SPEC.json\nrun 'cdktf-ipvs plan --help' for its options and exit codes\n");
  });
});

describe("--opt=value", () => {
  test("--spec=FILE plans exactly as --spec FILE", () => {
    const spec = specFile();
    const spaced = run(["plan", "--spec", spec]);
    expect(spaced.code).toBe(0);
    expect(run(["plan", `--spec=${spec}`])).toEqual(spaced);
  });

  test("--out=DIR, --ssh=..., --identity=... are read too; a value may hold '='", () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-args-out-")), "o=1");
    expect(run(["render", `--spec=${specFile()}`, `--out=${out}`]).code).toBe(0);
    expect(fs.readdirSync(path.join(out, "lb1")).sort()).toEqual(["apply.sh", "destroy.sh", "manifest.json", "verify.sh"]);
    const targets: SshTarget[] = [];
    const r = run(["drift", `--spec=${specFile()}`, "--ssh=ops@127.0.0.1:2222", "--identity=/k", "--no-host-key-check"], targets);
    expect(r).toEqual({ code: 0, out: "lb1: in sync with the desired state", err: "" });
    expect(targets).toEqual([{ user: "ops", host: "127.0.0.1", port: 2222, identityFile: "/k", noHostKeyCheck: true }]);
  });

  test("a flag given a value is refused: it takes none", () => {
    const r = run(["check", "--spec", specFile(), "--strict=yes"]);
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe("cdktf-ipvs: --strict takes no value; give it alone");
  });
});

describe("usage errors: exit 2, one line naming the problem, then the usage", () => {
  /** The first line, and that the next is the usage of the command. */
  function usageError(args: string[], command: string): string {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    const lines = r.err.split("\n");
    expect(lines[1]).toMatch(new RegExp(`^usage: cdktf-ipvs ${command} `));
    expect(lines[lines.length - 1]).toBe(`run 'cdktf-ipvs ${command} --help' for its options and exit codes`);
    expect(r.err).not.toMatch(/\n\s+at /);
    return lines[0];
  }

  test.each(Object.keys(COMMAND_OPTIONS))("%s: an unknown option is named, with the options the command takes", (name) => {
    const line = usageError([name, "--frobnicate"], name);
    expect(line).toMatch(new RegExp(`^cdktf-ipvs: unknown option '--frobnicate'; ${name} takes --\\S+`));
    for (const option of COMMAND_OPTIONS[name].filter((o) => o.startsWith("--"))) expect(line).toContain(option.split(" ")[0]);
  });

  test("an unknown option close to a known one gets a suggestion", () => {
    expect(usageError(["plan", "--spce", "x.json"], "plan")).toBe("cdktf-ipvs: unknown option '--spce' (did you mean --spec?); plan takes --spec, --help");
  });

  test("an option another command has is unknown here", () => {
    expect(usageError(["preview", "--spec", specFile(), "--ssh", "root@h", "--fix"], "preview")).toMatch(/^cdktf-ipvs: unknown option '--fix'; preview takes /);
  });

  test("a surplus argument", () => {
    expect(usageError(["plan", "--spec", specFile(), "extra"], "plan")).toBe('cdktf-ipvs: unexpected argument "extra"; plan takes no arguments, only options');
    expect(usageError(["policy", "a", "b", "c"], "policy")).toBe('cdktf-ipvs: unexpected arguments "b", "c"; policy takes one TARGET');
  });

  test("a missing value, an empty value, an option where a value should be", () => {
    expect(usageError(["render", "--spec", specFile(), "--out"], "render")).toBe("cdktf-ipvs: option '--out <DIR>' argument missing");
    expect(usageError(["render", "--spec", specFile(), "--out="], "render")).toBe("cdktf-ipvs: option '--out <DIR>' argument '' is invalid. --out needs a non-empty value");
    expect(usageError(["check", "--spec", "--strict"], "check")).toBe("cdktf-ipvs: option '--spec <SPEC.json>' argument '--strict' is invalid. --spec needs a value, and --strict is an option of check (for a file of that name, write ./--strict)");
  });

  test("a missing required option or argument", () => {
    expect(usageError(["render"], "render")).toBe("cdktf-ipvs: --spec and --out are required");
    expect(usageError(["check-plan", "--strict"], "check-plan")).toBe("cdktf-ipvs: --plan is required");
    expect(usageError(["policy", "--json"], "policy")).toBe("cdktf-ipvs: TARGET is required");
  });

  test("an unknown command, before or after help; no command", () => {
    const tool = (args: string[]) => {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.err.split("\n")[1]).toMatch(/^usage: cdktf-ipvs COMMAND \[options\]/);
      return r.err.split("\n")[0];
    };
    expect(tool(["plna"])).toBe("cdktf-ipvs: unknown command 'plna' (did you mean plan?); the commands are plan, render, check, check-plan, drift, preview, import, policy, help");
    expect(tool(["help", "plna"])).toBe('cdktf-ipvs: unknown command "plna" after help; the commands are plan, render, check, check-plan, drift, preview, import, policy');
    expect(tool([])).toBe("cdktf-ipvs: a command is required");
    expect(tool(["--"])).toBe("cdktf-ipvs: a command is required");
    expect(tool(["--frob", "plan"])).toBe("cdktf-ipvs: unknown option '--frob'; cdktf-ipvs takes, before a command, --version, --help");
  });

  test("-- ends the options: what follows is an argument", () => {
    expect(usageError(["plan", "--spec", specFile(), "--", "--json"], "plan")).toBe('cdktf-ipvs: unexpected argument "--json"; plan takes no arguments, only options');
  });
});

describe("login options shared by drift, preview and import: --sudo and --jump", () => {
  test("given --sudo and --jump, the runner gets become sudo and the parsed jump host, with the identity", () => {
    const targets: SshTarget[] = [];
    const r = run(["drift", "--spec", specFile(), "--ssh", "deploy@172.16.1.8", "--identity", "/k", "--sudo", "--jump=ops@bastion:2200"], targets);
    expect(r.code).toBe(0);
    expect(targets).toEqual([{ host: "172.16.1.8", port: 22, user: "deploy", identityFile: "/k", become: "sudo", jump: { host: "bastion", port: 2200, user: "ops" } }]);
  });

  test("without them, no become and no jump", () => {
    const targets: SshTarget[] = [];
    run(["drift", "--spec", specFile(), "--ssh", "172.16.1.8"], targets);
    expect(targets).toEqual([{ host: "172.16.1.8", port: 22, user: "root" }]);
  });

  test("a --jump that is not [user@]host[:port]: exit 2, named", () => {
    const r = run(["preview", "--spec", specFile(), "--ssh", "172.16.1.8", "--jump", "ops@bad host"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--jump "ops@bad host" is not [user@]host[:port]');
  });

  test("import from saved files refuses --sudo and --jump: they go with --ssh", () => {
    const r = run(["import", "--ipvs", "a", "--thresholds", "b", "--nat", "c", "--sysctls", "d", "--out", "o.json", "--sudo", "--jump", "b1"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--sudo, --jump go with --ssh");
  });
});
