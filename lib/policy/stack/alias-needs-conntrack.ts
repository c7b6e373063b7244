import { commandText } from "./facts";
import { StackRule } from "./rule";

export const stackAliasNeedsConntrack: StackRule = {
  id: "IPVS101",
  level: "error",
  summary: "A port alias (REDIRECT/DNAT) in front of an IPVS service needs net.ipv4.vs.conntrack=1 on the same host.",
  explanation:
    "IPVS drops the conntrack entry of the packets it forwards unless net.ipv4.vs.conntrack=1, so the reply to the aliased port leaves with the service port as its source and the client resets the connection. Proven on Debian's 6.1 kernel with iptables-legacy and iptables-nft.",
  fix: "Set net.ipv4.vs.conntrack=1 on that host before the alias rule (modprobe ip_vs; sysctl -w net.ipv4.vs.conntrack=1), and persist it (ip_vs in /etc/modules-load.d, the key in /etc/sysctl.d); or declare the alias with cdktf-ipvs's VirtualService.addAlias, which does all of it.",
  check(host, facts, stack) {
    if (facts.conntrackNow.length > 0) return [];
    const elsewhere = stack.hosts.filter((h) => h !== host && h.create.some((e) => e.event.kind === "sysctl-set" && e.event.key === "net.ipv4.vs.conntrack" && e.event.value === "1"));
    const hint = elsewhere.length > 0 ? ` (it is set on ${elsewhere.map((h) => h.target.key).join(", ")} instead: a sysctl is per host)` : "";
    return facts.aliases.map((a) => ({
      resource: a.event.resource,
      command: commandText(a.event.step),
      detail: `${a.target} to IPVS service ${a.service.protocol} ${a.service.address}:${a.service.port}, but nothing on ${host.target.key} sets net.ipv4.vs.conntrack=1${hint}`,
    }));
  },
};
