/**
 * Shape checks against the shipped JSON schema (schema/spec.schema.json), before any semantic
 * check: wrong types, unknown props, missing props, enums and integer ranges. Ajv's errors are
 * turned into ModelIssues with the same paths, props and wording as the semantic checks, so a
 * spec.json and construct props get the same messages.
 */
import Ajv, { ErrorObject, ValidateFunction } from "ajv";
import * as fs from "fs";
import * as path from "path";
import { IssueCollector, ModelIssue, showValue } from "./errors";
import { ALIAS_METHODS, FORWARDING_METHODS, PROTOCOLS, SCHEDULERS, SCHEDULER_FLAGS } from "./spec";

// ---- texts shared with the semantic checks (lib/model/build.ts) ----

export const NOT_A_TOKEN = "is an unresolved Terraform token; IPVS settings must be known at synth time (plain values)";
export const NOT_AN_ADDRESS = "is not an IP address; allowed: an IPv4 address (172.16.1.8) or an IPv6 address (fd00::8)";
export const NOT_AN_SSH_HOST = "is not an IP address or DNS name; allowed: an IPv4 or IPv6 address, or a DNS name of A–Z a–z 0–9 _ . - (at most 253 characters)";
export const NOT_A_SYSCTL_NAME = "is not a sysctl name; allowed: dotted names like net.ipv4.vs.expire_nodest_conn";
export const NOT_A_SYSCTL_VALUE = "is not an allowed sysctl value; allowed: an integer or a word of A–Z a–z 0–9 _ . : - (1–64 characters)";
export const NEEDS_ADDRESS_OR_FWMARK = "is missing; a virtual service needs address and port, or fwmark";
export const FWMARK_AND_ADDRESS = "cannot be combined with address/port; a virtual service is either address+port or a firewall mark";

export function nameProblem(max: number): string {
  return `is not a valid name; allowed: 1–${max} characters of A–Z a–z 0–9 _ . -, starting with a letter or digit`;
}

/** `must be an integer; allowed 1–65535` or `is out of range; allowed 1–65535`. */
export function intProblem(value: unknown, min: number, max: number, unit = ""): string {
  const isInteger = typeof value === "number" && Number.isInteger(value);
  return `${isInteger ? "is out of range" : "must be an integer"}; allowed ${min}–${max}${unit}`;
}

export function isTokenLike(v: unknown): boolean {
  // cdktf tokens (`${TfToken[...]}`) are resolved by Terraform, not by us: a host script needs
  // concrete values, so say so instead of failing with a confusing pattern error.
  return typeof v === "string" && v.includes("${");
}

// ---- the schema ----

/**
 * The shipped schema. From lib/model (ts-jest, ts-node) it is ../../schema; from dist/lib/model
 * (tsc's outDir is dist, rootDir the package root) it is ../../../schema. package.json ships
 * "schema" next to "dist".
 */
export function specSchemaPath(): string {
  const candidates = [path.join(__dirname, "../../schema/spec.schema.json"), path.join(__dirname, "../../../schema/spec.schema.json")];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`cdktf-ipvs: cannot find schema/spec.schema.json (looked at ${candidates.join(", ")}); the package is incomplete`);
  return found;
}

interface Validators {
  readonly host: ValidateFunction;
  readonly top: ValidateFunction;
}
let validators: Validators | undefined;

function compiled(): Validators {
  if (validators) return validators;
  const schema = JSON.parse(fs.readFileSync(specSchemaPath(), "utf8")) as { $id: string; properties: Record<string, unknown> } & Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true });
  ajv.addSchema(schema);
  const host = ajv.compile({ $ref: `${schema.$id}#/definitions/host` });
  // The top level without the hosts' insides: buildDesiredHost checks each host with its own paths.
  const { $id: _id, definitions: _defs, ...rest } = schema;
  const top = ajv.compile({ ...rest, properties: { ...schema.properties, hosts: { type: "array" } } });
  validators = { host, top };
  return validators;
}

// ---- mapping ajv errors to issues ----

/** Names places like lib/model/build.ts's PathNamer (kept structural to avoid an import cycle). */
export interface ShapePathNamer {
  readonly host: string;
  service(index: number, spec: never): string;
  realServer(servicePath: string, index: number): string;
  alias(servicePath: string, index: number): string;
}

type Owner = "spec" | "host" | "virtualService" | "realServer" | "alias";

interface Place {
  readonly path: string;
  readonly owner: Owner;
  /** Segments below the owner: ["persistence", "timeout"], ["sysctls", "net.ipv4.x"]. */
  readonly rest: readonly string[];
}

const isIndex = (s: string | undefined): s is string => s !== undefined && /^(0|[1-9]\d*)$/.test(s);

function get(data: unknown, seg: string): unknown {
  if (typeof data !== "object" || data === null || !Object.prototype.hasOwnProperty.call(data, seg)) return undefined;
  return (data as Record<string, unknown>)[seg];
}

function locate(segs: readonly string[], host: unknown, paths: ShapePathNamer): Place {
  if (segs[0] === "virtualServices" && isIndex(segs[1])) {
    const i = Number(segs[1]);
    const svc = get(get(host, "virtualServices"), segs[1]);
    const svcPath = paths.service(i, svc as never);
    const rest = segs.slice(2);
    if ((rest[0] === "realServers" || rest[0] === "aliases") && isIndex(rest[1])) {
      const j = Number(rest[1]);
      return rest[0] === "realServers"
        ? { path: paths.realServer(svcPath, j), owner: "realServer", rest: rest.slice(2) }
        : { path: paths.alias(svcPath, j), owner: "alias", rest: rest.slice(2) };
    }
    return { path: svcPath, owner: "virtualService", rest };
  }
  return { path: paths.host, owner: "host", rest: segs };
}

/** `persistence.timeout`, `schedulerFlags[0]`, `sysctls["net.ipv4.vs.conntrack"]`. */
export function propName(segs: readonly string[]): string {
  let out = "";
  segs.forEach((seg, i) => {
    if (i > 0 && segs[i - 1] === "sysctls") out += `[${showValue(seg)}]`;
    else if (i > 0 && isIndex(seg)) out += `[${seg}]`;
    else out += i === 0 ? seg : `.${seg}`;
  });
  return out;
}

/** The field a text is looked up by: owner and props, indexes and sysctl keys as "*". */
function fieldOf(owner: Owner, segs: readonly string[]): string {
  return [owner, ...segs.map((s, i) => (isIndex(s) || (i > 0 && segs[i - 1] === "sysctls") ? "*" : s))].join(".");
}

const ENTITY_PROP: Record<Owner, string> = { spec: "spec", host: "host", virtualService: "virtualService", realServer: "realServer", alias: "alias" };

const EXPECTED_HOSTS = 'expected { "hosts": [ { "name": ..., "virtualServices": [...] } ] }';

/** What to say when a value has the wrong type or pattern, by field. */
const VALUE_TEXT: Readonly<Record<string, string>> = {
  "spec": `is not an object; ${EXPECTED_HOSTS}`,
  "spec.hosts": `is not a list; ${EXPECTED_HOSTS}`,
  "spec.$schema": "is not text; allowed: the path or URL of spec.schema.json",
  "host": "is not an object; expected { name, virtualServices: [...] }",
  "host.name": nameProblem(63),
  "host.virtualServices": "is not a list of virtual services",
  "host.localAddresses": "is not a list of addresses",
  "host.localAddresses.*": NOT_AN_ADDRESS,
  "host.sysctls": 'is not an object; expected e.g. { "net.ipv4.vs.expire_nodest_conn": 1 }',
  "host.sysctls.*": NOT_A_SYSCTL_VALUE,
  "host.ssh": "is not an object; expected { host, port }",
  "host.ssh.host": NOT_AN_SSH_HOST,
  "virtualService": "is not an object",
  "virtualService.name": nameProblem(40),
  "virtualService.address": NOT_AN_ADDRESS,
  "virtualService.schedulerFlags": "is not a list of scheduler flags",
  "virtualService.persistence": "is not an object; expected { timeout, netmask }",
  "virtualService.persistence.netmask": "is not a netmask; allowed: a dotted IPv4 netmask (255.255.255.0) or an IPv6 prefix length 1–128",
  "virtualService.realServers": "is not a list of real servers",
  "virtualService.aliases": "is not a list of aliases",
  "realServer": "is not an object",
  "realServer.address": NOT_AN_ADDRESS,
  "alias": "is not an object",
  "alias.address": NOT_AN_ADDRESS,
};

const ENUM_TEXT: Readonly<Record<string, string>> = {
  "virtualService.protocol": `is not supported; allowed: ${PROTOCOLS.join(", ")}`,
  "virtualService.family": "is not an address family; allowed: ipv4, ipv6",
  "virtualService.scheduler": `is not an IPVS scheduler; allowed: ${SCHEDULERS.join(", ")}`,
  "virtualService.schedulerFlags.*": `is not a scheduler flag; allowed: ${Object.keys(SCHEDULER_FLAGS).join(", ")}`,
  "realServer.forwarding": `is not a forwarding method; allowed: ${FORWARDING_METHODS.join(", ")}`,
  "alias.method": `is not an alias method; allowed: ${ALIAS_METHODS.join(", ")}`,
};

const UNIT: Readonly<Record<string, string>> = {
  "virtualService.persistence.timeout": " seconds",
  "virtualService.drainTimeoutSeconds": " seconds",
  "host.drainTimeoutSeconds": " seconds",
  "realServer.upperThreshold": " (0 = no limit)",
};

const MISSING_TEXT: Readonly<Record<string, string>> = {
  "spec.hosts": `is missing; ${EXPECTED_HOSTS}`,
  "host.name": "is missing; give the host a name (1–63 characters of A–Z a–z 0–9 _ . -)",
  "host.ssh.host": "is missing; give the address or DNS name Terraform connects to over SSH",
  "virtualService.name": "is missing; give the virtual service a name (1–40 characters of A–Z a–z 0–9 _ . -)",
  "virtualService.persistence.timeout": "is missing; allowed 1–2678400 seconds",
  "realServer.address": "is missing; a real server needs an address",
  "realServer.forwarding": `is missing; allowed: ${FORWARDING_METHODS.join(", ")}`,
  "alias.port": "is missing; allowed 1–65535",
};

interface Shaped {
  readonly prop: string;
  readonly value: unknown;
  readonly problem: string;
}

function describe(err: ErrorObject, place: Place): Shaped[] {
  const { owner, rest } = place;
  const field = fieldOf(owner, rest);
  const prop = rest.length === 0 ? ENTITY_PROP[owner] : propName(rest);
  const value = err.data;
  const parent = (err.parentSchema ?? {}) as { minimum?: number; maximum?: number; properties?: Record<string, unknown> };
  const child = (name: string): Shaped["prop"] => propName([...rest, name]);

  switch (err.keyword) {
    case "required": {
      const missing = String((err.params as { missingProperty: string }).missingProperty);
      const f = fieldOf(owner, [...rest, missing]);
      return [{ prop: child(missing), value: undefined, problem: MISSING_TEXT[f] ?? "is missing" }];
    }
    case "additionalProperties": {
      const extra = String((err.params as { additionalProperty: string }).additionalProperty);
      const extraValue = get(value, extra);
      // Construct props spell "not given" as undefined; JSON cannot, so this only skips those.
      if (extraValue === undefined) return [];
      const allowed = Object.keys(parent.properties ?? {}).join(", ");
      return [{ prop: child(extra), value: extraValue, problem: `is not a known prop; allowed: ${allowed}` }];
    }
    case "propertyNames":
      return []; // reported by the failing keyword inside, with err.propertyName
    case "oneOf": {
      // virtualService: address+port, or fwmark.
      if (typeof value !== "object" || value === null || Array.isArray(value)) return []; // "is not an object" says it
      const passing = (err.params as { passingSchemas: number[] | null }).passingSchemas;
      if (passing) return [{ prop: child("fwmark"), value: get(value, "fwmark"), problem: FWMARK_AND_ADDRESS }];
      return ["address", "port"]
        .filter((p) => get(value, p) === undefined)
        .map((p) => ({ prop: child(p), value: undefined, problem: NEEDS_ADDRESS_OR_FWMARK }));
    }
    default:
      break;
  }

  if (err.propertyName !== undefined) {
    // A sysctl key that is not one; the issue is about the key, so show the key.
    return [{ prop: propName([...rest, err.propertyName]), value: err.propertyName, problem: isTokenLike(err.propertyName) ? NOT_A_TOKEN : NOT_A_SYSCTL_NAME }];
  }
  if (isTokenLike(value)) return [{ prop, value, problem: NOT_A_TOKEN }];

  const type = err.keyword === "type" ? (err.params as { type: string }).type : undefined;
  if (type === "integer" || err.keyword === "minimum" || err.keyword === "maximum") {
    if (parent.minimum !== undefined && parent.maximum !== undefined) {
      return [{ prop, value, problem: intProblem(value, parent.minimum, parent.maximum, UNIT[field] ?? "") }];
    }
  }
  if (err.keyword === "enum" && ENUM_TEXT[field]) return [{ prop, value, problem: ENUM_TEXT[field] }];
  if (err.keyword === "uniqueItems") {
    const i = (err.params as { i: number }).i;
    return [{ prop: child(String(i)), value: Array.isArray(value) ? value[i] : undefined, problem: "is given twice" }];
  }
  if (VALUE_TEXT[field]) return [{ prop, value, problem: VALUE_TEXT[field] }];
  if (type === "boolean") return [{ prop, value, problem: "is not a boolean" }];
  if (err.keyword === "enum") {
    const allowed = ((err.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String).join(", ");
    return [{ prop, value, problem: `is not allowed; allowed: ${allowed}` }];
  }
  return [{ prop, value, problem: `does not match the schema (${err.message ?? err.keyword})` }];
}

function decode(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function toIssues(errors: readonly ErrorObject[], placeOf: (segs: string[]) => Place): ModelIssue[] {
  const c = new IssueCollector();
  const seen = new Set<string>();
  for (const err of errors) {
    if (err.schemaPath.includes("/oneOf/")) continue; // the branches; the oneOf error itself says it
    const place = placeOf(decode(err.instancePath));
    for (const s of describe(err, place)) {
      const key = `${place.path}\u0000${s.prop}`;
      if (seen.has(key)) continue;
      seen.add(key);
      c.add(place.path, s.prop, s.value, s.problem);
    }
  }
  return [...c.issues];
}

/** Shape problems of one host (a HostSpec as JSON or as construct props). */
export function hostShapeIssues(host: unknown, paths: ShapePathNamer): ModelIssue[] {
  const validate = compiled().host;
  if (validate(host)) return [];
  return toIssues(validate.errors ?? [], (segs) => locate(segs, host, paths));
}

/** Shape problems of a spec.json's top level (each host is checked by hostShapeIssues). */
export function specShapeIssues(spec: unknown): ModelIssue[] {
  const validate = compiled().top;
  if (validate(spec)) return [];
  return toIssues(validate.errors ?? [], (segs) => ({ path: "spec", owner: "spec", rest: segs }));
}
