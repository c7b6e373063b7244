// Imported by cdktf-ipvs import from saved outputs.
import { Construct } from "constructs";
import { IpvsHost, IpvsHostProps } from "cdktf-ipvs";

/** Host lb1 as imported; adopt: true lets the first apply take over its existing services. */
export function addLb1(scope: Construct, props: IpvsHostProps): IpvsHost {
  const host = new IpvsHost(scope, "lb1", { ...props, conntrack: true, expireQuiescentTemplate: false });
  const s0 = host.addVirtualService("tcp-172.16.1.8-1000", { address: "172.16.1.8", protocol: "tcp", port: 1000, scheduler: "rr", adopt: true });
  s0.addRealServer({ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 1 });
  s0.addRealServer({ address: "172.16.1.8", port: 1002, forwarding: "masquerade", weight: 1 });
  s0.addAlias({ port: 1010, method: "redirect" });
  s0.addAlias({ port: 1020, method: "dnat" });
  const s1 = host.addVirtualService("tcp-172.16.1.8-3000", { address: "172.16.1.8", protocol: "tcp", port: 3000, scheduler: "wlc", persistence: { timeout: 360 }, adopt: true });
  s1.addRealServer({ address: "10.0.1.21", port: 3000, forwarding: "masquerade", weight: 1 });
  s1.addRealServer({ address: "10.0.1.22", port: 3000, forwarding: "masquerade", weight: 2, upperThreshold: 200, lowerThreshold: 50 });
  return host;
}
