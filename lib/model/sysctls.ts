/**
 * The sysctls a load balancer may set. apply.sh runs as root and writes every key it is given
 * under /proc/sys and into /etc/sysctl.d, so a free-form key is a root-level knob for whoever
 * writes the spec: kernel.modprobe (a program the kernel runs as root), kernel.core_pattern,
 * fs.protected_symlinks, kernel.yama.ptrace_scope... Only what IPVS, its forwarding and its
 * conntrack need is accepted, unless the host opts in with unsafeSysctls: true.
 */

/** A Linux interface name as it appears inside a dotted sysctl key: 1–15 characters, no dots. */
const IFACE = "[A-Za-z0-9_][A-Za-z0-9_-]{0,14}";
const CONF = `(?:all|default|${IFACE})`;

const ALLOWED: readonly RegExp[] = [
  /^net\.ipv4\.vs\.[a-z0-9_]+$/,
  /^net\.ipv4\.ip_forward$/,
  new RegExp(`^net\\.ipv6\\.conf\\.${CONF}\\.forwarding$`),
  new RegExp(`^net\\.ipv4\\.conf\\.${CONF}\\.(?:arp_ignore|arp_announce|arp_filter|rp_filter|forwarding|send_redirects)$`),
  /^net\.netfilter\.nf_conntrack_[a-z0-9_]+$/,
  /^net\.nf_conntrack_max$/,
  /^net\.ipv[46]\.ip_nonlocal_bind$/,
];

/** The allowlist in words, for messages and docs. */
export const ALLOWED_SYSCTL_FAMILIES =
  "net.ipv4.vs.*, net.ipv4.ip_forward, net.ipv6.conf.<all|default|IFACE>.forwarding, " +
  "net.ipv4.conf.<all|default|IFACE>.{arp_ignore,arp_announce,arp_filter,rp_filter,forwarding,send_redirects}, " +
  "net.netfilter.nf_conntrack_*, net.nf_conntrack_max, net.ipv4.ip_nonlocal_bind, net.ipv6.ip_nonlocal_bind " +
  "(IFACE: an interface name, 1–15 characters of A–Z a–z 0–9 _ -)";

/** True when a load balancer may set this sysctl without unsafeSysctls. */
export function isAllowedSysctl(key: string): boolean {
  return ALLOWED.some((re) => re.test(key));
}
