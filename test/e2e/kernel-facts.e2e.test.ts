/**
 * Beyond the seed, measured on the real kernel (Debian 12, 6.1): does the alias ⇒ conntrack=1
 * pairing also hold, and suffice, for
 *   - a UDP service with REDIRECT and DNAT aliases,
 *   - an IPv6 service with ip6tables REDIRECT and DNAT aliases,
 *   - clients on the load balancer itself through a nat OUTPUT DNAT alias (IPv4 and IPv6)?
 * Found: every one works with net.ipv4.vs.conntrack=1 (the one sysctl also governs IPv6) and fails
 * with 0; nothing more is needed. REDIRECT for local clients is rejected at synth time instead
 * (it rewrites to loopback); see test/model.
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
  guest.sshOk("sh /root/apply.sh");
}, 30 * 60 * 1000);

afterAll(() => guest?.stop());

describe("with net.ipv4.vs.conntrack=1 (as our provisioning sets it)", () => {
  test("conntrack is 1", () => {
    expect(guest.sshOk("cat /proc/sys/net/ipv4/vs/conntrack").trim()).toBe("1");
  });
  test.each(CASES.map((c) => [c.what, c] as const))("%s works and round-robins", (_, c) => {
    const answers = connectN(guest, c.address, c.port, 2, { transport: c.transport, from: c.from });
    expect({ answers, ok: isRoundRobin(answers) }).toEqual({ answers, ok: true });
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
