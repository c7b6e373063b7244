/**
 * The same property for the constructs: every hostile construct prop or construct id is either
 * rejected with an IpvsModelError (from the IpvsHost constructor, addVirtualService, addRealServer,
 * addAlias or Testing.synth) naming the construct path and prop, with a printable message; or
 * accepted, and then the scripts pass `sh -n`, hold the value only in inert positions, and the
 * synthesized cdk.tf.json read back through Terraform gives: the upload bundle's exact base64
 * text, which unpacks to exactly the rendered scripts; every step's trigger entries (keys and
 * values, where user text such as host names, paths and service names now also lands) as exactly
 * the review entries; and the exact connection strings (see stack-readback.ts). Terraform's
 * reading is modelled in-process for every case and confirmed with a real Terraform on a sample.
 *
 * Terraform runs twice for the whole file, not per case: one `apply` of an outputs-only config
 * for the round trip, one `validate` over many synthesized stacks.
 */
import { TerraformStack, Testing } from "cdktf";
import fc from "fast-check";
import { IpvsHost } from "../../lib/constructs";
import { RenderedHost, bundleScripts } from "../../lib/render";
import { acceptedProblem, rejectionProblem, writeSurvey } from "./checks";
import { Field, Kind, SEEDS, SPEC_FIELDS, mutate } from "./fields";
import { StackReadback, readingProblem, stackReadback } from "./stack-readback";
import { RoundTripItem, terraformLiteral, terraformRoundTrip, terraformValidateStacks } from "./terraform-roundtrip";
import {
  EXOTIC_VALUES,
  FC_SEED,
  HOSTILE_KEYS,
  HOSTILE_STRINGS,
  SAFE_VALUE,
  SURVEY,
  ScriptBatch,
  surveyValues,
  configureFastCheck,
  describe as show,
  fieldValue,
  hostileString,
  runs,
  stringsIn,
} from "./support";

configureFastCheck();

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Scripts = Readonly<Record<string, string>>;

/** Everything the seed construct tree is built from; a field changes one part. */
interface Decl {
  stackId: string;
  hostId: string;
  hostProps: Json;
  svcId: string;
  svcProps: Json;
  realServers: Json[];
  aliases: Json[];
}

let portCounter = 20000;
function seedDecl(): Decl {
  return {
    stackId: "test",
    hostId: "lb1",
    hostProps: {
      connection: { host: "127.0.0.1", port: 2222, privateKeyPath: "/keys/id" },
      engine: "terraform_data",
      localAddresses: ["10.0.0.1"],
      sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
    },
    svcId: "app",
    svcProps: { protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" },
    realServers: [
      { address: "172.16.1.8", port: 1001, forwarding: "masquerade" },
      { address: "172.16.1.8", port: 1002, forwarding: "masquerade" },
    ],
    aliases: [
      { port: 1010, method: "redirect" },
      { port: 1020, method: "dnat" },
    ],
  };
}

/** As constructs 10 does: "/" (path separator) and "\n" (address separator) become "--". */
const sanitizeId = (id: string) => id.replace(/[/\n]/g, "--");
const hostPathOf = (d: Decl) => `${d.stackId}/${sanitizeId(d.hostId)}`;
const svcPathOf = (d: Decl) => `${hostPathOf(d)}/${sanitizeId(d.svcId)}`;
/** The same paths spelt with the id as given (a library may name a refused id that way). */
const rawHostPathOf = (d: Decl) => `${d.stackId}/${d.hostId}`;
const rawSvcPathOf = (d: Decl) => `${hostPathOf(d)}/${d.svcId}`;

function setProp(obj: Json, key: string, value: unknown): void {
  if (value === undefined) delete obj[key];
  else Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

interface CField {
  readonly label: string;
  readonly kind: Kind;
  readonly optional: boolean;
  readonly arb: fc.Arbitrary<unknown>;
  /** Valid values (what the survey glues hostile fragments onto); "key" fields vary object keys. */
  readonly valid?: readonly unknown[];
  readonly mode?: "value" | "key";
  apply(d: Decl, v: unknown): void;
  /** Where a rejection must point (any one of these). */
  targets(d: Decl, v: unknown): string[];
  /** The value must reach Terraform unchanged (compared after the round trip). */
  readonly tfAttr?: (json: Json) => { label: string; tfText: unknown }[];
}

function hostField(label: string, kind: Kind, valid: unknown[], optional: boolean, extra: Partial<CField> = {}): CField {
  const parts = label.split(".");
  return {
    label,
    kind,
    optional,
    arb: fieldValue(kind, valid),
    valid,
    apply: (d, v) => {
      if (parts.length === 1) setProp(d.hostProps, parts[0], v);
      else {
        d.hostProps.connection = { ...d.hostProps.connection };
        setProp(d.hostProps.connection, parts[1], v);
      }
    },
    targets: (d) => [`${hostPathOf(d)}.${label}`],
    ...extra,
  };
}

function svcField(prop: string, kind: Kind, valid: unknown[], optional: boolean): CField {
  // A service address or family of the other family is refused where the mix shows: at the real
  // servers and aliases, which keep the old family.
  const crossFamily = (d: Decl) =>
    prop === "address" || prop === "family" ? [0, 1].flatMap((i) => [`${svcPathOf(d)}/realServer[${i}].address`, `${svcPathOf(d)}/alias[${i}].address`]) : [];
  return {
    label: `svc.${prop}`,
    kind,
    optional,
    arb: fieldValue(kind, valid),
    valid,
    apply: (d, v) => setProp(d.svcProps, prop, v),
    targets: (d) => [`${svcPathOf(d)}.${prop}`, ...crossFamily(d)],
  };
}

function rsField(prop: string, kind: Kind, valid: unknown[], optional: boolean, prepare?: (d: Decl) => void): CField {
  return {
    label: `realServer[1].${prop}`,
    kind,
    optional,
    arb: fieldValue(kind, valid),
    valid,
    apply: (d, v) => {
      prepare?.(d);
      setProp(d.realServers[1], prop, v);
    },
    targets: (d) => [`${svcPathOf(d)}/realServer[1].${prop}`],
  };
}

function aliasField(prop: string, kind: Kind, valid: unknown[], optional: boolean): CField {
  return {
    label: `alias[1].${prop}`,
    kind,
    optional,
    arb: fieldValue(kind, valid),
    valid,
    apply: (d, v) => setProp(d.aliases[1], prop, v),
    targets: (d) => [`${svcPathOf(d)}/alias[1].${prop}`],
  };
}

const idArb = fc.oneof(hostileString(["lb1", "app"]), fc.constantFrom(...HOSTILE_KEYS));

const FIELDS: readonly CField[] = [
  {
    label: "IpvsHost id (no hostName)",
    kind: "string",
    optional: false,
    arb: idArb,
    valid: ["lb1"],
    apply: (d, v) => (d.hostId = v as string),
    targets: (d) => [`${hostPathOf(d)}.name`, `${hostPathOf(d)}.hostName`, `${hostPathOf(d)}.id`, hostPathOf(d), rawHostPathOf(d), `${d.stackId}.id`],
  },
  {
    label: "IpvsHost id (hostName lb1)",
    kind: "string",
    optional: false,
    arb: idArb,
    valid: ["lb1"],
    apply: (d, v) => {
      d.hostId = v as string;
      d.hostProps.hostName = "lb1";
    },
    targets: (d) => [`${hostPathOf(d)}.id`, hostPathOf(d), rawHostPathOf(d), `${d.stackId}.id`],
  },
  {
    label: "VirtualService id",
    kind: "string",
    optional: false,
    arb: idArb,
    valid: ["app"],
    apply: (d, v) => (d.svcId = v as string),
    targets: (d) => [`${svcPathOf(d)}.name`, `${svcPathOf(d)}.id`, svcPathOf(d), rawSvcPathOf(d), `${hostPathOf(d)}.id`],
  },
  hostField("hostName", "string", ["lb1", "lb-1.x_y"], true, { targets: (d) => [`${hostPathOf(d)}.hostName`, `${hostPathOf(d)}.name`] }),
  hostField("engine", "string", ["terraform_data"], true),
  hostField("converge", "string", ["on-change", "every-deploy"], true),
  hostField("connection", "object", [{ host: "127.0.0.1" }], false),
  hostField("connection.host", "string", ["127.0.0.1", "lb1.example.com", "fd00::1"], false, {
    tfAttr: (r) => [{ label: "triggers.host", tfText: triggersOf(r).host }],
  }),
  hostField("connection.user", "string", ["root", "deploy"], true, { tfAttr: (r) => [{ label: "triggers.user", tfText: triggersOf(r).user }] }),
  hostField("connection.port", "number", [22, 2222, 65535], true, { tfAttr: (r) => [{ label: "triggers.port", tfText: triggersOf(r).port }] }),
  hostField("connection.timeout", "string", ["5m", "30s", "1h"], true, { tfAttr: (r) => [{ label: "connection.timeout", tfText: r.connection?.timeout }] }),
  hostField("connection.hostKey", "string", ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHost"], true, {
    tfAttr: (r) => [{ label: "connection.host_key", tfText: r.connection?.host_key }],
  }),
  hostField("connection.privateKeyPath", "string", ["/keys/id", "~/.ssh/id_ed25519", "keys/id rsa"], true, {
    tfAttr: (r) => [{ label: "private_key_path", tfText: (r.input ?? r.triggers)?.private_key_path }],
  }),
  hostField("connection.agent", "boolean", [true, false], true),
  hostField("connection.privateKey", "any", [], true),
  hostField("conntrack", "boolean", [true], true),
  hostField("localAddresses", "array", [["10.0.0.1"]], true),
  {
    label: "localAddresses[0]",
    kind: "string",
    optional: false,
    arb: fieldValue("string", ["10.0.0.1", "fd00::1"]),
    valid: ["10.0.0.1"],
    apply: (d, v) => (d.hostProps.localAddresses = [v]),
    targets: (d) => [`${hostPathOf(d)}.localAddresses[0]`, `${hostPathOf(d)}.localAddresses`],
  },
  hostField("sysctls", "object", [{}], true),
  {
    label: "sysctls<key>",
    mode: "key",
    kind: "string",
    optional: false,
    arb: fc.constantFrom(...HOSTILE_KEYS),
    apply: (d, v) => (d.hostProps.sysctls = JSON.parse(`{${JSON.stringify(v)}: 1}`)),
    targets: (d) => [`${hostPathOf(d)}.sysctls`],
  },
  {
    label: 'sysctls["net.ipv4.vs.expire_nodest_conn"]',
    kind: "string",
    optional: false,
    arb: fieldValue("string", ["1", "abc"]),
    valid: ["1"],
    apply: (d, v) => (d.hostProps.sysctls = { "net.ipv4.vs.expire_nodest_conn": v }),
    targets: (d) => [`${hostPathOf(d)}.sysctls`],
  },
  svcField("protocol", "string", ["tcp", "udp"], true),
  svcField("address", "string", ["172.16.1.8"], false),
  svcField("port", "number", [1000, 1, 65535], false),
  svcField("family", "string", ["ipv4"], true),
  svcField("scheduler", "string", ["rr", "sh", "wlc"], true),
  svcField("schedulerFlags", "array", [[]], true),
  svcField("persistence", "object", [{ timeout: 300 }], true),
  {
    label: "svc.persistence.timeout",
    kind: "number",
    optional: false,
    arb: fieldValue("number", [300, 1]),
    valid: [300],
    apply: (d, v) => (d.svcProps.persistence = { timeout: v }),
    targets: (d) => [`${svcPathOf(d)}.persistence.timeout`, `${svcPathOf(d)}.persistence`],
  },
  {
    label: "svc.<unknown prop>",
    mode: "key",
    kind: "any",
    optional: true,
    arb: fc.constantFrom(...HOSTILE_KEYS),
    apply: (d, v) => setProp(d.svcProps, v as string, 1),
    targets: (d, v) => [`${svcPathOf(d)}${/^[A-Za-z_$]/.test(v as string) ? "." : ""}${v}`],
  },
  {
    label: "addRealServer props",
    kind: "object",
    optional: false,
    arb: fieldValue("object", [{}]),
    apply: (d, v) => (d.realServers[1] = v as Json),
    targets: (d) => [`${svcPathOf(d)}/realServer[1]`],
  },
  rsField("address", "string", ["172.16.1.8", "10.0.0.2"], false),
  rsField("port", "number", [1002, 1, 65535], true),
  rsField("forwarding", "string", ["masquerade"], false),
  rsField("weight", "number", [0, 1, 65535], true),
  rsField("upperThreshold", "number", [0, 100], true),
  rsField("lowerThreshold", "number", [0, 10], true, (d) => (d.realServers[1].upperThreshold = 100)),
  {
    label: "addAlias props",
    kind: "object",
    optional: false,
    arb: fieldValue("object", [{}]),
    apply: (d, v) => (d.aliases[1] = v as Json),
    targets: (d) => [`${svcPathOf(d)}/alias[1]`],
  },
  aliasField("port", "number", [1020, 1, 65535], false),
  aliasField("method", "string", ["dnat", "redirect"], true),
  aliasField("address", "string", ["172.16.1.8"], true),
  aliasField("remoteClients", "boolean", [true], true),
  aliasField("localClients", "boolean", [false], true),
];

// ---------------------------------------------------------------------------------------------

const batch = new ScriptBatch();
/** Per accepted case: what every run sends to Terraform, and what only sampled cases send (large). */
const roundTrip: { label: string; interesting: number; items: RoundTripItem[]; sampled: RoundTripItem[] }[] = [];
const stacksToValidate: { label: string; interesting: number; json: Json }[] = [];
let baseline: Scripts | undefined;

class Built {
  constructor(
    readonly lb: IpvsHost,
    readonly json: Json,
  ) {}
}

/** Builds the declarations as a user would: constructor, then one add* call per item, then synth. */
function build(d: Decl): Built {
  const app = Testing.app();
  const stack = new TerraformStack(app, d.stackId);
  const lb = new IpvsHost(stack, d.hostId, d.hostProps as never);
  const svc = lb.addVirtualService(d.svcId, d.svcProps as never);
  for (const rs of d.realServers) svc.addRealServer(rs as never);
  for (const a of d.aliases) svc.addAlias(a as never);
  return new Built(lb, JSON.parse(Testing.synth(stack)));
}

/** A step resource's triggers: triggers_replace (terraform_data) or triggers (null_resource). */
function triggersOf(r: Json): Json {
  return (r.triggers_replace ?? r.triggers ?? {}) as Json;
}

function stepOf(r: Json): string {
  return String(triggersOf(r).step);
}

function stepResources(json: Json): Json[] {
  return [...Object.values(json.resource?.terraform_data ?? {}), ...Object.values(json.resource?.null_resource ?? {})] as Json[];
}

function typeProblem(field: CField, value: unknown): string | undefined {
  if (field.kind === "any" || value === undefined || (value === null && field.optional)) return undefined;
  const ok =
    field.kind === "array"
      ? Array.isArray(value)
      : field.kind === "object"
        ? typeof value === "object" && value !== null && !Array.isArray(value)
        : field.label.startsWith("sysctls[") // sysctl values are string | number
          ? typeof value === "string" || typeof value === "number"
          : typeof value === field.kind;
  return ok ? undefined : `accepted a ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value} for ${field.kind} prop ${field.label}: ${show(value)}`;
}

function checkConstructCase(field: CField, value: unknown): void {
  const d = seedDecl();
  // Each case its own machine, so "one IpvsHost per machine" never joins unrelated cases.
  d.hostProps.connection.port = 20000 + (portCounter++ % 40000);
  field.apply(d, value);
  let built: Built;
  try {
    built = build(d);
  } catch (e) {
    const problem = rejectionProblem(e, field.targets(d, value));
    if (problem) throw new Error(problem);
    return;
  }
  const t = typeProblem(field, value);
  if (t) throw new Error(t);
  const label = `${field.label}=${show(value)}`;
  const scripts: Scripts = { ...built.lb.rendered.scripts };
  baseline ??= { ...build(seedDecl()).lb.rendered.scripts };
  const problem = acceptedProblem(batch, label, scripts, baseline, [value]);
  if (problem) throw new Error(problem);

  // What Terraform must read back: the upload bundle (unpacking to exactly the scripts), every
  // step's trigger entries (user text in keys and values), and the connection strings we were given.
  // Terraform-template-looking values first (they are what the round trip is about), then any unsafe text.
  const texts = stringsIn(value);
  const interesting = texts.some((s) => s.includes("${") || s.includes("%{")) ? 2 : texts.some((s) => !SAFE_VALUE.test(s)) ? 1 : 0;
  const conn = d.hostProps.connection as Json;
  let readback: StackReadback;
  try {
    readback = stackReadback(label, built.json, built.lb.rendered, {
      host: conn.host,
      port: String(conn.port ?? 22),
      user: conn.user ?? "root",
      privateKeyPath: conn.privateKeyPath,
    });
  } catch (e) {
    throw new Error(`accepted, but ${(e as Error).message}`);
  }
  const items: RoundTripItem[] = [...readback.items];
  for (const r of stepResources(built.json)) {
    if (field.tfAttr && typeof value === "string") {
      for (const found of field.tfAttr(r)) {
        // A connection attribute may be a reference to the resource's own input (`${self.input.x}`): follow it.
        const self = typeof found.tfText === "string" ? /^\$\{self\.([a-z_]+)\.([a-z_]+)\}$/.exec(found.tfText) : null;
        const a = self ? { label: `${self[1]}.${self[2]}`, tfText: r[self[1]]?.[self[2]] } : found;
        if (a.tfText === undefined) continue;
        if (typeof a.tfText !== "string") throw new Error(`accepted ${show(value)} for ${field.label}, but cdk.tf.json holds a ${typeof a.tfText} at ${a.label}: ${show(a.tfText)}`);
        items.push({ label: `${label}: ${stepOf(r)} ${a.label}`, tfText: a.tfText, expected: value });
      }
    }
  }
  // Every case, in-process: Terraform's reading of each string (and each key and value of each
  // trigger map) must be the exact text (the batch below confirms this reading with a real
  // Terraform on a sample).
  for (const item of [...items, ...readback.sampled]) {
    const p = readingProblem(item, `${label}: `);
    if (p) throw new Error(`accepted, but ${p}`);
  }
  roundTrip.push({ label, interesting, items, sampled: readback.sampled });
  if (d.hostProps.engine === "terraform_data") stacksToValidate.push({ label, interesting, json: built.json });
}

describe(`construct props and ids, one at a time (fast-check seed ${FC_SEED})`, () => {
  test.each(FIELDS.map((f) => [f.label, f] as const))("%s", (_label, field) => {
    fc.assert(
      fc.property(field.arb, (value) => checkConstructCase(field, value)),
      { numRuns: runs(20) },
    );
  });
});

describe("IpvsHost.fromSpec with one hostile spec field (the CLI's spec shape through the construct)", () => {
  // Paths differ from spec paths here (construct paths), so a rejection only has to be an
  // IpvsModelError under the host's construct path with printable messages.
  test.each(SPEC_FIELDS.map((f) => [f.label, f] as const))("%s", (_label, field) => {
    fc.assert(
      fc.property(field.arb, (value) => checkFromSpecCase(field, value)),
      { numRuns: runs(8) },
    );
  });
});

function checkFromSpecCase(field: Field, value: unknown): void {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  const port = 20000 + (portCounter++ % 40000);
  let lb: IpvsHost;
  let json: Json;
  try {
    lb = IpvsHost.fromSpec(stack, "lb", mutate(field, value) as never, { connection: { host: "127.0.0.1", port }, engine: "terraform_data" } as never);
    json = JSON.parse(Testing.synth(stack));
  } catch (e) {
    const problem = rejectionProblem(e, ["test/lb"]);
    if (problem) throw new Error(problem);
    return;
  }
  const label = `fromSpec ${field.label}=${show(value)}`;
  const problem = acceptedProblem(batch, label, { ...lb.rendered.scripts }, fromSpecBaseline(field.seed), [value]);
  if (problem) throw new Error(problem);
  // Spec text (host and service names, addresses) reaches the triggers too: the same read-back.
  let readback: StackReadback;
  try {
    readback = stackReadback(label, json, lb.rendered, { host: "127.0.0.1", port: String(port), user: "root" });
  } catch (e) {
    throw new Error(`accepted, but ${(e as Error).message}`);
  }
  for (const item of [...readback.items, ...readback.sampled]) {
    const p = readingProblem(item, `${label}: `);
    if (p) throw new Error(`accepted, but ${p}`);
  }
  const texts = stringsIn(value);
  const interesting = texts.some((s) => s.includes("${") || s.includes("%{")) ? 2 : texts.some((s) => !SAFE_VALUE.test(s)) ? 1 : 0;
  roundTrip.push({ label, interesting, items: readback.items, sampled: readback.sampled });
}

const fromSpecBaselines: Record<string, Scripts> = {};
function fromSpecBaseline(seed: "A" | "B"): Scripts {
  if (!fromSpecBaselines[seed]) {
    const stack = new TerraformStack(Testing.app(), "test");
    fromSpecBaselines[seed] = { ...IpvsHost.fromSpec(stack, "lb", SEEDS[seed]() as never, { connection: { host: "127.0.0.1", port: 1 } } as never).rendered.scripts };
  }
  return fromSpecBaselines[seed];
}

describe("construct props: exotic JavaScript values", () => {
  test.each(FIELDS.filter((f) => !f.label.includes(" id") && !f.label.includes("<")).map((f) => [f.label, f] as const))("%s", (_label, field) => {
    fc.assert(
      fc.property(fc.constantFrom(...EXOTIC_VALUES), (value) => checkConstructCase(field, value)),
      { numRuns: runs(5) },
    );
  });
});

describe("construct props: Terraform template text in every string prop", () => {
  const templates = HOSTILE_STRINGS.filter((s) => s.includes("${") || s.includes("%{"));
  const stringFields = FIELDS.filter((f) => f.kind === "string");
  test.each(stringFields.map((f) => [f.label, f] as const))("%s", (_label, field) => {
    for (const t of templates) checkConstructCase(field, t);
  });
});

/**
 * At most `n` cases for the (slow) Terraform batches: per round, one more case of each field —
 * Terraform-template-looking values first, then other unsafe text — and plain values last.
 */
function pickSpread<T extends { label: string; interesting: number }>(cases: readonly T[], n: number): T[] {
  const field = (c: T) => c.label.split("=")[0];
  const byTier = (tier: number) => {
    const groups = new Map<string, T[]>();
    for (const c of cases.filter((x) => x.interesting === tier)) groups.set(field(c), [...(groups.get(field(c)) ?? []), c]);
    return [...groups.values()];
  };
  const tiers = [byTier(2), byTier(1)];
  const out: T[] = [];
  for (let round = 0; out.length < n && tiers.some((t) => t.some((g) => g.length > round)); round++) {
    for (const groups of tiers) for (const g of groups) if (out.length < n && g[round]) out.push(g[round]);
  }
  for (const c of cases) if (out.length < n && c.interesting === 0) out.push(c);
  return out;
}

describe("construct props: the whole dictionary, deterministically, for props that are mostly refused (cheap)", () => {
  const swept = FIELDS.filter((f) => ["connection.host", "connection.user", "connection.port", "connection.timeout", "engine", "converge", "hostName"].includes(f.label));
  test.each(swept.map((f) => [f.label, f] as const))("%s", (_label, field) => {
    const problems: string[] = [];
    for (const value of surveyValues("value", field.valid ?? [])) {
      try {
        checkConstructCase(field, value);
      } catch (e) {
        problems.push(`${show(value)}: ${(e as Error).message.slice(0, 300)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("synthesized stacks, read back through Terraform (one batch)", () => {
  test("Terraform reads every upload bundle, trigger entry and connection string back as the exact text", () => {
    // Bundles and whole trigger maps are large: read back those of the most telling cases; every
    // connection string and every trigger entry that is not plain text, of every case.
    const chosen = pickSpread(roundTrip, 20);
    const items: RoundTripItem[] = [...chosen.flatMap((c) => c.sampled), ...roundTrip.flatMap((c) => c.items)];
    const seen = new Set<string>();
    const unique = items.filter((i) => {
      const k = JSON.stringify([i.tfText, i.expected]);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    // The sample holds bundles and whole trigger maps of both engines' worth of cases.
    expect(unique.filter((i) => i.label.endsWith(" upload bundle")).length).toBeGreaterThanOrEqual(10);
    expect(unique.filter((i) => / triggers$/.test(i.label)).length).toBeGreaterThanOrEqual(70);
    if (process.env.PROP_DEBUG) console.log(`${roundTrip.length} cases, ${unique.length} items sent to terraform`); // eslint-disable-line no-console
    // Calibration of terraformLiteral against the real thing.
    for (const text of ["a$${b} %%{c} $$ %% $${#1} ${", "x$$${y}"]) {
      const lit = terraformLiteral(text.endsWith("${") ? text.slice(0, -2) : text);
      if ("value" in lit) unique.push({ label: `calibration ${show(text)}`, tfText: text.endsWith("${") ? text.slice(0, -2) : text, expected: lit.value });
    }
    // ... and for the keys of a map (the triggers), which Terraform reads as templates as well.
    unique.push({ label: "calibration of map keys", tfText: { "a$${b}": "%%{c}", "$$${d}": "x" }, expected: { "a${b}": "%{c}", "$${d}": "x" } });
    const failures = terraformRoundTrip(unique);
    expect(
      failures.map((f) => `${f.label}: ${f.error ? `Terraform error: ${f.error}` : `got ${show(f.got)}, expected ${show(f.expected)}`}`),
    ).toEqual([]);
  });

  test("terraform validate accepts every synthesized stack (one init + validate for the batch)", () => {
    const chosen = pickSpread(stacksToValidate, 20);
    const failures = terraformValidateStacks(chosen);
    expect(failures.map((f) => `${f.label}: ${f.error}`)).toEqual([]);
  });

  test("sh -n passes for every distinct accepted script (one shell for the batch)", () => {
    const failures = batch.checkSyntax();
    expect(failures.map((f) => `${f.label}: ${f.name}: ${f.error}`)).toEqual([]);
  });
});

describe("the read-back checks themselves (negative controls)", () => {
  /** The seed, synthesized, and what the checks say about it after `tamper` changed cdk.tf.json (or the expectation). */
  function verdict(engine: string, tamper: (json: Json, rendered: RenderedHost) => RenderedHost | void, hostProps: Json = {}): string | undefined {
    const d = seedDecl();
    Object.assign(d.hostProps, hostProps, { engine });
    d.hostProps.connection.port = 20000 + (portCounter++ % 40000);
    const built = build(d);
    const json = JSON.parse(JSON.stringify(built.json)) as Json;
    const rendered = tamper(json, built.lb.rendered) ?? built.lb.rendered;
    const conn = { host: "127.0.0.1", port: String(d.hostProps.connection.port), user: "root", privateKeyPath: "/keys/id" };
    try {
      const rb = stackReadback("seed", json, rendered, conn);
      for (const item of [...rb.items, ...rb.sampled]) {
        const p = readingProblem(item, "seed: ");
        if (p) return p;
      }
    } catch (e) {
      return (e as Error).message;
    }
    return undefined;
  }
  const byStep = (json: Json, step: string): Json => stepResources(json).find((r) => stepOf(r) === step)!;
  /** The rendered host with one review entry replaced (as if the library had rendered that text). */
  const withEntry = (rendered: RenderedHost, step: "ipvs" | "boot", key: string, value: string): RenderedHost => {
    const review = rendered.review;
    return { ...rendered, scripts: rendered.scripts, bundle: rendered.bundle, review: { ...review, steps: { ...review.steps, [step]: { ...review.steps[step], [key]: value } } } } as RenderedHost;
  };
  const SVC = "-t 172.16.1.8:1000";

  test.each(["terraform_data", "null_resource"])("the untouched seed passes (%s)", (engine) => {
    expect(verdict(engine, () => undefined)).toBeUndefined();
  });

  test.each(["terraform_data", "null_resource"])("a trigger value with an unescaped ${ is caught (%s)", (engine) => {
    // The entry really is "a${x}" (as if user text held it): cdk.tf.json must carry "a$${x}".
    const unescaped = verdict(engine, (json, r) => {
      triggersOf(byStep(json, "ipvs"))[SVC] = "a${x}";
      return withEntry(r, "ipvs", SVC, "a${x}");
    });
    expect(unescaped).toMatch(/live Terraform template sequence/);
    const escaped = verdict(engine, (json, r) => {
      triggersOf(byStep(json, "ipvs"))[SVC] = "a$${x}";
      return withEntry(r, "ipvs", SVC, "a${x}");
    });
    expect(escaped).toBeUndefined();
    // ... and %{ likewise, in a multi-line entry.
    expect(
      verdict(engine, (json, r) => {
        triggersOf(byStep(json, "ipvs"))[SVC] = "x\n%{ if true }y%{ endif }";
        return withEntry(r, "ipvs", SVC, "x\n%{ if true }y%{ endif }");
      }),
    ).toMatch(/live Terraform template sequence/);
  });

  test("a trigger key with an unescaped ${, a changed, missing or extra entry, a wrong reference are caught", () => {
    expect(
      verdict("terraform_data", (json, r) => {
        const t = triggersOf(byStep(json, "ipvs"));
        t["${x}"] = t[SVC];
        delete t[SVC];
        return withEntry(r, "ipvs", "${x}", t["${x}"]);
      }),
    ).toMatch(/live Terraform template sequence in .*key/);
    expect(verdict("terraform_data", (json) => void (triggersOf(byStep(json, "ipvs"))[SVC] += "\n-a -t 172.16.1.8:1000 -r 10.6.6.6:1 -m -w 1"))).toMatch(/would read .* instead of/);
    expect(verdict("terraform_data", (json) => void (triggersOf(byStep(json, "boot"))["/etc/systemd/system/cdktf-ipvs.service"] = "x"))).toMatch(/would read/);
    expect(verdict("terraform_data", (json) => void delete triggersOf(byStep(json, "aliases"))[SVC])).toMatch(/lacks the entry/);
    expect(verdict("null_resource", (json) => void (triggersOf(byStep(json, "sysctls")).extra = "1"))).toMatch(/should not be there/);
    expect(verdict("terraform_data", (json) => void (triggersOf(byStep(json, "modules")).host = "10.6.6.6"))).toMatch(/entry "host"/);
    expect(verdict("null_resource", (json) => void delete triggersOf(byStep(json, "ipvs")).private_key_path)).toMatch(/lacks the entry "private_key_path"/);
    expect(verdict("terraform_data", (json) => void (byStep(json, "ipvs").input.private_key_path = "/keys/other"))).toMatch(/would read/);
    expect(verdict("terraform_data", (json) => void (triggersOf(byStep(json, "ipvs")).upstream = triggersOf(byStep(json, "sysctls")).upstream))).toMatch(/trigger upstream/);
    expect(verdict("terraform_data", (json) => void delete triggersOf(byStep(json, "verify")).upload)).toMatch(/trigger upload .* is missing/);
    expect(verdict("terraform_data", (json) => void (byStep(json, "boot").connection.host = "10.6.6.6"))).toMatch(/connection\.host/);
  });

  test("a bundle that does not unpack to exactly the rendered scripts, or scripts outside it, are caught", () => {
    const fileOf = (json: Json) => (byStep(json, "upload").provisioner as Json[]).find((p) => p.file)!.file;
    expect(verdict("terraform_data", (json, r) => void (fileOf(json).content = bundleScripts({ ...r.scripts, "apply.sh": `${r.scripts["apply.sh"]}reboot\n` })))).toMatch(/bundle's apply.sh differs/);
    expect(verdict("terraform_data", (json, r) => void (fileOf(json).content = bundleScripts({ ...r.scripts, "destroy.sh": r.scripts["verify.sh"] })))).toMatch(/bundle's destroy.sh differs/);
    expect(verdict("terraform_data", (json) => void (fileOf(json).content = fileOf(json).content.slice(0, 200)))).toMatch(/does not unpack/);
    expect(verdict("terraform_data", (json) => void (fileOf(json).destination = "/tmp/x"))).toMatch(/goes to/);
    // The bundle as cdk.tf.json carries it must be what Terraform reads back: a changed text is caught even if it unpacks the same.
    expect(verdict("terraform_data", (json) => void (fileOf(json).content += "\n"))).toMatch(/would read .*bundle/);
    expect(
      verdict("terraform_data", (json, r) => void (byStep(json, "ipvs").provisioner as Json[]).push({ file: { content: r.scripts["apply.sh"], destination: "/var/lib/cdktf-ipvs/apply.sh" } })),
    ).toMatch(/step ipvs uploads a file/);
    // A step that runs a script other than the bundled one (its sha256 check names another hash).
    expect(
      verdict("terraform_data", (json) => {
        const run = (byStep(json, "aliases").provisioner as Json[])[0]["remote-exec"];
        run.inline[0] = String(run.inline[0]).replace(/'[0-9a-f]{64} /, `'${"0".repeat(64)} `);
      }),
    ).toMatch(/not the bundled script's sha256/);
  });

  test.each(["terraform_data", "null_resource"])('converge: "every-deploy" is accepted and its resource passes the checks (%s)', (engine) => {
    const field = FIELDS.find((f) => f.label === "converge")!;
    const before = roundTrip.length;
    checkConstructCase({ ...field, apply: (d, v) => Object.assign(d.hostProps, { converge: v, engine }) }, "every-deploy");
    expect(roundTrip.length).toBe(before + 1);
    expect(roundTrip[before].sampled.some((i) => / converge triggers$/.test(i.label))).toBe(true);
    if (engine === "terraform_data") expect(terraformValidateStacks([stacksToValidate[stacksToValidate.length - 1]])).toEqual([]);
    // ... and a converge resource that would not be replaced on every deploy is caught.
    expect(
      verdict(engine, (json) => {
        const t = triggersOf(byStep(json, "converge"));
        t.at = "2026-01-01T00:00:00Z";
      }, { converge: "every-deploy" }),
    ).toMatch(/trigger at /);
  });

  test("a real Terraform tells a misread map key and a misread value (one small batch)", () => {
    const failures = terraformRoundTrip([
      { label: "live key", tfText: { 'a${upper("b")}': "c" }, expected: { 'a${upper("b")}': "c" } },
      { label: "live value", tfText: '${upper("b")}', expected: '${upper("b")}' },
      { label: "escaped key and value", tfText: { "a$${b}": "%%{c}" }, expected: { "a${b}": "%{c}" } },
    ]);
    expect(failures.map((f) => `${f.label}: ${f.got}`).sort()).toEqual(['live key: {"aB":"c"}', "live value: B"]);
  });
});

/** PROP_SURVEY=1: every construct field against every dictionary value, all problems collected. */
(SURVEY ? describe : describe.skip)("survey (PROP_SURVEY=1)", () => {
  test("every construct field x every dictionary value, then one Terraform round trip and validate", () => {
    const rows: string[] = [];
    const rt0 = roundTrip.length;
    const st0 = stacksToValidate.length;
    for (const field of FIELDS) {
      const values = surveyValues(field.mode ?? "value", field.valid ?? []).filter((v) => !(field.label.includes(" id") || field.mode === "key") || typeof v === "string");
      for (const value of values) {
        try {
          checkConstructCase(field, value);
        } catch (e) {
          rows.push(`${field.label}\t${show(value)}\t${(e as Error).message.slice(0, 400)}`);
        }
      }
    }
    for (const field of SPEC_FIELDS) {
      for (const value of surveyValues(field.mode, field.valid ?? [])) {
        try {
          checkFromSpecCase(field, value);
        } catch (e) {
          rows.push(`fromSpec ${field.label}\t${show(value)}\t${(e as Error).message.slice(0, 400)}`);
        }
      }
    }
    const cases = roundTrip.slice(rt0);
    const scripted = pickSpread(cases, 20);
    const items = cases.flatMap((c) => [...c.items, ...(scripted.includes(c) ? c.sampled : [])]);
    for (const f of terraformRoundTrip(items)) rows.push(`${f.label}\t(terraform round trip)\t${f.error ? `Terraform error: ${f.error}` : `got ${show(f.got)}, expected ${show(f.expected)}`}`);
    for (const f of terraformValidateStacks(pickSpread(stacksToValidate.slice(st0), 60))) rows.push(`${f.label}\t(terraform validate)\t${f.error}`);
    for (const f of batch.checkSyntax()) rows.push(`${f.label}\t(sh -n)\t${f.name}: ${f.error}`);
    writeSurvey("constructs", rows);
  });
});
