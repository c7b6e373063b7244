/**
 * Where cdktf-ipvs keeps things on a host. Every name says it is ours, so an on-call engineer can
 * tell our rules, chains and files from anyone else's, and destroy knows exactly what to remove.
 */
export const HOST_LAYOUT = {
  stateDir: "/var/lib/cdktf-ipvs",
  applyScript: "/var/lib/cdktf-ipvs/apply.sh",
  verifyScript: "/var/lib/cdktf-ipvs/verify.sh",
  destroyScript: "/var/lib/cdktf-ipvs/destroy.sh",
  lockFile: "/run/cdktf-ipvs.lock",
  modulesFile: "/etc/modules-load.d/cdktf-ipvs.conf",
  sysctlFile: "/etc/sysctl.d/90-cdktf-ipvs.conf",
  unitName: "cdktf-ipvs.service",
  unitFile: "/etc/systemd/system/cdktf-ipvs.service",
  /** nat chains we own, jumped to from PREROUTING (remote clients) and OUTPUT (local clients). */
  chainRemote: "CDKTF-IPVS-PRE",
  chainLocal: "CDKTF-IPVS-OUT",
  /** Comment on our jump rules and alias rules. */
  ruleComment: "cdktf-ipvs",
} as const;
