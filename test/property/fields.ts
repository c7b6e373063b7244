/**
 * The spec fields the property tests vary, one at a time, each from a valid seed. A field knows
 * where it lives (segments from the host spec), which kind of value it takes, a few valid values
 * (to glue hostile fragments onto), and optionally how to prepare the seed (e.g. give persistence
 * a timeout before varying its netmask).
 */
import fc from "fast-check";
import { HostSpec } from "../../lib/model";
import { seedHost, seedService } from "../fixtures";
import { HOSTILE_KEYS, Seg, deepClone, fieldValue } from "./support";

export type Kind = "string" | "number" | "boolean" | "array" | "object" | "any";

export interface Field {
  /** e.g. `virtualServices[0].realServers[1].weight` */
  readonly label: string;
  readonly seed: "A" | "B";
  /** Path from the host spec to the object that holds the field. */
  readonly segs: readonly Seg[];
  /** The field's key; for a "key" field, the constant value put under the varied key. */
  readonly key: Seg;
  /** "value": vary obj[key]; "key": vary the key, obj[varied] = keyValue. */
  readonly mode: "value" | "key";
  readonly keyValue?: unknown;
  readonly kind: Kind;
  readonly optional: boolean;
  readonly arb: fc.Arbitrary<unknown>;
  /** Valid values (what hostile fragments are glued onto). */
  readonly valid?: readonly unknown[];
  /** Other places a rejection may legitimately name, relative to the host (set by prepare). */
  readonly alsoNamed?: readonly string[];
  /** Props next to the field (same object) a rejection may name instead, e.g. for cross-field rules. */
  readonly siblings?: readonly string[];
  readonly prepare?: (host: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The seed of most cases: the seed's scenario plus local addresses and a sysctl. */
export function seedA(): HostSpec {
  return deepClone({ ...seedHost(), localAddresses: ["10.0.0.1"], sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } });
}

/** A host with every kind of service: udp + persistence + gatewaying, IPv6 + dnat local alias, fwmark + flags + thresholds. */
export function seedB(): HostSpec {
  return deepClone({
    name: "lb-mixed",
    sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
    virtualServices: [
      seedService(),
      {
        name: "dns",
        protocol: "udp",
        address: "172.16.1.8",
        port: 53,
        scheduler: "wrr",
        persistence: { timeout: 300, netmask: "255.255.255.0" },
        realServers: [{ address: "10.9.9.9", forwarding: "gatewaying", weight: 3 }],
      },
      {
        name: "v6",
        address: "fd00:16::8",
        port: 1000,
        scheduler: "lc",
        persistence: { timeout: 300, netmask: 64 },
        realServers: [{ address: "fd00:16::8", port: 1001, forwarding: "masquerade" }],
        aliases: [{ port: 1010, method: "dnat", localClients: true }],
      },
      {
        name: "mark",
        fwmark: 7,
        scheduler: "mh",
        schedulerFlags: ["mh-port"],
        realServers: [{ address: "10.0.0.2", forwarding: "gatewaying", upperThreshold: 100, lowerThreshold: 10 }],
      },
    ],
  } as HostSpec);
}

export const SEEDS = { A: seedA, B: seedB } as const;

function f(
  label: string,
  seed: "A" | "B",
  segs: Seg[],
  key: Seg,
  kind: Kind,
  valid: unknown[],
  optional: boolean,
  extra: Partial<Field> = {},
): Field {
  return { label, seed, segs, key, mode: "value", kind, optional, arb: fieldValue(kind, valid), valid, ...extra };
}

function unknownKey(label: string, seed: "A" | "B", segs: Seg[]): Field {
  return { label: `${label}<unknown key>`, seed, segs, key: "", mode: "key", keyValue: 1, kind: "any", optional: true, arb: fc.constantFrom(...HOSTILE_KEYS) };
}

const VS = (i: number): Seg[] => ["virtualServices", i];
const RS = (i: number, j: number): Seg[] => [...VS(i), "realServers", j];
const AL = (i: number, j: number): Seg[] => [...VS(i), "aliases", j];

export const SPEC_FIELDS: readonly Field[] = [
  // host
  f("name", "A", [], "name", "string", ["lb1", "lb-1.x_y"], false),
  f("conntrack", "A", [], "conntrack", "boolean", [true], true),
  f("localAddresses", "A", [], "localAddresses", "array", ["10.0.0.1"], true),
  f("localAddresses[0]", "A", ["localAddresses"], 0, "string", ["10.0.0.1", "fd00::1"], false),
  f("sysctls", "A", [], "sysctls", "object", [{ "net.ipv4.vs.expire_nodest_conn": 1 }], true),
  { label: "sysctls<key>", seed: "A", segs: ["sysctls"], key: "", mode: "key", keyValue: 1, kind: "string", optional: false, arb: fc.constantFrom(...HOSTILE_KEYS) },
  f('sysctls["net.ipv4.vs.expire_nodest_conn"]', "A", ["sysctls"], "net.ipv4.vs.expire_nodest_conn", "string", ["1", "0", "abc"], false),
  f('sysctls["net.ipv4.vs.conntrack"]', "A", ["sysctls"], "net.ipv4.vs.conntrack", "string", ["1"], false),
  f("virtualServices", "A", [], "virtualServices", "array", [[]], true),
  f("virtualServices[0]", "B", ["virtualServices"], 0, "object", [{}], false),
  f("ssh", "A", [], "ssh", "object", [{ host: "10.0.0.1" }], true),
  f("ssh.host", "A", ["ssh"], "host", "string", ["10.0.0.1", "lb1.example.com", "fd00::1"], false),
  f("ssh.port", "A", ["ssh"], "port", "number", [22, 2222], true, { prepare: (h) => (h.ssh = { host: "10.0.0.1" }) }),
  f("unsafeSysctls", "A", [], "unsafeSysctls", "boolean", [true], true),
  f('sysctls["net.ipv4.vs.expire_nodest_conn"] with unsafeSysctls', "A", ["sysctls"], "net.ipv4.vs.expire_nodest_conn", "string", ["1", "abc def"], false, {
    prepare: (h) => (h.unsafeSysctls = true),
    alsoNamed: ["unsafeSysctls"],
  }),
  { ...unknownKey("host", "A", []) },
  // service
  f("vs.name", "A", VS(0), "name", "string", ["app", "a-b.c_d"], false),
  f("vs.protocol", "A", VS(0), "protocol", "string", ["tcp", "udp", "sctp"], true),
  // Another family than the real servers': refused at the real servers / aliases, where the mix shows.
  f("vs.address", "A", VS(0), "address", "string", ["172.16.1.8", "10.0.0.1"], false, { siblings: ["realServers", "aliases"] }),
  f("vs.port", "A", VS(0), "port", "number", [1000, 1, 65535], false),
  f("vs.family", "A", VS(0), "family", "string", ["ipv4"], true, { siblings: ["realServers", "aliases"] }),
  f("vs.scheduler", "A", VS(0), "scheduler", "string", ["rr", "sh", "mh", "wlc"], true),
  f("vs.schedulerFlags", "A", VS(0), "schedulerFlags", "array", [[]], true),
  f("vs.schedulerFlags[0]", "A", [...VS(0), "schedulerFlags"], 0, "string", ["sh-port", "sh-fallback"], false, {
    prepare: (h) => Object.assign(h.virtualServices[0], { scheduler: "sh", schedulerFlags: ["sh-port"] }),
  }),
  f("vs.persistence", "A", VS(0), "persistence", "object", [{ timeout: 300 }], true),
  f("vs.persistence.timeout", "A", [...VS(0), "persistence"], "timeout", "number", [300, 1, 2678400], false),
  f("vs.persistence.netmask", "A", [...VS(0), "persistence"], "netmask", "string", ["255.255.255.0", "255.255.0.0"], true, {
    prepare: (h) => (h.virtualServices[0].persistence = { timeout: 300 }),
  }),
  f("vs.realServers", "A", VS(0), "realServers", "array", [[]], true),
  f("vs.aliases", "A", VS(0), "aliases", "array", [[]], true),
  f("vs.realServers[1]", "A", [...VS(0), "realServers"], 1, "object", [{}], false),
  f("vs.aliases[1]", "A", [...VS(0), "aliases"], 1, "object", [{}], false),
  unknownKey("vs", "A", VS(0)),
  // real server
  f("rs.address", "A", RS(0, 1), "address", "string", ["172.16.1.8", "10.0.0.2"], false),
  f("rs.port", "A", RS(0, 1), "port", "number", [1002, 1, 65535], true),
  f("rs.forwarding", "A", RS(0, 1), "forwarding", "string", ["masquerade"], false),
  f("rs.weight", "A", RS(0, 1), "weight", "number", [0, 1, 65535], true),
  f("rs.upperThreshold", "A", RS(0, 1), "upperThreshold", "number", [0, 100, 4294967295], true),
  f("rs.lowerThreshold", "A", RS(0, 1), "lowerThreshold", "number", [0, 10, 99], true, {
    prepare: (h) => (h.virtualServices[0].realServers[1].upperThreshold = 100),
  }),
  unknownKey("rs", "A", RS(0, 1)),
  // alias
  f("alias.port", "A", AL(0, 1), "port", "number", [1020, 1, 65535], false),
  f("alias.method", "A", AL(0, 1), "method", "string", ["dnat", "redirect"], true),
  f("alias.address", "A", AL(0, 1), "address", "string", ["172.16.1.8", "172.16.1.9"], true),
  f("alias.remoteClients", "A", AL(0, 1), "remoteClients", "boolean", [true], true),
  f("alias.localClients", "A", AL(0, 1), "localClients", "boolean", [true, false], true),
  unknownKey("alias", "A", AL(0, 1)),
  // the mixed seed: fwmark, IPv6, gatewaying, flags, thresholds
  // Without fwmark the service is an address service missing address and port.
  f("mark.fwmark", "B", VS(3), "fwmark", "number", [7, 1, 4294967295], false, { siblings: ["address", "port"] }),
  f("mark.family", "B", VS(3), "family", "string", ["ipv4", "ipv6"], true, { siblings: ["realServers", "aliases"] }),
  f("mark.schedulerFlags[0]", "B", [...VS(3), "schedulerFlags"], 0, "string", ["mh-port", "mh-fallback"], false),
  f("mark.rs.port", "B", RS(3, 0), "port", "number", [0, 80], true),
  f("mark.rs.address", "B", RS(3, 0), "address", "string", ["10.0.0.2"], false),
  f("v6.address", "B", VS(2), "address", "string", ["fd00:16::8", "FD00:16:0:0:0:0:0:8"], false, { siblings: ["realServers", "aliases"] }),
  f("v6.persistence.netmask", "B", [...VS(2), "persistence"], "netmask", "number", [64, 1, 128], true),
  f("v6.rs.address", "B", RS(2, 0), "address", "string", ["fd00:16::8", "fd00:16::9"], false),
  f("v6.alias.address", "B", AL(2, 0), "address", "string", ["fd00:16::8"], true),
  f("dns.persistence.netmask", "B", [...VS(1), "persistence"], "netmask", "string", ["255.255.255.0", "255.255.255.255"], true),
  f("dns.rs.port", "B", RS(1, 0), "port", "number", [53], true),
];

/** Applies a field's varied value to a fresh seed. */
export function mutate(field: Field, value: unknown): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const host = SEEDS[field.seed]() as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  field.prepare?.(host);
  applyTo(host, field, value);
  return host;
}

export function applyTo(host: Record<string, unknown>, field: Field, value: unknown): void {
  let cur = host as Record<string | number, unknown>;
  for (const s of field.segs) {
    if (cur[s] === undefined || cur[s] === null || typeof cur[s] !== "object") cur[s] = typeof s === "number" ? [] : {};
    cur = cur[s] as Record<string | number, unknown>;
  }
  const key = field.mode === "key" ? (value as string) : field.key;
  const v = field.mode === "key" ? field.keyValue : value;
  if (v === undefined) delete cur[key];
  else Object.defineProperty(cur, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Spec path of the varied field, as IpvsModelError paths spell it. */
export function specTarget(field: Field, value: unknown, hostPath = "spec.hosts[0]"): string {
  let p = hostPath;
  for (const s of field.segs) p += typeof s === "number" ? `[${s}]` : `.${s}`;
  // sysctls issues are spelt sysctls["key"] (escaped or not): any of them names the map.
  if (field.segs[field.segs.length - 1] === "sysctls") return p;
  if (field.mode === "key") return joinProp(p, String(value));
  return typeof field.key === "number" ? `${p}[${field.key}]` : `${p}.${field.key}`;
}

/** Spec paths of a field's siblings (see Field.siblings). */
export function siblingTargets(field: Field, hostPath = "spec.hosts[0]"): string[] {
  let p = hostPath;
  for (const s of field.segs) p += typeof s === "number" ? `[${s}]` : `.${s}`;
  return (field.siblings ?? []).map((s) => `${p}.${s}`);
}

export function joinProp(p: string, prop: string): string {
  return prop === "" ? p : /^[A-Za-z_$]/.test(prop) ? `${p}.${prop}` : `${p}${prop}`;
}
