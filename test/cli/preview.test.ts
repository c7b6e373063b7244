/**
 * `cdktf-ipvs preview`: apply.sh --dry-run over the drift runner, from a spec or from a
 * synthesized stack (no spec). The script itself is tested against a fake host in
 * test/render/preview.test.ts and against a real kernel in test/e2e/preview.e2e.test.ts.
 */
import { spawnSync } from "child_process";
import { App, TerraformStack } from "cdktf";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hostsOfStackJson, readStackHosts, runCli } from "../../lib/cli";
import { IpvsHost } from "../../lib/constructs";
import { HostRunner, RunResult } from "../../lib/drift";
import { buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { renderHost } from "../../lib/render";
import { DESIRED_STATE_MARKER, readDesiredState } from "../../lib/render/scripts";
import { seedHost } from "../fixtures";

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-preview-cli-"));
const P = "cdktf-ipvs lb1 [preview]";
const NOTHING: RunResult = { code: 0, stdout: `${P} DONE: 0 change(s) pending\n`, stderr: "" };
const PENDING: RunResult = {
  code: 3,
  stdout: [`${P} sysctls CHANGE: net.ipv4.vs.conntrack: 0 -> 1`, `${P} ipvs CHANGE: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1`, `${P} DONE: 2 change(s) pending`, ""].join("\n"),
  stderr: "",
};

function cli(args: string[], answer: RunResult = NOTHING) {
  const out: string[] = [];
  const err: string[] = [];
  const calls: { script: string; args?: readonly string[]; target: unknown }[] = [];
  const code = runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, {
    runner: (target): HostRunner => ({
      run: (script, a) => {
        calls.push({ script, args: a, target });
        return answer;
      },
    }),
  });
  return { code, out: out.join("\n"), err: err.join("\n"), calls };
}

function specFile(hosts: unknown[] = [seedHost()]): string {
  const file = path.join(tmpDir(), "spec.json");
  fs.writeFileSync(file, JSON.stringify({ hosts }));
  return file;
}

const SSH = ["--ssh", "root@127.0.0.1:2222"];

describe("cdktf-ipvs preview --spec", () => {
  test("runs apply.sh --dry-run rendered from the spec; exit 0 and says so when nothing is to change", () => {
    const r = cli(["preview", "--spec", specFile(), "--host", "lb1", ...SSH, "--identity", "/k"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("lb1: nothing to change");
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0].args).toEqual(["--dry-run"]);
    // Rendered from the spec as written (as `render` does), so the host's copy compares equal.
    expect(r.calls[0].script).toBe(renderHost(planHost(buildDesiredHost(seedHost()))).scripts["apply.sh"]);
    expect(r.calls[0].target).toEqual({ user: "root", host: "127.0.0.1", port: 2222, identityFile: "/k" });
  });

  test("exit 3 with each pending change, by step", () => {
    const r = cli(["preview", "--spec", specFile(), ...SSH], PENDING);
    expect(r.code).toBe(3);
    expect(r.out).toBe("lb1: 2 change(s) pending:\n  sysctls: net.ipv4.vs.conntrack: 0 -> 1\n  ipvs: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1");
  });

  test("--json: one JSON object for machines, same exit codes", () => {
    const pending = cli(["preview", "--spec", specFile(), ...SSH, "--json"], PENDING);
    expect(pending.code).toBe(3);
    expect(JSON.parse(pending.out)).toEqual({
      host: "lb1",
      pending: 2,
      changes: [
        { step: "sysctls", change: "net.ipv4.vs.conntrack: 0 -> 1" },
        { step: "ipvs", change: "ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1" },
      ],
    });
    const none = cli(["preview", "--spec", specFile(), ...SSH, "--json"]);
    expect(none.code).toBe(0);
    expect(JSON.parse(none.out)).toEqual({ host: "lb1", pending: 0, changes: [] });
  });

  test.each([
    ["no SSH", { code: 255, stdout: "", stderr: "ssh: connect to host 127.0.0.1 port 2222: Connection refused" }],
    ["a banner and no DONE line", { code: 0, stdout: "Welcome\n", stderr: "" }],
    ["an apply that would refuse", { code: 1, stdout: "", stderr: "cdktf-ipvs lb1 [ipvs] ERROR: refusing to take over IPVS services cdktf-ipvs does not own" }],
  ])("%s: exit 2, could not check (with --json also as an error object)", (_, answer) => {
    const r = cli(["preview", "--spec", specFile(), ...SSH], answer);
    expect(r.code).toBe(2);
    expect(r.err).toContain("could not preview the host");
    const j = cli(["preview", "--spec", specFile(), ...SSH, "--json"], answer);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.out)).toEqual({ host: "lb1", error: expect.stringContaining("could not preview the host") });
  });

  test("what the host answered cannot drive the terminal", () => {
    const r = cli(["preview", "--spec", specFile(), ...SSH], { code: 3, stdout: `${P} ipvs CHANGE: \u001b[2Jx\u009b\n${P} DONE: 1 change(s) pending\n`, stderr: "" });
    expect(r.code).toBe(3);
    expect(r.out).toContain("\\u001b[2Jx\\u009b");
    expect(r.out).not.toMatch(/[\u001b\u009b]/);
  });

  test("a service on the --ssh endpoint is refused before connecting, as in drift", () => {
    const r = cli(["preview", "--spec", specFile(), "--ssh", "root@172.16.1.8:1000"]);
    expect(r.code).toBe(1);
    expect(r.calls).toHaveLength(0);
  });

  test("usage: exactly one of --spec and --stack; --ssh required", () => {
    expect(cli(["preview", ...SSH]).err).toMatch(/exactly one of --spec SPEC.json or --stack/);
    expect(cli(["preview", "--spec", specFile(), "--stack", tmpDir(), ...SSH]).code).toBe(2);
    expect(cli(["preview", "--spec", specFile()]).err).toMatch(/--ssh is required/);
    expect(cli(["preview", "--spec", specFile(), ...SSH, "--json", "x"]).err).toMatch(/unexpected argument "x"/);
  });
});

/** apply.sh as Terraform JSON carries it (escapeTerraformTemplate: "${" → "$${", "%{" → "%%{"). */
const tfEscape = (text: string) => text.replace(/\$\{/g, "$${").replace(/%\{/g, "%%{");

function stackDir(json: unknown): string {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(json));
  return dir;
}

describe("cdktf-ipvs preview --stack: hosts read from a synthesized stack, in any upload layout", () => {
  const host = buildDesiredHost(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } }), {
    host: "app/lb1",
    service: (i) => `app/lb1/svc${i}`,
    realServer: (svc, i) => `${svc}/realServer[${i}]`,
    alias: (svc, i) => `${svc}/alias[${i}]`,
  });
  const apply = renderHost(planHost(host)).scripts["apply.sh"];

  test.each([
    ["one file provisioner per step (content)", { resource: { terraform_data: { lb1_ipvs: { provisioner: [{ file: { content: tfEscape(apply), destination: "/var/lib/cdktf-ipvs/apply.sh" } }] } } } }],
    ["the script anywhere else, twice", { resource: { x: { y: { input: { a: tfEscape(apply) } }, z: { triggers: { b: tfEscape(apply) } } } } }],
  ])("%s", (_, json) => {
    const dir = stackDir(json);
    expect(readStackHosts(dir)).toEqual([host]);
    const r = cli(["preview", "--stack", dir, "--host", "lb1", ...SSH]);
    expect(r.code).toBe(0);
    expect(r.calls[0].script).toBe(apply);
    expect(r.calls[0].args).toEqual(["--dry-run"]);
  });

  test("the scripts packed into one upload (base64 of a gzipped tar), as one upload per host sends them", () => {
    const dir = tmpDir();
    for (const [name, text] of Object.entries(renderHost(planHost(host)).scripts)) fs.writeFileSync(path.join(dir, name), text);
    const tar = spawnSync("tar", ["-cz", "-C", dir, "apply.sh", "verify.sh", "destroy.sh"]);
    expect(tar.status).toBe(0);
    const bundle = tar.stdout.toString("base64");
    expect(hostsOfStackJson({ resource: { terraform_data: { lb1_upload: { provisioner: [{ file: { content: bundle, destination: "/var/lib/cdktf-ipvs/scripts.tar.gz.b64" } }] } } } })).toEqual([host]);
  });

  test("a real synth with the constructs (whatever resource layout they use today)", () => {
    const outdir = tmpDir();
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "lab");
    IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/k" } });
    app.synth();
    const dir = path.join(outdir, "stacks", "lab");
    const hosts = readStackHosts(dir);
    expect(hosts.map((h) => h.name)).toEqual(["lb1"]);
    const r = cli(["preview", "--stack", dir, ...SSH], PENDING);
    expect(r.code).toBe(3);
    expect(readDesiredState(r.calls[0].script)).toEqual(hosts[0]);
    // The cdktf.out folder itself names its stacks.
    expect(cli(["preview", "--stack", outdir, ...SSH]).err).toContain(`give one of its stacks: ${dir}`);
  });

  test("a stack without our hosts, or with two different states for one host, is refused (exit 2)", () => {
    const none = cli(["preview", "--stack", stackDir({ resource: {} }), ...SSH]);
    expect(none.code).toBe(2);
    expect(none.err).toContain("has no cdktf-ipvs host");
    const other = renderHost(planHost(buildDesiredHost(seedHost({ conntrack: true, virtualServices: [] })))).scripts["apply.sh"];
    const two = cli(["preview", "--stack", stackDir({ a: tfEscape(apply), b: tfEscape(other) }), ...SSH]);
    expect(two.code).toBe(2);
    expect(two.err).toContain('two different desired states for host "lb1"');
    const broken = cli(["preview", "--stack", stackDir({ a: `#!/bin/sh\n${DESIRED_STATE_MARKER}{not json\n` }), ...SSH]);
    expect(broken.code).toBe(2);
    expect(broken.err).toContain("desired-state marker line is not valid JSON");
    expect(cli(["preview", "--stack", path.join(tmpDir(), "missing"), ...SSH]).err).toContain("cannot read stack");
  });

  test("--host picks one of several hosts; an unknown one is named with the stack's hosts", () => {
    const lb2 = renderHost(planHost(buildDesiredHost(seedHost({ name: "lb2" })))).scripts["apply.sh"];
    const dir = stackDir({ a: tfEscape(apply), b: tfEscape(lb2) });
    expect(cli(["preview", "--stack", dir, ...SSH]).err).toContain("--host is required: the stack has several hosts; its hosts: lb1, lb2");
    expect(cli(["preview", "--stack", dir, "--host", "lb3", ...SSH]).err).toContain('--host "lb3" is not a host of the stack; its hosts: lb1, lb2');
    const r = cli(["preview", "--stack", dir, "--host", "lb2", ...SSH], { code: 0, stdout: "cdktf-ipvs lb2 [preview] DONE: 0 change(s) pending\n", stderr: "" });
    expect(r.code).toBe(0);
    expect(r.out).toBe("lb2: nothing to change");
  });
});
