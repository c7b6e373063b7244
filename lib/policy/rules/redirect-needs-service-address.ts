import { HostRule } from "../rule";

export const redirectNeedsServiceAddress: HostRule = {
  id: "IPVS003",
  level: "warning",
  summary: "A REDIRECT alias only reaches the service when the service address is the receiving interface's primary address.",
  explanation:
    "iptables REDIRECT rewrites the destination to the primary address of the interface the packet arrived on, not to the service address. An alias on another address than the service's is REDIRECTed to an address IPVS is not listening on.",
  fix: 'Use method: "dnat" for this alias (DNAT sends to the service address and port explicitly).',
  check: (host) =>
    host.aliases
      .filter((a) => a.method === "redirect" && a.address !== a.targetAddress)
      .map((a) => ({
        path: a.path,
        detail: `alias on ${a.address}:${a.port} uses REDIRECT but the service listens on ${a.targetAddress}:${a.targetPort}`,
      })),
};
