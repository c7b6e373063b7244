/**
 * The host preview against a real Debian 12 kernel (qemu, iptables-nft): `apply.sh --dry-run` on
 * the guest and `cdktf-ipvs preview` from outside (from a spec and from a synthesized stack), in
 * one boot: before the first deploy (everything pending), after it (nothing), after a spec change
 * and after hand-made drift (exactly those changes). Around every preview the host is
 * snapshotted (IPVS table, nat tables, sysctls, loaded modules, our files with their mtimes and
 * hashes, the lock file, scratch folders) and must be byte-identical: a preview writes nothing.
 *
 * Deploys run the apply.sh a synth of the stack carries, over SSH, as Terraform's remote-exec
 * runs it (`sh /var/lib/cdktf-ipvs/apply.sh`); test/e2e/deploy.e2e.test.ts runs the same script
 * through a real `cdktf deploy`.
 */
import { spawnSync } from "child_process";
import { App, TerraformStack } from "cdktf";
import * as fs from "fs";
import * as path from "path";
import { readStackHosts } from "../../lib/cli";
import { IpvsHost } from "../../lib/constructs";
import { HostSpec } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { HostScripts, renderHost } from "../../lib/render";
import { LabGuest, REPO_ROOT } from "./lab";
import { V1, V2 } from "./seed-specs";

const BIN = path.join(REPO_ROOT, "bin", "cdktf-ipvs.js");
const WORK = path.join(REPO_ROOT, ".lab", "e2e", "preview");

/** Everything a preview could touch, as text: must not change across a preview. */
function hostSnapshot(guest: LabGuest): string {
  return guest.sshOk(
    [
      // (ipvsadm only when ip_vs is loaded: it would load it.) Connection counts left out.
      "echo '## ipvsadm -Sn'; if [ -d /sys/module/ip_vs ]; then ipvsadm -Sn; ipvsadm -Ln --thresholds | awk '{ print $1, $2, $3, $4 }'; else echo 'ip_vs not loaded'; fi",
      // Counters move with any packet (our own SSH connections pass the nat table); strip them.
      "echo '## nat'; iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## nat6'; ip6tables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## modules'; for m in ip_vs ip_vs_rr nf_conntrack; do [ -d /sys/module/$m ] && echo \"$m loaded\" || echo \"$m not loaded\"; done",
      "echo '## sysctls'; for k in net/ipv4/vs/conntrack net/ipv4/ip_forward; do printf '%s=' $k; cat /proc/sys/$k 2>/dev/null || echo absent; done",
      // Mode, size and mtime of every entry ("..": other programs write /etc and /var/lib).
      "echo '## files'; ls -la --time-style=full-iso /var/lib/cdktf-ipvs /var/lib/cdktf-ipvs/generation /etc/sysctl.d /etc/modules-load.d /etc/systemd/system/cdktf-ipvs.service 2>&1 | grep -v ' \\.\\.$'",
      "find /var/lib/cdktf-ipvs /etc/sysctl.d /etc/modules-load.d /etc/systemd/system/cdktf-ipvs.service -type f -exec sha256sum {} + 2>/dev/null | sort",
      "echo '## unit'; systemctl is-enabled cdktf-ipvs.service 2>&1 || true",
      "echo '## lock'; ls -la --time-style=full-iso /run/cdktf-ipvs.lock 2>&1 || true",
      "echo '## scratch'; ls -d /run/cdktf-ipvs.* /tmp/cdktf-ipvs.* 2>/dev/null || echo none",
    ].join("; "),
  );
}

interface Preview {
  code: number;
  stdout: string;
  stderr: string;
  /** "step: change", one per CHANGE line (raw dry-run) or per listed change (CLI). */
  changes: string[];
}

/** The CHANGE lines of an apply.sh --dry-run, as "step: change". */
function changeLines(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => /^cdktf-ipvs lb1 \[preview\] ([a-z]+) CHANGE: (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}: ${m[2]}`);
}

/** A synthesized stack of the host (what `cdktf synth` writes), connecting to the guest. */
function synth(guest: LabGuest, spec: HostSpec, name: string): string {
  const outdir = path.join(WORK, name);
  fs.rmSync(outdir, { recursive: true, force: true });
  const app = new App({ outdir });
  const stack = new TerraformStack(app, "lab");
  IpvsHost.fromSpec(stack, spec.name, spec, {
    engine: "terraform_data",
    connection: { host: "127.0.0.1", port: guest.sshPort, user: "root", privateKeyPath: guest.privateKeyPath, timeout: "3m" },
  });
  app.synth();
  return path.join(outdir, "stacks", "lab");
}

/** The scripts a synthesized stack uploads, rebuilt the way `cdktf-ipvs preview --stack` does. */
function stackScripts(stackDir: string): HostScripts {
  const hosts = readStackHosts(stackDir);
  expect(hosts.map((h) => h.name)).toEqual(["lb1"]);
  return renderHost(planHost(hosts[0])).scripts;
}

function writeSpec(spec: HostSpec, name: string): string {
  const file = path.join(WORK, `${name}.spec.json`);
  fs.writeFileSync(file, JSON.stringify({ hosts: [spec] }));
  return file;
}

describe("host preview (apply.sh --dry-run, cdktf-ipvs preview) on a real IPVS host with iptables-nft", () => {
  let guest: LabGuest;

  beforeAll(async () => {
    fs.mkdirSync(WORK, { recursive: true });
    guest = await LabGuest.boot("preview");
    guest.sshOk("update-alternatives --set iptables /usr/sbin/iptables-nft && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft");
  }, 30 * 60 * 1000);

  afterAll(() => guest?.stop());

  /** Runs FN (one preview) and proves the host byte-identical before and after. */
  function unchanged<T>(fn: () => T): T {
    const before = hostSnapshot(guest);
    const result = fn();
    expect(hostSnapshot(guest)).toBe(before);
    return result;
  }

  /** apply.sh --dry-run on the guest, the script on stdin (no file written for it). */
  function dryRun(script: string): Preview {
    return unchanged(() => {
      const r = guest.ssh("sh -s -- --dry-run", { input: script });
      return { ...r, changes: changeLines(r.stdout) };
    });
  }

  /** `cdktf-ipvs preview` from outside over SSH. */
  function cliPreview(source: ["--spec" | "--stack", string], json = false): Preview {
    return unchanged(() => {
      const args = ["preview", ...source, "--host", "lb1", "--ssh", `root@127.0.0.1:${guest.sshPort}`, "--identity", guest.privateKeyPath, "--no-host-key-check"];
      if (json) args.push("--json");
      const r = spawnSync("node", [BIN, ...args], { encoding: "utf8", timeout: 180_000 });
      const code = r.status ?? -1;
      let changes: string[];
      if (json) {
        const report = JSON.parse(r.stdout);
        changes = (report.changes ?? []).map((c: { step: string; change: string }) => `${c.step}: ${c.change}`);
      } else {
        changes = r.stdout.split("\n").filter((l) => l.startsWith("  ")).map((l) => l.slice(2));
      }
      return { code, stdout: r.stdout, stderr: r.stderr, changes };
    });
  }

  /** Uploads the stack's scripts and runs apply.sh, as the provisioners do. */
  function deploy(scripts: HostScripts): string {
    guest.sshOk("mkdir -p /var/lib/cdktf-ipvs && chmod 700 /var/lib/cdktf-ipvs");
    for (const [name, text] of Object.entries(scripts)) guest.sshOk(`cat > /var/lib/cdktf-ipvs/${name}`, { input: text });
    return guest.sshOk("sh /var/lib/cdktf-ipvs/apply.sh 2>&1");
  }

  let v1Stack: string;
  let v1Scripts: HostScripts;

  test("before the first deploy: everything is pending (exit 3), the same from the script, the spec and the stack; nothing written or loaded", () => {
    v1Stack = synth(guest, V1, "v1");
    v1Scripts = stackScripts(v1Stack);
    expect(guest.ssh("test -e /var/lib/cdktf-ipvs").code).toBe(1);
    const loaded = (m: string) => guest.ssh(`test -d /sys/module/${m}`).code === 0;
    const toLoad = ["ip_vs", "ip_vs_rr", "nf_conntrack"].filter((m) => !loaded(m));
    expect(toLoad).toContain("ip_vs");
    const conntrackLine = loaded("ip_vs") ? "sysctls: net.ipv4.vs.conntrack: 0 -> 1" : "sysctls: net.ipv4.vs.conntrack: (not present until ip_vs is loaded) -> 1";

    const raw = dryRun(v1Scripts["apply.sh"]);
    expect({ code: raw.code, stderr: raw.stderr }).toEqual({ code: 3, stderr: "" });
    expect(raw.changes).toEqual([
      "state: create directory /var/lib/cdktf-ipvs",
      "state: create directory /var/lib/cdktf-ipvs/generation",
      ...toLoad.map((m) => `modules: load kernel module ${m}`),
      "modules: write /etc/modules-load.d/cdktf-ipvs.conf (new file)",
      conntrackLine,
      ...["expire_nodest_conn", "expire_quiescent_template"].map((k) =>
        loaded("ip_vs") ? `sysctls: net.ipv4.vs.${k}: 0 -> 1` : `sysctls: net.ipv4.vs.${k}: (not present until ip_vs is loaded) -> 1`,
      ),
      "sysctls: write /var/lib/cdktf-ipvs/sysctl.orig (remember for destroy: net.ipv4.vs.conntrack net.ipv4.vs.expire_nodest_conn net.ipv4.vs.expire_quiescent_template)",
      "sysctls: write /etc/sysctl.d/90-cdktf-ipvs.conf (new file)",
      "ipvs: ADD_SERVICE -t 172.16.1.8:1000 -s rr",
      "ipvs: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
      "ipvs: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1",
      "ipvs: write /var/lib/cdktf-ipvs/owned-services (1 IPVS service(s) owned)",
      "aliases: iptables nat: create chain CDKTF-IPVS-PRE",
      "aliases: iptables nat CDKTF-IPVS-PRE: add rule -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment cdktf-ipvs:app -j REDIRECT --to-ports 1000",
      "aliases: iptables nat CDKTF-IPVS-PRE: add rule -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000",
      "aliases: iptables nat: insert jump PREROUTING -> CDKTF-IPVS-PRE first",
      "boot: write /var/lib/cdktf-ipvs/apply.sh (new file)",
      "boot: write /etc/systemd/system/cdktf-ipvs.service (new file)",
      "boot: systemctl enable cdktf-ipvs.service",
    ]);
    expect(raw.stdout.trimEnd().split("\n").pop()).toBe(`cdktf-ipvs lb1 [preview] DONE: ${raw.changes.length} change(s) pending`);
    fs.writeFileSync(path.join(WORK, "example-first.txt"), raw.stdout);

    const fromSpec = cliPreview(["--spec", writeSpec(V1, "v1")]);
    expect({ code: fromSpec.code, stderr: fromSpec.stderr }).toEqual({ code: 3, stderr: "" });
    expect(fromSpec.stdout.split("\n")[0]).toBe(`lb1: ${raw.changes.length} change(s) pending:`);
    expect(fromSpec.changes).toEqual(raw.changes);
    const fromStack = cliPreview(["--stack", v1Stack], true);
    expect(fromStack.code).toBe(3);
    expect(fromStack.changes).toEqual(raw.changes);
    // Still nothing of ours on the host, no module loaded by a preview.
    expect(guest.ssh("test -e /var/lib/cdktf-ipvs || test -e /run/cdktf-ipvs.lock").code).toBe(1);
    expect(guest.ssh("test -d /sys/module/ip_vs").code).toBe(toLoad.includes("ip_vs") ? 1 : 0);
  });

  test("after the deploy: nothing to change (exit 0) from the installed script, stdin, the stack and --json; the spec differs only in apply.sh", () => {
    const out = deploy(v1Scripts);
    expect(out).toContain("applied 3 IPVS change(s)");
    expect(guest.sshOk("sh /var/lib/cdktf-ipvs/verify.sh")).toContain("OK: host matches the desired state");

    const installed = unchanged(() => guest.ssh("sh /var/lib/cdktf-ipvs/apply.sh --dry-run"));
    expect(installed).toMatchObject({ code: 0, stderr: "", stdout: "cdktf-ipvs lb1 [preview] DONE: 0 change(s) pending\n" });
    fs.writeFileSync(path.join(WORK, "example-insync.txt"), installed.stdout);
    const raw = dryRun(v1Scripts["apply.sh"]);
    expect({ code: raw.code, changes: raw.changes, stderr: raw.stderr }).toEqual({ code: 0, changes: [], stderr: "" });
    const fromStack = cliPreview(["--stack", v1Stack]);
    expect({ code: fromStack.code, out: fromStack.stdout.trim() }).toEqual({ code: 0, out: "lb1: nothing to change" });
    const json = cliPreview(["--stack", v1Stack], true);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ host: "lb1", pending: 0, changes: [] });
    // The spec renders the same host with another construct path (and no SSH endpoint), so its
    // apply.sh is another text: that, and only that, would be written.
    const fromSpec = cliPreview(["--spec", writeSpec(V1, "v1")]);
    expect({ code: fromSpec.code, changes: fromSpec.changes }).toEqual({ code: 3, changes: ["boot: write /var/lib/cdktf-ipvs/apply.sh (content differs)"] });
  });

  test("a spec change: exactly its changes (weight, new real server, dropped alias, new apply.sh); then deployed, nothing", () => {
    const v2Stack = synth(guest, V2, "v2");
    const v2Scripts = stackScripts(v2Stack);
    const expected = [
      "ipvs: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1003 -m -w 0",
      "ipvs: EDIT_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3 (was: -m -w 1)",
      "aliases: iptables nat CDKTF-IPVS-PRE: delete rule -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000",
      "boot: write /var/lib/cdktf-ipvs/apply.sh (content differs)",
    ];
    const raw = dryRun(v2Scripts["apply.sh"]);
    expect({ code: raw.code, changes: raw.changes, stderr: raw.stderr }).toEqual({ code: 3, changes: expected, stderr: "" });
    fs.writeFileSync(path.join(WORK, "example-change.txt"), raw.stdout);
    const fromStack = cliPreview(["--stack", v2Stack]);
    expect({ code: fromStack.code, changes: fromStack.changes }).toEqual({ code: 3, changes: expected });

    deploy(v2Scripts);
    expect(dryRun(v2Scripts["apply.sh"])).toMatchObject({ code: 0, changes: [] });
    expect(cliPreview(["--stack", v2Stack])).toMatchObject({ code: 0, changes: [] });
    v1Scripts = v2Scripts;
    v1Stack = v2Stack;
  });

  test("hand-made drift: exactly that (conntrack=0, a deleted real server, an extra rule in our chain); then applied, nothing", () => {
    guest.sshOk(
      "sysctl -qw net.ipv4.vs.conntrack=0 && ipvsadm -d -t 172.16.1.8:1000 -r 172.16.1.8:1001 && iptables -t nat -A CDKTF-IPVS-PRE -p tcp --dport 9999 -j RETURN",
    );
    const expected = [
      "sysctls: net.ipv4.vs.conntrack: 0 -> 1",
      "ipvs: ADD_REAL -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
      "aliases: iptables nat CDKTF-IPVS-PRE: delete rule -p tcp -m tcp --dport 9999 -j RETURN",
    ];
    const raw = dryRun(v1Scripts["apply.sh"]);
    expect({ code: raw.code, changes: raw.changes, stderr: raw.stderr }).toEqual({ code: 3, changes: expected, stderr: "" });
    fs.writeFileSync(path.join(WORK, "example-drift.txt"), raw.stdout);
    const json = cliPreview(["--stack", v1Stack], true);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({
      host: "lb1",
      pending: 3,
      changes: expected.map((e) => ({ step: e.slice(0, e.indexOf(":")), change: e.slice(e.indexOf(":") + 2) })),
    });
    const fromInstalled = unchanged(() => guest.ssh("sh /var/lib/cdktf-ipvs/apply.sh --dry-run"));
    expect({ code: fromInstalled.code, changes: changeLines(fromInstalled.stdout) }).toEqual({ code: 3, changes: expected });

    // The apply makes exactly those changes, and then there is nothing left to preview.
    const out = guest.sshOk("sh /var/lib/cdktf-ipvs/apply.sh 2>&1");
    expect(out).toContain("net.ipv4.vs.conntrack: 0 -> 1");
    expect(out).toContain("applied 1 IPVS change(s)");
    expect(guest.sshOk("iptables -t nat -S CDKTF-IPVS-PRE")).not.toContain("9999");
    expect(dryRun(v1Scripts["apply.sh"])).toMatchObject({ code: 0, changes: [] });
    expect(cliPreview(["--stack", v1Stack])).toMatchObject({ code: 0, changes: [] });
    expect(guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh").code).toBe(0);
  });
});
