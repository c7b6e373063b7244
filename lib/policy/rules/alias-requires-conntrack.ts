import { CONNTRACK_SYSCTL } from "../../model";
import { HostRule } from "../rule";

export const aliasRequiresConntrack: HostRule = {
  id: "IPVS001",
  level: "error",
  summary: "A port alias in front of an IPVS service needs net.ipv4.vs.conntrack=1 on the same host.",
  explanation:
    "IPVS drops the conntrack entry of packets it forwards unless conntrack=1 (ip_vs_notrack), so the reply to an aliased port is not un-NATed: the SYN-ACK leaves from the service port and the client resets it.",
  fix: "Declare the alias through VirtualService.addAlias (which sets conntrack=1), and do not set conntrack to false or net.ipv4.vs.conntrack to 0 on that host.",
  check: (host) => {
    if (host.aliases.length === 0) return [];
    const conntrack = host.sysctls.find((s) => s.key === CONNTRACK_SYSCTL);
    if (conntrack?.value === "1") return [];
    return host.aliases.map((a) => ({
      path: a.path,
      detail: `alias ${a.protocol} ${a.address}:${a.port} → :${a.targetPort} but ${CONNTRACK_SYSCTL} is ${conntrack ? conntrack.value : "not managed"} on host ${host.name}`,
    }));
  },
};
