/**
 * Beyond the seed, measured on the real kernel (Debian 12, 6.1): does the alias ⇒ conntrack=1
 * pairing also hold, and suffice, for
 *   - a UDP service with REDIRECT and DNAT aliases,
 *   - an IPv6 service with ip6tables REDIRECT and DNAT aliases,
 *   - clients on the load balancer itself through a nat OUTPUT DNAT alias (IPv4 and IPv6)?
 * Found: every one works with net.ipv4.vs.conntrack=1 (the one sysctl also governs IPv6) and fails
 * with 0; nothing more is needed. REDIRECT for local clients sends them to loopback (shown below),
 * so it is rejected at synth time (test/model).
 * Also proven here: thresholds, which `ipvsadm -Sn` leaves out, are diffed through
 * `ipvsadm -Ln --thresholds` as the real ipvsadm prints it.
 *
 * The host is provisioned by our own rendered apply.sh (cdktf-ipvs render), run over SSH.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import { Transport, connectN, isRoundRobin } from "./traffic";

const V4 = TOPOLOGY.lbIPv4;
const V6 = TOPOLOGY.lbIPv6;

interface Case {
  readonly what: string;
  readonly transport: Transport;
  readonly address: string;
  readonly port: number;
  readonly from: "client" | "lb";
  /** Needs conntrack=1 (an alias), or works either way (the service itself). */
  readonly alias: boolean;
}

const CASES: readonly Case[] = [
  { what: "TCP service itself", transport: "tcp4", address: V4, port: 1000, from: "client", alias: false },
  { what: "UDP service itself", transport: "udp4", address: V4, port: 1000, from: "client", alias: false },
  { what: "UDP REDIRECT alias", transport: "udp4", address: V4, port: 1011, from: "client", alias: true },
  { what: "UDP DNAT alias", transport: "udp4", address: V4, port: 1021, from: "client", alias: true },
  { what: "IPv6 service itself", transport: "tcp6", address: V6, port: 1000, from: "client", alias: false },
  { what: "IPv6 ip6tables REDIRECT alias", transport: "tcp6", address: V6, port: 1010, from: "client", alias: true },
  { what: "IPv6 ip6tables DNAT alias", transport: "tcp6", address: V6, port: 1020, from: "client", alias: true },
  { what: "local client to the service itself", transport: "tcp4", address: V4, port: 1000, from: "lb", alias: false },
  { what: "local client through the OUTPUT DNAT alias", transport: "tcp4", address: V4, port: 1020, from: "lb", alias: true },
  { what: "local IPv6 client through the OUTPUT DNAT alias", transport: "tcp6", address: V6, port: 1020, from: "lb", alias: true },
];

let guest: LabGuest;

beforeAll(async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-facts-"));
  execFileSync("node", [path.join(REPO_ROOT, "bin", "cdktf-ipvs.js"), "render", "--spec", path.join(__dirname, "specs", "beyond-the-seed.spec.json"), "--out", out]);
  guest = await LabGuest.boot("kernel-facts");
  guest.sshOk("cat > /root/apply.sh", { input: fs.readFileSync(path.join(out, "lb1", "apply.sh"), "utf8") });
  guest.sshOk("cat > /root/verify.sh", { input: fs.readFileSync(path.join(out, "lb1", "verify.sh"), "utf8") });
  guest.sshOk("sh /root/apply.sh");
}, 30 * 60 * 1000);

afterAll(() => guest?.stop());

describe("what ipvsadm -Sn does not show (thresholds) is still diffed right", () => {
  test("thresholds, persistence with netmask and a drained server are applied as declared", () => {
    expect(guest.sshOk("ipvsadm -Sn | grep -F 172.16.1.8:2000 | sort").trim().split("\n")).toEqual([
      "-A -t 172.16.1.8:2000 -s wlc -p 300 -M 255.255.255.0",
      "-a -t 172.16.1.8:2000 -r 172.16.1.8:1001 -m -w 3",
      "-a -t 172.16.1.8:2000 -r 172.16.1.8:1002 -m -w 0",
    ]);
    expect(guest.sshOk("ipvsadm -Ln --thresholds -t 172.16.1.8:2000")).toMatch(/-> 172\.16\.1\.8:1001\s+100\s+10\s/);
  });
  test("ipvsadm -Sn adds --tun-type ipip to tunnelled real servers; our rule text matches it", () => {
    expect(guest.sshOk("ipvsadm -Sn | grep -F 172.16.1.8:3000 | sort").trim().split("\n")).toEqual([
      "-A -t 172.16.1.8:3000 -s rr",
      "-a -t 172.16.1.8:3000 -r 10.9.9.10:3000 -g -w 1",
      "-a -t 172.16.1.8:3000 -r 10.9.9.9:3000 -i -w 1 --tun-type ipip",
    ]);
  });
  test("re-running apply.sh finds nothing to change, and verify passes", () => {
    expect(guest.sshOk("sh /root/apply.sh 2>&1")).toContain("IPVS services unchanged");
    expect(guest.sshOk("sh /root/verify.sh 2>&1")).toContain("OK: host matches the desired state");
  });
  test("a threshold changed behind our back is named by verify and put back by apply", () => {
    guest.sshOk("ipvsadm -e -t 172.16.1.8:2000 -r 172.16.1.8:1001 -m -w 3 -x 50 -y 10");
    const drift = guest.ssh("sh /root/verify.sh");
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain("real server 172.16.1.8:1001 differs: want '-m -w 3 -x 100 -y 10', live '-m -w 3 -x 50 -y 10'");
    guest.sshOk("sh /root/apply.sh");
    expect(guest.sshOk("ipvsadm -Ln --thresholds -t 172.16.1.8:2000")).toMatch(/-> 172\.16\.1\.8:1001\s+100\s+10\s/);
  });
  test("ipvsadm -e without -x/-y resets the thresholds to 0, so our edits always carry them", () => {
    guest.sshOk("ipvsadm -e -t 172.16.1.8:2000 -r 172.16.1.8:1001 -m -w 3");
    expect(guest.sshOk("ipvsadm -Ln --thresholds -t 172.16.1.8:2000")).toMatch(/-> 172\.16\.1\.8:1001\s+0\s+0\s/);
    expect(guest.sshOk("sh /root/apply.sh 2>&1")).toContain("EDIT_REAL -t 172.16.1.8:2000 -r 172.16.1.8:1001 -m -w 3 -x 100 -y 10");
    expect(guest.sshOk("ipvsadm -Ln --thresholds -t 172.16.1.8:2000")).toMatch(/-> 172\.16\.1\.8:1001\s+100\s+10\s/);
  });
});

describe("why the boot restore keeps its scratch files out of /tmp", () => {
  test("Debian's tmpfiles configuration empties /tmp at boot (D /tmp)", () => {
    expect(guest.sshOk("systemd-tmpfiles --cat-config")).toMatch(/^D \/tmp\s/m);
    expect(guest.sshOk("cat /etc/systemd/system/cdktf-ipvs.service")).toContain("systemd-tmpfiles-setup.service");
  });
});

describe("with net.ipv4.vs.conntrack=1 (as our provisioning sets it)", () => {
  test("conntrack is 1", () => {
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
  });
  test.each(CASES.map((c) => [c.what, c] as const))("%s works and round-robins", (_, c) => {
    const answers = connectN(guest, c.address, c.port, 2, { transport: c.transport, from: c.from });
    expect({ answers, ok: isRoundRobin(answers) }).toEqual({ answers, ok: true });
  });
});

describe("why local-client aliases must be DNAT (REDIRECT is rejected at synth time)", () => {
  test("a REDIRECT in nat OUTPUT sends the local client to loopback, where no service listens, even with conntrack=1", () => {
    const rule = "-d 172.16.1.8/32 -p tcp --dport 1030 -m comment --comment probe -j REDIRECT --to-ports 1000";
    guest.sshOk(`iptables -t nat -A OUTPUT ${rule}`);
    try {
      expect(connectN(guest, V4, 1030, 2, { from: "lb" })).toEqual(["FAIL", "FAIL"]);
      // Where it went: a listener on 127.0.0.1:1000 (not the service address) answers instead.
      guest.sshOk("(socat TCP4-LISTEN:1000,bind=127.0.0.1,fork,reuseaddr SYSTEM:'echo loopback' >/dev/null 2>&1 & echo $! >/run/probe.pid); sleep 1");
      expect(connectN(guest, V4, 1030, 2, { from: "lb" })).toEqual(["loopback", "loopback"]);
    } finally {
      guest.ssh("kill $(cat /run/probe.pid) 2>/dev/null");
      guest.sshOk(`iptables -t nat -D OUTPUT ${rule}`);
    }
  });
});

describe("with net.ipv4.vs.conntrack=0 (what the pairing prevents)", () => {
  beforeAll(() => {
    guest.sshOk("sysctl -qw net.ipv4.vs.conntrack=0 && (conntrack -F 2>/dev/null || true)");
  });
  test.each(CASES.filter((c) => c.alias).map((c) => [c.what, c] as const))("%s fails", (_, c) => {
    expect(connectN(guest, c.address, c.port, 2, { transport: c.transport, from: c.from })).toEqual(["FAIL", "FAIL"]);
  });
  test.each(CASES.filter((c) => !c.alias).map((c) => [c.what, c] as const))("%s still works (no alias, no NAT to undo)", (_, c) => {
    const answers = connectN(guest, c.address, c.port, 2, { transport: c.transport, from: c.from });
    expect({ answers, ok: isRoundRobin(answers) }).toEqual({ answers, ok: true });
  });
});
