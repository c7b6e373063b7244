import { HostRule } from "../rule";

const KEY = "net.ipv4.vs.expire_nodest_conn";

/**
 * The model sets expire_nodest_conn=1 on every host with virtual services (HostSpec.expireNodestConn,
 * default true), so this fires only where a host opted out (expireNodestConn: false, or a sysctls
 * entry of 0) while it has real servers.
 */
export const expireNodestConn: HostRule = {
  id: "IPVS004",
  level: "info",
  summary: "Without net.ipv4.vs.expire_nodest_conn=1, connections to a removed real server hang until they time out.",
  explanation:
    "When a real server is deleted, IPVS keeps its connection entries and silently drops their packets; clients wait for their own timeouts. kube-proxy, kube-router and Docker set expire_nodest_conn=1 so those connections are reset at once. cdktf-ipvs sets it by default; this host opted out.",
  fix: `Leave expireNodestConn at its default (true) and drop any sysctls entry "${KEY}": 0 on the host, unless something else on the machine manages the sysctl.`,
  check: (host) => {
    const hasRealServers = host.services.some((s) => s.realServers.length > 0);
    if (!hasRealServers || host.sysctls.some((s) => s.key === KEY && s.value === "1")) return [];
    const declared = host.sysctls.find((s) => s.key === KEY);
    const how = declared ? `sets ${KEY}=${declared.value}` : `opts out of ${KEY}=1 (expireNodestConn: false)`;
    return [{ path: host.path, detail: `host ${host.name} ${how}` }];
  },
};
