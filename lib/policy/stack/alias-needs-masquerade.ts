import { commandText } from "./facts";
import { StackRule } from "./rule";

export const stackAliasNeedsMasquerade: StackRule = {
  id: "IPVS104",
  level: "error",
  summary: "An alias needs every real server of its service to use masquerade (-m).",
  explanation:
    "With gatewaying (-g, direct routing) or ipip (-i) the real server answers the client directly, so the reply never passes the load balancer's conntrack entry that would undo the alias NAT; the client sees the service port and resets.",
  fix: "Use -m for the real servers of a service that has an alias, or drop the alias.",
  check(_host, facts) {
    return facts.aliases.flatMap((a) =>
      a.service.forwarding
        .filter((f) => f.method !== "masquerade")
        .map((f) => ({
          resource: f.event.resource,
          command: commandText(f.event.step),
          detail: `real server of ${a.service.protocol} ${a.service.address}:${a.service.port} uses ${f.method}, but the service has an alias (${commandText(a.event.step)})`,
        })),
    );
  },
};
