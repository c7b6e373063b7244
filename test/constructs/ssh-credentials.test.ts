/**
 * What the SSH connection props may put into cdk.tf.json and Terraform state: never key text,
 * never a Terraform template that was meant as text. The reasons are proved with a real terraform.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { Construct } from "constructs";
import { IpvsHost, IpvsHostProps, SshConnectionProps } from "../../lib/constructs";
import { SeedStack } from "../../main";
import { requireTerraform, tempDir, tf, tfOk } from "./terraform";
import { modelIssues } from "../model-issues";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function newStack(): TerraformStack {
  return new TerraformStack(Testing.app(), "s");
}

function hostWith(connection: Partial<SshConnectionProps> & Record<string, unknown>, props: Partial<IpvsHostProps> = {}): () => IpvsHost {
  return () => new IpvsHost(newStack(), "lb1", { engine: "terraform_data", ...props, connection: { host: "10.0.0.1", ...connection } as SshConnectionProps });
}

function synthSteps(build: (stack: TerraformStack) => void): Json[] {
  const stack = newStack();
  build(stack);
  const json = JSON.parse(Testing.synth(stack));
  return Object.values(json.resource?.terraform_data ?? {}) as Json[];
}

/** A real OpenSSH ed25519 key pair in a fresh temp dir. */
function generateKey(): { file: string; text: string; bodyLines: string[]; publicKey: string } {
  const dir = tempDir("cdktf-ipvs-key-");
  const file = path.join(dir, "id_ed25519");
  try {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "leak-test", "-f", file], { stdio: "pipe" });
  } catch (e) {
    throw new Error(`ssh-keygen (OpenSSH) is needed to generate a real key for this test: ${(e as Error).message}`);
  }
  const text = fs.readFileSync(file, "utf8");
  const bodyLines = text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("-----"))
    .filter((l) => l.length >= 20);
  return { file, text, bodyLines, publicKey: fs.readFileSync(`${file}.pub`, "utf8").trim() };
}

/** An SSH wire-format public key blob of the given type (string type, then opaque key data). */
function blobOf(type: string, body = Buffer.alloc(32, 7)): string {
  const str = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  return Buffer.concat([str(Buffer.from(type, "latin1")), str(body)]).toString("base64");
}

describe("connection props that could carry a key", () => {
  test("unknown connection props are refused with the allowed list, their values never shown", () => {
    const keyText = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
    const issues = modelIssues(hostWith({ private_key: keyText }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "s/lb1", prop: "connection.private_key", value: "<redacted>" });
    expect(issues[0].message).toContain("is not a known connection prop; allowed: host, user, port, privateKeyPath, agent, hostKey, timeout");
    expect(JSON.stringify(issues)).not.toContain("b3BlbnNzaC1rZXktdjE");
  });

  test("unknown host props are refused too (a misspelt prop is not ignored)", () => {
    const issues = modelIssues(hostWith({}, { sysctl: { "net.ipv4.vs.expire_nodest_conn": 1 } } as never));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "s/lb1: sysctl <redacted> is not a known prop; allowed: connection, engine, hostName, conntrack, expireNodestConn, expireQuiescentTemplate, drainTimeoutSeconds, localAddresses, sysctls, unsafeSysctls, converge",
    ]);
  });

  test("agent must be a boolean", () => {
    expect(modelIssues(hostWith({ agent: "yes" as never }))[0].message).toBe('connection.agent "yes" is not a boolean');
  });

  const keyLike: Record<string, string> = {
    "an OpenSSH key": "-----BEGIN OPENSSH PRIVATE KEY-----",
    "a PEM RSA key": "-----BEGIN RSA PRIVATE KEY-----",
    "a PKCS#8 key": "-----BEGIN PRIVATE KEY-----",
    "an encrypted PKCS#8 key": "-----BEGIN ENCRYPTED PRIVATE KEY-----",
    "a PuTTY key": "PuTTY-User-Key-File-3: ssh-ed25519",
    "an SSH2 encrypted key": "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
    "an SSH2 block": "---- BEGIN SSH2 PUBLIC KEY ----",
    "a body line of an OpenSSH key": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "anything with a newline": "/keys/id\nsecret",
  };
  for (const [what, value] of Object.entries(keyLike)) {
    test(`privateKeyPath holding ${what} is refused and redacted`, () => {
      const issues = modelIssues(hostWith({ privateKeyPath: value }));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ prop: "connection.privateKeyPath", value: "<redacted>" });
      expect(issues[0].message).toMatch(/^connection.privateKeyPath <redacted> holds key text, not a path;.*privateKeyPath.*agent: true/);
      expect(JSON.stringify(issues)).not.toContain(value.slice(0, 20));
    });
  }

  test("privateKeyPath with control characters, over 4096 characters or empty is refused", () => {
    expect(modelIssues(hostWith({ privateKeyPath: "/keys/\u0007id" }))[0].message).toBe(
      "connection.privateKeyPath <redacted> contains control characters or unpaired surrogates; allowed: a path of printable characters",
    );
    expect(modelIssues(hostWith({ privateKeyPath: "/keys/\ud800id" }))[0].message).toMatch(/unpaired surrogates/);
    expect(modelIssues(hostWith({ privateKeyPath: `/${"k".repeat(4096)}` }))[0].message).toBe(
      "connection.privateKeyPath <redacted> is 4097 characters long; allowed: a path of at most 4096 characters",
    );
    expect(modelIssues(hostWith({ privateKeyPath: "" }))[0].message).toMatch(/^connection.privateKeyPath "" is not a path/);
    expect(() => hostWith({ privateKeyPath: `/${"k".repeat(4095)}` })()).not.toThrow();
  });
});

describe("connection strings reach Terraform as text, references as references", () => {
  test("a literal privateKeyPath is escaped, so ${...} and %{...} in it are not evaluated", () => {
    const steps = synthSteps((s) => new IpvsHost(s, "lb1", { engine: "terraform_data", connection: { host: "10.0.0.1", privateKeyPath: '/keys/${file("/etc/shadow")}/%{if true}x%{endif}' } }));
    for (const r of steps) expect(r.input).toEqual({ private_key_path: '/keys/$${file("/etc/shadow")}/%%{if true}x%%{endif}' });
  });

  test("a privateKeyPath that is a Terraform reference stays a reference; literal text around it is escaped", () => {
    const steps = synthSteps((s) => {
      const dir = new TerraformVariable(s, "key_dir", { type: "string" });
      new IpvsHost(s, "lb1", { engine: "terraform_data", connection: { host: "10.0.0.1", privateKeyPath: `${dir.stringValue}/\${x}/id` } });
    });
    expect(steps[0].input).toEqual({ private_key_path: "${var.key_dir}/$${x}/id" });
    expect(steps[0].connection.private_key).toBe("${file(self.input.private_key_path)}");
  });

  test("Terraform itself keeps a literal key path with template syntax as text (state holds the path as given)", () => {
    requireTerraform();
    const keyPath = '/keys/${file("/etc/shadow")}%{if true}x%{endif}';
    const dir = tempDir("cdktf-ipvs-keypath-");
    const app = new App({ outdir: path.join(dir, "out") });
    const stack = new TerraformStack(app, "keypath");
    new IpvsHost(stack, "lb1", { engine: "terraform_data", connection: { host: "10.0.0.1", privateKeyPath: keyPath } });
    app.synth();
    const config = JSON.parse(fs.readFileSync(path.join(dir, "out", "stacks", "keypath", "cdk.tf.json"), "utf8"));
    const work = path.join(dir, "work");
    fs.mkdirSync(work);
    const applied = withoutProvisioners(config);
    delete applied.terraform?.backend; // state in the temp dir, not next to the test's cwd
    fs.writeFileSync(path.join(work, "cdk.tf.json"), JSON.stringify(applied, null, 2));
    tfOk(work, ["init", "-input=false", "-no-color"]);
    tfOk(work, ["apply", "-input=false", "-auto-approve", "-no-color"]);
    const state = JSON.parse(tfOk(work, ["show", "-json", "-no-color"]));
    const inputs = state.values.root_module.resources.map((r: Json) => r.values.input.private_key_path);
    expect(inputs).toHaveLength(7); // the upload and the six steps
    for (const v of inputs) expect(v).toBe(keyPath);
  });

  const ed = `ssh-ed25519 ${blobOf("ssh-ed25519")}`;
  test("hostKey accepts exactly TYPE BASE64 for each supported type", () => {
    const types = ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"];
    for (const type of types) expect(() => hostWith({ hostKey: `${type} ${blobOf(type)}` })()).not.toThrow();
    const real = generateKey().publicKey.split(" ").slice(0, 2).join(" ");
    const steps = synthSteps((s) => new IpvsHost(s, "lb1", { engine: "terraform_data", connection: { host: "10.0.0.1", hostKey: real } }));
    expect(steps[0].connection.host_key).toBe(real);
    expect(steps[0].input).toEqual({});
  });

  const badHostKeys: Record<string, [string, RegExp]> = {
    "a template expression": ['${file("/etc/ssh/ssh_host_ed25519_key")}', /is not a host public key; allowed: exactly "TYPE BASE64"/],
    "a template in the blob": ["ssh-ed25519 AAAA${x}", /is not a host public key/],
    "a directive": ["ssh-ed25519 %{if true}AAAA%{endif}", /is not a host public key/],
    "a trailing comment": [`${ed} root@lb`, /without the comment/],
    "a newline": [`${ed}\nssh-rsa AAAA`, /is not a host public key/],
    "an unsupported type": [`ssh-dss ${blobOf("ssh-dss")}`, /has key type "ssh-dss", which is not supported/],
    "a blob of another type": [`ssh-rsa ${blobOf("ssh-ed25519")}`, /has a key blob that is not a ssh-rsa key/],
    "a blob that is not base64": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5A", /is not valid base64/],
  };
  for (const [what, [hostKey, message]] of Object.entries(badHostKeys)) {
    test(`hostKey with ${what} is refused`, () => {
      const issues = modelIssues(hostWith({ hostKey }));
      expect(issues).toHaveLength(1);
      expect(issues[0]).toMatchObject({ path: "s/lb1", prop: "connection.hostKey" });
      expect(issues[0].message).toMatch(message);
    });
  }

  test("a hostKey that is a Terraform reference goes through the resource, so destroy-time provisioners may use it (terraform validate)", () => {
    requireTerraform();
    const dir = tempDir("cdktf-ipvs-hostkey-");
    const app = new App({ outdir: dir });
    const stack = new TerraformStack(app, "hostkey");
    const hostKey = new TerraformVariable(stack, "host_key", { type: "string" });
    new IpvsHost(stack, "lb1", { engine: "terraform_data", connection: { host: "10.0.0.1", hostKey: hostKey.stringValue } });
    app.synth();
    const stackDir = path.join(dir, "stacks", "hostkey");
    const config = JSON.parse(fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8"));
    for (const r of Object.values(config.resource.terraform_data) as Json[]) {
      expect(r.input.host_key).toBe("${var.host_key}");
      expect(r.connection.host_key).toBe("${self.input.host_key}");
    }
    tfOk(stackDir, ["init", "-input=false", "-no-color"]);
    tfOk(stackDir, ["validate", "-no-color"]);
  });

  test("host, user and timeout are pattern-checked, so no template syntax gets through", () => {
    const issues = modelIssues(hostWith({ host: "${var.h}", user: "%{if}", timeout: "${5m}" }));
    expect(issues.map((i) => i.prop)).toEqual(["connection.host", "connection.user", "connection.timeout"]);
  });

  test("construct ids with template syntax never reach Terraform as expressions (terraform validate)", () => {
    requireTerraform();
    const dir = tempDir("cdktf-ipvs-ids-");
    const app = new App({ outdir: dir });
    const stack = new TerraformStack(app, "ids");
    // IpvsHost refuses such an id itself; a parent construct (not ours) can still carry one.
    expect(() => new IpvsHost(stack, "lb${var.x}", { engine: "terraform_data", hostName: "lb1", connection: { host: "10.0.0.1", agent: true } })).toThrow(/IpvsHost id "lb\$\{var.x\}" is not allowed/);
    const group = new Construct(stack, "lb${var.x}%{if}");
    const lb = new IpvsHost(group, "lb", { engine: "terraform_data", hostName: "lb1", connection: { host: "10.0.0.1", agent: true } });
    lb.addVirtualService("app", { address: "172.16.1.8", port: 1000 }).addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade" });
    app.synth();
    const stackDir = path.join(dir, "stacks", "ids");
    const config = JSON.parse(fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8"));
    // Only cdktf's "//" metadata (which Terraform ignores) keeps the construct path.
    const withoutComments = JSON.stringify(config, (k, v) => (k === "//" ? undefined : v));
    // The path does reach script comments, escaped: "$${" and "%%{" are literal text to Terraform.
    expect(withoutComments).toContain("lb$${var.x}%%{if}");
    expect(withoutComments).not.toMatch(/(^|[^$])\$\{var\.x/);
    expect(withoutComments).not.toMatch(/(^|[^%])%\{if/);
    tfOk(stackDir, ["init", "-input=false", "-no-color"]);
    tfOk(stackDir, ["validate", "-no-color"]);
  });
});

/** The same configuration with every provisioner removed, so applying it contacts no host. */
function withoutProvisioners(config: Json): Json {
  const copy = JSON.parse(JSON.stringify(config));
  for (const type of Object.values(copy.resource ?? {}) as Json[]) {
    for (const r of Object.values(type) as Json[]) delete r.provisioner;
  }
  return copy;
}

describe("why there is no privateKey prop, proved by Terraform", () => {
  const connectionTo = (privateKey: string) => `
  connection {
    type        = "ssh"
    host        = "127.0.0.1"
    private_key = ${privateKey}
  }
  provisioner "remote-exec" {
    when   = destroy
    inline = ["true"]
  }`;
  const validate = (hcl: string) => {
    const dir = tempDir("cdktf-ipvs-destroy-ref-");
    fs.writeFileSync(path.join(dir, "main.tf"), hcl);
    // init already checks the configuration; validate is what a user would run.
    const init = tf(dir, ["init", "-input=false", "-no-color"]);
    return { dir, result: init.status !== 0 ? init : tf(dir, ["validate", "-no-color"]) };
  };

  for (const kind of ["sensitive", "ephemeral"]) {
    test(`a destroy-time provisioner's connection cannot read a key from a ${kind} variable`, () => {
      requireTerraform();
      const { result } = validate(`
variable "key" {
  type      = string
  ${kind} = true
}
resource "terraform_data" "step" {
  input = "x"
${connectionTo("var.key")}
}
`);
      expect(result.status).not.toBe(0);
      expect(result.stderr + result.stdout).toContain("Invalid reference from destroy provisioner");
    });
  }

  test("an ephemeral key cannot be kept in the resource either", () => {
    requireTerraform();
    const { result } = validate(`
variable "key" {
  type      = string
  ephemeral = true
}
resource "terraform_data" "step" {
  input = var.key
${connectionTo("self.input")}
}
`);
    expect(result.status).not.toBe(0);
    expect(result.stderr + result.stdout).toContain("Invalid use of ephemeral value");
  });

  test("so the only way is through self, and then terraform show prints the key in clear text (sensitive or not)", () => {
    requireTerraform();
    const secret = "NOT-A-REAL-KEY-5d1f0c7e";
    const { dir, result } = validate(`
variable "key" {
  type      = string
  sensitive = true
}
resource "terraform_data" "step" {
  input = var.key
${connectionTo("self.input")}
}
`);
    expect(result.status).toBe(0);
    // Creating runs no provisioner (the only one is destroy-time), so nothing connects.
    tfOk(dir, ["apply", "-input=false", "-auto-approve", "-no-color", `-var=key=${secret}`]);
    expect(tfOk(dir, ["show", "-json", "-no-color"])).toContain(secret);
    expect(tfOk(dir, ["show", "-no-color"])).toContain(secret);
  });
});

describe("the SSH private key never reaches cdk.tf.json, a plan or the state (real terraform)", () => {
  test("seed stack, terraform_data engine, privateKeyPath: apply v1, plan a weight change, search every artifact", () => {
    requireTerraform();
    const key = generateKey();
    expect(key.bodyLines.length).toBeGreaterThan(3);
    const dir = tempDir("cdktf-ipvs-leak-");
    const synth = (name: string, weights: [number, number]): { text: string; json: Json } => {
      const app = new App({ outdir: path.join(dir, name) });
      new SeedStack(app, "seed", { IPVS_ENGINE: "terraform_data", IPVS_SSH_HOST: "127.0.0.1", IPVS_SSH_PORT: "2222", IPVS_SSH_KEY_PATH: key.file }, { weights });
      app.synth();
      const text = fs.readFileSync(path.join(dir, name, "stacks", "seed", "cdk.tf.json"), "utf8");
      return { text, json: JSON.parse(text) };
    };
    const v1 = synth("v1", [1, 1]);
    const v2 = synth("v2", [1, 2]);

    const work = path.join(dir, "work");
    fs.mkdirSync(work);
    const write = (config: Json) => {
      const copy = JSON.parse(JSON.stringify(config));
      delete copy.terraform?.backend; // state in work/terraform.tfstate, read raw below
      fs.writeFileSync(path.join(work, "cdk.tf.json"), JSON.stringify(copy, null, 2));
    };
    write(withoutProvisioners(v1.json));
    tfOk(work, ["init", "-input=false", "-no-color"]);
    tfOk(work, ["apply", "-input=false", "-auto-approve", "-no-color"]);
    write(v2.json);
    const planOut = tfOk(work, ["plan", "-input=false", "-no-color", "-out", "p"]);
    const artifacts: Record<string, string> = {
      "cdk.tf.json v1": v1.text,
      "cdk.tf.json v2": v2.text,
      "terraform plan output": planOut,
      "terraform show p": tfOk(work, ["show", "-no-color", "p"]),
      "terraform show -json p": tfOk(work, ["show", "-json", "-no-color", "p"]),
      "terraform show -json": tfOk(work, ["show", "-json", "-no-color"]),
      "terraform.tfstate": fs.readFileSync(path.join(work, "terraform.tfstate"), "utf8"),
    };
    for (const [name, text] of Object.entries(artifacts)) {
      expect({ name, hasKey: text.includes(key.text.trim()) }).toEqual({ name, hasKey: false });
      for (const line of key.bodyLines) expect({ name, line, found: text.includes(line) }).toEqual({ name, line, found: false });
      expect({ name, beginMarker: /PRIVATE KEY/.test(text) }).toEqual({ name, beginMarker: false });
    }

    // The state holds the path, and the plan really replaced the ipvs step (so a destroy-time
    // provisioner would have run with this connection).
    const state = JSON.parse(artifacts["terraform show -json"]);
    const stored = state.values.root_module.resources.map((r: Json) => r.values.input);
    expect(stored).toHaveLength(7);
    for (const input of stored) expect(input).toEqual({ private_key_path: key.file });
    const plan = JSON.parse(artifacts["terraform show -json p"]);
    const actions = Object.fromEntries(
      (plan.resource_changes as Json[]).map((rc) => [(v2.json.resource.terraform_data[rc.name] as Json).triggers_replace.step, rc.change.actions.join(",")]),
    );
    expect(actions).toEqual({ upload: "create,delete", modules: "no-op", sysctls: "no-op", ipvs: "create,delete", aliases: "create,delete", boot: "create,delete", verify: "create,delete" });
    expect(planOut).toContain("must be replaced");
  });
});
