/**
 * Access as operators have it, for real in the lab guest (Debian 12, iptables-nft), one boot:
 *
 * (a) a non-root user `deploy` with `connection.become: "sudo"` (NOPASSWD in /etc/sudoers.d)
 *     deploys the seed through a real `terraform apply` of a synthesized stack (terraform_data),
 *     then destroys it. Controls: the same deploy as `deploy` without become fails (the user
 *     cannot write /var/lib or touch IPVS), and with become but a sudo rule that wants a password
 *     it fails at once with our message instead of hanging.
 * (b) a bastion: the guest's sshd, reached through qemu's forwarded port, is the bastion; the
 *     target is 127.0.0.1 port 22 as the guest sees it. Deploy and destroy for real, and the
 *     guest's sshd log shows the target logins came from the guest itself (through the bastion).
 *
 * Traffic stays on loopback (the forwarded port) and inside the guest.
 */
import { spawnSync } from "child_process";
import { App, TerraformStack } from "cdktf";
import * as fs from "fs";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { IpvsHost, SshConnectionProps } from "../../lib/constructs";
import { HostSpec } from "../../lib/model";
import { LAB_KEY, LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import { V1 } from "./seed-specs";
import { connectN, isRoundRobin } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;
const WORK = path.join(REPO_ROOT, ".lab", "e2e", "access");
const OUR_FILES = ["/etc/modules-load.d/cdktf-ipvs.conf", "/etc/sysctl.d/90-cdktf-ipvs.conf", "/etc/systemd/system/cdktf-ipvs.service", "/var/lib/cdktf-ipvs"];

interface Run {
  status: number | null;
  out: string;
}

function terraform(dir: string, args: string[]): Run {
  const r = spawnSync("terraform", args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" },
    maxBuffer: 64 << 20,
    timeout: 15 * 60 * 1000,
  });
  const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}${r.error ? `\n${r.error.message}` : ""}`;
  fs.writeFileSync(path.join(dir, `terraform-${args[0]}-${Date.now()}.log`), out);
  return { status: r.status, out };
}

function terraformOk(dir: string, args: string[]): string {
  const r = terraform(dir, args);
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed (exit ${r.status}) in ${dir}:\n${r.out.slice(-6000)}`);
  return r.out;
}

/** Synthesizes the host into WORK/NAME (a stack "lab") and runs terraform init there; returns the stack folder. */
function synth(name: string, spec: HostSpec, connection: SshConnectionProps): string {
  const outdir = path.join(WORK, name);
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "lab");
  IpvsHost.fromSpec(stack, spec.name, spec, { engine: "terraform_data", connection: { timeout: "3m", ...connection } });
  app.synth();
  const dir = path.join(outdir, "stacks", "lab");
  const config = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
  delete config.terraform?.backend; // state next to the configuration: terraform.tfstate
  fs.writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(config, null, 2));
  terraformOk(dir, ["init", "-input=false", "-no-color"]);
  return dir;
}

/** `cdktf-ipvs drift --spec V1 ARGS` with the real ssh client (the lab's key, no host key check). */
function driftCli(args: string[]): { code: number; text: string } {
  const spec = path.join(WORK, "v1-spec.json");
  fs.writeFileSync(spec, JSON.stringify({ hosts: [V1] }));
  const lines: string[] = [];
  const code = runCli(["drift", "--spec", spec, "--identity", LAB_KEY, "--no-host-key-check", ...args], { out: (t) => lines.push(t), err: (t) => lines.push(t) });
  return { code, text: lines.join("\n") };
}

const apply = (dir: string) => terraform(dir, ["apply", "-auto-approve", "-input=false", "-no-color"]);
const destroy = (dir: string) => terraform(dir, ["destroy", "-auto-approve", "-input=false", "-no-color"]);

/** SSH as USER into the guest with the lab key (as lab/ssh.sh does for root). */
function sshAs(guest: LabGuest, user: string, cmd: string): Run {
  const r = spawnSync(
    "ssh",
    ["-i", LAB_KEY, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "-p", String(guest.sshPort), `${user}@127.0.0.1`, cmd],
    { encoding: "utf8", timeout: 120_000 },
  );
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function ourIpvs(guest: LabGuest): string[] {
  return guest
    .sshOk("ipvsadm -Sn")
    .split("\n")
    .filter((l) => l.includes(`${VIP}:1000`))
    .sort();
}

const SEED_IPVS = [`-A -t ${VIP}:1000 -s rr`, `-a -t ${VIP}:1000 -r ${VIP}:1001 -m -w 1`, `-a -t ${VIP}:1000 -r ${VIP}:1002 -m -w 1`].sort();

/** The seed is there and works: IPVS, our nat rules, conntrack=1, verify.sh OK, the aliases round-robin. */
function expectSeedDeployed(guest: LabGuest): void {
  expect(ourIpvs(guest)).toEqual(SEED_IPVS);
  const nat = guest.sshOk("iptables-save -t nat");
  expect(nat).toMatch(/-A CDKTF-IPVS-PRE .*--dport 1010 .*-j REDIRECT --to-ports 1000/);
  expect(nat).toMatch(/-A CDKTF-IPVS-PRE .*--dport 1020 .*-j DNAT --to-destination 172.16.1.8:1000/);
  expect(nat).toContain("-A PREROUTING -m comment --comment cdktf-ipvs -j CDKTF-IPVS-PRE");
  expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
  const v = guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh");
  expect(v.stdout + v.stderr).toContain("OK: host matches the desired state");
  expect(v.code).toBe(0);
  const answers = connectN(guest, VIP, 1010, 4);
  expect({ answers, ok: isRoundRobin(answers) }).toEqual({ answers, ok: true });
}

/** Nothing of ours is left; conntrack is back to the host's 0. */
function expectSeedGone(guest: LabGuest): void {
  expect(ourIpvs(guest)).toEqual([]);
  expect(guest.sshOk("iptables-save -t nat")).not.toContain("CDKTF-IPVS");
  for (const f of [...OUR_FILES, "/var/lib/cdktf-ipvs-upload"]) expect({ f, exists: guest.ssh(`test -e ${f}`).code === 0 }).toEqual({ f, exists: false });
  expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("0");
}

describe("access as operators have it: a sudo user and a bastion, deployed for real", () => {
  let guest: LabGuest;
  let hostKey: string;

  beforeAll(async () => {
    fs.mkdirSync(WORK, { recursive: true });
    guest = await LabGuest.boot("access");
    guest.sshOk("update-alternatives --set iptables /usr/sbin/iptables-nft && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft");
    // The user `deploy`: key login with the lab key, sudo without a password (and no password at all).
    guest.sshOk(
      [
        "useradd -m -s /bin/sh deploy",
        "install -d -m 700 -o deploy -g deploy /home/deploy/.ssh",
        "cat > /home/deploy/.ssh/authorized_keys",
        "chown deploy:deploy /home/deploy/.ssh/authorized_keys",
        "chmod 600 /home/deploy/.ssh/authorized_keys",
        "printf 'deploy ALL=(root) NOPASSWD: ALL\\n' > /etc/sudoers.d/deploy",
        "chmod 440 /etc/sudoers.d/deploy",
        "visudo -cf /etc/sudoers.d/deploy",
      ].join(" && "),
      { input: fs.readFileSync(`${LAB_KEY}.pub`, "utf8") },
    );
    // The ECDSA key: Terraform's Go SSH client asks for ecdsa-sha2-nistp256 before ssh-ed25519, so
    // a Debian sshd (which has both) shows it that one, and a pinned ed25519 key is a "key mismatch".
    hostKey = guest.sshOk("cut -d' ' -f1,2 /etc/ssh/ssh_host_ecdsa_key.pub").trim();
    expect(hostKey).toMatch(/^ecdsa-sha2-nistp256 /);
    // Nothing of ours before the first deploy.
    expect(guest.ssh("test -e /var/lib/cdktf-ipvs").code).toBe(1);
  }, 30 * 60 * 1000);

  afterAll(() => guest?.stop());

  test("the user deploy logs in with the lab key, is not root, and may use sudo -n", () => {
    const who = sshAs(guest, "deploy", "id -un; id -u; sudo -n id -u");
    expect(who).toEqual({ status: 0, out: "deploy\n1000\n0\n" });
    // It cannot do what the scripts do without sudo.
    expect(sshAs(guest, "deploy", "mkdir /var/lib/cdktf-ipvs").status).not.toBe(0);
  });

  test("control: the same deploy as deploy without become fails, and leaves nothing of ours", () => {
    const dir = synth("no-become", V1, { host: "127.0.0.1", port: guest.sshPort, user: "deploy", privateKeyPath: LAB_KEY, hostKey, timeout: "1m" });
    const r = apply(dir);
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/mkdir: cannot create directory '\/var\/lib\/cdktf-ipvs': Permission denied/);
    expect(ourIpvs(guest)).toEqual([]);
    expect(guest.ssh("test -e /var/lib/cdktf-ipvs").code).toBe(1);
  });

  test("control: with become but a sudo rule that wants a password, the deploy fails at once with our message (no prompt, no hang)", () => {
    guest.sshOk("printf 'deploy ALL=(root) ALL\\n' > /etc/sudoers.d/deploy && visudo -cf /etc/sudoers.d/deploy");
    try {
      const dir = synth("sudo-password", V1, { host: "127.0.0.1", port: guest.sshPort, user: "deploy", become: "sudo", privateKeyPath: LAB_KEY, hostKey, timeout: "1m" });
      const started = Date.now();
      const r = apply(dir);
      expect(r.status).not.toBe(0);
      expect(r.out).toContain("sudo: a password is required");
      expect(r.out).toContain('cdktf-ipvs: connection.become is "sudo", but "sudo -n true" failed for the SSH user');
      expect(Date.now() - started).toBeLessThan(5 * 60 * 1000);
      expect(guest.ssh("test -e /var/lib/cdktf-ipvs").code).toBe(1);
    } finally {
      guest.sshOk("printf 'deploy ALL=(root) NOPASSWD: ALL\\n' > /etc/sudoers.d/deploy && visudo -cf /etc/sudoers.d/deploy");
    }
  });

  let sudoDir = "";

  test("(a) deploy as deploy with become sudo: the seed works, every command ran through sudo, our files are root's 0700/0600", () => {
    sudoDir = synth("sudo", V1, { host: "127.0.0.1", port: guest.sshPort, user: "deploy", become: "sudo", privateKeyPath: LAB_KEY, hostKey });
    const sudoLogBefore = guest.sshOk("journalctl --no-pager -o cat _COMM=sudo | wc -l").trim();
    const r = apply(sudoDir);
    if (r.status !== 0) throw new Error(`terraform apply failed (exit ${r.status}):\n${r.out.slice(-6000)}`);
    expect(r.out).toMatch(/Apply complete! Resources: 7 added, 0 changed, 0 destroyed/);
    expectSeedDeployed(guest);

    // Root's files, as without become; the inbox is gone.
    const listing = guest
      .sshOk("find /var/lib/cdktf-ipvs -printf '%u:%g %m %y %P\\n' | sort")
      .trim()
      .split("\n");
    expect(listing).toEqual(expect.arrayContaining(["root:root 700 d ", "root:root 600 f apply.sh", "root:root 600 f verify.sh", "root:root 600 f destroy.sh"]));
    for (const line of listing) {
      expect({ line, root: line.startsWith("root:root ") }).toEqual({ line, root: true });
      expect({ line, mode: / (700 d|600 f) /.test(line) }).toEqual({ line, mode: true });
    }
    expect(guest.ssh("test -e /var/lib/cdktf-ipvs-upload").code).toBe(1);
    expect(guest.sshOk("stat -c '%U %a' /etc/sysctl.d/90-cdktf-ipvs.conf /etc/systemd/system/cdktf-ipvs.service").trim().split("\n").every((l) => l.startsWith("root "))).toBe(true);

    // sudo logged our commands for deploy, as root, through sh -c. (Terraform's remote-exec runs
    // on a pty, so without -n a sudo that wants a password would prompt and wait.)
    const sudoLog = guest.sshOk(`journalctl --no-pager -o cat _COMM=sudo | tail -n +${Number(sudoLogBefore) + 1}`);
    const ran = (what: string) => new RegExp(`deploy : (TTY=\\S+ ; )?PWD=\\S+ ; USER=root ; COMMAND=/usr/bin/sh -c .*${what}`);
    expect(sudoLog).toMatch(ran("/var/lib/cdktf-ipvs-upload/scripts\\.tar\\.gz\\.b64"));
    for (const step of ["modules", "sysctls", "ipvs", "aliases", "boot"]) expect(sudoLog).toMatch(ran(`/var/lib/cdktf-ipvs/apply\\.sh\\\\' --generation \\S+ ${step}'`));
    expect(sudoLog).toMatch(ran("sh \\\\'/var/lib/cdktf-ipvs/verify\\.sh\\\\''"));
    expect(sudoLog).not.toMatch(/incorrect password|a password is required/);
  });

  test("(a) cdktf-ipvs drift as deploy with --sudo: in sync; the control without --sudo cannot check (exit 2)", () => {
    const sudo = driftCli(["--ssh", `deploy@127.0.0.1:${guest.sshPort}`, "--sudo"]);
    expect(sudo).toEqual({ code: 0, text: "lb1: in sync with the desired state" });
    const plain = driftCli(["--ssh", `deploy@127.0.0.1:${guest.sshPort}`]);
    expect(plain.code).toBe(2);
    expect(plain.text).toMatch(/verify\.sh on lb1 could not check the host/);
  });

  test("(a) a second apply changes nothing; destroy as deploy with become removes all of ours", () => {
    expect(sudoDir).not.toBe("");
    const again = apply(sudoDir);
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);
    const r = destroy(sudoDir);
    if (r.status !== 0) throw new Error(`terraform destroy failed (exit ${r.status}):\n${r.out.slice(-6000)}`);
    expect(r.out).toMatch(/Destroy complete! Resources: 7 destroyed/);
    expectSeedGone(guest);
  });

  test("(b) through a bastion (the guest's sshd on the forwarded port) to 127.0.0.1:22 as the guest sees it: deploy and destroy", () => {
    const dir = synth("bastion", V1, {
      host: "127.0.0.1",
      port: 22,
      user: "root",
      privateKeyPath: LAB_KEY,
      hostKey,
      bastion: { host: "127.0.0.1", port: guest.sshPort, user: "deploy", privateKeyPath: LAB_KEY, hostKey },
    });
    const config = JSON.parse(fs.readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
    for (const res of Object.values(config.resource.terraform_data) as { connection: Record<string, unknown> }[]) {
      expect(res.connection).toMatchObject({ host: "${self.triggers_replace.host}", bastion_host: "127.0.0.1", bastion_port: guest.sshPort, bastion_user: "deploy", bastion_host_key: hostKey });
    }
    const mark = guest.sshOk("date +%s").trim();
    const r = apply(dir);
    if (r.status !== 0) throw new Error(`terraform apply failed (exit ${r.status}):\n${r.out.slice(-6000)}`);
    expect(r.out).toMatch(/Apply complete! Resources: 7 added, 0 changed, 0 destroyed/);
    expect(r.out).toContain("Using configured bastion host...");
    expectSeedDeployed(guest);
    // The bastion hop logged in as deploy from outside (qemu's 10.0.2.2); the target hop as root from the guest itself.
    const sshd = guest.sshOk(`journalctl --no-pager -o cat -u ssh --since @${mark}`);
    expect(sshd).toMatch(/Accepted publickey for deploy from 10\.0\.2\.2 /);
    expect(sshd).toMatch(/Accepted publickey for root from 127\.0\.0\.1 /);

    // cdktf-ipvs drift the same way: --jump through deploy@bastion to root@127.0.0.1:22.
    const driftMark = guest.sshOk("date +%s").trim();
    expect(driftCli(["--ssh", "root@127.0.0.1:22", "--jump", `deploy@127.0.0.1:${guest.sshPort}`])).toEqual({ code: 0, text: "lb1: in sync with the desired state" });
    const driftSshd = guest.sshOk(`journalctl --no-pager -o cat -u ssh --since @${driftMark}`);
    expect(driftSshd).toMatch(/Accepted publickey for deploy from 10\.0\.2\.2 /);
    expect(driftSshd).toMatch(/Accepted publickey for root from 127\.0\.0\.1 /);

    const d = destroy(dir);
    if (d.status !== 0) throw new Error(`terraform destroy failed (exit ${d.status}):\n${d.out.slice(-6000)}`);
    expect(d.out).toMatch(/Destroy complete! Resources: 7 destroyed/);
    expectSeedGone(guest);
  });
});
