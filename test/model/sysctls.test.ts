/** The scripts run as root: a host may only set the sysctls a load balancer needs, unless it opts in. */
import { buildDesiredHost, isAllowedSysctl } from "../../lib/model";
import { seedHost } from "../fixtures";
import { issueLines } from "../model-issues";

const FAMILIES =
  "net.ipv4.vs.*, net.ipv4.ip_forward, net.ipv6.conf.<all|default|IFACE>.forwarding, " +
  "net.ipv4.conf.<all|default|IFACE>.{arp_ignore,arp_announce,arp_filter,rp_filter,forwarding,send_redirects}, " +
  "net.netfilter.nf_conntrack_*, net.nf_conntrack_max, net.ipv4.ip_nonlocal_bind, net.ipv6.ip_nonlocal_bind " +
  "(IFACE: an interface name, 1–15 characters of A–Z a–z 0–9 _ -)";
const refused = (key: string) =>
  `spec.hosts[0]: sysctls["${key}"] "${key}" is not a sysctl a load balancer needs; allowed: ${FAMILIES}. Set unsafeSysctls: true on the host to accept other keys (the scripts run as root).`;

describe("given sysctls outside what a load balancer needs", () => {
  test.each(["kernel.modprobe", "kernel.modules_disabled", "fs.protected_symlinks", "kernel.yama.ptrace_scope", "kernel.core_pattern", "net.ipv4.conf.all.accept_source_route", "net.ipv4.tcp_syncookies", "net.ipv6.conf.all.disable_ipv6", "vm.overcommit_memory"])(
    "when %s is declared without the opt-in, then it is refused, naming the key and the allowed families",
    (key) => {
      expect(issueLines(() => buildDesiredHost(seedHost({ sysctls: { [key]: 1 } })))).toEqual([refused(key)]);
    },
  );

  test("when a refused key also has a malformed value, then both problems are reported", () => {
    expect(issueLines(() => buildDesiredHost(seedHost({ sysctls: { "kernel.core_pattern": "|/tmp/x" } })))).toEqual([
      'spec.hosts[0]: sysctls["kernel.core_pattern"] "|/tmp/x" is not an allowed sysctl value; allowed: an integer or a word of A–Z a–z 0–9 _ . : - (1–64 characters)',
      refused("kernel.core_pattern"),
    ]);
  });

  test("when the host opts in with unsafeSysctls: true, then the key is kept and listed as unsafe", () => {
    const host = buildDesiredHost(seedHost({ unsafeSysctls: true, sysctls: { "kernel.modules_disabled": 1, "net.ipv4.vs.expire_nodest_conn": 1 } }));
    expect(host.unsafeSysctls).toEqual(["kernel.modules_disabled"]);
    expect(host.sysctls).toContainEqual({
      key: "kernel.modules_disabled",
      value: "1",
      reason: "declared in the host's sysctls; outside the load-balancer allowlist, accepted because unsafeSysctls is true",
    });
    expect(host.sysctls).toContainEqual({ key: "net.ipv4.vs.expire_nodest_conn", value: "1", reason: "declared in the host's sysctls" });
  });

  test("when unsafeSysctls is false, then it is refused as without it", () => {
    expect(issueLines(() => buildDesiredHost(seedHost({ unsafeSysctls: false, sysctls: { "kernel.modprobe": "x" } })))).toEqual([refused("kernel.modprobe")]);
  });

  test("when unsafeSysctls is not a boolean, then that is the problem and nothing is opted in", () => {
    expect(issueLines(() => buildDesiredHost({ ...seedHost(), unsafeSysctls: "yes", sysctls: { "kernel.modprobe": "x" } }))).toEqual([
      'spec.hosts[0]: unsafeSysctls "yes" is not a boolean',
      refused("kernel.modprobe"),
    ]);
  });
});

describe("given sysctls a load balancer needs", () => {
  const allowed = [
    "net.ipv4.vs.expire_nodest_conn",
    "net.ipv4.vs.conn_reuse_mode",
    "net.ipv4.ip_forward",
    "net.ipv6.conf.all.forwarding",
    "net.ipv6.conf.default.forwarding",
    "net.ipv6.conf.eth0.forwarding",
    "net.ipv4.conf.all.arp_ignore",
    "net.ipv4.conf.default.arp_announce",
    "net.ipv4.conf.bond0.arp_filter",
    "net.ipv4.conf.ens3.rp_filter",
    "net.ipv4.conf.Wan_1-a.forwarding",
    "net.ipv4.conf.lo.send_redirects",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.nf_conntrack_max",
    "net.ipv4.ip_nonlocal_bind",
    "net.ipv6.ip_nonlocal_bind",
  ];
  test.each(allowed)("when %s is declared, then it is accepted and not unsafe", (key) => {
    const host = buildDesiredHost(seedHost({ sysctls: { [key]: 1 } }));
    expect(host.sysctls).toContainEqual({ key, value: "1", reason: "declared in the host's sysctls" });
    expect(host.unsafeSysctls).toEqual([]);
  });

  test.each([
    "net.ipv4.conf.eth0.accept_redirects", // not one of the listed settings
    "net.ipv4.conf.a-very-long-iface.rp_filter", // 16 characters: longer than IFNAMSIZ allows
    "net.ipv4.conf.-eth0.rp_filter", // would read like an option
    "net.ipv4.vs.a.b", // net.ipv4.vs has no sub-directories
    "net.ipv6.conf.all.accept_ra",
    "net.ipv4.ip_forward_use_pmtu",
  ])("when %s is checked, then it is not on the allowlist", (key) => {
    expect(isAllowedSysctl(key)).toBe(false);
  });
});
