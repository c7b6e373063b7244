import { CONNTRACK_SYSCTL } from "../../model";
import { HostRule } from "../rule";

export const conntrackTableSize: HostRule = {
  id: "IPVS002",
  level: "warning",
  summary: "With net.ipv4.vs.conntrack=1 every IPVS connection also takes a conntrack entry; size the conntrack table.",
  explanation:
    "Once IPVS keeps conntrack entries, a busy load balancer can fill nf_conntrack and start dropping new connections ('nf_conntrack: table full'), as seen with kube-proxy (kubernetes#71261).",
  fix: 'Set sysctls: { "net.netfilter.nf_conntrack_max": conntrackMaxFor({ concurrentConnections: <your peak>, newConnectionsPerSecond: <your peak rate> }) } on the host (conntrackMaxFor from cdktf-ipvs sizes it so the peak stays under the 80% line verify.sh warns at).',
  check: (host) => {
    const on = host.sysctls.some((s) => s.key === CONNTRACK_SYSCTL && s.value === "1");
    if (!on || host.sysctls.some((s) => s.key === "net.netfilter.nf_conntrack_max")) return [];
    return [{ path: host.path, detail: `host ${host.name} keeps conntrack for IPVS but does not set net.netfilter.nf_conntrack_max` }];
  },
};
