import { commandText } from "./facts";
import { StackRule } from "./rule";

export const stackIpvsadmClear: StackRule = {
  id: "IPVS105",
  level: "warning",
  summary: "ipvsadm -C deletes every IPVS service on the host, including ones this stack does not own.",
  explanation: "Another tool (keepalived, kube-proxy, a second stack) may run services on the same host; a flush takes them down with no way to tell.",
  fix: "Delete only your own services (ipvsadm -D -t ADDR:PORT), or let cdktf-ipvs track what it owns.",
  check(_host, facts) {
    return facts.clears.map((c) => ({ resource: c.resource, command: commandText(c.step), detail: "flushes the whole IPVS table" }));
  },
};
