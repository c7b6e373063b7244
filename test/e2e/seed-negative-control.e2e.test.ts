/**
 * NEGATIVE CONTROL for the whole e2e suite: the seed's bug, reproduced by hand on a real kernel.
 *
 * IPVS service 172.16.1.8:1000 (rr, masquerade to :1001 and :1002) plus nat PREROUTING
 * REDIRECT 1010->1000 and DNAT 1020->:1000. With net.ipv4.vs.conntrack=0 (the kernel default)
 * IPVS drops the netfilter conntrack entry, the reply is not un-NATed, the SYN-ACK leaves from
 * :1000 instead of :1010, the client answers with RST: 1010 and 1020 FAIL. With conntrack=1 they work.
 *
 * IF THIS TEST EVER PASSES THE 'FAIL' ASSERTIONS WRONGLY (i.e. 1010/1020 work with conntrack=0, or
 * it is changed so that they would), THE LAB NO LONGER REPRODUCES THE BUG AND EVERY OTHER E2E
 * RESULT IS VOID: a library test that "proves" conntrack pairing would then prove nothing.
 *
 * Done for iptables-nft (Debian's default) and iptables-legacy, on one shared guest.
 */
import { LabGuest, TOPOLOGY } from "./lab";
import { connectN as connectFromClient, isRoundRobin } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;
const CLIENT = TOPOLOGY.clientIPv4;

let guest: LabGuest;

beforeAll(async () => {
  // Builds the image first when .lab/image is missing or stale (~2 min), then boots (~20-40 s).
  guest = await LabGuest.boot("seed-negative-control");
}, 30 * 60 * 1000);

afterAll(() => {
  guest?.stop();
});

/** N connections from the client netns to VIP:PORT; each result is the backend's answer or "FAIL". */
const connectN = (port: number, n: number) => connectFromClient(guest, VIP, port, n);

function expectRoundRobin(results: string[]): void {
  expect({ results, roundRobin: isRoundRobin(results) }).toEqual({ results, roundRobin: true });
}

/** Captures, in the client netns, the packets of one connection attempt to VIP:PORT. */
function captureOneConnect(port: number): string {
  return guest.sshOk(
    [
      "rm -f /tmp/cap.txt /tmp/cap.err",
      `ip netns exec ${TOPOLOGY.clientNetns} tcpdump -l -n -i veth-cl 'tcp and (port ${port} or port 1000)' >/tmp/cap.txt 2>/tmp/cap.err &`,
      "TP=$!",
      "for i in $(seq 100); do grep -q 'listening on' /tmp/cap.err 2>/dev/null && break; sleep 0.1; done",
      `ip netns exec ${TOPOLOGY.clientNetns} socat -T3 - TCP4:${VIP}:${port},connect-timeout=3 </dev/null >/dev/null 2>&1 || true`,
      "sleep 1",
      "kill $TP; wait $TP 2>/dev/null || true",
      "cat /tmp/cap.txt",
    ].join("\n"),
  );
}

const SYNACK_FROM = (port: number) =>
  new RegExp(`${VIP.replace(/\./g, "\\.")}\\.${port} > ${CLIENT.replace(/\./g, "\\.")}\\.\\d+: Flags \\[S\\.\\]`);

describe.each(["nft", "legacy"] as const)("seed scenario with iptables-%s", (variant) => {
  beforeAll(() => {
    // Clean slate: no IPVS services, no nat rules in either backend, no stale conntrack entries.
    guest.sshOk(
      [
        "set -e",
        "modprobe ip_vs",
        "ipvsadm -C",
        "iptables-nft -t nat -F; iptables-nft -t nat -X",
        "iptables-legacy -t nat -F; iptables-legacy -t nat -X",
        `update-alternatives --set iptables /usr/sbin/iptables-${variant} >/dev/null`,
        "conntrack -F 2>/dev/null || true",
      ].join("\n"),
    );
    expect(guest.sshOk("iptables --version")).toContain(variant === "nft" ? "(nf_tables)" : "(legacy)");
    if (variant === "nft") {
      // The first variant runs on the fresh boot: ip_vs was just loaded, so this is the kernel default.
      expect(guest.sshOk("sysctl -n net.ipv4.vs.conntrack").trim()).toBe("0");
    } else {
      guest.sshOk("sysctl -w net.ipv4.vs.conntrack=0");
    }
    expect(guest.sshOk("sysctl -n net.ipv4.vs.conntrack").trim()).toBe("0");

    // Exactly the seed's commands.
    guest.sshOk(
      [
        "set -e",
        `ipvsadm -A -t ${VIP}:1000 -s rr`,
        `ipvsadm -a -t ${VIP}:1000 -r ${VIP}:1001 -m`,
        `ipvsadm -a -t ${VIP}:1000 -r ${VIP}:1002 -m`,
        "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
        "iptables -t nat -A PREROUTING -p tcp --dport 1020 -j DNAT --to-destination :1000",
      ].join("\n"),
    );
  });

  test("direct connections to the virtual service :1000 work and alternate", () => {
    expectRoundRobin(connectN(1000, 4));
  });

  test("with conntrack=0, REDIRECT 1010->1000 and DNAT 1020->:1000 FAIL (the seed's bug)", () => {
    expect(connectN(1010, 2)).toEqual(["FAIL", "FAIL"]);
    expect(connectN(1020, 2)).toEqual(["FAIL", "FAIL"]);
    // IPVS did pick a real server: its own table holds half-open connections.
    expect(guest.sshOk("ipvsadm -Lnc")).toMatch(/SYN_RECV/);
  });

  test("with conntrack=0, the client sees the SYN-ACK leave from :1000, not :1010", () => {
    const cap = captureOneConnect(1010);
    expect(cap).toMatch(SYNACK_FROM(1000));
    expect(cap).not.toMatch(SYNACK_FROM(1010));
  });

  test("with conntrack=1, REDIRECT and DNAT work and round-robin", () => {
    guest.sshOk("sysctl -w net.ipv4.vs.conntrack=1");
    expectRoundRobin(connectN(1010, 4));
    expectRoundRobin(connectN(1020, 4));
    const cap = captureOneConnect(1010);
    expect(cap).toMatch(SYNACK_FROM(1010));
    expect(cap).not.toMatch(SYNACK_FROM(1000));
  });
});
