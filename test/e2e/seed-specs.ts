/** The host specs the deploy and preview suites deploy into the lab guest: the seed, then a change. */
import { HostSpec } from "../../lib/model";
import { TOPOLOGY } from "./lab";

const VIP = TOPOLOGY.lbIPv4;

export const V1: HostSpec = {
  name: "lb1",
  virtualServices: [
    {
      name: "app",
      protocol: "tcp",
      address: VIP,
      port: 1000,
      scheduler: "rr",
      realServers: [
        { address: VIP, port: 1001, forwarding: "masquerade" },
        { address: VIP, port: 1002, forwarding: "masquerade" },
      ],
      aliases: [
        { port: 1010, method: "redirect" },
        { port: 1020, method: "dnat" },
      ],
    },
  ],
};

/** V1 with a changed weight, an added (drained) real server and the DNAT alias dropped. */
export const V2: HostSpec = {
  name: "lb1",
  virtualServices: [
    {
      ...V1.virtualServices![0],
      realServers: [
        { address: VIP, port: 1001, forwarding: "masquerade" },
        { address: VIP, port: 1002, forwarding: "masquerade", weight: 3 },
        { address: VIP, port: 1003, forwarding: "masquerade", weight: 0 },
      ],
      aliases: [{ port: 1010, method: "redirect" }],
    },
  ],
};
