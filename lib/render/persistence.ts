/**
 * Files that make the host come back the same after a reboot. Measured on Debian 12: a sysctl.d
 * entry alone loses conntrack=1 at boot (net.ipv4.vs.* does not exist until ip_vs is loaded), so
 * ip_vs goes into modules-load.d, and our own unit re-runs apply.sh for the IPVS table and the
 * alias rules, which nothing on Debian saves or restores by default.
 */
import { DesiredHost } from "../model";
import { HOST_LAYOUT } from "./layout";
import { commentText } from "./shell";

export function modulesLoadConf(host: DesiredHost): string {
  return [
    `# Managed by cdktf-ipvs for host ${host.name}; removed by its destroy. Do not edit.`,
    "# Loaded at boot so that net.ipv4.vs.* exists before systemd-sysctl applies sysctl.d.",
    ...host.modules.map((m) => m.name),
    "",
  ].join("\n");
}

export function sysctlConf(host: DesiredHost): string {
  return [
    `# Managed by cdktf-ipvs for host ${host.name}; removed by its destroy. Do not edit.`,
    `# ${HOST_LAYOUT.unitName} sets these again after boot, once ip_vs is loaded.`,
    ...host.sysctls.flatMap((s) => [`# ${commentText(s.reason)}`, `${s.key} = ${s.value}`]),
    "",
  ].join("\n");
}

export function bootUnit(host: DesiredHost): string {
  return [
    "[Unit]",
    `Description=cdktf-ipvs: restore the IPVS services and alias rules of host ${host.name}`,
    "Documentation=file://" + HOST_LAYOUT.applyScript,
    "DefaultDependencies=no",
    "Wants=network-pre.target",
    "Before=network-pre.target shutdown.target",
    // Firewall loaders that flush tables must run before us, or they would remove our rules.
    "After=local-fs.target systemd-tmpfiles-setup.service systemd-modules-load.service systemd-sysctl.service netfilter-persistent.service nftables.service firewalld.service",
    "Conflicts=shutdown.target",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ExecStart=/bin/sh ${HOST_LAYOUT.applyScript} --boot`,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
