import { commandText } from "./facts";
import { StackRule } from "./rule";

export const stackRedirectOtherAddress: StackRule = {
  id: "IPVS106",
  level: "warning",
  summary: "A REDIRECT alias matched on another address than its service's reaches no virtual service.",
  explanation:
    "REDIRECT rewrites the destination to the primary address of the interface the packet arrived on, keeping no trace of the address matched. When the rule matches packets to an address other than the service's, the redirected packet goes to an address:port where IPVS has no service, and the connection fails.",
  fix: "Use DNAT --to-destination SERVICE_ADDRESS:PORT for that address, or match the service's own address.",
  check(_host, facts) {
    return facts.redirectsElsewhere.map((e) => ({
      resource: e.event.resource,
      command: commandText(e.event.step),
      detail: `REDIRECT on ${e.matchAddress} to port ${e.service.port}, but the IPVS service on that port listens on ${e.service.address}`,
    }));
  },
};
