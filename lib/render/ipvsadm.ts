/**
 * IPVS rules in the exact text `ipvsadm -Sn` prints, so the host script can diff the live table
 * against ours line by line, and feed the difference to `ipvsadm -R` as one batch.
 */
import { DesiredRealServer, DesiredService, hostPort } from "../model";

const FORWARDING_FLAG: Record<DesiredRealServer["forwarding"], string> = {
  masquerade: "-m",
  gatewaying: "-g",
  ipip: "-i",
};

const PROTOCOL_FLAG = { tcp: "-t", udp: "-u", sctp: "--sctp-service" } as const;

/** The service part of a rule: `-t 172.16.1.8:1000`, `-f 7`. This is also its ownership key. */
export function ipvsServiceKey(svc: DesiredService): string {
  if (svc.kind === "fwmark") return svc.family === "ipv6" ? `-f ${svc.fwmark} -6` : `-f ${svc.fwmark}`;
  return `${PROTOCOL_FLAG[svc.protocol]} ${hostPort(svc.family, svc.address, svc.port)}`;
}

export function ipvsServiceRule(svc: DesiredService): string {
  let line = `-A ${ipvsServiceKey(svc)} -s ${svc.scheduler}`;
  if (svc.schedulerFlags.length > 0) line += ` -b ${svc.schedulerFlags.join(",")}`;
  if (svc.persistence) {
    line += ` -p ${svc.persistence.timeout}`;
    if (svc.persistence.netmask !== undefined) line += ` -M ${svc.persistence.netmask}`;
  }
  return line;
}

/**
 * `ipvsadm -Sn` prints `-a KEY -r RS FWD -w W` (ipvsadm 1.31 adds `--tun-type ipip` for -i) and
 * leaves thresholds out; the host script appends them from `ipvsadm -Ln --thresholds`, as
 * ` -x U -y L`, so that this text and the live text compare equal.
 */
export function ipvsRealServerRule(svc: DesiredService, rs: DesiredRealServer): string {
  let line = `-a ${ipvsServiceKey(svc)} -r ${hostPort(svc.family, rs.address, rs.port)} ${FORWARDING_FLAG[rs.forwarding]} -w ${rs.weight}`;
  if (rs.forwarding === "ipip") line += " --tun-type ipip";
  if (rs.upperThreshold > 0) line += ` -x ${rs.upperThreshold}`;
  if (rs.lowerThreshold > 0) line += ` -y ${rs.lowerThreshold}`;
  return line;
}

/** All rules of the given services, services first then their real servers, sorted for stable output. */
export function ipvsRules(services: readonly DesiredService[]): string[] {
  const lines: string[] = [];
  for (const svc of services) {
    lines.push(ipvsServiceRule(svc));
    const rs = svc.realServers.map((r) => ipvsRealServerRule(svc, r)).sort();
    lines.push(...rs);
  }
  return lines;
}
