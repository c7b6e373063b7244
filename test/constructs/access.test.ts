/**
 * Access as operators have it: a non-root SSH user with `connection.become: "sudo"`, and a bastion
 * (jump host). Props are validated like the other connection props; the bastion settings reach
 * every connection block (through self where Terraform requires it); with become every command
 * sent to the host is `sudo -n sh -c '...'` and the bundle goes through a root-made inbox; without
 * them nothing changes. The stack and plan readers still see our steps through sudo.
 * test/e2e/access.e2e.test.ts deploys both for real into the lab guest.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { App, TerraformStack, TerraformVariable, Testing } from "cdktf";
import { IpvsHost, IpvsHostProps, SshConnectionProps } from "../../lib/constructs";
import { buildDesiredHost } from "../../lib/model";
import { STEP_NAMES, planHost, sha256 } from "../../lib/plan";
import { checkTerraformPlan } from "../../lib/policy";
import { checkStack } from "../../lib/policy/stack";
import {
  BUNDLE_PATH,
  SCRIPT_NAMES,
  UPLOAD_INBOX,
  asRoot,
  bundleDestination,
  readStepCommand,
  renderHost,
  stepCommands,
  undoCommand,
  unwrapSudo,
  uploadCommands,
} from "../../lib/render";
import { StackCommand, buildStackModel, readTerraformConfiguration, resourceSteps, stripPrefixes } from "../../lib/stack";
import { parseShell } from "../../lib/words";
import { seedHost } from "../fixtures";
import { requireTerraform, tempDir, tfOk } from "./terraform";
import { modelIssues } from "../model-issues";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SUDO = { become: "sudo" } as const;
const H = (c: string) => c.repeat(64);

function hostWith(connection: Record<string, unknown>, props: Partial<IpvsHostProps> = {}): () => IpvsHost {
  return () => new IpvsHost(new TerraformStack(Testing.app(), "s"), "lb1", { engine: "terraform_data", ...props, connection: { host: "10.0.0.1", ...connection } as unknown as SshConnectionProps });
}

/** The seed host with these connection props, synthesized; resources of the engine by name. */
function synthSeed(connection: SshConnectionProps, props: Partial<IpvsHostProps> = {}): Record<string, Json> {
  const stack = new TerraformStack(Testing.app(), "s");
  IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", ...props, connection });
  const json = JSON.parse(Testing.synth(stack));
  return json.resource[props.engine ?? "terraform_data"];
}

/** Every remote-exec inline element of the resources, with when (create/destroy). */
function remoteExecs(resources: Record<string, Json>): { resource: string; when: string; text: string }[] {
  const out: { resource: string; when: string; text: string }[] = [];
  for (const [name, r] of Object.entries(resources)) {
    for (const p of r.provisioner ?? []) {
      const re = p["remote-exec"];
      if (re) for (const text of re.inline) out.push({ resource: name, when: re.when ?? "create", text });
    }
  }
  return out;
}

/** Terraform template text as the shell gets it ($${ and %%{ are literal ${ and %{). */
const unescape = (text: string) => text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");

const ED = (() => {
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(Buffer.alloc(32, 7))]).toString("base64")}`;
})();

describe("connection.become and connection.bastion are validated like the other connection props", () => {
  test("become: only sudo", () => {
    const issues = modelIssues(hostWith({ user: "deploy", become: "su" }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual(['s/lb1: connection.become "su" is not a way to become root; allowed: sudo (leave it out when connection.user is root)']);
    expect(() => hostWith({ user: "deploy", become: "sudo" })()).not.toThrow();
  });

  test("become and bastion are known connection props (the allowed list names them)", () => {
    expect(modelIssues(hostWith({ sudo: true }))[0].message).toBe(
      "connection.sudo <redacted> is not a known connection prop; allowed: host, user, port, privateKeyPath, agent, hostKey, timeout, become, bastion",
    );
  });

  test("every bad bastion prop is reported, each with the prop, the value and what is allowed", () => {
    const issues = modelIssues(hostWith({ bastion: { host: "bad host!", port: 0, user: "Root", agent: "yes", hostKey: "ssh-ed25519 AAAA${x}", jump: 1 } }));
    expect(issues.map((i) => `${i.path} ${i.prop}: ${i.message}`)).toEqual([
      "s/lb1 connection.bastion.jump: connection.bastion.jump <redacted> is not a known bastion prop; allowed: host, port, user, privateKeyPath, hostKey, agent",
      expect.stringMatching(/^s\/lb1 connection.bastion.host: connection.bastion.host "bad host!" is not/),
      "s/lb1 connection.bastion.port: connection.bastion.port 0 is out of range; allowed 1–65535",
      's/lb1 connection.bastion.user: connection.bastion.user "Root" is not a user name; allowed: a lowercase POSIX user name such as root',
      's/lb1 connection.bastion.agent: connection.bastion.agent "yes" is not a boolean',
      expect.stringMatching(/^s\/lb1 connection.bastion.hostKey: connection.bastion.hostKey "ssh-ed25519 AAAA\$\{x\}" is not a host public key; allowed: exactly "TYPE BASE64"/),
    ]);
  });

  test("a bastion needs a host, and must be an object (its value is never shown)", () => {
    expect(modelIssues(hostWith({ bastion: { port: 22 } }))[0].message).toBe("connection.bastion.host undefined is missing; give the address of the bastion Terraform connects through");
    const notObject = modelIssues(hostWith({ bastion: "-----BEGIN OPENSSH PRIVATE KEY-----" }));
    expect(notObject[0].message).toMatch(/^connection.bastion <redacted> is not an object; expected \{ host, port\?, user\?, privateKeyPath\?, hostKey\?, agent\? \}$/);
    expect(JSON.stringify(notObject)).not.toContain("BEGIN");
  });

  test("the key-text checks apply to the bastion's key path, redacted, naming bastion.privateKeyPath", () => {
    const keyText = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA";
    const issues = modelIssues(hostWith({ bastion: { host: "10.0.0.2", privateKeyPath: keyText } }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "s/lb1", prop: "connection.bastion.privateKeyPath", value: "<redacted>" });
    expect(issues[0].message).toMatch(/^connection.bastion.privateKeyPath <redacted> holds key text, not a path;.*give bastion.privateKeyPath/);
    expect(JSON.stringify(issues)).not.toContain("b3BlbnNzaC1rZXktdjE");
    expect(modelIssues(hostWith({ bastion: { host: "10.0.0.2", privateKeyPath: "/k/\u0007" } }))[0].message).toBe(
      "connection.bastion.privateKeyPath <redacted> contains control characters or unpaired surrogates; allowed: a path of printable characters",
    );
    expect(modelIssues(hostWith({ bastion: { host: "10.0.0.2", privateKeyPath: `/${"k".repeat(4096)}` } }))[0].message).toMatch(/is 4097 characters long/);
  });

  test("a bastion key given as text (bastion.privateKey) is refused and never shown", () => {
    const issues = modelIssues(hostWith({ bastion: { host: "10.0.0.2", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----" } }));
    expect(issues.map((i) => [i.prop, i.value])).toEqual([["connection.bastion.privateKey", "<redacted>"]]);
    expect(issues[0].message).toMatch(/is not supported: the key would be stored in Terraform state/);
    expect(JSON.stringify(issues)).not.toContain("BEGIN");
  });

  test("Terraform has one agent switch: bastion.agent may not contradict connection.agent", () => {
    expect(modelIssues(hostWith({ agent: false, privateKeyPath: "/k", bastion: { host: "10.0.0.2", agent: true } }))[0].message).toBe(
      "connection.bastion.agent true contradicts connection.agent false: Terraform has one agent setting for both hops; give it once",
    );
    expect(() => hostWith({ agent: true, bastion: { host: "10.0.0.2", agent: true } })()).not.toThrow();
  });

  test("one machine is one address behind one bastion: the same address behind another bastion is another machine", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "s");
    const at = (id: string, bastion?: { host: string; port?: number }) =>
      new IpvsHost(stack, id, { engine: "terraform_data", connection: { host: "127.0.0.1", agent: true, ...(bastion ? { bastion } : {}) } });
    at("direct");
    at("viaA", { host: "10.0.0.2" });
    at("viaB", { host: "10.0.0.3" });
    at("viaA2", { host: "10.0.0.2", port: 2222 });
    expect(modelIssues(() => at("again", { host: "10.0.0.2", port: 22 })).map((i) => i.message)).toEqual([
      'connection.host "127.0.0.1" port 22 through bastion 10.0.0.2:22 is already managed by s/viaA; declare one IpvsHost per machine (both would own the same chains, files and IPVS services)',
    ]);
  });
});

describe("the bastion in the synthesized connection blocks", () => {
  test("every resource connects through the bastion: host, port (22 unless given), user (the connection's unless given), key as a path, host key", () => {
    const resources = synthSeed({ host: "127.0.0.1", user: "deploy", privateKeyPath: "/keys/target", bastion: { host: "bastion.example", privateKeyPath: "/keys/jump", hostKey: ED } });
    expect(Object.keys(resources)).toHaveLength(7);
    for (const r of Object.values(resources)) {
      expect(r.connection).toMatchObject({
        host: "${self.triggers_replace.host}",
        bastion_host: "bastion.example",
        bastion_port: 22,
        bastion_user: "deploy",
        bastion_private_key: "${file(self.input.bastion_private_key_path)}",
        bastion_host_key: ED,
        private_key: "${file(self.input.private_key_path)}",
        agent: "false",
      });
      expect(r.input).toEqual({ private_key_path: "/keys/target", bastion_private_key_path: "/keys/jump" });
    }
    const other = synthSeed({ host: "127.0.0.1", privateKeyPath: "/k", bastion: { host: "10.0.0.2", port: 2222, user: "jump" } });
    for (const r of Object.values(other)) {
      expect(r.connection).toMatchObject({ bastion_host: "10.0.0.2", bastion_port: 2222, bastion_user: "jump" });
      // No bastion key: Terraform uses private_key for the bastion too.
      expect(r.connection.bastion_private_key).toBeUndefined();
      expect(r.input).toEqual({ private_key_path: "/k" });
    }
  });

  test("agent: bastion.agent turns on the one agent switch; the default stays as without a bastion", () => {
    const withAgent = synthSeed({ host: "127.0.0.1", privateKeyPath: "/k", bastion: { host: "10.0.0.2", agent: true } });
    for (const r of Object.values(withAgent)) expect(r.connection.agent).toBe("true");
    const byDefault = synthSeed({ host: "127.0.0.1", bastion: { host: "10.0.0.2" } });
    for (const r of Object.values(byDefault)) expect(r.connection.agent).toBe("true");
  });

  test("null_resource: the key paths are triggers (it has nothing else), read through self", () => {
    const resources = synthSeed({ host: "127.0.0.1", privateKeyPath: "/k", bastion: { host: "10.0.0.2", privateKeyPath: "/j" } }, { engine: "null_resource" });
    for (const r of Object.values(resources)) {
      expect(r.triggers).toMatchObject({ private_key_path: "/k", bastion_private_key_path: "/j" });
      expect(r.connection.bastion_private_key).toBe("${file(self.triggers.bastion_private_key_path)}");
    }
  });

  test("literal bastion text is escaped: ${ and %{ in a key path are kept as text", () => {
    const resources = synthSeed({ host: "127.0.0.1", bastion: { host: "10.0.0.2", privateKeyPath: '/keys/${file("/etc/shadow")}/%{if true}x%{endif}' } });
    for (const r of Object.values(resources)) expect(r.input.bastion_private_key_path).toBe('/keys/$${file("/etc/shadow")}/%%{if true}x%%{endif}');
  });

  test("references (bastion host, key path, host key) go through the resource, so destroy-time provisioners may use them (terraform validate)", () => {
    requireTerraform();
    const dir = tempDir("cdktf-ipvs-bastion-");
    const app = new App({ outdir: dir });
    const stack = new TerraformStack(app, "bastion");
    const v = (name: string) => new TerraformVariable(stack, name, { type: "string" }).stringValue;
    IpvsHost.fromSpec(stack, "lb1", seedHost(), {
      engine: "terraform_data",
      connection: { host: "127.0.0.1", user: "deploy", become: "sudo", privateKeyPath: "/k", bastion: { host: v("jump_host"), privateKeyPath: `${v("key_dir")}/id`, hostKey: v("jump_key") } },
    });
    app.synth();
    const stackDir = path.join(dir, "stacks", "bastion");
    const config = JSON.parse(fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8"));
    for (const r of Object.values(config.resource.terraform_data) as Json[]) {
      expect(r.input).toEqual({ private_key_path: "/k", bastion_host: "${var.jump_host}", bastion_private_key_path: "${var.key_dir}/id", bastion_host_key: "${var.jump_key}" });
      expect(r.connection).toMatchObject({
        bastion_host: "${self.input.bastion_host}",
        bastion_private_key: "${file(self.input.bastion_private_key_path)}",
        bastion_host_key: "${self.input.bastion_host_key}",
      });
    }
    tfOk(stackDir, ["init", "-input=false", "-no-color"]);
    tfOk(stackDir, ["validate", "-no-color"]);
  });
});

describe("become sudo: every command sent to the host goes through sudo -n", () => {
  test("every remote-exec command (create and destroy, every step, upload, converge) is one sudo -n sh -c wrapping; the bundle goes to the inbox", () => {
    const resources = synthSeed({ host: "10.0.0.1", user: "deploy", privateKeyPath: "/k", become: "sudo" }, { converge: "every-deploy" });
    const execs = remoteExecs(resources);
    // upload: prepare + run; 6 steps run; 5 undo; converge.
    expect(execs).toHaveLength(2 + 6 + 5 + 1);
    for (const e of execs) {
      const text = unescape(e.text);
      expect({ e, sudo: text.startsWith("sudo -n true || {") }).toEqual({ e, sudo: true });
      expect({ e, inner: unwrapSudo(text) !== undefined }).toEqual({ e, inner: true });
    }
    expect(execs.filter((e) => e.when === "destroy")).toHaveLength(5);
    const files = Object.values(resources).flatMap((r) => (r.provisioner ?? []).filter((p: Json) => p.file).map((p: Json) => p.file.destination));
    expect(files).toEqual([`${UPLOAD_INBOX}/scripts.tar.gz.b64`]);
    // The plan readers still know each step.
    const steps = execs.filter((e) => e.when === "create").map((e) => readStepCommand(unescape(e.text))?.step).filter((s) => s !== undefined);
    expect(steps.sort()).toEqual([...STEP_NAMES, "upload", "converge"].sort());
  });

  test("without become nothing is wrapped and the bundle goes straight to the state directory", () => {
    const resources = synthSeed({ host: "10.0.0.1", privateKeyPath: "/k" }, { converge: "every-deploy" });
    for (const e of remoteExecs(resources)) {
      expect(e.text).not.toContain("sudo");
      expect(unwrapSudo(e.text)).toBeUndefined();
    }
    const files = Object.values(resources).flatMap((r) => (r.provisioner ?? []).filter((p: Json) => p.file).map((p: Json) => p.file.destination));
    expect(files).toEqual([BUNDLE_PATH]);
    expect(bundleDestination()).toBe(BUNDLE_PATH);
  });

  test("the wrapped command is exactly the root command, quoted once; anything else is not taken for a wrapping", () => {
    const cmd = stepCommands("ipvs", "it's ${self.id}", H("a")).run;
    const wrapped = stepCommands("ipvs", "it's ${self.id}", H("a"), SUDO).run;
    expect(wrapped).toBe(asRoot(cmd, SUDO));
    expect(unwrapSudo(wrapped)).toBe(cmd);
    expect(readStepCommand(wrapped)).toEqual({ step: "ipvs", checks: { "apply.sh": H("a") } });
    expect(unwrapSudo(`${wrapped}; reboot`)).toBeUndefined();
    expect(unwrapSudo(wrapped.replace("sudo -n sh -c", "sudo sh -c"))).toBeUndefined();
    expect(readStepCommand(wrapped.replace("exit 1; }; sudo", "true; }; sudo"))).toBeUndefined();
    // A root command wrapped must be one of ours, not any command.
    expect(readStepCommand(asRoot("reboot", SUDO))).toBeUndefined();
    expect(undoCommand("aliases", "g", SUDO)).toBe(asRoot(undoCommand("aliases", "g"), SUDO));
    for (const text of [wrapped, uploadCommands({ "apply.sh": H("a"), "verify.sh": H("b"), "destroy.sh": H("c") }, SUDO).prepare, undoCommand("boot", "g", SUDO)]) {
      expect(spawnSync("sh", ["-n", "-c", text]).status).toBe(0);
    }
  });
});

/**
 * A fake host for the sudo flow, run on a real sh: the state directory and the inbox are temp
 * folders (paths rewritten), and `sudo` is a script on PATH: either one that runs the command as
 * sudo would (SUDO_UID set, -n accepted), or one that refuses as sudo -n does without NOPASSWD.
 */
describe("the sudo upload and steps, run on a real sh with base64, tar and sha256sum", () => {
  const rendered = renderHost(planHost(buildDesiredHost(seedHost())));
  const hashes = Object.fromEntries(SCRIPT_NAMES.map((n) => [n, sha256(rendered.scripts[n])])) as Record<(typeof SCRIPT_NAMES)[number], string>;

  function fakeHost(sudo: "allows" | "needs-password") {
    const root = tempDir("cdktf-ipvs-sudo-");
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin);
    const log = path.join(root, "sudo.log");
    const script =
      sudo === "allows"
        ? `#!/bin/sh\nprintf '%s\\n' "$1 $2 $3" >> '${log}'\n[ "$1" = -n ] || { echo 'fake sudo: called without -n' >&2; exit 99; }\nshift\nSUDO_UID=$(id -u) exec "$@"\n`
        : `#!/bin/sh\nprintf '%s\\n' "$1 $2 $3" >> '${log}'\necho 'sudo: a password is required' >&2\nexit 1\n`;
    fs.writeFileSync(path.join(bin, "sudo"), script, { mode: 0o755 });
    const state = path.join(root, "state");
    const run = (command: string) => {
      const local = command.split("/var/lib/cdktf-ipvs").join(state);
      const r = spawnSync("sh", ["-c", local], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      return { status: r.status, out: r.stdout + r.stderr };
    };
    return { root, state, inbox: `${state}-upload`, log, run, sudoCalls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter((l) => l !== "") : []) };
  }

  test("prepare makes a fresh 0700 inbox; the upload lands there; run unpacks as root into 0700/0600, removes the inbox, checks hashes", () => {
    const host = fakeHost("allows");
    const upload = uploadCommands(hashes, SUDO);
    // Something planted where the inbox goes is replaced, never written through.
    fs.mkdirSync(host.inbox, { recursive: true });
    fs.symlinkSync("/etc", path.join(host.inbox, "planted"));
    expect(host.run(upload.prepare)).toEqual({ status: 0, out: "" });
    expect(fs.readdirSync(host.inbox)).toEqual([]);
    expect(fs.statSync(host.inbox).mode & 0o777).toBe(0o700);
    expect(fs.lstatSync(host.inbox).isDirectory()).toBe(true);
    // The file provisioner, as the SSH user.
    fs.writeFileSync(path.join(host.inbox, "scripts.tar.gz.b64"), rendered.bundle);
    expect(host.run(upload.run)).toEqual({ status: 0, out: "" });
    expect(fs.existsSync(host.inbox)).toBe(false);
    expect(fs.statSync(host.state).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(host.state).sort()).toEqual([...SCRIPT_NAMES].sort());
    for (const n of SCRIPT_NAMES) {
      expect(fs.readFileSync(path.join(host.state, n), "utf8")).toBe(rendered.scripts[n]);
      expect(fs.statSync(path.join(host.state, n)).mode & 0o777).toBe(0o600);
    }
    // The guard of a step passes through sudo too: the right script on, another one stopped.
    const guardOnly = (cmd: string) => asRoot(cmd.slice(0, cmd.indexOf("; sh ")) + "; echo guard passed", SUDO);
    expect(host.run(guardOnly(stepCommands("ipvs", "g", hashes["apply.sh"]).run))).toEqual({ status: 0, out: "guard passed\n" });
    const stale = host.run(guardOnly(stepCommands("ipvs", "g", H("0")).run));
    expect(stale.status).toBe(1);
    expect(stale.out).toContain("apply.sh on the host is not the one this plan uploaded");
    // Every sudo call was non-interactive: the check, then sh -c.
    expect(host.sudoCalls().every((c) => c === "-n true " || c === "-n sh -c")).toBe(true);
    expect(host.sudoCalls().length).toBeGreaterThanOrEqual(6);
  });

  test("a damaged bundle in the inbox fails the upload step", () => {
    const host = fakeHost("allows");
    const upload = uploadCommands({ ...hashes, "verify.sh": H("0") }, SUDO);
    expect(host.run(upload.prepare).status).toBe(0);
    fs.writeFileSync(path.join(host.inbox, "scripts.tar.gz.b64"), rendered.bundle);
    const r = host.run(upload.run);
    expect(r.status).toBe(1);
    expect(r.out).toContain("cdktf-ipvs: the uploaded scripts did not arrive intact");
  });

  test("a user sudo asks a password of fails at once, with sudo's reason and ours, and nothing runs", () => {
    const host = fakeHost("needs-password");
    const r = host.run(uploadCommands(hashes, SUDO).prepare);
    expect(r.status).toBe(1);
    expect(r.out).toContain("sudo: a password is required");
    expect(r.out).toContain('cdktf-ipvs: connection.become is "sudo", but "sudo -n true" failed for the SSH user');
    expect(r.out).toContain("NOPASSWD");
    expect(fs.existsSync(host.state)).toBe(false);
    expect(host.sudoCalls()).toEqual(["-n true "]);
  });
});

describe("the stack readers see through sudo", () => {
  const strip = (line: string) => {
    const r = stripPrefixes(parseShell(line).commands[0].words);
    return { words: r.words.map((w) => w.text), prefixes: r.prefixes, sudo: r.sudo };
  };

  test("grouped and glued sudo options are read as getopt reads them", () => {
    expect(strip("sudo -nu root ipvsadm -C")).toEqual({ words: ["ipvsadm", "-C"], prefixes: ["sudo", "-nu", "root"], sudo: true });
    expect(strip("sudo -uroot -n ipvsadm -C")).toEqual({ words: ["ipvsadm", "-C"], prefixes: ["sudo", "-uroot", "-n"], sudo: true });
    expect(strip("sudo --user=root -- ipvsadm -C")).toEqual({ words: ["ipvsadm", "-C"], prefixes: ["sudo", "--user=root", "--"], sudo: true });
    expect(strip("sudo -n sh -c 'ipvsadm -C'")).toEqual({ words: ["sh", "-c", "ipvsadm -C"], prefixes: ["sudo", "-n"], sudo: true });
  });

  /** Commands of a stack of one resource on 172.16.1.8 with this inline. */
  function commandsOf(inline: string[]): StackCommand[] {
    const stack = readTerraformConfiguration({ resource: { null_resource: { lb: { connection: { host: "172.16.1.8" }, provisioner: [{ "remote-exec": { inline } }] } } } });
    return resourceSteps(stack, stack.resources[0]).steps.filter((s): s is StackCommand => s.kind === "command");
  }
  const rules = (inline: string[]) =>
    checkStack(buildStackModel(readTerraformConfiguration({ resource: { null_resource: { lb: { connection: { host: "172.16.1.8", host_key: ED }, provisioner: [{ "remote-exec": { inline } }] } } } })))
      .map((f) => f.ruleId)
      .sort();

  const SEED = [
    "ipvsadm -A -t 172.16.1.8:1000 -s rr",
    "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
    "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m",
    "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
  ];
  const FIX = ["modprobe ip_vs", "printf 'ip_vs\\n' > /etc/modules-load.d/lb.conf", "printf 'net.ipv4.vs.conntrack = 1\\n' > /etc/sysctl.d/90-lb.conf", "sysctl -p /etc/sysctl.d/90-lb.conf"];
  const sudoShC = (lines: string[]) => asRoot(lines.join("\n"), SUDO);

  test("commands inside sudo -n sh -c '...' are read, and marked as run through sudo", () => {
    const cmds = commandsOf([sudoShC(["modprobe ip_vs", "sysctl -w net.ipv4.vs.conntrack=1"])]);
    const inner = cmds.filter((c) => c.origin.nestedIn.length === 1);
    expect(inner.map((c) => [c.program, c.sudo])).toEqual([
      ["modprobe", true],
      ["sysctl", true],
    ]);
    // Without sudo, the same text inside sh -c is not marked.
    expect(commandsOf(["sh -c 'modprobe ip_vs'"]).map((c) => [c.program, c.sudo])).toEqual([
      ["sh", false],
      ["modprobe", false],
    ]);
  });

  test("the rules give the same findings with the commands wrapped in sudo -n sh -c, or each prefixed with sudo", () => {
    expect(rules(SEED)).toEqual(["IPVS101"]);
    expect(rules([sudoShC(SEED)])).toEqual(["IPVS101"]);
    expect(rules(SEED.map((c) => `sudo -n ${c}`))).toEqual(["IPVS101"]);
    // conntrack=1 set now but not persisted: the reboot rule sees it inside sudo as well.
    expect(rules(["sysctl -w net.ipv4.vs.conntrack=1", ...SEED])).toEqual(["IPVS103"]);
    expect(rules([sudoShC(["sysctl -w net.ipv4.vs.conntrack=1", ...SEED])])).toEqual(["IPVS103"]);
    expect(rules([...FIX, ...SEED])).toEqual([]);
    expect(rules([sudoShC([...FIX, ...SEED])])).toEqual([]);
    expect(rules([...FIX, ...SEED].map((c) => `sudo ${c}`))).toEqual([]);
    expect(rules([sudoShC(FIX), sudoShC(SEED)])).toEqual([]);
    expect(rules(["sudo -nu root ipvsadm -C", sudoShC([...FIX, ...SEED])])).toEqual(["IPVS105"]);
  });

  test("our own stack with become: the same findings as without, and each step's script run is seen inside sudo", () => {
    const synth = (connection: SshConnectionProps) => {
      const stack = new TerraformStack(Testing.app(), "s");
      IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection });
      return JSON.parse(Testing.synth(stack));
    };
    const plain = synth({ host: "10.0.0.1", privateKeyPath: "/k" });
    const sudo = synth({ host: "10.0.0.1", user: "deploy", privateKeyPath: "/k", become: "sudo" });
    const findings = (json: Json) => checkStack(buildStackModel(readTerraformConfiguration(json))).map((f) => `${f.ruleId} ${f.host}`);
    expect(findings(sudo)).toEqual(findings(plain));
    const model = buildStackModel(readTerraformConfiguration(sudo));
    const runs = model.hosts[0].steps.filter((s): s is StackCommand => s.kind === "command" && s.program === "sh" && s.words[1]?.text === "/var/lib/cdktf-ipvs/apply.sh");
    expect(runs.length).toBeGreaterThanOrEqual(5);
    for (const r of runs) expect([r.sudo, r.origin.nestedIn.map((n) => n.kind)]).toEqual([true, ["sh -c"]]);
  });

  test("a real terraform plan of our stack with become and a bastion: the plan checks find the host as without", () => {
    requireTerraform();
    const plan = (connection: SshConnectionProps) => {
      const dir = tempDir("cdktf-ipvs-access-plan-");
      const app = new App({ outdir: dir });
      const stack = new TerraformStack(app, "s");
      IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection });
      app.synth();
      const cwd = path.join(dir, "stacks", "s");
      const config = JSON.parse(fs.readFileSync(path.join(cwd, "cdk.tf.json"), "utf8"));
      delete config.terraform?.backend;
      fs.writeFileSync(path.join(cwd, "cdk.tf.json"), JSON.stringify(config));
      tfOk(cwd, ["init", "-input=false", "-no-color"]);
      tfOk(cwd, ["plan", "-input=false", "-no-color", "-out", "p"]);
      return JSON.parse(tfOk(cwd, ["show", "-json", "-no-color", "p"]));
    };
    const plain = checkTerraformPlan(plan({ host: "127.0.0.1", port: 2222, privateKeyPath: "/k" }));
    const access = checkTerraformPlan(plan({ host: "127.0.0.1", user: "deploy", become: "sudo", privateKeyPath: "/k", bastion: { host: "10.0.0.2", hostKey: ED } }));
    expect(access.filter((f) => f.level === "error")).toEqual([]);
    expect(access.map((f) => `${f.ruleId} ${f.path}`)).toEqual(plain.map((f) => `${f.ruleId} ${f.path}`));
    expect(access.map((f) => f.ruleId)).toContain("IPVS002");
  });
});
