import { HostRule } from "../rule";

export const unsafeSysctls: HostRule = {
  id: "IPVS007",
  level: "warning",
  summary: "A sysctl outside the load-balancer allowlist is set because the host opts in with unsafeSysctls: true.",
  explanation:
    "apply.sh runs as root and writes every declared sysctl under /proc/sys and into /etc/sysctl.d, where it is re-applied at every boot. Keys outside what IPVS, forwarding and conntrack need (kernel.modprobe, kernel.core_pattern, fs.protected_symlinks, kernel.yama.ptrace_scope, ...) change how the whole machine behaves, and a spec that can set them can take over the host.",
  fix: "Remove the key from the host's sysctls and manage it with the machine's own configuration; keep unsafeSysctls off so only load-balancer sysctls are accepted.",
  check: (host) =>
    (host.unsafeSysctls ?? []).map((key) => {
      const value = host.sysctls.find((s) => s.key === key)?.value;
      return {
        path: host.path,
        detail: `host ${host.name} sets ${key}${value === undefined ? "" : `=${value}`}, which is outside the load-balancer allowlist (accepted because unsafeSysctls is true)`,
      };
    }),
};
