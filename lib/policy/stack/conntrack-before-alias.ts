import { commandText } from "./facts";
import { StackRule } from "./rule";

export const stackConntrackBeforeAlias: StackRule = {
  id: "IPVS102",
  level: "error",
  summary: "net.ipv4.vs.conntrack=1 must be set before the alias rule runs, not after it or in a resource with no order to it.",
  explanation:
    "Until conntrack=1 is set, every connection through the alias fails. Resources with no depends_on or reference between them may run in any order, or in parallel, so a stack that works once may fail the next time.",
  fix: "Set conntrack=1 earlier in the same resource, or in a resource the alias's resource depends on (depends_on or a reference).",
  check(host, facts) {
    if (facts.conntrackNow.length === 0) return []; // IPVS101 says it
    return facts.aliases.flatMap((a) => {
      const orders = facts.conntrackNow.map((c) => host.order(c, a.event));
      if (orders.includes("before")) return [];
      const how = orders.includes("unordered") ? "in a resource with no order to it" : "only after it";
      const where = facts.conntrackNow.map((c) => c.resource).filter((r, i, all) => all.indexOf(r) === i).join(", ");
      return [{ resource: a.event.resource, command: commandText(a.event.step), detail: `net.ipv4.vs.conntrack=1 is set ${how} (${where})` }];
    });
  },
};
