/**
 * `cdktf-ipvs drift` beyond one spec host: --fix (apply, then verify again), every host of a
 * synthesized stack at the endpoints its connections name, --json and --junit. The host side is
 * a fake runner that answers like verify.sh and apply.sh; the real kernel is in the e2e suite.
 */
import { spawnSync } from "child_process";
import { App, TerraformStack } from "cdktf";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { IpvsHost } from "../../lib/constructs";
import { HostRunner, RunResult, SshTarget } from "../../lib/drift";
import { buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { installAndApplyScript, renderHost } from "../../lib/render";
import { seedHost } from "../fixtures";

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-drift-fix-"));
const OK = (host: string): RunResult => ({ code: 0, stdout: `cdktf-ipvs ${host} [verify] OK: host matches the desired state\n`, stderr: "" });
const DRIFT = (host: string): RunResult => ({ code: 1, stdout: `cdktf-ipvs ${host} [verify] DRIFT: net.ipv4.vs.conntrack is 0 but aliases exist\n`, stderr: "" });
const APPLIED: RunResult = { code: 0, stdout: "cdktf-ipvs lb1 [sysctls] set net.ipv4.vs.conntrack=1\n", stderr: "" };

/** Runs the CLI against fake hosts: each call takes the next answer for that host's endpoint. */
function cli(args: string[], answers: Record<string, RunResult[]>) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: { endpoint: string; script: string }[] = [];
  const code = runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, {
    runner: (t: SshTarget): HostRunner => ({
      run: (script) => {
        const endpoint = `${t.user}@${t.host}:${t.port}`;
        calls.push({ endpoint, script });
        const next = answers[endpoint]?.shift();
        if (!next) throw new Error(`unexpected call to ${endpoint}`);
        return next;
      },
    }),
  });
  return { code, out: out.join("\n"), err: err.join("\n"), calls };
}

function specFile(): string {
  const file = path.join(tmpDir(), "spec.json");
  fs.writeFileSync(file, JSON.stringify({ hosts: [seedHost()] }));
  return file;
}

const SSH = "root@127.0.0.1:2222";

describe("drift --fix", () => {
  const apply = renderHost(planHost(buildDesiredHost(seedHost()))).scripts["apply.sh"];

  test("a drifted host: verify, install and run apply.sh, verify again; exit 0 and the fixed differences listed", () => {
    const r = cli(["drift", "--spec", specFile(), "--ssh", SSH, "--fix"], { [SSH]: [DRIFT("lb1"), APPLIED, OK("lb1")] });
    expect(r.code).toBe(0);
    expect(r.out).toBe("lb1: fixed 1 difference(s):\n  - net.ipv4.vs.conntrack is 0 but aliases exist\nlb1: in sync with the desired state");
    expect(r.calls.map((c) => c.script)).toEqual([expect.stringContaining("[verify]"), installAndApplyScript(apply), expect.stringContaining("[verify]")]);
  });

  test("a host in sync is not touched", () => {
    const r = cli(["drift", "--spec", specFile(), "--ssh", SSH, "--fix"], { [SSH]: [OK("lb1")] });
    expect(r.code).toBe(0);
    expect(r.calls).toHaveLength(1);
  });

  test("drift that the apply cannot fix stays: exit 1, named as after the fix", () => {
    const r = cli(["drift", "--spec", specFile(), "--ssh", SSH, "--fix"], { [SSH]: [DRIFT("lb1"), APPLIED, DRIFT("lb1")] });
    expect(r.code).toBe(1);
    expect(r.err).toContain("lb1: 1 difference(s) from the desired state after the fix:");
  });

  test("an apply that fails is exit 2 with its output, not a success", () => {
    const r = cli(["drift", "--spec", specFile(), "--ssh", SSH, "--fix"], { [SSH]: [DRIFT("lb1"), { code: 1, stdout: "", stderr: "cdktf-ipvs lb1 [ipvs] ERROR: IPVS service -t 172.16.1.8:1000 exists but is not ours" }] });
    expect(r.code).toBe(2);
    expect(r.err).toContain("apply.sh on lb1 failed (exit 1), so the drift was not fixed: cdktf-ipvs lb1 [ipvs] ERROR: IPVS service -t 172.16.1.8:1000 exists but is not ours");
  });

  test("the install script carries apply.sh byte for byte (base64 in a quoted here-document) and is valid sh", () => {
    const script = installAndApplyScript(apply);
    const body = script.split("<<'CDKTF_IPVS_B64'\n")[1].split("\nCDKTF_IPVS_B64\n")[0];
    expect(Buffer.from(body.replace(/\n/g, ""), "base64").toString("utf8")).toBe(apply);
    const file = path.join(tmpDir(), "install.sh");
    fs.writeFileSync(file, script);
    expect(spawnSync("sh", ["-n", file]).status).toBe(0);
    expect(script).toContain("exec sh '/var/lib/cdktf-ipvs/apply.sh'");
  });
});

describe("drift --stack: every host of a synthesized stack", () => {
  const outdir = tmpDir();
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "fleet");
  IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection: { host: "10.9.0.1", privateKeyPath: "/k" } });
  IpvsHost.fromSpec(stack, "lb2", seedHost({ name: "lb2" }), { engine: "terraform_data", connection: { host: "10.9.0.2", port: 2200, privateKeyPath: "/k" } });
  app.synth();
  const dir = path.join(outdir, "stacks", "fleet");

  test("checks each host at the endpoint its connection names; exit 1 when one drifted", () => {
    const r = cli(["drift", "--stack", dir, "--user", "ops"], { "ops@10.9.0.1:22": [OK("lb1")], "ops@10.9.0.2:2200": [DRIFT("lb2")] });
    expect(r.code).toBe(1);
    expect(r.out).toBe("lb1: in sync with the desired state");
    expect(r.err).toContain("lb2: 1 difference(s) from the desired state:");
  });

  test("--json lists every host; --junit writes one case per host", () => {
    const junit = path.join(tmpDir(), "drift.xml");
    const r = cli(["drift", "--stack", dir, "--json", "--junit", junit], { "root@10.9.0.1:22": [OK("lb1")], "root@10.9.0.2:2200": [{ code: 255, stdout: "", stderr: "ssh: connect to host 10.9.0.2 port 2200: Connection refused" }] });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual([
      { host: "lb1", endpoint: "root@10.9.0.1:22", status: "in-sync", differences: [], fixed: [] },
      expect.objectContaining({ host: "lb2", endpoint: "root@10.9.0.2:2200", status: "could-not-check", error: expect.stringContaining("Connection refused") }),
    ]);
    const xml = fs.readFileSync(junit, "utf8");
    expect(xml).toContain('<testsuite name="cdktf-ipvs drift" tests="2" failures="0" errors="1">');
    expect(xml).toContain('<testcase classname="lb1" name="drift root@10.9.0.1:22"></testcase>');
    expect(xml).toMatch(/<testcase classname="lb2" name="drift root@10.9.0.2:2200">\n\s+<error message="could not check">/);
  });

  test("--host with --ssh checks one host somewhere else (a tunnel, a lab port)", () => {
    const r = cli(["drift", "--stack", dir, "--host", "lb2", "--ssh", SSH], { [SSH]: [OK("lb2")] });
    expect(r.code).toBe(0);
  });

  test("usage: exactly one of --spec and --stack; --user only with the stack's endpoints", () => {
    expect(cli(["drift", "--ssh", SSH], {}).code).toBe(2);
    expect(cli(["drift", "--stack", dir, "--spec", specFile(), "--ssh", SSH], {}).err).toContain("drift needs exactly one of --spec SPEC.json or --stack");
    expect(cli(["drift", "--stack", dir, "--ssh", SSH, "--user", "x"], {}).err).toContain("--user goes with the endpoints the stack names");
    expect(cli(["drift", "--spec", specFile()], {}).err).toContain("--ssh is required with --spec");
  });
});

describe("cdktf-ipvs policy TARGET", () => {
  const dir = tmpDir();
  fs.writeFileSync(
    path.join(dir, "main.tf.json"),
    JSON.stringify({ resource: { null_resource: { lb: { connection: { host: "172.16.1.8" }, provisioner: [{ "remote-exec": { inline: ["ipvsadm -A -t 172.16.1.8:1000 -s rr", "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"] } }] } } } }),
  );

  test("exit 1 on the seed's stack, 2 on a missing or wrong target, 2 without TARGET", () => {
    expect(cli(["policy", dir], {}).code).toBe(1);
    expect(cli(["policy", path.join(dir, "nope.json")], {}).code).toBe(2);
    const missing = cli(["policy"], {});
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("TARGET is required");
    expect(cli(["policy", dir, "--fail-on", "fatal"], {}).code).toBe(2);
    expect(cli(["policy", dir, "extra"], {}).err).toContain('unexpected argument "extra"');
  });
});
