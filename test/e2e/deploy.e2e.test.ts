/**
 * `cdktf deploy` of a stack built with our constructs into a real Debian 12 server (qemu), with a
 * real `terraform apply` running remote-exec over SSH: the seed's scenario works, a second deploy
 * changes nothing, a changed stack changes only what changed, a reboot brings it all back, and
 * destroy removes only what is ours. Done once with iptables-nft and once with iptables-legacy.
 *
 * test/e2e/seed-negative-control.e2e.test.ts shows the same host failing without conntrack=1;
 * without that control, these results would prove nothing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { HostSpec } from "../../lib/model";
import { LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import { V1, V2 } from "./seed-specs";
import { connectN, isRoundRobin } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;
const CDKTF = path.join(REPO_ROOT, "node_modules", ".bin", "cdktf");

/** Foreign state a real host may have: an IPVS service and nat rules/chains that are not ours. */
const FOREIGN_SETUP = [
  "ipvsadm -A -t 172.16.1.8:2000 -s wlc",
  "ipvsadm -a -t 172.16.1.8:2000 -r 172.16.1.8:1001 -m -w 7",
  "iptables -t nat -N FOREIGN-CHAIN",
  "iptables -t nat -A FOREIGN-CHAIN -p tcp --dport 3000 -j RETURN",
  "iptables -t nat -A PREROUTING -p tcp --dport 3001 -m comment --comment foreign -j REDIRECT --to-ports 1001",
  "iptables -t nat -A OUTPUT -j FOREIGN-CHAIN",
].join(" && ");

const OUR_FILES = [
  "/etc/modules-load.d/cdktf-ipvs.conf",
  "/etc/sysctl.d/90-cdktf-ipvs.conf",
  "/etc/systemd/system/cdktf-ipvs.service",
  "/var/lib/cdktf-ipvs",
];

class Deployment {
  /** IpvsHost's converge prop for the next deploy or destroy (undefined: the default, on-change). */
  converge?: "on-change" | "every-deploy";
  readonly dir: string;
  constructor(
    private readonly guest: LabGuest,
    variant: string,
  ) {
    this.dir = path.join(REPO_ROOT, ".lab", "e2e", variant);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(
      path.join(this.dir, "cdktf.json"),
      JSON.stringify({ language: "typescript", app: `node ${path.join(REPO_ROOT, "test", "e2e", "app", "main.js")}`, terraformProviders: [], terraformModules: [], context: {} }),
    );
  }

  private run(command: "deploy" | "destroy", spec: HostSpec): string {
    fs.writeFileSync(path.join(this.dir, "spec.json"), JSON.stringify(spec));
    const env = {
      ...process.env,
      CI: "1",
      CHECKPOINT_DISABLE: "1",
      IPVS_E2E_SPEC: path.join(this.dir, "spec.json"),
      IPVS_E2E_PORT: String(this.guest.sshPort),
      IPVS_E2E_KEY: this.guest.privateKeyPath,
      IPVS_E2E_CONVERGE: this.converge ?? "",
    };
    const r = spawnSync(CDKTF, [command, "lab", "--auto-approve"], { cwd: this.dir, env, encoding: "utf8", maxBuffer: 64 << 20, timeout: 15 * 60 * 1000 });
    const out = `${r.stdout}\n${r.stderr}`;
    fs.writeFileSync(path.join(this.dir, `${command}-${Date.now()}.log`), out);
    if (r.status !== 0) throw new Error(`cdktf ${command} failed (exit ${r.status}):\n${out.slice(-6000)}`);
    return out;
  }

  deploy(spec: HostSpec): string {
    return this.run("deploy", spec);
  }

  destroy(spec: HostSpec): string {
    return this.run("destroy", spec);
  }

  /** Resource address → id, from the local state. */
  resourceIds(): Record<string, string> {
    const state = JSON.parse(fs.readFileSync(path.join(this.dir, "terraform.lab.tfstate"), "utf8"));
    const ids: Record<string, string> = {};
    for (const r of state.resources ?? []) ids[`${r.type}.${r.name}`] = r.instances?.[0]?.attributes?.id;
    return ids;
  }

  stepIdsByName(): Record<string, string> {
    const state = JSON.parse(fs.readFileSync(path.join(this.dir, "terraform.lab.tfstate"), "utf8"));
    const out: Record<string, string> = {};
    for (const r of state.resources ?? []) {
      const attrs = r.instances?.[0]?.attributes;
      // terraform_data keeps its dynamic-typed attributes as { value, type } in the state.
      const triggers = attrs.triggers_replace?.value ?? attrs.triggers_replace;
      out[triggers.step] = attrs.id;
    }
    return out;
  }
}

/** What the host's kernel and disk hold that we care about, as text that must compare equal. */
function hostSnapshot(guest: LabGuest): string {
  return guest.sshOk(
    [
      "echo '## ipvsadm -Sn'; ipvsadm -Sn | sort",
      "echo '## thresholds'; ipvsadm -Ln --thresholds | sort",
      // Counters change with traffic; strip them and the timestamp lines.
      "echo '## nat'; iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## nat6'; ip6tables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## sysctl'; sysctl net.ipv4.vs.conntrack net.ipv4.ip_forward",
      `echo '## files'; find ${OUR_FILES.join(" ")} -type f -exec sha256sum {} + 2>/dev/null | sort`,
    ].join("; "),
  );
}

function foreignSnapshot(guest: LabGuest): string {
  return guest.sshOk(
    "ipvsadm -Sn | grep -F ':2000' | sort; iptables-save -t nat | grep -v '^#' | grep -v CDKTF-IPVS | sed 's/\\[[0-9]*:[0-9]*\\]//'",
  );
}

function natChain(guest: LabGuest, chain: string): string {
  return guest.sshOk(`iptables -t nat -S ${chain} 2>/dev/null || true`);
}

function ourIpvs(guest: LabGuest): string[] {
  return guest
    .sshOk("ipvsadm -Sn")
    .split("\n")
    .filter((l) => l.includes("172.16.1.8:1000"))
    .sort();
}

/** `cdktf-ipvs drift` over SSH from the machine running the tests. */
function driftFromOutside(guest: LabGuest, dir: string, spec: HostSpec) {
  const file = path.join(dir, "drift-spec.json");
  fs.writeFileSync(file, JSON.stringify({ hosts: [spec] }));
  // The lab guest's host key changes with every image build, hence --no-host-key-check.
  const args = ["drift", "--spec", file, "--host", spec.name, "--ssh", `root@127.0.0.1:${guest.sshPort}`, "--identity", guest.privateKeyPath, "--no-host-key-check"];
  return spawnSync("node", [path.join(REPO_ROOT, "bin", "cdktf-ipvs.js"), ...args], { encoding: "utf8", timeout: 120_000 });
}

/** Final state of our boot unit (waits while it is still activating) and its journal. */
function bootUnitState(guest: LabGuest): { state: string; journal: string } {
  const state = guest
    .sshOk(
      "for i in $(seq 60); do s=$(systemctl is-active cdktf-ipvs.service); [ \"$s\" = activating ] || break; sleep 1; done; echo \"$s\"",
      { timeoutMs: 120_000 },
    )
    .trim();
  const journal = guest.sshOk("journalctl -b --no-pager -o short-monotonic -u cdktf-ipvs.service | tail -40; systemctl status --no-pager cdktf-ipvs.service | head -12 || true");
  return { state, journal };
}

function verify(guest: LabGuest) {
  return guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh");
}

describe.each([
  ["nft", "/usr/sbin/iptables-nft", "/usr/sbin/ip6tables-nft"],
  ["legacy", "/usr/sbin/iptables-legacy", "/usr/sbin/ip6tables-legacy"],
])("cdktf deploy into a real IPVS host with iptables-%s", (variant, iptables, ip6tables) => {
  let guest: LabGuest;
  let deployment: Deployment;

  beforeAll(async () => {
    guest = await LabGuest.boot(`deploy-${variant}`);
    guest.sshOk(`update-alternatives --set iptables ${iptables} && update-alternatives --set ip6tables ${ip6tables}`);
    expect(guest.sshOk("iptables --version")).toContain(variant === "nft" ? "nf_tables" : "legacy");
    guest.sshOk(FOREIGN_SETUP);
    deployment = new Deployment(guest, variant);
  }, 30 * 60 * 1000);

  afterAll(() => guest?.stop());

  let foreignBefore = "";

  test("deploy: the redirect and DNAT aliases work from another host and round-robin; conntrack is 1; verify passes", () => {
    foreignBefore = foreignSnapshot(guest);
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("0");
    deployment.deploy(V1);

    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
    const r1010 = connectN(guest, VIP, 1010, 4);
    const r1020 = connectN(guest, VIP, 1020, 4);
    expect({ r1010, ok: isRoundRobin(r1010) }).toEqual({ r1010, ok: true });
    expect({ r1020, ok: isRoundRobin(r1020) }).toEqual({ r1020, ok: true });
    expect(isRoundRobin(connectN(guest, VIP, 1000, 4))).toBe(true);
    const v = verify(guest);
    expect(v.stdout + v.stderr).toContain("OK: host matches the desired state");
    expect(v.code).toBe(0);
    expect(foreignSnapshot(guest)).toBe(foreignBefore);
  });

  test("deploy again without a change: Terraform replaces nothing and the host is byte-identical", () => {
    const idsBefore = deployment.resourceIds();
    const before = hostSnapshot(guest);
    const out = deployment.deploy(V1);
    expect(out).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);
    expect(deployment.resourceIds()).toEqual(idsBefore);
    expect(hostSnapshot(guest)).toBe(before);
  });

  test("running apply.sh again on the host changes nothing either", () => {
    const before = hostSnapshot(guest);
    const out = guest.sshOk("sh /var/lib/cdktf-ipvs/apply.sh 2>&1");
    expect(out).toContain("IPVS services unchanged");
    expect(out).toMatch(/iptables nat CDKTF-IPVS-PRE: 2 rule\(s\) unchanged/);
    expect(out).not.toMatch(/loaded module|-> 1|wrote \/|applied \d+ IPVS change/);
    expect(hostSnapshot(guest)).toBe(before);
  });

  test("change the stack: only that changes on the host, and only the later steps re-run", () => {
    const stepsBefore = deployment.stepIdsByName();
    const sysctlsBefore = guest.sshOk("sysctl net.ipv4.vs.conntrack net.ipv4.ip_forward");
    deployment.deploy(V2);
    const stepsAfter = deployment.stepIdsByName();

    expect(stepsAfter.modules).toBe(stepsBefore.modules);
    expect(stepsAfter.sysctls).toBe(stepsBefore.sysctls);
    expect(stepsAfter.ipvs).not.toBe(stepsBefore.ipvs);
    expect(ourIpvs(guest)).toEqual(
      [
        "-A -t 172.16.1.8:1000 -s rr",
        "-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1",
        "-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3",
        "-a -t 172.16.1.8:1000 -r 172.16.1.8:1003 -m -w 0",
      ].sort(),
    );
    const chain = natChain(guest, "CDKTF-IPVS-PRE");
    expect(chain).toContain("--dport 1010");
    expect(chain).not.toContain("--dport 1020");
    expect(guest.sshOk("sysctl net.ipv4.vs.conntrack net.ipv4.ip_forward")).toBe(sysctlsBefore);
    expect(foreignSnapshot(guest)).toBe(foreignBefore);
    // rr skips the drained (weight 0) server, which has no backend: a connection to it would FAIL.
    const answers = connectN(guest, VIP, 1010, 6);
    expect({ answers, ok: isRoundRobin(answers) }).toEqual({ answers, ok: true });
    expect(verify(guest).code).toBe(0);
  });

  test("drift on the live host is named, by verify.sh there and by `cdktf-ipvs drift` from outside", () => {
    guest.sshOk("sysctl -qw net.ipv4.vs.conntrack=0 && ipvsadm -e -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 9");
    const v = verify(guest);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain("DRIFT: net.ipv4.vs.conntrack is 0 but aliases exist");
    expect(v.stdout).toContain("DRIFT: IPVS service -t 172.16.1.8:1000: real server 172.16.1.8:1001 differs: want '-m -w 1', live '-m -w 9'");
    const outside = driftFromOutside(guest, deployment.dir, V2);
    expect(outside.status).toBe(1);
    expect(outside.stderr).toContain("- net.ipv4.vs.conntrack is 0 but aliases exist");
    // apply.sh converges it back.
    guest.sshOk("sh /var/lib/cdktf-ipvs/apply.sh");
    expect(verify(guest).code).toBe(0);
    expect(driftFromOutside(guest, deployment.dir, V2).status).toBe(0);
  });

  // Once (nft): a deploy with no change in the stack heals drift only in converge mode every-deploy.
  (variant === "nft" ? test : test.skip)("converge: a no-change deploy leaves drift with on-change and heals it with every-deploy", () => {
    guest.sshOk(
      [
        "sysctl -qw net.ipv4.vs.conntrack=0",
        "ipvsadm -d -t 172.16.1.8:1000 -r 172.16.1.8:1002",
        "iptables -t nat -A CDKTF-IPVS-PRE -p tcp --dport 9999 -j RETURN",
      ].join(" && "),
    );
    expect(connectN(guest, VIP, 1010, 2)).toEqual(["FAIL", "FAIL"]);

    // on-change (the default): Terraform sees no change, the host stays broken, drift says so.
    expect(deployment.deploy(V2)).toMatch(/No changes|0 added, 0 changed, 0 destroyed/);
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("0");
    expect(ourIpvs(guest).join("\n")).not.toContain("-r 172.16.1.8:1002");
    expect(natChain(guest, "CDKTF-IPVS-PRE")).toContain("--dport 9999");
    expect(verify(guest).code).toBe(1);
    const outside = driftFromOutside(guest, deployment.dir, V2);
    expect(outside.status).toBe(1);
    expect(outside.stderr).toContain("net.ipv4.vs.conntrack is 0 but aliases exist");

    // every-deploy: the same stack, one converge resource, and all three are healed.
    deployment.converge = "every-deploy";
    const out = deployment.deploy(V2);
    expect(out).toMatch(/_converge_[0-9A-F]+: Creat/);
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
    expect(ourIpvs(guest)).toContain("-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3");
    expect(natChain(guest, "CDKTF-IPVS-PRE")).not.toContain("--dport 9999");
    const answers = connectN(guest, VIP, 1010, 6);
    expect({ answers, ok: isRoundRobin(answers) }).toEqual({ answers, ok: true });
    expect(verify(guest).code).toBe(0);

    // And again: every deploy runs it, and on a host in sync it changes nothing.
    const ipvsBefore = ourIpvs(guest);
    const chainBefore = natChain(guest, "CDKTF-IPVS-PRE");
    expect(deployment.deploy(V2)).toMatch(/_converge_[0-9A-F]+: Creat/);
    expect({ ipvs: ourIpvs(guest), chain: natChain(guest, "CDKTF-IPVS-PRE") }).toEqual({ ipvs: ipvsBefore, chain: chainBefore });
    expect(verify(guest).code).toBe(0);
  });

  test("reboot: services, aliases and conntrack=1 come back through our persistence, and the alias works", async () => {
    const before = ourIpvs(guest);
    await guest.reboot();
    const unit = bootUnitState(guest);
    expect({ unit: unit.state, journal: unit.journal }).toEqual({ unit: "active", journal: unit.journal });
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
    expect({ ipvs: ourIpvs(guest), journal: unit.journal }).toEqual({ ipvs: before, journal: unit.journal });
    expect(natChain(guest, "CDKTF-IPVS-PRE")).toContain("--dport 1010");
    const answers = connectN(guest, VIP, 1010, 4);
    expect(answers.every((a) => /^port-100[12]$/.test(a))).toBe(true);
    expect(guest.sshOk("systemctl is-active cdktf-ipvs.service").trim()).toBe("active");
    expect(verify(guest).code).toBe(0);
  }, 10 * 60 * 1000);

  test("destroy: our services, rules and files are gone; foreign ones remain", () => {
    // Foreign runtime state does not survive a reboot; put it back so destroy has something to spare.
    guest.sshOk(FOREIGN_SETUP);
    const foreign = foreignSnapshot(guest);
    deployment.destroy(V2);
    expect(ourIpvs(guest)).toEqual([]);
    expect(guest.sshOk("iptables-save -t nat")).not.toContain("CDKTF-IPVS");
    for (const f of OUR_FILES) expect(guest.ssh(`test -e ${f}`).code).toBe(1);
    expect(foreignSnapshot(guest)).toBe(foreign);
    // conntrack goes back to what the host had before our first apply.
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("0");
  });
});

describe("the pitfall our persistence avoids", () => {
  let guest: LabGuest;
  beforeAll(async () => {
    guest = await LabGuest.boot("pitfall");
  }, 30 * 60 * 1000);
  afterAll(() => guest?.stop());

  test("with sysctl.d alone, conntrack=1 is lost at boot (ip_vs is not loaded when systemd-sysctl runs)", async () => {
    guest.sshOk("echo 'net.ipv4.vs.conntrack = 1' > /etc/sysctl.d/90-pitfall.conf");
    await guest.reboot();
    expect(guest.ssh("test -d /sys/module/ip_vs").code).toBe(1);
    guest.sshOk("modprobe ip_vs");
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("0");
    expect(guest.sshOk("journalctl -b -t systemd-sysctl --no-pager")).toMatch(/Couldn't write '1' to 'net\/ipv4\/vs\/conntrack'/);
  }, 10 * 60 * 1000);
});
