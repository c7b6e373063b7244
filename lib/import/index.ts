/**
 * Import: an existing IPVS load balancer as a HostSpec. From the four dumps of lib/import/dumps.ts
 * it reads the host's virtual services and real servers, the REDIRECT/DNAT rules that lead to them
 * (as aliases) and the sysctls that matter, and returns a spec whose first apply changes no IPVS
 * service, real server or sysctl. Whatever the model cannot express exactly is left out and
 * reported, line by line; nothing is guessed.
 *
 * Guarantees, each checked here rather than assumed:
 * - The spec is valid: it went through buildDesiredHost (what the model refuses is left out, with
 *   the model's own message, and the rest built again).
 * - Every imported service renders to exactly the host's `ipvsadm -Sn` lines plus the thresholds of
 *   `ipvsadm -Ln --thresholds`, compared the way apply.sh compares them; a service that would not
 *   is left out. A service is imported whole or not at all: leaving out one of its real servers
 *   would have the apply delete it.
 * - Every imported service carries adopt: true, so the first apply takes it over instead of
 *   refusing it as not ours.
 * - Each sysctl the desired state sets has the host's live value; where that cannot be arranged it
 *   is reported (kind "will change").
 */
import {
  AddressFamily,
  AliasSpec,
  DesiredHost,
  HostSpec,
  IpvsModelError,
  PROTOCOLS,
  Protocol,
  RealServerSpec,
  SCHEDULERS,
  VirtualServiceSpec,
  buildDesiredHost,
  parseAddress,
} from "../model";
import { ipvsRules } from "../render/ipvsadm";
import { ipvsServiceKeyOf } from "../words";
import { DumpLine, NatRule, NatTable, lineRef, readIpvsSave, readNatSave, readSysctls, readThresholds } from "./dumps";

export { readIpvsSave, readNatSave, readSysctls, readThresholds } from "./dumps";
export { importedHostTypeScript, type TypeScriptOptions } from "./typescript";

export interface ImportSources {
  /** Name of the host in the spec. */
  readonly hostName: string;
  /** `ipvsadm -Sn` */
  readonly ipvs: string;
  /** `ipvsadm -Ln --thresholds` (the save format leaves thresholds out) */
  readonly thresholds: string;
  /** `iptables-save -t nat`, and/or `ip6tables-save -t nat` after it */
  readonly nat: string;
  /** `sysctl -a` */
  readonly sysctls: string;
  /** How notes name each dump (file names); defaults: ipvs, thresholds, nat, sysctls. */
  readonly labels?: { readonly ipvs?: string; readonly thresholds?: string; readonly nat?: string; readonly sysctls?: string };
}

export interface ImportNote {
  /** "not imported": left out of the spec. "will change": imported, but the first apply changes it. */
  readonly kind: "not imported" | "will change";
  /** `FILE:LINE`, or the dump's label when there is no one line. */
  readonly where: string;
  /** The line (or `key = value`) as the host printed it. */
  readonly text: string;
  readonly why: string;
}

export interface ImportResult {
  readonly spec: HostSpec;
  /** The spec built by the model (what plan, render and the constructs see). */
  readonly desired: DesiredHost;
  readonly notes: readonly ImportNote[];
  /**
   * The hand-made nat rules of the imported aliases. The first apply installs the same aliases in
   * its own chains, jumped to at position 1, so these then match nothing; each comes with the
   * command that removes it, for the operator to run once the first apply has succeeded.
   */
  readonly shadowed: readonly ShadowedRule[];
}

/** A hand-made rule an imported alias takes over, and how to remove it. */
export interface ShadowedRule {
  /** `FILE:LINE` of the rule in the nat dump. */
  readonly where: string;
  /** The rule as iptables-save printed it. */
  readonly text: string;
  /** `iptables -w -t nat -D CHAIN ...` (ip6tables for IPv6), every word quoted for sh where it needs it. */
  readonly remove: string;
}

/** A word as sh reads it: bare when it has only safe characters, else single-quoted. */
function shWord(word: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command that deletes RULE (an `-A CHAIN ...` line of iptables-save) from its chain. */
function removalCommand(rule: NatRule, family: AddressFamily): string {
  const [, chain, ...rest] = rule.words;
  return [family === "ipv6" ? "ip6tables" : "iptables", "-w", "-t", "nat", "-D", chain, ...rest].map(shWord).join(" ");
}

/** `not imported: ipvs.txt:3: -A -t 172.16.1.8:80 -s rr --pe sip: ...`. */
export function formatNote(note: ImportNote): string {
  return `${note.kind}: ${note.where}: ${note.text}: ${note.why}`;
}

/**
 * The kernel's defaults of the net.ipv4.vs.* keys (Debian 12, 6.1; lab/FINDINGS.md). A key whose
 * live value differs was set by someone and is imported into the host's sysctls. Left out: the
 * keys the model decides itself (conntrack, expire_nodest_conn, expire_quiescent_template,
 * conn_reuse_mode: handled below) and sync_qlen_max (it depends on the machine's memory).
 */
const VS_DEFAULTS: Readonly<Record<string, string>> = {
  am_droprate: "10",
  amemthresh: "1024",
  backup_only: "0",
  cache_bypass: "0",
  drop_entry: "0",
  drop_packet: "0",
  ignore_tunneled: "0",
  nat_icmp_send: "0",
  pmtu_disc: "1",
  run_estimation: "1",
  schedule_icmp: "0",
  secure_tcp: "0",
  sloppy_sctp: "0",
  sloppy_tcp: "0",
  snat_reroute: "1",
  sync_persist_mode: "0",
  sync_ports: "1",
  sync_refresh_period: "0",
  sync_retries: "0",
  sync_sock_size: "0",
  sync_threshold: "3\t50",
  sync_version: "1",
};

const SYSCTL_VALUE = /^[A-Za-z0-9_.:-]{1,64}$/;

interface ServiceCandidate {
  readonly key: string;
  readonly line: DumpLine;
  readonly kind: "address" | "fwmark";
  readonly family: AddressFamily;
  readonly protocol?: Protocol;
  readonly address?: string;
  readonly port?: number;
  readonly fwmark?: number;
  readonly props: Omit<VirtualServiceSpec, "name" | "realServers" | "aliases">;
  readonly reals: { line: DumpLine; spec: RealServerSpec; live: string }[];
  /** -a lines seen for it, imported or not. */
  realLines: number;
  /** Why it cannot be imported; undefined while it can. */
  bad?: { line: DumpLine; why: string };
  name?: string;
}

interface AliasCandidate {
  readonly service: ServiceCandidate;
  readonly address: string;
  readonly port: number;
  readonly method: "redirect" | "dnat";
  remote: boolean;
  local: boolean;
  readonly lines: DumpLine[];
  /** The same rules, parsed (for the removal commands). */
  readonly rules: NatRule[];
  dropped?: boolean;
}

const DIGITS = /^\d+$/;

/** The host's state as a spec; see the module comment for what is guaranteed. */
export function importHost(src: ImportSources): ImportResult {
  const label = { ipvs: "ipvs", thresholds: "thresholds", nat: "nat", sysctls: "sysctls", ...src.labels };
  const notes: ImportNote[] = [];
  const note = (line: DumpLine, why: string) => notes.push({ kind: "not imported", where: lineRef(line), text: line.text.trim(), why });

  // ---- IPVS services and real servers ----
  const thresholds = readThresholds(src.thresholds);
  const services: ServiceCandidate[] = [];
  const byKey = new Map<string, ServiceCandidate>();
  for (const { line, command } of readIpvsSave(src.ipvs, label.ipvs)) {
    if (command.action === "add-service") {
      if (command.problems.length > 0 || !command.service) {
        note(line, `cannot be read: ${command.problems.join("; ") || "no service"}`);
        continue;
      }
      const ref = command.service;
      const key = ipvsServiceKeyOf(ref);
      if (byKey.has(key)) {
        note(line, `service ${key} is listed twice`);
        continue;
      }
      const cand = serviceCandidate(key, line, command, ref);
      services.push(cand);
      byKey.set(key, cand);
    } else if (command.action === "add-server") {
      const svc = command.service ? byKey.get(ipvsServiceKeyOf(command.service)) : undefined;
      if (!svc) {
        note(line, command.problems.length > 0 ? `cannot be read: ${command.problems.join("; ")}` : "real server of a service that has no -A line before it");
        continue;
      }
      svc.realLines++;
      const real = realServerOf(svc, command, line, thresholds.byRealServer, label.thresholds);
      if ("why" in real) svc.bad ??= { line, why: real.why };
      else svc.reals.push(real);
    } else {
      note(line, "is not an -A (service) or -a (real server) line of ipvsadm -Sn");
    }
  }

  // ---- sysctls ----
  const live = readSysctls(src.sysctls);
  const conntrackLive = live.get("net.ipv4.vs.conntrack");
  if (services.length > 0 && conntrackLive === undefined) {
    notes.push({ kind: "not imported", where: label.sysctls, text: "net.ipv4.vs.*", why: "the sysctl dump has no net.ipv4.vs keys (was ip_vs loaded when it was taken?); the IPVS sysctls are not imported" });
  }

  // ---- aliases ----
  const { tables, problems } = readNatSave(src.nat, label.nat);
  for (const p of problems) note(p.line, p.why);
  const aliases: AliasCandidate[] = [];
  for (const table of tables) {
    walkChain(table, "PREROUTING", "remote", undefined, new Set(["PREROUTING"]), (rule, origin, via) => considerAlias(rule, origin, via));
    walkChain(table, "OUTPUT", "local", undefined, new Set(["OUTPUT"]), (rule, origin, via) => considerAlias(rule, origin, via));
  }

  function considerAlias(rule: NatRule, origin: "remote" | "local", via: NatRule | undefined): void {
    const r = rule.rule;
    const method = r.jump === "REDIRECT" ? "redirect" : "dnat";
    // Which service the rule leads to; a rule that leads to none is no alias and not ours to report.
    let target: ServiceCandidate | undefined;
    const protocolOk = (s: ServiceCandidate) => r.protocol === undefined || s.protocol === r.protocol;
    const dest = r.destination ? parseAddress(r.destination.address) : undefined;
    if (method === "redirect") {
      if (r.toPorts === undefined || !DIGITS.test(r.toPorts)) return;
      const onPort = services.filter((s) => s.kind === "address" && s.port === Number(r.toPorts) && protocolOk(s) && (dest === undefined || s.family === dest.family));
      if (onPort.length === 0) return;
      if (!r.destination) {
        note(rule.line, `has no destination address (-d), so it redirects every address's port ${r.destinationPort ?? "(any)"} to port ${r.toPorts} (${onPort.map((s) => s.key).join(", ")}); a model alias matches one destination address`);
        return;
      }
      target = onPort.find((s) => dest !== undefined && s.address === dest.canonical);
      if (!target) {
        note(rule.line, `REDIRECT sends the packet to the primary address of the interface it arrives on; there is no virtual service at ${dest ? dest.canonical : "its -d address"} port ${r.toPorts}, so which of ${onPort.map((s) => s.key).join(", ")} it reaches cannot be told from the dumps`);
        return;
      }
    } else {
      const to = r.toDestination;
      const addr = to ? parseAddress(to.address) : undefined;
      if (!to || !addr) return;
      const atAddress = services.filter((s) => s.kind === "address" && s.address === addr.canonical);
      if (atAddress.length === 0) return;
      if (to.port === undefined || !DIGITS.test(to.port)) {
        note(rule.line, `DNAT to ${to.port === undefined ? "the packet's own port" : `ports ${to.port}`} of a virtual service address; a model alias always changes the port to the one service port`);
        return;
      }
      const matches = atAddress.filter((s) => s.port === Number(to.port));
      if (matches.length === 0) return;
      target = matches.find(protocolOk);
      if (!target) {
        note(rule.line, `leads to ${matches.map((s) => s.key).join(", ")} with another protocol (${r.protocol ?? "any"})`);
        return;
      }
    }
    const why = aliasProblem(rule, origin, via, target, dest?.family);
    if (why) {
      note(rule.line, why);
      return;
    }
    if (target.bad) {
      note(rule.line, `leads to virtual service ${target.key}, which is not imported (${lineRef(target.line)})`);
      return;
    }
    if (conntrackLive !== "1") {
      note(
        rule.line,
        `net.ipv4.vs.conntrack is ${conntrackLive ?? "not set"} on this host, so this alias does not work now (replies leave from the service port and clients reset them); the model pairs every alias with conntrack=1, which the first apply would set. Declare it yourself if you want that`,
      );
      return;
    }
    const address = dest!.canonical;
    const port = Number(r.destinationPort);
    const same = aliases.find((a) => a.service === target && a.address === address && a.port === port && a.method === method);
    if (same) {
      if (origin === "remote") same.remote = true;
      else same.local = true;
      same.lines.push(rule.line);
      same.rules.push(rule);
    } else {
      aliases.push({ service: target, address, port, method, remote: origin === "remote", local: origin === "local", lines: [rule.line], rules: [rule] });
    }
  }

  // ---- host props from the sysctls ----
  const hostProps: { conntrack?: boolean; expireNodestConn?: boolean; expireQuiescentTemplate?: boolean; sysctls: Record<string, string | number> } = { sysctls: {} };
  if (conntrackLive === "1") hostProps.conntrack = true;
  if (live.get("net.ipv4.vs.expire_nodest_conn") === "0") hostProps.expireNodestConn = false;
  if (live.get("net.ipv4.vs.expire_quiescent_template") === "0") hostProps.expireQuiescentTemplate = false;
  const sysctlValue = (v: string): string | number => (/^(0|[1-9]\d{0,14})$/.test(v) ? Number(v) : v);
  const reuse = live.get("net.ipv4.vs.conn_reuse_mode");
  if (reuse !== undefined && services.length > 0) {
    // apply.sh sets conn_reuse_mode by kernel version unless the host's sysctls name it: keep the live value.
    if (SYSCTL_VALUE.test(reuse)) hostProps.sysctls["net.ipv4.vs.conn_reuse_mode"] = sysctlValue(reuse);
  }
  for (const [key, value] of live) {
    const m = /^net\.ipv4\.vs\.([a-z0-9_]+)$/.exec(key);
    if (!m || !Object.prototype.hasOwnProperty.call(VS_DEFAULTS, m[1]) || VS_DEFAULTS[m[1]] === value) continue;
    if (SYSCTL_VALUE.test(value)) hostProps.sysctls[key] = sysctlValue(value);
    else notes.push({ kind: "not imported", where: label.sysctls, text: `${key} = ${value}`, why: "differs from the kernel default, but the value is not one a spec can hold (an integer or a word of A–Z a–z 0–9 _ . : -)" });
  }

  // ---- build, leaving out what the model refuses or what would not round-trip ----
  let desired: DesiredHost | undefined;
  let spec: HostSpec | undefined;
  const taken = new Set<string>();
  for (const s of services) s.name = serviceName(s, taken);
  for (let round = 0; round <= services.length + aliases.length + Object.keys(hostProps.sysctls).length + 1; round++) {
    const imported = services.filter((s) => !s.bad);
    spec = assemble(src.hostName, imported, aliases, hostProps);
    let issues: readonly { path: string; prop: string; message: string }[] = [];
    try {
      desired = buildDesiredHost(spec);
    } catch (e) {
      if (!(e instanceof IpvsModelError)) throw e;
      desired = undefined;
      issues = e.issues;
    }
    if (desired) {
      const mismatch = roundTripMismatch(desired, imported);
      if (!mismatch) break;
      mismatch.service.bad = { line: mismatch.service.line, why: mismatch.why };
      continue;
    }
    let dropped = false;
    for (const issue of issues) {
      const m = /^spec\.hosts\[0\]\.virtualServices\[(\d+)\](?:\.(realServers|aliases)\[(\d+)\])?$/.exec(issue.path);
      if (m) {
        const svc = imported[Number(m[1])];
        if (m[2] === "aliases") {
          const alias = aliases.filter((a) => a.service === svc && !a.dropped)[Number(m[3])];
          if (alias && !alias.dropped) {
            alias.dropped = true;
            for (const line of alias.lines) note(line, `the model refuses it: ${issue.message}`);
            dropped = true;
          }
        } else if (svc && !svc.bad) {
          svc.bad = { line: m[2] === "realServers" ? svc.reals[Number(m[3])]?.line ?? svc.line : svc.line, why: `the model refuses it: ${issue.prop} ${issue.message}` };
          dropped = true;
        }
        continue;
      }
      const sysctl = /^sysctls\["(.+)"\]$/.exec(issue.prop);
      if (issue.path === "spec.hosts[0]" && sysctl && Object.prototype.hasOwnProperty.call(hostProps.sysctls, sysctl[1])) {
        notes.push({ kind: "not imported", where: label.sysctls, text: `${sysctl[1]} = ${live.get(sysctl[1]) ?? ""}`, why: `the model refuses it: ${issue.message}` });
        delete hostProps.sysctls[sysctl[1]];
        dropped = true;
      }
    }
    if (!dropped) throw new IpvsModelError([...issues].map((i) => ({ ...i, value: undefined })));
  }
  if (!desired || !spec) throw new Error("internal: import did not converge on a valid spec");

  for (const s of services) {
    if (!s.bad) continue;
    const count = s.realLines;
    note(s.line, `${s.bad.line === s.line ? "" : `${lineRef(s.bad.line)} (${s.bad.line.text.trim()}): `}${s.bad.why}${count > 0 ? `; the service is left out whole, with its real server(s), so the apply never touches it` : ""}`);
  }
  for (const a of aliases) {
    if (!a.dropped && a.service.bad) for (const line of a.lines) note(line, `leads to virtual service ${a.service.key}, which is not imported (${lineRef(a.service.line)})`);
  }
  for (const sysctl of desired.sysctls) {
    const have = live.get(sysctl.key);
    if (have !== sysctl.value) {
      notes.push({ kind: "will change", where: label.sysctls, text: `${sysctl.key} = ${have ?? "(not in the dump)"}`, why: `the first apply sets it to ${sysctl.value}: ${sysctl.reason}` });
    }
  }
  notes.sort((a, b) => compareWhere(a.where, b.where));
  const shadowed = aliases
    .filter((a) => !a.dropped && !a.service.bad)
    .flatMap((a) => a.rules.map((rule) => ({ where: lineRef(rule.line), text: rule.line.text.trim(), remove: removalCommand(rule, a.service.family) })))
    .sort((a, b) => compareWhere(a.where, b.where));
  return { spec, desired, notes, shadowed };
}

function compareWhere(a: string, b: string): number {
  const [fa, la] = a.split(/:(?=\d+$)/);
  const [fb, lb] = b.split(/:(?=\d+$)/);
  if (fa !== fb) return fa < fb ? -1 : 1;
  return Number(la ?? 0) - Number(lb ?? 0);
}

function serviceCandidate(key: string, line: DumpLine, command: ReturnType<typeof readIpvsSave>[number]["command"], ref: NonNullable<ReturnType<typeof readIpvsSave>[number]["command"]["service"]>): ServiceCandidate {
  let bad: { line: DumpLine; why: string } | undefined;
  const fail = (why: string) => (bad ??= { line, why });
  const props: { protocol?: Protocol; address?: string; port?: number; fwmark?: number; family?: AddressFamily; scheduler?: (typeof SCHEDULERS)[number]; schedulerFlags?: string[]; persistence?: { timeout: number; netmask?: string | number } } = {};
  let family: AddressFamily = "ipv4";
  let kind: "address" | "fwmark";
  if (ref.kind === "fwmark") {
    kind = "fwmark";
    if (!DIGITS.test(ref.fwmark)) fail(`firewall mark ${ref.fwmark} is not a number`);
    props.fwmark = Number(ref.fwmark);
    if (ref.ipv6) {
      family = "ipv6";
      props.family = "ipv6";
    }
  } else {
    kind = "address";
    const addr = parseAddress(ref.host);
    if (!addr) fail(`${ref.host} is not an IP address`);
    else {
      family = addr.family;
      props.address = addr.canonical;
    }
    if (!DIGITS.test(ref.port)) fail(`port ${ref.port} is not a number (save with ipvsadm -Sn: -n keeps ports numeric)`);
    props.protocol = ref.protocol;
    props.port = Number(ref.port);
  }
  if (command.scheduler === undefined) fail("has no scheduler (-s)");
  else if (!(SCHEDULERS as readonly string[]).includes(command.scheduler)) fail(`scheduler ${command.scheduler} is not one the model knows (${SCHEDULERS.join(", ")})`);
  else props.scheduler = command.scheduler as (typeof SCHEDULERS)[number];
  if (command.schedulerFlags && command.schedulerFlags.length > 0) props.schedulerFlags = [...command.schedulerFlags];
  if (command.persistence !== undefined) {
    if (!DIGITS.test(command.persistence)) fail(`persistence -p ${command.persistence} is not a number`);
    const persistence: { timeout: number; netmask?: string | number } = { timeout: Number(command.persistence) };
    if (command.netmask !== undefined) persistence.netmask = family === "ipv6" && DIGITS.test(command.netmask) ? Number(command.netmask) : command.netmask;
    props.persistence = persistence;
  } else if (command.netmask !== undefined) fail("has a netmask (-M) without persistence");
  if (command.other.length > 0) fail(`options the model cannot express: ${command.other.join(" ")}`);
  return {
    key,
    line,
    kind,
    family,
    ...(props.protocol ? { protocol: props.protocol } : {}),
    ...(props.address !== undefined ? { address: props.address } : {}),
    ...(props.port !== undefined ? { port: props.port } : {}),
    ...(props.fwmark !== undefined ? { fwmark: props.fwmark } : {}),
    props: { ...props, adopt: true },
    reals: [],
    realLines: 0,
    ...(bad ? { bad } : {}),
  };
}

function realServerOf(
  svc: ServiceCandidate,
  command: ReturnType<typeof readIpvsSave>[number]["command"],
  line: DumpLine,
  thresholds: ReadonlyMap<string, { upper: number; lower: number }>,
  thresholdsLabel: string,
): { line: DumpLine; spec: RealServerSpec; live: string } | { why: string } {
  if (command.problems.length > 0) return { why: `cannot be read: ${command.problems.join("; ")}` };
  const server = command.server;
  if (!server || server.port === undefined) return { why: "real server without host:port (-r)" };
  const addr = parseAddress(server.host);
  if (!addr) return { why: `real server ${server.host} is not an IP address` };
  if (!DIGITS.test(server.port)) return { why: `real server port ${server.port} is not a number (save with ipvsadm -Sn)` };
  if (!command.forwarding) return { why: "real server without a forwarding method (-m, -g or -i)" };
  if (command.weight !== undefined && !DIGITS.test(command.weight)) return { why: `weight ${command.weight} is not a number` };
  const other = command.other.join(" ");
  if (other !== "" && !(command.forwarding === "ipip" && other === "--tun-type ipip")) return { why: `options the model cannot express: ${other}` };
  const rsText = server.host.includes(":") ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
  const th = thresholds.get(`${svc.key}|${rsText}`);
  if (!th) return { why: `real server ${rsText} is not in the thresholds listing (${thresholdsLabel}: ipvsadm -Ln --thresholds), so its thresholds are unknown` };
  const spec: { address: string; port: number; forwarding: RealServerSpec["forwarding"]; weight?: number; upperThreshold?: number; lowerThreshold?: number } = {
    address: addr.canonical,
    port: Number(server.port),
    forwarding: command.forwarding,
  };
  if (command.weight !== undefined) spec.weight = Number(command.weight);
  if (th.upper > 0) spec.upperThreshold = th.upper;
  if (th.lower > 0) spec.lowerThreshold = th.lower;
  const live = `${line.text.trim().split(/\s+/).join(" ")}${th.upper > 0 ? ` -x ${th.upper}` : ""}${th.lower > 0 ? ` -y ${th.lower}` : ""}`;
  return { line, spec, live };
}

/** A unique service name from its key: tcp-172.16.1.8-1000, tcp-fd00_16__8-1000, fwmark-7-ipv6. */
function serviceName(s: ServiceCandidate, taken: Set<string>): string {
  const base = s.kind === "fwmark" ? `fwmark-${s.fwmark}${s.family === "ipv6" ? "-ipv6" : ""}` : `${s.protocol}-${(s.address ?? "").replace(/:/g, "_")}-${s.port}`;
  let name = base.length <= 40 ? base : `${s.protocol ?? "svc"}-${s.port ?? s.fwmark}`;
  for (let i = 2; taken.has(name); i++) name = `${base.length <= 36 ? base : `${s.protocol ?? "svc"}-${s.port ?? s.fwmark}`}-${i}`;
  taken.add(name);
  return name;
}

/** Walks a nat chain in order, following jumps to user chains; `via` is the first conditional jump on the way. */
function walkChain(
  table: NatTable,
  chain: string,
  origin: "remote" | "local",
  via: NatRule | undefined,
  seen: Set<string>,
  visit: (rule: NatRule, origin: "remote" | "local", via: NatRule | undefined) => void,
): void {
  for (const rule of table.chains.get(chain) ?? []) {
    const jump = rule.rule.jump;
    if (jump === undefined) continue;
    if (table.chains.has(jump) && !seen.has(jump)) {
      walkChain(table, jump, origin, via ?? (matchWords(rule).length > 0 ? rule : undefined), new Set([...seen, jump]), visit);
    } else if (jump === "REDIRECT" || jump === "DNAT") {
      visit(rule, origin, via);
    }
  }
}

/** The words of a rule that select packets (everything but -A CHAIN, comments and the target). */
function matchWords(rule: NatRule): string[] {
  const w = rule.words;
  const out: string[] = [];
  for (let i = 0; i < w.length; i++) {
    if (w[i] === "-A" || w[i] === "--append") i++;
    else if ((w[i] === "-m" || w[i] === "--match") && w[i + 1] === "comment") i++;
    else if (w[i] === "--comment") i++;
    else if (w[i] === "-j" || w[i] === "--jump" || w[i] === "-g" || w[i] === "--goto") break;
    else out.push(w[i]);
  }
  return out;
}

/** Why a REDIRECT/DNAT rule that leads to a service cannot be a model alias exactly, or undefined. */
function aliasProblem(rule: NatRule, origin: "remote" | "local", via: NatRule | undefined, target: ServiceCandidate, destFamily: AddressFamily | undefined): string | undefined {
  const r = rule.rule;
  if (via) return `reached through a jump with conditions (${lineRef(via.line)}: ${via.line.text.trim()}); the model's alias chains are jumped to for every packet`;
  if (r.problems.length > 0) return `cannot be read: ${r.problems.join("; ")}`;
  if (rule.words.includes("!")) return "has a negated match (!); a model alias matches one address and port";
  if (r.protocol === undefined || !(PROTOCOLS as readonly string[]).includes(r.protocol)) return `matches ${r.protocol === undefined ? "any protocol" : `protocol ${r.protocol}`}; a model alias matches tcp, udp or sctp, the service's protocol`;
  if (!r.destination) return "has no destination address (-d); a model alias matches one destination address";
  if (!destFamily) return `destination ${r.destination.address} is not an IP address`;
  const full = destFamily === "ipv6" ? 128 : 32;
  if (r.destination.prefix !== undefined && r.destination.prefix !== full) return `matches the network ${r.destination.address}/${r.destination.prefix}; a model alias matches one address`;
  if (destFamily !== target.family) return `is ${destFamily} but leads to the ${target.family} service ${target.key}`;
  const extra: string[] = [];
  for (let i = 0; i < r.other.length; i++) {
    if (r.other[i] === "-m" && (r.other[i + 1] === r.protocol || r.other[i + 1] === "comment")) i++;
    else extra.push(r.other[i]);
  }
  if (extra.length > 0) return `has matches or options a model alias cannot express: ${extra.join(" ")}`;
  if (r.destinationPort === undefined || !DIGITS.test(r.destinationPort)) return `matches ${r.destinationPort === undefined ? "any port" : `ports ${r.destinationPort}`}; a model alias matches one port (--dport N)`;
  if (r.inInterface !== undefined || r.outInterface !== undefined) return `matches an interface (${r.inInterface !== undefined ? `-i ${r.inInterface}` : `-o ${r.outInterface}`}); a model alias matches every interface`;
  if (r.jump === "REDIRECT" && origin === "local") return "REDIRECT in OUTPUT sends local clients to loopback; the model only allows DNAT for local clients";
  return undefined;
}

function assemble(
  hostName: string,
  services: readonly ServiceCandidate[],
  aliases: readonly AliasCandidate[],
  hostProps: { conntrack?: boolean; expireNodestConn?: boolean; expireQuiescentTemplate?: boolean; sysctls: Record<string, string | number> },
): HostSpec {
  const virtualServices: VirtualServiceSpec[] = services.map((s) => {
    const mine = aliases.filter((a) => a.service === s && !a.dropped);
    const aliasSpecs: AliasSpec[] = mine.map((a) => ({
      port: a.port,
      method: a.method,
      ...(a.address !== s.address ? { address: a.address } : {}),
      ...(a.remote ? {} : { remoteClients: false }),
      ...(a.local ? { localClients: true } : {}),
    }));
    return {
      name: s.name!,
      ...s.props,
      realServers: s.reals.map((r) => r.spec),
      ...(aliasSpecs.length > 0 ? { aliases: aliasSpecs } : {}),
    };
  });
  const sysctls = { ...hostProps.sysctls };
  return {
    name: hostName,
    virtualServices,
    ...(hostProps.conntrack !== undefined ? { conntrack: hostProps.conntrack } : {}),
    ...(hostProps.expireNodestConn !== undefined ? { expireNodestConn: hostProps.expireNodestConn } : {}),
    ...(hostProps.expireQuiescentTemplate !== undefined ? { expireQuiescentTemplate: hostProps.expireQuiescentTemplate } : {}),
    ...(Object.keys(sysctls).length > 0 ? { sysctls } : {}),
  };
}

/** The first imported service whose rendered rules differ from the host's, as apply.sh compares them. */
function roundTripMismatch(desired: DesiredHost, imported: readonly ServiceCandidate[]): { service: ServiceCandidate; why: string } | undefined {
  for (let i = 0; i < imported.length; i++) {
    const svc = desired.services[i];
    const cand = imported[i];
    const want = ipvsRules([svc]).sort();
    const have = [cand.line.text.trim().split(/\s+/).join(" "), ...cand.reals.map((r) => r.live)].sort();
    if (want.join("\n") !== have.join("\n")) {
      const differ = want.filter((w) => !have.includes(w));
      const extra = have.filter((h) => !want.includes(h));
      return { service: cand, why: `the model would write it as ${JSON.stringify(differ.join("; "))} where the host has ${JSON.stringify(extra.join("; "))}; left out rather than changed` };
    }
  }
  return undefined;
}
