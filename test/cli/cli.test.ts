import Ajv from "ajv";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RenderOutError, escapeControls, runCli, writeHostFolders } from "../../lib/cli";
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
    expect(manifest.sysctls).toEqual({ "net.ipv4.vs.conntrack": "1", "net.ipv4.vs.expire_nodest_conn": "1", "net.ipv4.vs.expire_quiescent_template": "1" });
    expect(Object.keys(manifest.kernelDecidedSysctls)).toEqual(["net.ipv4.vs.conn_reuse_mode"]);
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

  test("broken JSON is reported as such, by line and column", () => {
    const dir = tmpDir();
    const result = run(["render", "--spec", writeSpec(dir, "{ hosts: "), "--out", dir]);
    expect(result.code).toBe(2);
    expect(result.err).toBe(`${path.join(dir, "spec.json")}:1:3: spec is not valid JSON: expected property name or '}'`);
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
    // IPVS004 (expire_nodest_conn) is on by default now, so no info finding.
    expect(result.out).toContain("0 error(s), 1 warning(s), 0 info");
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
      format_version: "1.2",
      terraform_version: "1.11.4",
      planned_values: { root_module: {} },
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

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("escapeControls", () => {
  test("escapes C0 (but \\n, \\t), DEL, C1, separators and bidi controls; keeps other text", () => {
    expect(escapeControls("a\u001b[2Jb\u0007\r\u007f\u0085\u009b31m\u2028\u2029\u202e\u2066x\u2069")).toBe("a\\u001b[2Jb\\u0007\\u000d\\u007f\\u0085\\u009b31m\\u2028\\u2029\\u202e\\u2066x\\u2069");
    expect(escapeControls("line 1\n\tline 2 – ü ✓ 漢字 😀")).toBe("line 1\n\tline 2 – ü ✓ 漢字 😀");
    const all = Array.from({ length: 0x3000 }, (_, i) => String.fromCharCode(i)).join("");
    expect(escapeControls(all)).not.toMatch(CONTROL);
  });
});

describe("the CLI never prints a stack trace or raw control characters", () => {
  test("a file name with terminal escapes", () => {
    const r = run(["plan", "--spec", "/nonexistent/\u001b[2J\u009b2J.json"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("cannot read spec /nonexistent/\\u001b[2J\\u009b2J.json");
    expect(r.err).not.toMatch(CONTROL);
  });

  test("an unknown option with terminal escapes: named on one line, with what the command takes, then the usage", () => {
    const r = run(["render", "--\u001b[2J", "x", "stray\u202e"]);
    expect(r.code).toBe(2);
    expect(r.err.split("\n")[0]).toBe("cdktf-ipvs: unknown option '--\\u001b[2J'; render takes --spec, --out, --help");
    expect(r.err.split("\n")[1]).toBe("usage: cdktf-ipvs render --spec SPEC.json --out DIR");
    expect(r.err).not.toMatch(CONTROL);
  });

  test("a surplus argument with terminal escapes", () => {
    const r = run(["render", "--spec", "a.json", "--out", "o", "stray\u202e"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cdktf-ipvs: unexpected argument "stray\\u202e"; render takes no arguments, only options\nusage: /);
    expect(r.err).not.toMatch(CONTROL);
  });

  test("an unknown command with terminal escapes", () => {
    const r = run(["\u001b]0;pwned\u0007"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^cdktf-ipvs: unknown command '\\u001b\]0;pwned\\u0007'; the commands are plan, render, check, check-plan, drift, preview, import, policy, help\nusage:/);
    expect(r.err).not.toMatch(CONTROL);
  });

  test("a JSON parse message quoting the file", () => {
    const dir = tmpDir();
    const r = run(["check", "--spec", writeSpec(dir, "{\"hosts\": \u001b[2J}")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not valid JSON/);
    expect(r.err).not.toMatch(CONTROL);
  });

  test("model messages quoting spec values", () => {
    const dir = tmpDir();
    const r = run(["plan", "--spec", writeSpec(dir, { hosts: [seedHost({ name: "lb\u001b[2J" })] })]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("\\u001b[2J");
    expect(r.err).not.toMatch(CONTROL);
  });

  test("a duplicate option and a missing value", () => {
    const r = run(["check", "--spec", "a.json", "--spec", "b.json", "--strict"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--spec is given more than once");
    expect(run(["check", "--spec"])).toMatchObject({ code: 2, err: expect.stringMatching(/^cdktf-ipvs: option '--spec <SPEC\.json>' argument missing\nusage:/) });
  });

  test("no command is a usage error; help is not", () => {
    expect(run([]).code).toBe(2);
    expect(run(["help"]).code).toBe(0);
    expect(run(["render", "--help"])).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: cdktf-ipvs render --spec SPEC\.json --out DIR\n/), err: "" });
  });
});

describe("cdktf-ipvs check-plan refuses what is not a plan", () => {
  const planFile = (plan: unknown) => {
    const file = path.join(tmpDir(), "plan.json");
    fs.writeFileSync(file, JSON.stringify(plan));
    return file;
  };

  test.each([
    ["{}", {}, /not a terraform show -json plan: format_version, terraform_version, planned_values, configuration are missing; produce one with: terraform plan -out=plan\.bin && terraform show -json plan\.bin > plan\.json/],
    ["a spec", JSON.parse(fs.readFileSync(path.join(ROOT, "examples", "seed.spec.json"), "utf8")), /this is a cdktf-ipvs spec, not a Terraform plan/],
    ["a state", { format_version: "1.0", terraform_version: "1.11.4", values: { root_module: { resources: [] } } }, /this is a Terraform state/],
  ])("%s: exit 2 with what was expected and how to produce it", (_, plan, message) => {
    const r = run(["check-plan", "--plan", planFile(plan)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).not.toMatch(/0 error/);
  });

  test("a malformed desired-state marker: exit 2 naming the resource, no stack", () => {
    const plan = {
      format_version: "1.2",
      terraform_version: "1.11.4",
      planned_values: { root_module: {} },
      configuration: {
        root_module: {
          resources: [
            {
              address: "terraform_data.lb1_aliases",
              provisioners: [
                { type: "file", expressions: { content: { constant_value: "# cdktf-ipvs-desired-state: {\"name\": \u001b[2J\n" } } },
                { type: "remote-exec", expressions: { inline: { constant_value: ["sh /var/lib/cdktf-ipvs/apply.sh --generation ${self.id} aliases"] } } },
              ],
            },
          ],
        },
      },
    };
    const r = run(["check-plan", "--plan", planFile(plan)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^plan: terraform_data\.lb1_aliases: the file provisioner's script cannot be checked: the desired-state marker line is not valid JSON: /);
    expect(r.err.split("\n")).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  test("provisioners of the wrong type: exit 2, not a TypeError", () => {
    const r = run(["check-plan", "--plan", planFile({ format_version: "1.2", terraform_version: "1.11.4", planned_values: {}, configuration: { root_module: { resources: [{ address: "x.y", provisioners: 5 }] } } })]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("plan: configuration.root_module.resources[0].provisioners is a number, expected an array; is this the unedited output of terraform show -json?");
  });
});

describe("an invalid spec: every problem in one run", () => {
  test("each model issue on its own line, and the count", () => {
    const dir = tmpDir();
    const bad = seedHost({
      virtualServices: [
        seedService({ scheduler: "fast" as never, realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 70000 }] }),
      ],
    });
    const spec = writeSpec(dir, { hosts: [bad, { name: "lb\u001b2", virtualServices: [{ name: "x", address: "not-an-address", port: 99999 }] }] });
    const r = run(["plan", "--spec", spec]);
    expect(r.code).toBe(1);
    const lines = r.err.split("\n");
    const count = Number(/^invalid spec \((\d+) problems?\); nothing written:$/.exec(lines[0])?.[1]);
    expect(count).toBeGreaterThanOrEqual(4);
    expect(lines).toHaveLength(count + 1);
    expect(lines.slice(1).every((l) => /^spec(\.hosts\[\d\])?.*: /.test(l))).toBe(true);
    expect(r.err).toContain("weight 70000 is out of range");
    expect(r.err).toContain("spec.hosts[1]");
    expect(r.err).not.toMatch(CONTROL);
  });

  test.each([
    ["[]", []],
    ["null", null],
    ["a string", "hosts"],
    ["hosts not an array", { hosts: 5 }],
    ["a host that is null", { hosts: [null] }],
    ["a host that is a number", { hosts: [7] }],
  ])("%s: exit 1 with the issue, no internal error", (_, spec) => {
    const r = run(["check", "--spec", writeSpec(tmpDir(), JSON.stringify(spec))]);
    expect(r.err).toMatch(/^invalid spec \(\d+ problems?\)/);
    expect(r.err).not.toContain("internal error");
    expect(r.code).toBe(1);
  });
});

describe("render --out is safe", () => {
  const specOf = (...names: string[]) => writeSpec(tmpDir(), { hosts: names.map((name) => seedHost({ name })) });
  const entries = (dir: string) => fs.readdirSync(dir).sort();
  const manifestOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));

  test("a re-render replaces our own folders and leaves no temporary folder", () => {
    const out = path.join(tmpDir(), "out");
    const spec = specOf("lb1", "lb2");
    expect(run(["render", "--spec", spec, "--out", out]).code).toBe(0);
    fs.writeFileSync(path.join(out, "lb1", "apply.sh"), "edited by hand");
    const r = run(["render", "--spec", spec, "--out", out]);
    expect(r.code).toBe(0);
    expect(entries(out)).toEqual(["lb1", "lb2"]);
    expect(fs.readFileSync(path.join(out, "lb1", "apply.sh"), "utf8")).toContain("# cdktf-ipvs apply.sh for host lb1");
    expect(manifestOf(path.join(out, "lb2")).host).toBe("lb2");
  });

  test("a symlinked host folder is refused; the victim folder is untouched", () => {
    const base = tmpDir();
    const out = path.join(base, "out");
    const victim = path.join(base, "victim");
    fs.mkdirSync(out);
    fs.mkdirSync(victim);
    fs.writeFileSync(path.join(victim, "apply.sh"), "precious");
    fs.symlinkSync(victim, path.join(out, "lb1"));
    const r = run(["render", "--spec", specOf("lb1"), "--out", out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${path.join(out, "lb1")} is a symbolic link`);
    expect(r.err).toContain("nothing was changed");
    expect(entries(victim)).toEqual(["apply.sh"]);
    expect(fs.readFileSync(path.join(victim, "apply.sh"), "utf8")).toBe("precious");
    expect(entries(out)).toEqual(["lb1"]);
    expect(fs.lstatSync(path.join(out, "lb1")).isSymbolicLink()).toBe(true);
  });

  test("a symlinked file inside our host folder is not written through", () => {
    const base = tmpDir();
    const out = path.join(base, "out");
    const spec = specOf("lb1");
    expect(run(["render", "--spec", spec, "--out", out]).code).toBe(0);
    const victim = path.join(base, "victim.txt");
    fs.writeFileSync(victim, "precious");
    fs.rmSync(path.join(out, "lb1", "apply.sh"));
    fs.symlinkSync(victim, path.join(out, "lb1", "apply.sh"));
    expect(run(["render", "--spec", spec, "--out", out]).code).toBe(0);
    expect(fs.readFileSync(victim, "utf8")).toBe("precious");
    expect(fs.lstatSync(path.join(out, "lb1", "apply.sh")).isFile()).toBe(true);
  });

  test("a symlinked manifest.json makes the folder foreign", () => {
    const base = tmpDir();
    const out = path.join(base, "out");
    const spec = specOf("lb1");
    expect(run(["render", "--spec", spec, "--out", out]).code).toBe(0);
    const elsewhere = path.join(base, "manifest.json");
    fs.renameSync(path.join(out, "lb1", "manifest.json"), elsewhere);
    fs.symlinkSync(elsewhere, path.join(out, "lb1", "manifest.json"));
    const r = run(["render", "--spec", spec, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("has a manifest.json that is a symbolic link");
  });

  test("a foreign folder or file for the second host: nothing moves, the first host's old render stays", () => {
    for (const foreign of ["folder", "file", "other-manifest"] as const) {
      const base = tmpDir();
      const out = path.join(base, "out");
      expect(run(["render", "--spec", specOf("lb1"), "--out", out]).code).toBe(0);
      fs.writeFileSync(path.join(out, "lb1", "apply.sh"), "old render");
      const before = fs.readdirSync(path.join(out, "lb1")).map((f) => [f, fs.readFileSync(path.join(out, "lb1", f), "utf8")]);
      if (foreign === "file") fs.writeFileSync(path.join(out, "lb2"), "mine");
      else {
        fs.mkdirSync(path.join(out, "lb2"));
        fs.writeFileSync(path.join(out, "lb2", "notes.txt"), "mine");
        if (foreign === "other-manifest") fs.writeFileSync(path.join(out, "lb2", "manifest.json"), JSON.stringify({ name: "not ours" }));
      }
      const r = run(["render", "--spec", specOf("lb1", "lb2"), "--out", out]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/^render --out: refusing to replace what cdktf-ipvs did not write; nothing was changed:\n {2}- .*lb2 /);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(entries(out)).toEqual(["lb1", "lb2"]);
      expect(fs.readdirSync(path.join(out, "lb1")).map((f) => [f, fs.readFileSync(path.join(out, "lb1", f), "utf8")])).toEqual(before);
      if (foreign === "file") expect(fs.readFileSync(path.join(out, "lb2"), "utf8")).toBe("mine");
      else expect(fs.readFileSync(path.join(out, "lb2", "notes.txt"), "utf8")).toBe("mine");
    }
  });

  test("a move that fails halfway puts every earlier render back", () => {
    const out = path.join(tmpDir(), "out");
    expect(run(["render", "--spec", specOf("lb1", "lb2"), "--out", out]).code).toBe(0);
    for (const h of ["lb1", "lb2"]) fs.writeFileSync(path.join(out, h, "apply.sh"), `old ${h}`);
    const files = (host: string) => ({ host, planHash: "0".repeat(64), files: { "apply.sh": `new ${host}`, "manifest.json": JSON.stringify({ host, planHash: "1".repeat(64) }) } });
    let moves = 0;
    const failing = {
      rename: (from: string, to: string) => {
        // 1: lb1 aside, 2: new lb1 in, 3: lb2 aside, 4: new lb2 in -> fails
        if (++moves === 4) throw new Error("EXDEV: simulated");
        fs.renameSync(from, to);
      },
    };
    expect(() => writeHostFolders([files("lb1"), files("lb2")], out, failing)).toThrow(RenderOutError);
    expect(() => writeHostFolders([files("lb1"), files("lb2")], out, { rename: () => { throw new Error("EXDEV: simulated"); } })).toThrow(/simulated; nothing was changed/);
    expect(entries(out)).toEqual(["lb1", "lb2"]);
    for (const h of ["lb1", "lb2"]) expect(fs.readFileSync(path.join(out, h, "apply.sh"), "utf8")).toBe(`old ${h}`);
  });

  test("folders of hosts no longer in the spec are removed only when they are ours", () => {
    const out = path.join(tmpDir(), "out");
    expect(run(["render", "--spec", specOf("lb1", "lb2", "lb3"), "--out", out]).code).toBe(0);
    fs.mkdirSync(path.join(out, "notes"));
    fs.writeFileSync(path.join(out, "notes", "todo"), "mine");
    fs.writeFileSync(path.join(out, "README"), "mine");
    // Our manifest, but in a folder of another name: not ours to remove.
    fs.mkdirSync(path.join(out, "copy"));
    fs.copyFileSync(path.join(out, "lb3", "manifest.json"), path.join(out, "copy", "manifest.json"));
    // A symlink to one of our folders: removing it is not ours to decide either.
    fs.symlinkSync(path.join(out, "lb3"), path.join(out, "link"));
    const r = run(["render", "--spec", specOf("lb1"), "--out", out]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`removed ${path.join(out, "lb2")}: its host is no longer in the spec`);
    expect(r.out).toContain(`removed ${path.join(out, "lb3")}: its host is no longer in the spec`);
    expect(entries(out)).toEqual(["README", "copy", "lb1", "link", "notes"]);
    expect(fs.readFileSync(path.join(out, "notes", "todo"), "utf8")).toBe("mine");
  });

  test("--out that is a file: exit 2, no stack", () => {
    const file = path.join(tmpDir(), "out");
    fs.writeFileSync(file, "x");
    const r = run(["render", "--spec", specOf("lb1"), "--out", file]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`--out ${file} is not a directory`);
  });
});
