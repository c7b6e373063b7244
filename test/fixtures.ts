/** Specs shared by the tests: the seed's scenario and small variations of it. */
import { HostSpec, VirtualServiceSpec } from "../lib/model";

export function seedService(overrides: Partial<VirtualServiceSpec> = {}): VirtualServiceSpec {
  return {
    name: "app",
    protocol: "tcp",
    address: "172.16.1.8",
    port: 1000,
    scheduler: "rr",
    realServers: [
      { address: "172.16.1.8", port: 1001, forwarding: "masquerade" },
      { address: "172.16.1.8", port: 1002, forwarding: "masquerade" },
    ],
    aliases: [
      { port: 1010, method: "redirect" },
      { port: 1020, method: "dnat" },
    ],
    ...overrides,
  };
}

export function seedHost(overrides: Partial<HostSpec> = {}): HostSpec {
  return { name: "lb1", virtualServices: [seedService()], ...overrides };
}
