/**
 * Validate and normalize what a user declared into a DesiredHost. First the shape, against the
 * shipped JSON schema (lib/model/shape.ts); then every check of a single value and every
 * cross-check (collisions, families, forwarding vs aliases, the conntrack pairing, the SSH
 * endpoint) lives here, so bad input is refused before anything is rendered for a host. Input
 * is untrusted: anything JSON-ish is accepted and the only error thrown is IpvsModelError, with
 * every problem of the run.
 */
import { AddressFamily, ParsedAddress, hostPort, isContiguousIpv4Netmask, isLoopback, parseAddress } from "./address";
import {
  CONNTRACK_SYSCTL,
  DEFAULT_DRAIN_TIMEOUT_SECONDS,
  DesiredAlias,
  DesiredHost,
  DesiredModule,
  DesiredPersistence,
  DesiredRealServer,
  DesiredService,
  DesiredSsh,
  DesiredSysctl,
  MAX_DRAIN_TIMEOUT_SECONDS,
  serviceKeyOf,
} from "./desired";
import { IpvsModelError, IssueCollector, ModelIssue, showValue } from "./errors";
import {
  FWMARK_AND_ADDRESS,
  NEEDS_ADDRESS_OR_FWMARK,
  NOT_AN_ADDRESS,
  NOT_AN_SSH_HOST,
  NOT_A_SYSCTL_NAME,
  NOT_A_SYSCTL_VALUE,
  NOT_A_TOKEN,
  hostShapeIssues,
  intProblem,
  isTokenLike,
  nameProblem,
  propName,
  specShapeIssues,
} from "./shape";
import {
  ALIAS_METHODS,
  AliasMethod,
  FORWARDING_METHODS,
  ForwardingMethod,
  PROTOCOLS,
  Protocol,
  SCHEDULERS,
  SCHEDULER_FLAGS,
  Scheduler,
  VirtualServiceSpec,
} from "./spec";
import { ALLOWED_SYSCTL_FAMILIES, isAllowedSysctl } from "./sysctls";

/** How to name the place of each declaration in messages. */
export interface PathNamer {
  readonly host: string;
  service(index: number, spec: VirtualServiceSpec): string;
  realServer(servicePath: string, index: number): string;
  alias(servicePath: string, index: number): string;
}

/** Paths as in spec.json: `spec.hosts[0].virtualServices[1].realServers[2]`. */
export function specPathNamer(hostIndex: number): PathNamer {
  const host = `spec.hosts[${hostIndex}]`;
  return {
    host,
    service: (i) => `${host}.virtualServices[${i}]`,
    realServer: (svc, i) => `${svc}.realServers[${i}]`,
    alias: (svc, i) => `${svc}.aliases[${i}]`,
  };
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** Dotted sysctl name; segments after the first may hold interface names (eth0, Bond-1). */
const SYSCTL_KEY = /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;
const SYSCTL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;
/**
 * DNS name: labels of letters, digits, underscores and inner hyphens (underscores as the
 * construct's connection.host allows them, and resolvers accept them); the last label not
 * all-numeric (that would be a broken IPv4 address such as 10.0.0.256).
 */
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const MAX_PERSISTENCE_TIMEOUT = 2678400;
const MAX_U32 = 4294967295;
const DEFAULT_SSH_PORT = 22;

type Rec = Record<string, unknown>;

function isRecord(v: unknown): v is Rec {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The items of a list, or none when it is not one (the shape check has said so). */
function listOf(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[]): v is T {
  return typeof v === "string" && (allowed as readonly string[]).includes(v);
}

/**
 * Collects the semantic issues after the shape issues, leaving out what the shape check already
 * reported for the same prop (or a prop inside it), so nothing is said twice.
 */
class CheckCollector extends IssueCollector {
  private readonly shape: readonly ModelIssue[];
  private always = false;

  constructor(shape: readonly ModelIssue[]) {
    super();
    this.shape = [];
    for (const issue of shape) this.push(issue);
    this.shape = shape;
  }

  /**
   * Reports a problem the shape check cannot have seen, even on a prop it already reported
   * (a sysctl key outside the allowlist whose value is also malformed).
   */
  addAlways(path: string, prop: string, value: unknown, problem: string): void {
    this.always = true;
    try {
      this.add(path, prop, value, problem);
    } finally {
      this.always = false;
    }
  }

  protected override push(issue: ModelIssue): void {
    const covered = !this.always && this.shape.some(
      (s) => s.path === issue.path && (issue.prop === s.prop || issue.prop.startsWith(`${s.prop}.`) || issue.prop.startsWith(`${s.prop}[`)),
    );
    if (!covered) super.push(issue);
  }
}

function checkName(c: IssueCollector, path: string, prop: string, v: unknown, max: number): v is string {
  if (isTokenLike(v)) {
    c.add(path, prop, v, NOT_A_TOKEN);
    return false;
  }
  if (typeof v !== "string" || v.length > max || !NAME_PATTERN.test(v)) {
    c.add(path, prop, v, nameProblem(max));
    return false;
  }
  return true;
}

function checkAddress(c: IssueCollector, path: string, prop: string, v: unknown): ParsedAddress | undefined {
  if (isTokenLike(v)) {
    c.add(path, prop, v, NOT_A_TOKEN);
    return undefined;
  }
  const parsed = parseAddress(v);
  if (!parsed) c.add(path, prop, v, NOT_AN_ADDRESS);
  return parsed;
}

function checkInt(c: IssueCollector, path: string, prop: string, v: unknown, min: number, max: number, unit = ""): v is number {
  if (isTokenLike(v)) {
    c.add(path, prop, v, NOT_A_TOKEN);
    return false;
  }
  if (!isInt(v, min, max)) {
    c.add(path, prop, v, intProblem(v, min, max, unit));
    return false;
  }
  return true;
}

function checkBoolean(c: IssueCollector, path: string, prop: string, v: unknown): v is boolean | undefined {
  if (v === undefined || typeof v === "boolean") return true;
  c.add(path, prop, v, "is not a boolean");
  return false;
}

interface ServiceFacts {
  readonly svc: DesiredService;
  /** Index in the host's virtualServices, to find its aliases. */
  readonly index: number;
}

/**
 * Checks one host and returns its desired state. `spec` is a HostSpec, but may be anything (a
 * spec.json is untrusted): every problem is reported in one IpvsModelError, nothing else is thrown.
 */
export function buildDesiredHost(spec: unknown, paths: PathNamer = specPathNamer(0)): DesiredHost {
  const c = new CheckCollector(hostShapeIssues(spec, paths));
  const hostPath = paths.host;
  if (!isRecord(spec)) {
    c.add(hostPath, "host", spec, "is not an object; expected { name, virtualServices: [...] }");
    c.throwIfAny();
    throw new IpvsModelError(c.issues); // not reached: the shape check reports it too
  }
  checkName(c, hostPath, "name", spec.name, 63);

  let hostDrain = DEFAULT_DRAIN_TIMEOUT_SECONDS;
  if (spec.drainTimeoutSeconds !== undefined && checkInt(c, hostPath, "drainTimeoutSeconds", spec.drainTimeoutSeconds, 0, MAX_DRAIN_TIMEOUT_SECONDS, " seconds")) {
    hostDrain = spec.drainTimeoutSeconds;
  }

  const localAddresses = new Set<string>();
  listOf(spec.localAddresses).forEach((a, i) => {
    const p = checkAddress(c, hostPath, `localAddresses[${i}]`, a);
    if (p) localAddresses.add(p.canonical);
  });

  const services: ServiceFacts[] = [];
  const aliases: DesiredAlias[] = [];
  const serviceNames = new Map<string, string>();
  const serviceKeys = new Map<string, string>();

  if (spec.virtualServices !== undefined && !Array.isArray(spec.virtualServices)) {
    c.add(hostPath, "virtualServices", spec.virtualServices, "is not a list of virtual services");
  }
  const svcSpecs = listOf(spec.virtualServices);
  svcSpecs.forEach((svcSpec, i) => {
    const svcPath = paths.service(i, svcSpec as VirtualServiceSpec);
    const svc = buildService(c, svcSpec, svcPath, paths, hostDrain);
    if (!svc) return;
    const key = serviceKeyOf(svc);
    const sameName = serviceNames.get(svc.name);
    if (sameName) c.addMessage(svcPath, "name", svc.name, `name "${svc.name}" is already used by ${sameName}; service names must be unique on a host.`);
    serviceNames.set(svc.name, svcPath);
    const sameKey = serviceKeys.get(key);
    if (sameKey) c.addMessage(svcPath, "address", key, `virtual service ${key} is already declared by ${sameKey}; declare each virtual service once.`);
    serviceKeys.set(key, svcPath);
    services.push({ svc, index: i });
  });

  // Aliases after all services, so collisions with any service on the host are seen.
  const listenKeys = new Map<string, string>();
  for (const { svc } of services) if (svc.kind === "address") listenKeys.set(serviceKeyOf(svc), `virtual service ${serviceKeyOf(svc)} (${svc.path})`);
  for (const { svc, index } of services) {
    const svcSpec = svcSpecs[index] as Rec;
    listOf(svcSpec.aliases).forEach((aliasSpec, j) => {
      const alias = buildAlias(c, aliasSpec, svc, paths.alias(svc.path, j));
      if (!alias) return;
      const key = `${alias.protocol} ${hostPort(alias.family, alias.address, alias.port)}`;
      const taken = listenKeys.get(key);
      if (taken) {
        c.addMessage(alias.path, "port", alias.port, `alias port ${alias.port} collides with ${taken}; choose another port.`);
        return;
      }
      listenKeys.set(key, `alias ${key} (${alias.path})`);
      aliases.push(alias);
    });
  }

  const desiredServices = services.map((f) => f.svc);
  const ssh = buildSsh(c, spec.ssh, hostPath);
  if (ssh) checkLockout(c, ssh, desiredServices, aliases);
  const { sysctls, unsafeSysctls } = buildSysctls(c, spec, hostPath, desiredServices, aliases, localAddresses);
  c.throwIfAny();

  return {
    name: spec.name as string,
    path: hostPath,
    services: desiredServices,
    aliases,
    modules: modulesFor(desiredServices),
    sysctls,
    unsafeSysctls,
    ...(ssh ? { ssh } : {}),
    drainTimeoutSeconds: hostDrain,
  };
}

function buildService(c: IssueCollector, s: unknown, path: string, paths: PathNamer, hostDrain: number): DesiredService | undefined {
  const before = c.reportCount;
  if (!isRecord(s)) {
    c.add(path, "virtualService", s, "is not an object");
    return undefined;
  }
  checkName(c, path, "name", s.name, 40);

  const scheduler = (s.scheduler ?? "wlc") as Scheduler;
  const schedulerOk = oneOf(scheduler, SCHEDULERS);
  if (!schedulerOk) c.add(path, "scheduler", s.scheduler, `is not an IPVS scheduler; allowed: ${SCHEDULERS.join(", ")}`);

  if (s.schedulerFlags !== undefined && !Array.isArray(s.schedulerFlags)) c.add(path, "schedulerFlags", s.schedulerFlags, "is not a list of scheduler flags");
  const flags = listOf(s.schedulerFlags);
  flags.forEach((flag, i) => {
    const users = typeof flag === "string" && Object.prototype.hasOwnProperty.call(SCHEDULER_FLAGS, flag) ? SCHEDULER_FLAGS[flag] : undefined;
    if (!users) {
      c.add(path, `schedulerFlags[${i}]`, flag, `is not a scheduler flag; allowed: ${Object.keys(SCHEDULER_FLAGS).join(", ")}`);
    } else if (schedulerOk && !users.includes(scheduler)) {
      c.add(path, `schedulerFlags[${i}]`, flag, `only applies to scheduler ${users.join(" or ")}, not "${scheduler}"`);
    } else if (flags.indexOf(flag) !== i) {
      c.add(path, `schedulerFlags[${i}]`, flag, "is given twice");
    }
  });

  let family: AddressFamily = "ipv4";
  /** False when the address (and so the family) is not known; checks that need it are skipped. */
  let familyKnown = true;
  let kind: "address" | "fwmark";
  let address = "";
  let port = 0;
  let protocol: Protocol = "tcp";
  const hasAddress = s.address !== undefined || s.port !== undefined;
  if (s.fwmark !== undefined && hasAddress) {
    c.add(path, "fwmark", s.fwmark, FWMARK_AND_ADDRESS);
    return undefined;
  }
  if (s.fwmark !== undefined) {
    kind = "fwmark";
    checkInt(c, path, "fwmark", s.fwmark, 1, MAX_U32);
    if (s.protocol !== undefined) c.add(path, "protocol", s.protocol, "does not apply to a firewall-mark service (the mark selects the packets); remove it");
    if (s.family !== undefined && !oneOf(s.family, ["ipv4", "ipv6"] as const)) {
      c.add(path, "family", s.family, "is not an address family; allowed: ipv4, ipv6");
      familyKnown = false;
    } else family = (s.family as AddressFamily | undefined) ?? "ipv4";
  } else {
    kind = "address";
    if (s.address === undefined) {
      c.add(path, "address", s.address, NEEDS_ADDRESS_OR_FWMARK);
      familyKnown = false;
    } else {
      const parsed = checkAddress(c, path, "address", s.address);
      if (parsed) {
        family = parsed.family;
        address = parsed.canonical;
      } else familyKnown = false;
    }
    if (s.port === undefined) c.add(path, "port", s.port, NEEDS_ADDRESS_OR_FWMARK);
    else if (checkInt(c, path, "port", s.port, 1, 65535)) port = s.port;
    if (s.protocol !== undefined && !oneOf(s.protocol, PROTOCOLS)) c.add(path, "protocol", s.protocol, `is not supported; allowed: ${PROTOCOLS.join(", ")}`);
    else protocol = (s.protocol as Protocol | undefined) ?? "tcp";
    if (s.family !== undefined && familyKnown && s.family !== family) {
      c.add(path, "family", s.family, `contradicts address ${showValue(s.address)} (${family}); leave family out for address services`);
    }
  }

  const persistence = buildPersistence(c, s.persistence, path, familyKnown ? family : undefined);

  if (s.realServers !== undefined && !Array.isArray(s.realServers)) c.add(path, "realServers", s.realServers, "is not a list of real servers");
  if (s.aliases !== undefined && !Array.isArray(s.aliases)) c.add(path, "aliases", s.aliases, "is not a list of aliases");
  const realServers: DesiredRealServer[] = [];
  const seen = new Map<string, string>();
  listOf(s.realServers).forEach((rs, i) => {
    const rsPath = paths.realServer(path, i);
    const built = buildRealServer(c, rs, rsPath, { kind, family: familyKnown ? family : undefined, port: kind === "fwmark" || port > 0 ? port : undefined });
    if (!built) return;
    const key = `${built.address}|${built.port}`;
    const dup = seen.get(key);
    if (dup) c.addMessage(rsPath, "address", built.address, `real server ${hostPort(family, built.address, built.port)} is already declared by ${dup}; declare each real server once per service.`);
    seen.set(key, rsPath);
    realServers.push(built);
  });

  let drainTimeoutSeconds = hostDrain;
  if (s.drainTimeoutSeconds !== undefined && checkInt(c, path, "drainTimeoutSeconds", s.drainTimeoutSeconds, 0, MAX_DRAIN_TIMEOUT_SECONDS, " seconds")) {
    drainTimeoutSeconds = s.drainTimeoutSeconds;
  }

  checkBoolean(c, path, "adopt", s.adopt);

  if (c.reportCount > before) return undefined;
  const base = { name: s.name as string, family, scheduler, schedulerFlags: [...flags] as string[], persistence, realServers, drainTimeoutSeconds, ...(s.adopt === true ? { adopt: true } : {}), path };
  return kind === "fwmark" ? { ...base, kind, fwmark: s.fwmark as number } : { ...base, kind, protocol, address, port };
}

function buildPersistence(c: IssueCollector, p: unknown, path: string, family: AddressFamily | undefined): DesiredPersistence | undefined {
  if (p === undefined) return undefined;
  if (!isRecord(p)) {
    c.add(path, "persistence", p, "is not an object; expected { timeout, netmask }");
    return undefined;
  }
  checkInt(c, path, "persistence.timeout", p.timeout, 1, MAX_PERSISTENCE_TIMEOUT, " seconds");
  let netmask: string | number | undefined;
  if (p.netmask !== undefined && family === "ipv4") {
    if (typeof p.netmask !== "string" || !isContiguousIpv4Netmask(p.netmask)) {
      c.add(path, "persistence.netmask", p.netmask, "is not a contiguous IPv4 netmask; allowed e.g. 255.255.255.0");
    } else if (p.netmask !== "255.255.255.255") netmask = p.netmask;
  } else if (p.netmask !== undefined && family === "ipv6") {
    if (!isInt(p.netmask, 1, 128)) c.add(path, "persistence.netmask", p.netmask, "is not an IPv6 prefix length; allowed 1–128");
    else if (p.netmask !== 128) netmask = p.netmask;
  }
  return { timeout: p.timeout as number, netmask };
}

function buildRealServer(
  c: IssueCollector,
  rs: unknown,
  path: string,
  svc: { kind: "address" | "fwmark"; family?: AddressFamily; port?: number },
): DesiredRealServer | undefined {
  const before = c.reportCount;
  if (!isRecord(rs)) {
    c.add(path, "realServer", rs, "is not an object");
    return undefined;
  }
  const addr = checkAddress(c, path, "address", rs.address);
  if (addr && svc.family && addr.family !== svc.family) {
    c.add(path, "address", rs.address, `is ${addr.family} but the virtual service is ${svc.family}; IPVS cannot mix address families in one service`);
  }
  const forwardingOk = oneOf(rs.forwarding, FORWARDING_METHODS);
  if (!forwardingOk) c.add(path, "forwarding", rs.forwarding, `is not a forwarding method; allowed: ${FORWARDING_METHODS.join(", ")}`);
  const forwarding = rs.forwarding as ForwardingMethod;
  let port = svc.port;
  let portOk = true;
  if (rs.port !== undefined) {
    const min = svc.kind === "fwmark" ? 0 : 1;
    portOk = checkInt(c, path, "port", rs.port, min, 65535);
    if (portOk) port = rs.port as number;
  }
  if (forwardingOk && portOk && svc.port !== undefined && (forwarding === "gatewaying" || forwarding === "ipip") && port !== svc.port) {
    c.add(
      path,
      "port",
      rs.port,
      `differs from the virtual service port ${svc.port}; ${forwarding} forwards the packet unchanged, so the real server must use the service port (use masquerade to change ports)`,
    );
  }
  const weight = rs.weight ?? 1;
  if (rs.weight !== undefined) checkInt(c, path, "weight", rs.weight, 0, 65535);
  const upper = rs.upperThreshold ?? 0;
  const lower = rs.lowerThreshold ?? 0;
  const upperOk = rs.upperThreshold === undefined || checkInt(c, path, "upperThreshold", rs.upperThreshold, 0, MAX_U32, " (0 = no limit)");
  if (rs.lowerThreshold === undefined || checkInt(c, path, "lowerThreshold", rs.lowerThreshold, 0, MAX_U32)) {
    if (upperOk && (lower as number) > 0 && (upper === 0 || (lower as number) >= (upper as number))) {
      c.add(path, "lowerThreshold", rs.lowerThreshold, `must be below upperThreshold (${upper}); a lower threshold only makes sense with an upper one`);
    }
  }
  if (c.reportCount > before || !addr || port === undefined) return undefined;
  return { address: addr.canonical, port, forwarding, weight: weight as number, upperThreshold: upper as number, lowerThreshold: lower as number, path };
}

function buildAlias(c: IssueCollector, a: unknown, svc: DesiredService, path: string): DesiredAlias | undefined {
  const before = c.reportCount;
  if (!isRecord(a)) {
    c.add(path, "alias", a, "is not an object");
    return undefined;
  }
  if (svc.kind === "fwmark") {
    c.addMessage(path, "port", a.port, `an alias needs an address+port virtual service; ${svc.path} is selected by firewall mark ${svc.fwmark}, so there is no port to redirect to.`);
    return undefined;
  }
  if (a.port === undefined) c.add(path, "port", a.port, "is missing; allowed 1–65535");
  else checkInt(c, path, "port", a.port, 1, 65535);
  const method = (a.method ?? "redirect") as AliasMethod;
  const methodOk = oneOf(method, ALIAS_METHODS);
  if (!methodOk) c.add(path, "method", a.method, `is not an alias method; allowed: ${ALIAS_METHODS.join(", ")}`);
  let address = svc.address;
  if (a.address !== undefined) {
    const parsed = checkAddress(c, path, "address", a.address);
    if (parsed && parsed.family !== svc.family) {
      c.add(path, "address", a.address, `is ${parsed.family} but the virtual service is ${svc.family}; an alias must use the service's address family`);
    } else if (parsed) address = parsed.canonical;
  }
  const remoteOk = checkBoolean(c, path, "remoteClients", a.remoteClients);
  const localOk = checkBoolean(c, path, "localClients", a.localClients);
  const remoteClients = (a.remoteClients ?? true) as boolean;
  const localClients = (a.localClients ?? false) as boolean;
  if (remoteOk && localOk && !remoteClients && !localClients) c.add(path, "remoteClients", a.remoteClients, "is false and so is localClients; the alias would serve nobody");
  if (localClients === true && methodOk && method === "redirect") {
    c.add(path, "localClients", true, "needs method \"dnat\": REDIRECT in the nat OUTPUT chain rewrites the destination to loopback, which the virtual service does not listen on");
  }
  const notMasq = svc.realServers.filter((r) => r.forwarding !== "masquerade");
  if (notMasq.length > 0) {
    c.addMessage(
      path,
      "port",
      a.port,
      `an alias needs every real server of ${svc.path} to use forwarding "masquerade", but ${notMasq[0].path} uses "${notMasq[0].forwarding}": its replies bypass the load balancer, so no conntrack entry can undo the alias NAT.`,
    );
  }
  if (c.reportCount > before) return undefined;
  return {
    service: svc.name,
    protocol: svc.protocol,
    family: svc.family,
    address,
    port: a.port as number,
    method,
    targetAddress: svc.address,
    targetPort: svc.port,
    remoteClients,
    localClients,
    path,
  };
}

/**
 * An SSH host as Terraform or ssh(1) takes it: an IP address (canonical form) or a DNS name.
 * Names that are all digits in the last label ("0443", "172.016.1.8") are refused: resolvers
 * read them as numbers, not names. The one check for spec.ssh.host and connection.host.
 */
export function parseSshHost(text: unknown): { kind: "address" | "name"; host: string } | undefined {
  const parsed = parseAddress(text);
  if (parsed) return { kind: "address", host: parsed.canonical };
  if (typeof text === "string" && DNS_NAME.test(text) && !/(^|\.)\d+\.?$/.test(text)) return { kind: "name", host: text };
  return undefined;
}

/** HostSpec.ssh: where Terraform / the CLI reaches the host. */
function buildSsh(c: IssueCollector, ssh: unknown, hostPath: string): DesiredSsh | undefined {
  if (ssh === undefined) return undefined;
  if (!isRecord(ssh)) {
    c.add(hostPath, "ssh", ssh, "is not an object; expected { host, port }");
    return undefined;
  }
  const before = c.reportCount;
  const port = ssh.port ?? DEFAULT_SSH_PORT;
  checkInt(c, hostPath, "ssh.port", port, 1, 65535);
  let desired: DesiredSsh | undefined;
  if (isTokenLike(ssh.host)) {
    // A construct's connection host may be another resource's attribute: only known at apply time.
    desired = { kind: "token", port: port as number };
  } else {
    const host = parseSshHost(ssh.host);
    if (host) desired = { ...host, port: port as number };
    else if (ssh.host === undefined) c.add(hostPath, "ssh.host", ssh.host, "is missing; give the address or DNS name Terraform connects to over SSH");
    else c.add(hostPath, "ssh.host", ssh.host, NOT_AN_SSH_HOST);
  }
  return c.reportCount > before ? undefined : desired;
}

const LOCKOUT =
  "the boot unit would re-apply it at every boot and destroy needs SSH.";

/**
 * A TCP service or remote-clients alias on the very address and port Terraform uses for SSH
 * takes over the deploy's own connection: the next step, every later apply and destroy lose
 * SSH, and the boot unit puts it back after a reboot. Only decidable for an IP address; a DNS
 * name is left to policy rule IPVS008.
 */
function checkLockout(c: IssueCollector, ssh: DesiredSsh, services: readonly DesiredService[], aliases: readonly DesiredAlias[]): void {
  if (ssh.kind !== "address" || ssh.host === undefined) return;
  const family: AddressFamily = ssh.host.includes(":") ? "ipv6" : "ipv4";
  const endpoint = hostPort(family, ssh.host, ssh.port);
  for (const s of services) {
    if (s.kind === "address" && s.protocol === "tcp" && s.address === ssh.host && s.port === ssh.port) {
      c.addMessage(s.path, "port", s.port, `virtual service ${serviceKeyOf(s)} is the SSH endpoint Terraform uses (ssh ${endpoint}); ${LOCKOUT} Move the service or the SSH port.`);
    }
  }
  for (const a of aliases) {
    if (a.remoteClients && a.protocol === "tcp" && a.address === ssh.host && a.port === ssh.port) {
      c.addMessage(
        a.path,
        "port",
        a.port,
        `alias tcp ${hostPort(a.family, a.address, a.port)} (to virtual service tcp ${hostPort(a.family, a.targetAddress, a.targetPort)}) is the SSH endpoint Terraform uses (ssh ${endpoint}); ${LOCKOUT} Move the alias or the SSH port.`,
      );
    }
  }
}

/** The expire_* sysctls the host props turn on by default (HostSpec.expireNodestConn, expireQuiescentTemplate). */
const EXPIRE_DEFAULTS = [
  {
    prop: "expireNodestConn",
    key: "net.ipv4.vs.expire_nodest_conn",
    why: "connections to a removed real server are ended at once instead of hanging until the client times out",
  },
  {
    prop: "expireQuiescentTemplate",
    key: "net.ipv4.vs.expire_quiescent_template",
    why: "persistent clients of a drained (weight 0) real server move to another server",
  },
] as const;

function buildSysctls(
  c: CheckCollector,
  spec: Rec,
  hostPath: string,
  services: readonly DesiredService[],
  aliases: readonly DesiredAlias[],
  localAddresses: Set<string>,
): { sysctls: DesiredSysctl[]; unsafeSysctls: string[] } {
  const out: DesiredSysctl[] = [];
  const unsafe: string[] = [];
  const set = (key: string, value: string, reason: string) => {
    if (!out.some((s) => s.key === key)) out.push({ key, value, reason });
  };

  checkBoolean(c, hostPath, "conntrack", spec.conntrack);
  const optIn = checkBoolean(c, hostPath, "unsafeSysctls", spec.unsafeSysctls) && spec.unsafeSysctls === true;
  if (spec.sysctls !== undefined && !isRecord(spec.sysctls)) {
    c.add(hostPath, "sysctls", spec.sysctls, 'is not an object; expected e.g. { "net.ipv4.vs.expire_nodest_conn": 1 }');
  }
  const declared = isRecord(spec.sysctls) ? Object.entries(spec.sysctls) : [];
  const userConntrack = declared.find(([k]) => k === CONNTRACK_SYSCTL)?.[1];
  if (aliases.length > 0) {
    const first = aliases[0];
    const why = `an alias (${first.path}) needs it: IPVS drops the conntrack entry of packets it forwards unless conntrack=1, so replies to the aliased port would leave from the service port and clients would reset them`;
    if (spec.conntrack === false) {
      c.addMessage(hostPath, "conntrack", false, `conntrack false is not allowed while the host has aliases; ${why}. Remove the aliases or leave conntrack on.`);
    }
    if (userConntrack !== undefined && userConntrack !== 1 && userConntrack !== "1") {
      const prop = propName(["sysctls", CONNTRACK_SYSCTL]);
      c.addMessage(hostPath, prop, userConntrack, `${prop} ${showValue(userConntrack)} is not allowed while the host has aliases; ${why}. Allowed: 1.`);
    }
    set(CONNTRACK_SYSCTL, "1", "aliases reach IPVS through iptables nat; IPVS must keep their conntrack entries");
  } else if (spec.conntrack === true) {
    set(CONNTRACK_SYSCTL, "1", "requested by the host's conntrack prop");
  }

  // Masquerading to a real server on another host routes the packet out: that needs forwarding.
  const own = new Set<string>(localAddresses);
  for (const s of services) if (s.kind === "address") own.add(s.address);
  for (const family of ["ipv4", "ipv6"] as const) {
    const remote = services
      .filter((s) => s.family === family)
      .flatMap((s) => s.realServers)
      .find((r) => {
        const parsed = parseAddress(r.address);
        return r.forwarding === "masquerade" && parsed && !isLoopback(parsed) && !own.has(r.address);
      });
    if (remote) {
      const key = family === "ipv4" ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding";
      set(key, "1", `masquerade real server ${remote.address} (${remote.path}) is on another host`);
    }
  }

  // On by default for a host with virtual services; a sysctls entry decides when the prop is not
  // given, and contradicts it when it is true (reported by the loop below).
  for (const { prop, key, why } of EXPIRE_DEFAULTS) {
    const v = spec[prop];
    if (!checkBoolean(c, hostPath, prop, v) || v === false || services.length === 0) continue;
    if (v === undefined && declared.some(([k]) => k === key)) continue;
    set(key, "1", v === true ? `requested by the host's ${prop} prop: ${why}` : `on by default for a host with virtual services (${prop}: false leaves it alone): ${why}`);
  }

  for (const [key, value] of declared) {
    const prop = propName(["sysctls", key]);
    if (key === CONNTRACK_SYSCTL && aliases.length > 0) continue; // checked above, with the reason
    if (isTokenLike(key)) {
      c.add(hostPath, prop, key, NOT_A_TOKEN);
      continue;
    }
    if (!SYSCTL_KEY.test(key)) {
      c.add(hostPath, prop, key, NOT_A_SYSCTL_NAME);
      continue;
    }
    const allowed = isAllowedSysctl(key);
    if (!allowed && !optIn) {
      c.addAlways(hostPath, prop, key, `is not a sysctl a load balancer needs; allowed: ${ALLOWED_SYSCTL_FAMILIES}. Set unsafeSysctls: true on the host to accept other keys (the scripts run as root).`);
      continue;
    }
    const text = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
    if (typeof text !== "string" || !SYSCTL_VALUE.test(text)) {
      c.add(hostPath, prop, value, isTokenLike(value) ? NOT_A_TOKEN : NOT_A_SYSCTL_VALUE);
      continue;
    }
    const existing = out.find((s) => s.key === key);
    if (existing && existing.value !== text) {
      c.add(hostPath, prop, value, `contradicts ${existing.key}=${existing.value}, which ${existing.reason}`);
      continue;
    }
    if (!allowed) unsafe.push(key);
    set(key, text, allowed ? "declared in the host's sysctls" : "declared in the host's sysctls; outside the load-balancer allowlist, accepted because unsafeSysctls is true");
  }
  return { sysctls: out, unsafeSysctls: unsafe };
}

/** ip_vs first, then one module per scheduler in use, then conntrack for NAT bookkeeping. */
function modulesFor(services: readonly DesiredService[]): DesiredModule[] {
  const out: DesiredModule[] = [{ name: "ip_vs", reason: "IPVS itself" }];
  const schedulers = [...new Set(services.map((s) => s.scheduler))].sort();
  for (const s of schedulers) out.push({ name: `ip_vs_${s}`, reason: `scheduler ${s}` });
  out.push({ name: "nf_conntrack", reason: "connection tracking for masquerade and aliases" });
  return out;
}

/**
 * Builds every host of a spec.json; paths in errors are spec paths. `spec` is an IpvsSpec but may
 * be anything: the top level and every host are checked, and all problems come in one
 * IpvsModelError.
 */
export function buildDesiredSpec(spec: unknown): DesiredHost[] {
  const c = new CheckCollector(specShapeIssues(spec));
  if (!isRecord(spec)) {
    c.add("spec", "spec", spec, 'is not an object; expected { "hosts": [ { "name": ..., "virtualServices": [...] } ] }');
    c.throwIfAny();
  }
  const hostList = isRecord(spec) ? spec.hosts : undefined;
  if (!Array.isArray(hostList)) {
    c.add("spec", "hosts", hostList, 'is missing; expected { "hosts": [ { "name": ..., "virtualServices": [...] } ] }');
    c.throwIfAny();
  }
  const hosts: DesiredHost[] = [];
  const names = new Map<string, number>();
  listOf(hostList).forEach((h, i) => {
    try {
      const host = buildDesiredHost(h, specPathNamer(i));
      const dup = names.get(host.name);
      if (dup !== undefined) c.addMessage(`spec.hosts[${i}]`, "name", host.name, `host name "${host.name}" is already used by spec.hosts[${dup}]; host names must be unique.`);
      names.set(host.name, i);
      hosts.push(host);
    } catch (e) {
      if (!(e instanceof IpvsModelError)) throw e;
      for (const issue of e.issues) c.addMessage(issue.path, issue.prop, issue.value, issue.message);
    }
  });
  c.throwIfAny();
  return hosts;
}
