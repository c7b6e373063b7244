/**
 * What Terraform must read back from a synthesized one-host stack, and the structural checks
 * around it. The host's scripts travel once, in the upload resource's single file provisioner,
 * as one base64 gzipped tar (lib/render/bundle.ts): Terraform must read that base64 text back
 * exactly, and it must unpack to exactly the rendered scripts. Every step's triggers (and
 * terraform_data's input) must read back as exactly the entries we expect: the connection strings,
 * the step's own bookkeeping, and the review entries (lib/render/review.ts), which carry user text
 * (host names, paths, service names) in keys and values. The only live template sequences allowed
 * are the references the constructs make on purpose (the upstream step's id, the upload's id).
 * Every step's run command checks the sha256 of the very script it runs, as bundled.
 */
import { createHash } from "crypto";
import { STEP_NAMES } from "../../lib/plan";
import { BUNDLE_PATH, RenderedHost, RESERVED_TRIGGER_KEYS, SCRIPT_NAMES, SCRIPT_PATHS, UPLOAD_STEP, readBundle } from "../../lib/render";
import { describe as show, firstUnprintable } from "./support";
import { RoundTripItem, terraformLiteral } from "./terraform-roundtrip";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The connection the host was declared with, as the triggers must carry it (literal text). */
export interface ConnectionExpect {
  readonly host: string;
  readonly port: string;
  readonly user: string;
  readonly privateKeyPath?: string;
}

export interface StackReadback {
  /** Sent to the real Terraform for every case: connection strings, and trigger entries that are not plain text. */
  readonly items: RoundTripItem[];
  /** Sent to the real Terraform for a sample of cases (large): the bundle, whole trigger maps. */
  readonly sampled: RoundTripItem[];
}

/** Text whose Terraform reading is trivially itself; anything else is worth a real Terraform's look. */
const PLAIN = /^[A-Za-z0-9_.:/,=#@+ \n-]*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The step of the resource that converge: "every-deploy" adds (lib/render/commands.ts CONVERGE_STEP). */
const CONVERGE = "converge";

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

function stepResourcesOf(json: Json): { type: string; name: string; r: Json }[] {
  const out: { type: string; name: string; r: Json }[] = [];
  for (const type of ["terraform_data", "null_resource"]) {
    for (const [name, r] of Object.entries((json.resource?.[type] ?? {}) as Record<string, Json>)) out.push({ type, name, r });
  }
  return out;
}

/**
 * Checks the stack's layout and gathers what Terraform must read back. Throws an Error saying what
 * is wrong when the layout is not the expected one (a missing or extra trigger entry, a script
 * uploaded outside the bundle, a bundle that does not unpack to the scripts, a wrong reference, a
 * run command that does not check the bundled script's hash).
 */
export function stackReadback(label: string, json: Json, rendered: RenderedHost, conn: ConnectionExpect): StackReadback {
  const items: RoundTripItem[] = [];
  const sampled: RoundTripItem[] = [];
  const scripts = rendered.scripts as unknown as Record<string, string>;
  const review = rendered.review;
  const resources = stepResourcesOf(json);

  // Which resource is which step (the step entry is a fixed literal).
  const byStep = new Map<string, { type: string; name: string; r: Json }>();
  for (const res of resources) {
    const trig = (res.type === "terraform_data" ? res.r.triggers_replace : res.r.triggers) as Json | undefined;
    const step = trig?.step;
    if (typeof step !== "string") throw new Error(`${res.type}.${res.name} has no step trigger`);
    if (byStep.has(step)) throw new Error(`two resources for step ${show(step)}: ${byStep.get(step)!.name} and ${res.name}`);
    byStep.set(step, res);
  }
  const order = [UPLOAD_STEP, ...STEP_NAMES] as string[];
  for (const step of order) if (!byStep.has(step)) throw new Error(`no resource for step ${step}`);
  // With converge: "every-deploy", one more resource re-runs apply and verify on every deploy.
  const unknown = [...byStep.keys()].filter((s) => !order.includes(s) && s !== CONVERGE);
  if (unknown.length > 0) throw new Error(`resources for unknown steps ${unknown.map(show).join(", ")}`);
  const ref = (step: string) => `\${${byStep.get(step)!.type}.${byStep.get(step)!.name}.id}`;

  for (const [step, { type, r }] of byStep) {
    const where = `${step}`;
    // The scripts: once, in the upload resource's one file provisioner.
    const files = ((r.provisioner ?? []) as Json[]).filter((p) => p.file);
    if (step !== UPLOAD_STEP && files.length > 0) throw new Error(`step ${step} uploads a file (${show(files[0].file.destination)}): the scripts must travel only in the upload bundle`);
    if (step === UPLOAD_STEP) {
      if (files.length !== 1) throw new Error(`the upload resource has ${files.length} file provisioners, expected exactly one (the bundle)`);
      const f = files[0].file as Json;
      if (f.destination !== BUNDLE_PATH) throw new Error(`the upload's file goes to ${show(f.destination)}, expected ${BUNDLE_PATH}`);
      if (typeof f.content !== "string") throw new Error(`the upload's file content is a ${typeof f.content}, not text`);
      sampled.push({ label: `${label}: ${where} bundle`, tfText: f.content, expected: rendered.bundle });
      // What the host receives is Terraform's reading of the text: it must unpack to the scripts.
      const read = terraformLiteral(f.content);
      if ("live" in read) throw new Error(`the bundle holds a live Terraform template sequence at ${read.live}`);
      let unpacked: Record<string, string | undefined>;
      try {
        unpacked = readBundle(read.value);
      } catch (e) {
        throw new Error(`the bundle does not unpack: ${(e as Error).message}`);
      }
      const names = Object.keys(unpacked).sort();
      if (JSON.stringify(names) !== JSON.stringify([...SCRIPT_NAMES].sort())) throw new Error(`the bundle holds ${names.map(show).join(", ")}, expected ${SCRIPT_NAMES.join(", ")}`);
      for (const n of SCRIPT_NAMES) {
        if (unpacked[n] !== scripts[n]) {
          const a = unpacked[n] ?? "";
          const b = scripts[n];
          let at = 0;
          while (at < a.length && a[at] === b[at]) at++;
          throw new Error(`the bundle's ${n} differs from the rendered script at index ${at}: ${show(a.slice(Math.max(0, at - 30), at + 50))} instead of ${show(b.slice(Math.max(0, at - 30), at + 50))}`);
        }
      }
    }

    // Run commands: each checks the sha256 of the script it runs, as bundled.
    for (const p of (r.provisioner ?? []) as Json[]) {
      const rx = p["remote-exec"];
      if (!rx) continue;
      for (const cmd of (rx.inline ?? []) as unknown[]) {
        if (typeof cmd !== "string") throw new Error(`step ${step}: a remote-exec command is a ${typeof cmd}`);
        const checked = new Set<string>();
        for (const m of cmd.matchAll(/'([0-9a-f]{64}) {2}(\/[^']+)'/g)) {
          const n = SCRIPT_NAMES.find((s) => SCRIPT_PATHS[s] === m[2]);
          if (!n) throw new Error(`step ${step}: a command checks the hash of ${show(m[2])}, which is not one of the scripts`);
          if (m[1] !== sha256(scripts[n])) throw new Error(`step ${step}: a command checks ${n} against ${m[1]}, not the bundled script's sha256`);
          checked.add(n);
        }
        if (rx.when === "destroy") continue;
        for (const n of SCRIPT_NAMES) {
          if (cmd.includes(`sh '${SCRIPT_PATHS[n]}'`) && !checked.has(n)) throw new Error(`step ${step}: runs ${n} without checking its sha256`);
        }
        if (step !== UPLOAD_STEP && checked.size === 0) throw new Error(`step ${step}: the run command checks no script: ${show(cmd)}`);
      }
    }

    // The connection reads host, port, user (and the key's path) from the resource itself.
    const attr = type === "terraform_data" ? "triggers_replace" : "triggers";
    const c = (r.connection ?? {}) as Json;
    for (const k of ["host", "port", "user"]) if (c[k] !== `\${self.${attr}.${k}}`) throw new Error(`step ${step}: connection.${k} is ${show(c[k])}, expected \${self.${attr}.${k}}`);
    const keyRef = conn.privateKeyPath === undefined ? undefined : `\${file(self.${type === "terraform_data" ? "input" : "triggers"}.private_key_path)}`;
    if (c.private_key !== keyRef) throw new Error(`step ${step}: connection.private_key is ${show(c.private_key)}, expected ${show(keyRef)}`);

    // Triggers: exactly these entries, each key and value literal text, but the two references.
    const trig = ((type === "terraform_data" ? r.triggers_replace : r.triggers) ?? {}) as Json;
    const entries = step === UPLOAD_STEP ? review.steps.upload : step === CONVERGE ? {} : review.steps[step as (typeof STEP_NAMES)[number]];
    if (!entries) throw new Error(`no review entries for step ${step}`);
    const expected: Record<string, string> = { host: conn.host, port: conn.port, user: conn.user, step, format: review.format };
    if (type === "null_resource" && conn.privateKeyPath !== undefined) expected.private_key_path = conn.privateKeyPath;
    for (const [k, v] of Object.entries(entries)) {
      if ((RESERVED_TRIGGER_KEYS as readonly string[]).includes(k) || Object.prototype.hasOwnProperty.call(expected, k)) {
        throw new Error(`step ${step}: review entry ${show(k)} takes a trigger key the step uses for something else`);
      }
      const badKey = firstUnprintable(k);
      if (badKey) throw new Error(`step ${step}: review entry name ${show(k)} holds an unprintable character (${badKey})`);
      const badValue = firstUnprintable(v, "\n\t");
      if (badValue) throw new Error(`step ${step}: review entry ${show(k)} holds an unprintable character (${badValue}): ${show(v)}`);
      expected[k] = v;
    }
    const refs: Record<string, string> = {};
    const at = STEP_NAMES.indexOf(step as (typeof STEP_NAMES)[number]);
    if (at > 0) refs.upstream = ref(STEP_NAMES[at - 1]);
    if (step === "verify") refs.upload = ref(UPLOAD_STEP);
    if (step === CONVERGE) refs.at = "${timestamp()}"; // known only at apply time: replaced on every deploy
    const literal: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(trig)) {
      if (Object.prototype.hasOwnProperty.call(refs, k)) {
        if (v !== refs[k]) throw new Error(`step ${step}: trigger ${k} is ${show(v)}, expected the reference ${refs[k]}`);
        continue;
      }
      literal[k] = v;
    }
    for (const k of Object.keys(refs)) if (!Object.prototype.hasOwnProperty.call(trig, k)) throw new Error(`step ${step}: trigger ${k} (${refs[k]}) is missing`);
    sampled.push({ label: `${label}: ${where} triggers`, tfText: literal, expected });
    for (const [k, v] of Object.entries(literal)) {
      if (!PLAIN.test(k)) items.push({ label: `${label}: ${where} trigger key ${show(k.slice(0, 40))}`, tfText: k, expected: terraformLiteralOr(k) });
      if (typeof v === "string" && !PLAIN.test(v)) {
        const key = terraformLiteralOr(k);
        if (Object.prototype.hasOwnProperty.call(expected, key)) items.push({ label: `${label}: ${where} trigger ${show(key.slice(0, 40))}`, tfText: v, expected: expected[key] });
      }
    }
    if (type === "terraform_data") {
      const input: Record<string, string> = conn.privateKeyPath !== undefined ? { private_key_path: conn.privateKeyPath } : {};
      sampled.push({ label: `${label}: ${where} input`, tfText: r.input ?? {}, expected: input });
      if (conn.privateKeyPath !== undefined && !PLAIN.test(conn.privateKeyPath)) {
        items.push({ label: `${label}: ${where} input.private_key_path`, tfText: r.input?.private_key_path, expected: conn.privateKeyPath });
      }
    }
  }
  return { items, sampled };
}

/** The key as Terraform reads it, or the key itself when it holds a live sequence (reported by the reading check). */
function terraformLiteralOr(text: string): string {
  const r = terraformLiteral(text);
  return "value" in r ? r.value : text;
}

/**
 * Terraform's reading (the in-process model) of each item, against what it must be; the first
 * problem, or undefined. A string is read as a template; an object's keys and values each are.
 */
export function readingProblem(item: RoundTripItem, prefix = ""): string | undefined {
  const where = item.label.slice(prefix.length);
  if (typeof item.expected === "string") {
    if (typeof item.tfText !== "string") return `cdk.tf.json holds a ${typeof item.tfText} at ${where}: ${show(item.tfText)}`;
    return stringProblem(where, item.tfText, item.expected);
  }
  if (typeof item.tfText !== "object" || item.tfText === null || Array.isArray(item.tfText)) return `cdk.tf.json holds ${show(item.tfText)} at ${where}, not an object`;
  const read = new Map<string, string>();
  for (const [k, v] of Object.entries(item.tfText as Record<string, unknown>)) {
    if (LONE_SURROGATE.test(k)) return `${where} has a key with a lone surrogate: cdk.tf.json (UTF-8) cannot carry it, Terraform reads U+FFFD`;
    const key = terraformLiteral(k);
    if ("live" in key) return `cdk.tf.json holds a live Terraform template sequence in the key ${show(k)} of ${where}`;
    if (read.has(key.value)) return `${where}: two keys read as ${show(key.value)}`;
    if (typeof v !== "string") return `${where}: entry ${show(key.value)} is a ${typeof v}: ${show(v)}`;
    read.set(key.value, v);
    if (!Object.prototype.hasOwnProperty.call(item.expected, key.value)) return `${where} holds an entry ${show(key.value)} (${show(v)}) that should not be there`;
    const p = stringProblem(`${where} entry ${show(key.value.slice(0, 60))}`, v, (item.expected as Record<string, string>)[key.value]);
    if (p) return p;
  }
  for (const k of Object.keys(item.expected)) if (!read.has(k)) return `${where} lacks the entry ${show(k)}`;
  return undefined;
}

function stringProblem(where: string, tfText: string, expected: string): string | undefined {
  if (LONE_SURROGATE.test(expected)) return `${where} holds a lone surrogate: cdk.tf.json (UTF-8) cannot carry it, Terraform reads U+FFFD`;
  const read = terraformLiteral(tfText);
  if ("live" in read) return `cdk.tf.json holds a live Terraform template sequence in ${where}: ${show(tfText.slice(Math.max(0, read.live - 30), read.live + 50))}`;
  if (read.value === expected) return undefined;
  if (read.value.length <= 160 && expected.length <= 160) return `Terraform would read ${where} as ${show(read.value)} instead of ${show(expected)}`;
  let at = 0;
  while (at < read.value.length && read.value[at] === expected[at]) at++;
  return `Terraform would read ${where} differently from the intended text at index ${at}: ${show(read.value.slice(Math.max(0, at - 30), at + 50))} instead of ${show(expected.slice(Math.max(0, at - 30), at + 50))}`;
}
