import { commandText } from "./facts";
import { StackRule } from "./rule";

export const stackConntrackSurvivesReboot: StackRule = {
  id: "IPVS103",
  level: "warning",
  summary: "net.ipv4.vs.conntrack=1 must come back after a reboot: the key in /etc/sysctl.d and ip_vs in /etc/modules-load.d.",
  explanation:
    "sysctl -w lasts until the next boot. A sysctl.d entry alone is not enough either: net.ipv4.vs.* exists only once ip_vs is loaded, so systemd-sysctl cannot set it at boot (\"Couldn't write '1' to 'net/ipv4/vs/conntrack'\") and conntrack is 0 when ip_vs is loaded later. Proven with a reboot in the lab guest.",
  fix: "Write net.ipv4.vs.conntrack = 1 to /etc/sysctl.d/ and ip_vs to /etc/modules-load.d/ (systemd-modules-load runs before systemd-sysctl), or use cdktf-ipvs, which also installs a boot-time restore.",
  check(_host, facts) {
    if (facts.aliases.length === 0 || facts.conntrackNow.length === 0) return [];
    const first = facts.conntrackNow[0];
    if (facts.conntrackFiles.length === 0) {
      return [{ resource: first.resource, command: commandText(first.step), detail: "conntrack=1 is set for this boot only; no sysctl.d or sysctl.conf file written by the stack holds it" }];
    }
    if (facts.ipvsAtBoot.length === 0) {
      const file = facts.conntrackFiles[0];
      return [{ resource: file.resource, command: commandText(file.step), detail: "conntrack=1 is persisted in a sysctl file, but no modules-load.d file or /etc/modules loads ip_vs at boot, so the key does not exist when systemd-sysctl runs" }];
    }
    return [];
  },
};
