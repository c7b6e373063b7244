import { HostRule } from "../rule";

const KEY = "net.ipv4.vs.expire_nodest_conn";

export const expireNodestConn: HostRule = {
  id: "IPVS004",
  level: "info",
  summary: "Without net.ipv4.vs.expire_nodest_conn=1, connections to a removed real server hang until they time out.",
  explanation:
    "When a real server is deleted, IPVS keeps its connection entries and silently drops their packets; clients wait for their own timeouts. kube-proxy, kube-router and Docker set expire_nodest_conn=1 so those connections are reset at once.",
  fix: `Set sysctls: { "${KEY}": 1 } on the host.`,
  check: (host) => {
    const hasRealServers = host.services.some((s) => s.realServers.length > 0);
    if (!hasRealServers || host.sysctls.some((s) => s.key === KEY && s.value === "1")) return [];
    return [{ path: host.path, detail: `host ${host.name} does not set ${KEY}=1` }];
  },
};
