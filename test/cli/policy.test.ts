import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PolicyInputError, runPolicy } from "../../lib/cli/policy";
import { STACK_RULES } from "../../lib/policy/stack";

const SEED = [
  "ipvsadm -A -t 172.16.1.8:1000 -s rr",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
  "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
];

function stackDir(inline: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-policy-"));
  // host_key pinned, so only the pairing rules have something to say.
  const json = { resource: { null_resource: { lb: { connection: { host: "172.16.1.8", host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }, provisioner: [{ "remote-exec": { inline } }] } } } };
  fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(json, null, 2));
  return dir;
}

function run(target: string, options: Parameters<typeof runPolicy>[1] = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runPolicy(target, options, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("cdktf-ipvs policy", () => {
  test("the seed's hand-written stack: exit 1, the finding on stderr with command and fix", () => {
    const r = run(stackDir(SEED));
    expect(r.code).toBe(1);
    expect(r.err).toContain("[error] IPVS101 172.16.1.8:22 null_resource.lb: REDIRECT to IPVS service tcp 172.16.1.8:1000");
    expect(r.err).toContain("    iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000");
    expect(r.out).toBe("1 stack(s), 1 host(s): 1 error, 0 warning, 0 info");
    expect(run(stackDir(SEED)).code).toBe(1);
  });

  test("a warning fails only with --fail-on warning", () => {
    const dir = stackDir(["sysctl -w net.ipv4.vs.conntrack=1", ...SEED]);
    expect(run(dir).code).toBe(0);
    expect(run(dir, { failOn: "warning" }).code).toBe(1);
  });

  test("--json gives the findings with file and line, for machines", () => {
    const dir = stackDir(SEED);
    const r = run(path.join(dir, "main.tf.json"), { json: true });
    const parsed = JSON.parse(r.out);
    expect(parsed.hosts).toEqual(["172.16.1.8:22"]);
    expect(parsed.findings).toEqual([expect.objectContaining({ ruleId: "IPVS101", resource: "null_resource.lb", line: 4, file: expect.stringMatching(/main\.tf\.json$/) })]);
  });

  test("--sarif and --junit write their reports", () => {
    const dir = stackDir(SEED);
    const sarif = path.join(dir, "out.sarif");
    const junit = path.join(dir, "out.xml");
    run(dir, { sarif, junit });
    const log = JSON.parse(fs.readFileSync(sarif, "utf8"));
    expect(log.version).toBe("2.1.0");
    expect(log.runs[0].results[0]).toMatchObject({ ruleId: "IPVS101", locations: [{ physicalLocation: { region: { startLine: 4 } } }] });
    expect(fs.readFileSync(junit, "utf8")).toContain(`<testsuite name="cdktf-ipvs policy" tests="${STACK_RULES.length}" failures="1"`);
  });

  test("input that is not a stack or plan is refused (exit 2 in the CLI)", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-policy-empty-"));
    expect(() => run(empty)).toThrow(PolicyInputError);
    expect(() => run(path.join(empty, "missing.json"))).toThrow(/does not exist/);
    expect(() => run(stackDir(SEED), { failOn: "fatal" as never })).toThrow(/--fail-on "fatal" is not a level/);
  });
});

describe("cdktf-ipvs policy refuses what is not a stack", () => {
  test("a spec.json, an empty object and broken JSON", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-policy-not-"));
    for (const [name, text] of [["spec.json", '{"hosts": []}'], ["empty.json", "{}"], ["broken.json", "{"]]) {
      fs.writeFileSync(path.join(dir, name), text);
      expect(() => run(path.join(dir, name))).toThrow(PolicyInputError);
    }
  });
});

describe("cdktf-ipvs policy on cdktf-ipvs's own stacks", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { App, TerraformStack } = require("cdktf") as typeof import("cdktf");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { IpvsHost } = require("../../lib/constructs") as typeof import("../../lib/constructs");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { seedHost } = require("../fixtures") as typeof import("../fixtures");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { requireTerraform, tfOk } = require("../constructs/terraform") as typeof import("../constructs/terraform");

  function synthSeed(): string {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-policy-own-"));
    const app = new App({ outdir });
    const stack = new TerraformStack(app, "lab");
    IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection: { host: "172.16.1.8", privateKeyPath: "/k" } });
    app.synth();
    return path.join(outdir, "stacks", "lab");
  }

  test("the host rules run on the desired state our scripts carry: no error, the warnings the constructs give", () => {
    const r = run(synthSeed(), { json: true });
    expect(r.code).toBe(0);
    const ids = JSON.parse(r.out).findings.map((f: { ruleId: string; host: string }) => `${f.ruleId} ${f.host}`);
    expect(ids).toEqual(expect.arrayContaining(["IPVS002 172.16.1.8:22"]));
    // expire_nodest_conn is on by default: IPVS004 only fires on an opt-out.
    expect(ids).not.toContain("IPVS004 172.16.1.8:22");
    expect(ids.filter((id: string) => id.startsWith("IPVS108"))).toEqual(["IPVS108 172.16.1.8:22"]);
  });

  test("a real terraform plan of our stack: the plan-time checks run too", () => {
    requireTerraform();
    const dir = synthSeed();
    const config = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
    delete config.terraform?.backend;
    fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(config));
    tfOk(dir, ["init", "-input=false", "-no-color"]);
    tfOk(dir, ["plan", "-input=false", "-no-color", "-out", "p"]);
    const planFile = path.join(dir, "plan.json");
    fs.writeFileSync(planFile, tfOk(dir, ["show", "-json", "-no-color", "p"]));
    const r = run(planFile, { json: true });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(expect.arrayContaining(["IPVS002"]));
  });
});
