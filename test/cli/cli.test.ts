import Ajv from "ajv";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { seedHost, seedService } from "../fixtures";

const ROOT = path.resolve(__dirname, "../..");
const BIN = path.join(ROOT, "bin", "cdktf-ipvs.js");

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-cli-"));
}

function writeSpec(dir: string, spec: unknown): string {
  const file = path.join(dir, "spec.json");
  fs.writeFileSync(file, typeof spec === "string" ? spec : JSON.stringify(spec));
  return file;
}

function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("cdktf-ipvs render", () => {
  test("writes apply.sh, verify.sh, destroy.sh and manifest.json per host", () => {
    const dir = tmpDir();
    const spec = writeSpec(dir, { hosts: [seedHost(), seedHost({ name: "lb2" })] });
    const result = run(["render", "--spec", spec, "--out", path.join(dir, "out")]);
    expect(result.code).toBe(0);
    for (const host of ["lb1", "lb2"]) {
      expect(fs.readdirSync(path.join(dir, "out", host)).sort()).toEqual(["apply.sh", "destroy.sh", "manifest.json", "verify.sh"]);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "out", "lb1", "manifest.json"), "utf8"));
    expect(manifest.steps.map((s: { name: string }) => s.name)).toEqual(["modules", "sysctls", "ipvs", "aliases", "boot", "verify"]);
    expect(manifest.sysctls).toEqual({ "net.ipv4.vs.conntrack": "1" });
    expect(fs.statSync(path.join(dir, "out", "lb1", "apply.sh")).mode & 0o111).not.toBe(0);
  });

  test("renders the same apply.sh as the example spec file through the real binary", () => {
    const dir = tmpDir();
    const r = spawnSync("node", [BIN, "render", "--spec", path.join(ROOT, "examples", "seed.spec.json"), "--out", dir], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const apply = fs.readFileSync(path.join(dir, "lb1", "apply.sh"), "utf8");
    expect(apply).toContain("-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1");
  });

  test("an invalid spec exits non-zero with the model's message and writes nothing", () => {
    const dir = tmpDir();
    const bad = seedHost({ virtualServices: [seedService({ realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 70000 }] })] });
    const spec = writeSpec(dir, { hosts: [seedHost({ name: "good" }), bad] });
    const out = path.join(dir, "out");
    const result = run(["render", "--spec", spec, "--out", out]);
    expect(result.code).toBe(1);
    expect(result.err).toContain("spec.hosts[1].virtualServices[0].realServers[0]: weight 70000 is out of range; allowed 0–65535");
    expect(result.err).toContain("nothing written");
    expect(fs.existsSync(out)).toBe(false);
  });

  test("broken JSON is reported as such", () => {
    const dir = tmpDir();
    const result = run(["render", "--spec", writeSpec(dir, "{ hosts: "), "--out", dir]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/is not valid JSON/);
  });

  test("missing options print usage", () => {
    expect(run(["render", "--spec", "x.json"]).err).toMatch(/--out is required\nusage:/);
    expect(run(["frobnicate"]).code).toBe(2);
  });
});

describe("cdktf-ipvs plan", () => {
  test("prints the ordered steps", () => {
    const dir = tmpDir();
    const result = run(["plan", "--spec", writeSpec(dir, { hosts: [seedHost()] })]);
    expect(result.code).toBe(0);
    const order = ["modules", "sysctls", "ipvs", "aliases", "boot", "verify"].map((s) => result.out.indexOf(`. ${s} [`));
    expect(order.every((pos, i) => pos > 0 && (i === 0 || pos > order[i - 1]))).toBe(true);
    expect(result.out).toContain("net.ipv4.vs.conntrack=1");
  });

  test("exits non-zero on an invalid spec", () => {
    const dir = tmpDir();
    const r = spawnSync("node", [BIN, "plan", "--spec", writeSpec(dir, { hosts: [seedHost({ conntrack: false })] })], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("spec.hosts[0]: conntrack false is not allowed while the host has aliases");
  });
});

describe("schema/spec.schema.json", () => {
  const schema = JSON.parse(fs.readFileSync(path.join(ROOT, "schema", "spec.schema.json"), "utf8"));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

  test("accepts the example spec", () => {
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, "examples", "seed.spec.json"), "utf8"));
    expect(validate(example)).toBe(true);
  });

  test("accepts what the model accepts, in its full range of props", () => {
    const spec = {
      hosts: [
        seedHost({
          conntrack: true,
          localAddresses: ["10.0.0.1"],
          sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
          virtualServices: [
            seedService({ persistence: { timeout: 60, netmask: "255.255.255.0" } }),
            { name: "mark", fwmark: 7, family: "ipv4", scheduler: "mh", schedulerFlags: ["mh-port"], realServers: [{ address: "10.0.0.2", forwarding: "gatewaying", upperThreshold: 10, lowerThreshold: 5 }] },
          ],
        }),
      ],
    };
    expect(validate(spec)).toBe(true);
    expect(run(["plan", "--spec", writeSpec(tmpDir(), spec)]).code).toBe(0);
  });

  test.each([
    ["an unknown scheduler", { hosts: [seedHost({ virtualServices: [seedService({ scheduler: "fast" as never })] })] }],
    ["a weight out of range", { hosts: [seedHost({ virtualServices: [seedService({ realServers: [{ address: "1.2.3.4", forwarding: "masquerade", weight: 70000 }] })] })] }],
    ["a misspelt prop", { hosts: [{ name: "lb1", virtualServices: [{ ...seedService(), shceduler: "rr" }] }] }],
    ["a service with neither address+port nor fwmark", { hosts: [{ name: "lb1", virtualServices: [{ name: "x" }] }] }],
  ])("rejects %s, as the model does", (_, spec) => {
    expect(validate(spec)).toBe(false);
    expect(run(["plan", "--spec", writeSpec(tmpDir(), spec)]).code).toBe(1);
  });
});

describe("cdktf-ipvs check", () => {
  test("prints findings with rule ids and passes without errors", () => {
    const result = run(["check", "--spec", path.join(ROOT, "examples", "seed.spec.json")]);
    expect(result.code).toBe(0);
    expect(result.out).toContain("[warning] IPVS002 spec.hosts[0]");
    expect(result.out).toContain("0 error(s), 1 warning(s), 1 info");
  });

  test("--strict fails on warnings", () => {
    expect(run(["check", "--spec", path.join(ROOT, "examples", "seed.spec.json"), "--strict"]).code).toBe(1);
  });

  test("a compliant spec passes --strict", () => {
    const spec = { hosts: [seedHost({ sysctls: { "net.netfilter.nf_conntrack_max": 262144, "net.ipv4.vs.expire_nodest_conn": 1 } })] };
    const result = run(["check", "--spec", writeSpec(tmpDir(), spec), "--strict"]);
    expect(result.out).toContain("0 error(s), 0 warning(s), 0 info");
    expect(result.code).toBe(0);
  });

  test("check-plan reads terraform show -json and reports IPVS006 for a hand-edited plan", () => {
    const plan = {
      configuration: {
        root_module: {
          resources: [
            { address: "terraform_data.v", depends_on: ["terraform_data.a"], provisioners: [{ type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/verify.sh"] } } }] },
            {
              address: "terraform_data.a",
              depends_on: ["terraform_data.s"],
              provisioners: [
                { type: "file", expressions: { content: { constant_value: `# cdktf-ipvs-desired-state: ${JSON.stringify({ name: "x", path: "p", services: [], aliases: [], modules: [], sysctls: [] })}\n` } } },
                { type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} aliases"] } } },
              ],
            },
            {
              address: "terraform_data.s",
              provisioners: [
                { type: "file", expressions: { content: { constant_value: `# cdktf-ipvs-desired-state: ${JSON.stringify({ name: "x", path: "p", services: [], aliases: [], modules: [{ name: "ip_vs" }], sysctls: [] })}\n` } } },
                { type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} sysctls"] } } },
              ],
            },
          ],
        },
      },
    };
    const file = path.join(tmpDir(), "plan.json");
    fs.writeFileSync(file, JSON.stringify(plan));
    const result = run(["check-plan", "--plan", file]);
    expect(result.code).toBe(1);
    expect(result.err).toContain("[error] IPVS006 p:");
  });
});
