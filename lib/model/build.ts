/**
 * Validate and normalize what a user declared into a DesiredHost. Every check of a single value
 * and every cross-check (collisions, families, forwarding vs aliases, the conntrack pairing)
 * lives here, so bad input is refused before anything is rendered for a host.
 */
import { AddressFamily, ParsedAddress, hostPort, isContiguousIpv4Netmask, isLoopback, parseAddress } from "./address";
import {
  CONNTRACK_SYSCTL,
  DesiredAlias,
  DesiredHost,
  DesiredModule,
  DesiredPersistence,
  DesiredRealServer,
  DesiredService,
  DesiredSysctl,
  serviceKeyOf,
} from "./desired";
import { IpvsModelError, IssueCollector } from "./errors";
import {
  ALIAS_METHODS,
  AliasSpec,
  FORWARDING_METHODS,
  ForwardingMethod,
  HostSpec,
  IpvsSpec,
  PROTOCOLS,
  Protocol,
  RealServerSpec,
  SCHEDULERS,
  SCHEDULER_FLAGS,
  Scheduler,
  VirtualServiceSpec,
} from "./spec";

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
const SYSCTL_KEY = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;
const SYSCTL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_PERSISTENCE_TIMEOUT = 2678400;
const MAX_U32 = 4294967295;

const HOST_KEYS = ["name", "virtualServices", "conntrack", "localAddresses", "sysctls"];
const SERVICE_KEYS = ["name", "protocol", "address", "port", "fwmark", "family", "scheduler", "schedulerFlags", "persistence", "realServers", "aliases"];
const REAL_SERVER_KEYS = ["address", "port", "forwarding", "weight", "upperThreshold", "lowerThreshold"];
const ALIAS_KEYS = ["port", "method", "address", "remoteClients", "localClients"];
const PERSISTENCE_KEYS = ["timeout", "netmask"];

/** A misspelt prop would otherwise be ignored silently; in a spec.json nothing else catches it. */
function checkKeys(c: IssueCollector, path: string, obj: object, allowed: readonly string[]): void {
  for (const [key, value] of Object.entries(obj)) {
    if (value !== undefined && !allowed.includes(key)) c.add(path, key, value, `is not a known prop; allowed: ${allowed.join(", ")}`);
  }
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[]): v is T {
  return typeof v === "string" && (allowed as readonly string[]).includes(v);
}

function isTokenLike(v: unknown): boolean {
  // cdktf tokens (`${TfToken[...]}`) are resolved by Terraform, not by us: a host script needs
  // concrete values, so say so instead of failing with a confusing pattern error.
  return typeof v === "string" && v.includes("${");
}

const NOT_A_TOKEN = "is an unresolved Terraform token; IPVS settings must be known at synth time (plain values)";

function checkName(c: IssueCollector, path: string, prop: string, v: unknown, max: number): v is string {
  if (typeof v === "string" && isTokenLike(v)) {
    c.add(path, prop, v, NOT_A_TOKEN);
    return false;
  }
  if (typeof v !== "string" || v.length > max || !NAME_PATTERN.test(v)) {
    c.add(path, prop, v, `is not a valid name; allowed: 1–${max} characters of A–Z a–z 0–9 _ . -, starting with a letter or digit`);
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
  if (!parsed) c.add(path, prop, v, "is not an IP address; allowed: an IPv4 address (172.16.1.8) or an IPv6 address (fd00::8)");
  return parsed;
}

function checkPort(c: IssueCollector, path: string, prop: string, v: unknown): v is number {
  if (!isInt(v, 1, 65535)) {
    c.add(path, prop, v, "is out of range; allowed 1–65535");
    return false;
  }
  return true;
}

const SCHEDULER_LIST = SCHEDULERS.join(", ");

interface ServiceFacts {
  readonly svc: DesiredService;
  /** Address+port services: `tcp 172.16.1.8:1000`, for collision checks with aliases. */
  readonly listenKey?: string;
}

export function buildDesiredHost(spec: HostSpec, paths: PathNamer = specPathNamer(0)): DesiredHost {
  const c = new IssueCollector();
  const hostPath = paths.host;
  if (typeof spec !== "object" || spec === null) {
    c.add(hostPath, "host", spec, "is not an object; expected { name, virtualServices: [...] }");
    c.throwIfAny();
  }
  checkKeys(c, hostPath, spec, HOST_KEYS);
  checkName(c, hostPath, "name", spec.name, 63);

  const localAddresses = new Set<string>();
  (spec.localAddresses ?? []).forEach((a, i) => {
    const p = checkAddress(c, hostPath, `localAddresses[${i}]`, a);
    if (p) localAddresses.add(p.canonical);
  });

  const services: ServiceFacts[] = [];
  const aliases: DesiredAlias[] = [];
  const serviceNames = new Map<string, string>();
  const serviceKeys = new Map<string, string>();

  const svcSpecs = spec.virtualServices ?? [];
  if (!Array.isArray(svcSpecs)) c.add(hostPath, "virtualServices", svcSpecs, "is not a list of virtual services");
  (Array.isArray(svcSpecs) ? svcSpecs : []).forEach((svcSpec, i) => {
    const svcPath = paths.service(i, svcSpec);
    const facts = buildService(c, svcSpec, svcPath, paths);
    if (!facts) return;
    const { svc } = facts;
    const key = serviceKeyOf(svc);
    const sameName = serviceNames.get(svc.name);
    if (sameName) c.addMessage(svcPath, "name", svc.name, `name "${svc.name}" is already used by ${sameName}; service names must be unique on a host.`);
    serviceNames.set(svc.name, svcPath);
    const sameKey = serviceKeys.get(key);
    if (sameKey) c.addMessage(svcPath, "address", key, `virtual service ${key} is already declared by ${sameKey}; declare each virtual service once.`);
    serviceKeys.set(key, svcPath);
    services.push(facts);
  });

  // Aliases after all services, so collisions with any service on the host are seen.
  const listenKeys = new Map<string, string>();
  for (const f of services) if (f.listenKey) listenKeys.set(f.listenKey, `virtual service ${f.listenKey} (${f.svc.path})`);
  services.forEach((f, i) => {
    const svcSpec = svcSpecs[i];
    (svcSpec.aliases ?? []).forEach((aliasSpec, j) => {
      const alias = buildAlias(c, aliasSpec, f.svc, paths.alias(f.svc.path, j));
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
  });

  const desiredServices = services.map((f) => f.svc);
  const sysctls = buildSysctls(c, spec, hostPath, desiredServices, aliases, localAddresses);
  c.throwIfAny();

  return {
    name: spec.name,
    path: hostPath,
    services: desiredServices,
    aliases,
    modules: modulesFor(desiredServices),
    sysctls,
  };
}

function buildService(c: IssueCollector, s: VirtualServiceSpec, path: string, paths: PathNamer): ServiceFacts | undefined {
  const before = c.issues.length;
  if (typeof s !== "object" || s === null) {
    c.add(path, "virtualService", s, "is not an object");
    return undefined;
  }
  checkKeys(c, path, s, SERVICE_KEYS);
  checkName(c, path, "name", s.name, 40);

  const scheduler = (s.scheduler ?? "wlc") as Scheduler;
  if (!oneOf(scheduler, SCHEDULERS)) c.add(path, "scheduler", s.scheduler, `is not an IPVS scheduler; allowed: ${SCHEDULER_LIST}`);

  const flags = [...(s.schedulerFlags ?? [])];
  flags.forEach((flag, i) => {
    const users = SCHEDULER_FLAGS[flag as string];
    if (!users) {
      c.add(path, `schedulerFlags[${i}]`, flag, `is not a scheduler flag; allowed: ${Object.keys(SCHEDULER_FLAGS).join(", ")}`);
    } else if (!users.includes(scheduler)) {
      c.add(path, `schedulerFlags[${i}]`, flag, `only applies to scheduler ${users.join(" or ")}, not "${scheduler}"`);
    } else if (flags.indexOf(flag) !== i) {
      c.add(path, `schedulerFlags[${i}]`, flag, "is given twice");
    }
  });

  let family: AddressFamily = "ipv4";
  let kind: "address" | "fwmark";
  let address = "";
  let port = 0;
  let protocol: Protocol = "tcp";
  const hasAddress = s.address !== undefined || s.port !== undefined;
  if (s.fwmark !== undefined && hasAddress) {
    c.add(path, "fwmark", s.fwmark, "cannot be combined with address/port; a virtual service is either address+port or a firewall mark");
    return undefined;
  }
  if (s.fwmark !== undefined) {
    kind = "fwmark";
    if (!isInt(s.fwmark, 1, MAX_U32)) c.add(path, "fwmark", s.fwmark, `is out of range; allowed 1–${MAX_U32}`);
    if (s.protocol !== undefined) c.add(path, "protocol", s.protocol, "does not apply to a firewall-mark service (the mark selects the packets); remove it");
    if (s.family !== undefined && !oneOf(s.family, ["ipv4", "ipv6"] as const)) c.add(path, "family", s.family, "is not an address family; allowed: ipv4, ipv6");
    else family = s.family ?? "ipv4";
  } else {
    kind = "address";
    if (s.address === undefined) c.add(path, "address", s.address, "is missing; a virtual service needs address and port, or fwmark");
    else {
      const parsed = checkAddress(c, path, "address", s.address);
      if (parsed) {
        family = parsed.family;
        address = parsed.canonical;
      }
    }
    if (checkPort(c, path, "port", s.port)) port = s.port as number;
    if (s.protocol !== undefined && !oneOf(s.protocol, PROTOCOLS)) c.add(path, "protocol", s.protocol, `is not supported; allowed: ${PROTOCOLS.join(", ")}`);
    else protocol = s.protocol ?? "tcp";
    if (s.family !== undefined && s.family !== family) c.add(path, "family", s.family, `contradicts address ${showAddr(s.address)} (${family}); leave family out for address services`);
  }

  let persistence: DesiredPersistence | undefined;
  if (s.persistence !== undefined) {
    const p = s.persistence;
    if (typeof p === "object" && p !== null) checkKeys(c, path, p, PERSISTENCE_KEYS);
    if (!isInt(p?.timeout, 1, MAX_PERSISTENCE_TIMEOUT)) {
      c.add(path, "persistence.timeout", p?.timeout, `is out of range; allowed 1–${MAX_PERSISTENCE_TIMEOUT} seconds`);
    }
    let netmask: string | number | undefined;
    if (p?.netmask !== undefined) {
      if (family === "ipv4") {
        if (typeof p.netmask !== "string" || !isContiguousIpv4Netmask(p.netmask)) {
          c.add(path, "persistence.netmask", p.netmask, "is not a contiguous IPv4 netmask; allowed e.g. 255.255.255.0");
        } else if (p.netmask !== "255.255.255.255") netmask = p.netmask;
      } else if (!isInt(p.netmask, 1, 128)) {
        c.add(path, "persistence.netmask", p.netmask, "is not an IPv6 prefix length; allowed 1–128");
      } else if (p.netmask !== 128) netmask = p.netmask;
    }
    persistence = { timeout: p?.timeout, netmask };
  }

  const realServers: DesiredRealServer[] = [];
  const seen = new Map<string, string>();
  (s.realServers ?? []).forEach((rs, i) => {
    const rsPath = paths.realServer(path, i);
    const built = buildRealServer(c, rs, rsPath, { kind, family, port });
    if (!built) return;
    const key = `${built.address}|${built.port}`;
    const dup = seen.get(key);
    if (dup) c.addMessage(rsPath, "address", rs.address, `real server ${showAddr(built.address)}:${built.port} is already declared by ${dup}; declare each real server once per service.`);
    seen.set(key, rsPath);
    realServers.push(built);
  });

  if (c.issues.length > before) return undefined;
  const base = { name: s.name, family, scheduler, schedulerFlags: flags, persistence, realServers, path };
  const svc: DesiredService =
    kind === "fwmark" ? { ...base, kind, fwmark: s.fwmark as number } : { ...base, kind, protocol, address, port };
  return { svc, listenKey: kind === "address" ? serviceKeyOf(svc) : undefined };
}

function showAddr(a: unknown): string {
  return typeof a === "string" ? a : String(a);
}

function buildRealServer(
  c: IssueCollector,
  rs: RealServerSpec,
  path: string,
  svc: { kind: "address" | "fwmark"; family: AddressFamily; port: number },
): DesiredRealServer | undefined {
  const before = c.issues.length;
  if (typeof rs !== "object" || rs === null) {
    c.add(path, "realServer", rs, "is not an object");
    return undefined;
  }
  checkKeys(c, path, rs, REAL_SERVER_KEYS);
  const addr = checkAddress(c, path, "address", rs.address);
  if (addr && addr.family !== svc.family) {
    c.add(path, "address", rs.address, `is ${addr.family} but the virtual service is ${svc.family}; IPVS cannot mix address families in one service`);
  }
  if (!oneOf(rs.forwarding, FORWARDING_METHODS)) {
    c.add(path, "forwarding", rs.forwarding, `is not a forwarding method; allowed: ${FORWARDING_METHODS.join(", ")}`);
  }
  const forwarding = rs.forwarding as ForwardingMethod;
  let port = svc.port;
  if (rs.port !== undefined) {
    if (svc.kind === "fwmark" ? !isInt(rs.port, 0, 65535) : !isInt(rs.port, 1, 65535)) {
      c.add(path, "port", rs.port, `is out of range; allowed ${svc.kind === "fwmark" ? 0 : 1}–65535`);
    } else port = rs.port;
  }
  if ((forwarding === "gatewaying" || forwarding === "ipip") && port !== svc.port) {
    c.add(
      path,
      "port",
      rs.port,
      `differs from the virtual service port ${svc.port}; ${forwarding} forwards the packet unchanged, so the real server must use the service port (use masquerade to change ports)`,
    );
  }
  const weight = rs.weight ?? 1;
  if (!isInt(weight, 0, 65535)) c.add(path, "weight", rs.weight, "is out of range; allowed 0–65535");
  const upper = rs.upperThreshold ?? 0;
  const lower = rs.lowerThreshold ?? 0;
  if (!isInt(upper, 0, MAX_U32)) c.add(path, "upperThreshold", rs.upperThreshold, `is out of range; allowed 0–${MAX_U32} (0 = no limit)`);
  if (!isInt(lower, 0, MAX_U32)) c.add(path, "lowerThreshold", rs.lowerThreshold, `is out of range; allowed 0–${MAX_U32}`);
  else if (lower > 0 && (upper === 0 || lower >= upper)) {
    c.add(path, "lowerThreshold", rs.lowerThreshold, `must be below upperThreshold (${upper}); a lower threshold only makes sense with an upper one`);
  }
  if (c.issues.length > before || !addr) return undefined;
  return { address: addr.canonical, port, forwarding, weight, upperThreshold: upper, lowerThreshold: lower, path };
}

function buildAlias(c: IssueCollector, a: AliasSpec, svc: DesiredService, path: string): DesiredAlias | undefined {
  const before = c.issues.length;
  if (typeof a !== "object" || a === null) {
    c.add(path, "alias", a, "is not an object");
    return undefined;
  }
  if (svc.kind === "fwmark") {
    c.addMessage(path, "port", a.port, `an alias needs an address+port virtual service; ${svc.path} is selected by firewall mark ${svc.fwmark}, so there is no port to redirect to.`);
    return undefined;
  }
  checkKeys(c, path, a, ALIAS_KEYS);
  checkPort(c, path, "port", a.port);
  const method = a.method ?? "redirect";
  if (!oneOf(method, ALIAS_METHODS)) c.add(path, "method", a.method, `is not an alias method; allowed: ${ALIAS_METHODS.join(", ")}`);
  let address = svc.address;
  if (a.address !== undefined) {
    const parsed = checkAddress(c, path, "address", a.address);
    if (parsed && parsed.family !== svc.family) {
      c.add(path, "address", a.address, `is ${parsed.family} but the virtual service is ${svc.family}; an alias must use the service's address family`);
    } else if (parsed) address = parsed.canonical;
  }
  const remoteClients = a.remoteClients ?? true;
  const localClients = a.localClients ?? false;
  if (typeof remoteClients !== "boolean") c.add(path, "remoteClients", a.remoteClients, "is not a boolean");
  if (typeof localClients !== "boolean") c.add(path, "localClients", a.localClients, "is not a boolean");
  if (!remoteClients && !localClients) c.add(path, "remoteClients", a.remoteClients, "is false and so is localClients; the alias would serve nobody");
  if (localClients === true && method === "redirect") {
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
  if (c.issues.length > before) return undefined;
  return {
    service: svc.name,
    protocol: svc.protocol,
    family: svc.family,
    address,
    port: a.port,
    method,
    targetAddress: svc.address,
    targetPort: svc.port,
    remoteClients,
    localClients,
    path,
  };
}

function buildSysctls(
  c: IssueCollector,
  spec: HostSpec,
  hostPath: string,
  services: readonly DesiredService[],
  aliases: readonly DesiredAlias[],
  localAddresses: Set<string>,
): DesiredSysctl[] {
  const out: DesiredSysctl[] = [];
  const set = (key: string, value: string, reason: string) => {
    if (!out.some((s) => s.key === key)) out.push({ key, value, reason });
  };

  if (spec.conntrack !== undefined && typeof spec.conntrack !== "boolean") {
    c.add(hostPath, "conntrack", spec.conntrack, "is not a boolean");
  }
  const userConntrack = spec.sysctls?.[CONNTRACK_SYSCTL];
  if (aliases.length > 0) {
    const first = aliases[0];
    const why = `an alias (${first.path}) needs it: IPVS drops the conntrack entry of packets it forwards unless conntrack=1, so replies to the aliased port would leave from the service port and clients would reset them`;
    if (spec.conntrack === false) {
      c.addMessage(hostPath, "conntrack", false, `conntrack false is not allowed while the host has aliases; ${why}. Remove the aliases or leave conntrack on.`);
    }
    if (userConntrack !== undefined && String(userConntrack) !== "1") {
      c.addMessage(hostPath, `sysctls["${CONNTRACK_SYSCTL}"]`, userConntrack, `sysctls["${CONNTRACK_SYSCTL}"] ${JSON.stringify(userConntrack)} is not allowed while the host has aliases; ${why}. Allowed: 1.`);
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

  for (const [key, value] of Object.entries(spec.sysctls ?? {})) {
    const prop = `sysctls["${key}"]`;
    if (key === CONNTRACK_SYSCTL && aliases.length > 0) continue; // checked above, with the reason
    if (!SYSCTL_KEY.test(key)) {
      c.add(hostPath, prop, key, "is not a sysctl name; allowed: dotted lowercase names like net.ipv4.vs.expire_nodest_conn");
      continue;
    }
    const text = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
    if (typeof text !== "string" || !SYSCTL_VALUE.test(text)) {
      c.add(hostPath, prop, value, "is not an allowed sysctl value; allowed: an integer or a word of A–Z a–z 0–9 _ . : - (1–64 characters)");
      continue;
    }
    const existing = out.find((s) => s.key === key);
    if (existing && existing.value !== text) {
      c.add(hostPath, prop, value, `contradicts ${existing.key}=${existing.value}, which ${existing.reason}`);
      continue;
    }
    set(key, text, "declared in the host's sysctls");
  }
  return out;
}

/** ip_vs first, then one module per scheduler in use, then conntrack for NAT bookkeeping. */
function modulesFor(services: readonly DesiredService[]): DesiredModule[] {
  const out: DesiredModule[] = [{ name: "ip_vs", reason: "IPVS itself" }];
  const schedulers = [...new Set(services.map((s) => s.scheduler))].sort();
  for (const s of schedulers) out.push({ name: `ip_vs_${s}`, reason: `scheduler ${s}` });
  out.push({ name: "nf_conntrack", reason: "connection tracking for masquerade and aliases" });
  return out;
}

/** Builds every host of a spec.json; paths in errors are spec paths. */
export function buildDesiredSpec(spec: IpvsSpec): DesiredHost[] {
  const c = new IssueCollector();
  if (typeof spec !== "object" || spec === null || !Array.isArray(spec.hosts)) {
    c.add("spec", "hosts", (spec as IpvsSpec | null)?.hosts, "is missing; expected { \"hosts\": [ { \"name\": ..., \"virtualServices\": [...] } ] }");
    c.throwIfAny();
  }
  const hosts: DesiredHost[] = [];
  const names = new Map<string, number>();
  spec.hosts.forEach((h, i) => {
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
