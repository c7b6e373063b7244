/**
 * Shared pieces of the property suite: the hostile value dictionaries and arbitraries, the
 * fast-check configuration (fixed seed, FC_SEED / FC_RUNS to override), the "printable" check for
 * error messages and CLI output, a small POSIX sh lexer that tells which characters of a script
 * the shell treats as inert data, and a batched `sh -n`.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import fc from "fast-check";

// ---------------------------------------------------------------------------------------------
// fast-check configuration

/** Fixed by default so the suite is deterministic; FC_SEED=<int> reproduces or varies a run. */
export const FC_SEED = process.env.FC_SEED !== undefined && process.env.FC_SEED !== "" ? Number(process.env.FC_SEED) : 20261126;
/** Scales every numRuns below; FC_RUNS_SCALE=5 for a longer soak. */
const SCALE = Number(process.env.FC_RUNS_SCALE ?? "1") || 1;

export function runs(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

export function configureFastCheck(): void {
  fc.configureGlobal({ seed: FC_SEED, endOnFailure: false, verbose: fc.VerbosityLevel.None });
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Strings a shell, Terraform, a terminal or a JS object model might read as something else. */
export const HOSTILE_STRINGS: readonly string[] = [
  "",
  " ",
  ";",
  "&",
  "|",
  "`",
  "$",
  "(",
  ")",
  "<",
  ">",
  "*",
  "?",
  "[",
  "]",
  "{",
  "}",
  "~",
  "#",
  "!",
  "a b",
  "a;reboot",
  "a&&reboot",
  "a|sh",
  "a>/etc/passwd",
  "`reboot`",
  "$(reboot)",
  "$(touch /tmp/pwned)",
  "${IFS}",
  "'",
  '"',
  "'\"'\"'",
  "a'b",
  'a"b',
  "'; reboot; '",
  "a\nb",
  "\n",
  "a\rb",
  "\r\n",
  "a\u0000b",
  "\u0000",
  "a\u2028b",
  "a\u2029b",
  "a\u0085b",
  "\u009b31m",
  "\u001b[31mred\u001b[0m",
  "\u001b]0;title\u0007",
  "\u001b[2J\u001b[H",
  "a\u202eb",
  "\u200f",
  "\u2066x\u2069",
  "\u007f",
  "\t",
  "\u000b",
  "\u000c",
  "\\",
  "a\\",
  "\\n",
  "\u00a0",
  "é",
  "😀",
  "\ud800",
  "\nCDKTF_IPVS_EOF\n",
  "CDKTF_IPVS_EOF",
  "x\nCDKTF_IPVS_EOF\nreboot\n",
  "a".repeat(10000),
  "1".repeat(10000),
  "${file(\"/etc/passwd\")}",
  "${x}",
  "${",
  "%{",
  "%{ if true }x%{ endif }",
  "$${x}",
  "%%{x}",
  // Not "${TfToken[TOKEN.n]}": that text IS a cdktf token by cdktf's own encoding (a reference to
  // token n of this process), so only code can write it; spec fields refuse it as an unresolved
  // token (test/model), and in construct props it means what cdktf says it means.
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "prototype",
  "valueOf",
  "-rf",
  "--help",
  "-A",
  "::ffff:172.16.1.8",
  "::ffff:ac10:108",
  "0172.016.001.008",
  "172.016.1.8",
  "172.16.1.8 ",
  " 172.16.1.8",
  "172.16.1.8\n",
  "172.16.1.8;reboot",
  "172.16.1.8/24",
  "[fd00::8]",
  "FD00::0008",
  "fd00::8",
  "0443",
  "443",
  "1e3",
  "0x1bb",
  "-0",
  "NaN",
  "Infinity",
  "1.5",
  "-1",
  "65536",
  "lb1",
  "app",
  "rr",
  "sh",
  "mh",
  "masquerade",
  "redirect",
  "dnat",
  "tcp",
  "ipv4",
  "ipv6",
  "sh-port",
  "root",
  "5m",
  "null_resource",
  "terraform_data",
  "net.ipv4.vs.expire_nodest_conn",
  "net.ipv4.vs.conntrack",
  "1",
  "0",
];

/** Fragments to glue onto valid values: the validators must look at the whole string. */
export const FRAGMENTS: readonly string[] = [
  "\n",
  "\r",
  "\u0000",
  "\u2028",
  "\u0085",
  "\u001b[0m",
  " ",
  ";reboot",
  "$(reboot)",
  "`id`",
  "'",
  '"',
  "${x}",
  "%{x}",
  "\nCDKTF_IPVS_EOF\n",
  "#",
  "\\",
  "\u202e",
];

/** A JSON text whose parse gives an own "__proto__" key (object literals would set the prototype). */
export function protoKeyObject(value: unknown = 1): Record<string, unknown> {
  return JSON.parse(`{"__proto__": ${JSON.stringify(value)}}`);
}

/** Non-string values for string fields and vice versa. */
export const HOSTILE_OTHERS: readonly unknown[] = [
  null,
  undefined,
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1,
  1.5,
  -1,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  1e21,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  true,
  false,
  [],
  [1],
  ["172.16.1.8"],
  ["root"],
  ["5m"],
  ["a", "b"],
  [[]],
  {},
  { a: 1 },
  { toString: "x" },
  { constructor: 1 },
  { hasOwnProperty: 1 },
  { length: 1, 0: "a" },
];

/** Values no JSON spec can hold but a TypeScript caller can pass; kept apart so findings read clearly. */
export const EXOTIC_VALUES: readonly unknown[] = [443n, Symbol("x"), () => 1, new Date(0), /x/];

/** Keys an object may carry that mean something else to JS, the shell or Terraform. */
export const HOSTILE_KEYS: readonly string[] = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
  "",
  "0",
  "a b",
  "$(reboot)",
  "${x}",
  "%{x}",
  "a\nb",
  "a\u2028b",
  "a\u0085b",
  "\u001b[31m",
  "a\u202eb",
  "k".repeat(10000),
  "net.ipv4.vs.conntrack",
  "net.ipv4.vs.expire_nodest_conn",
  "net.ipv4.vs.x\nCDKTF_IPVS_EOF",
  "net.ipv4.vs.$(reboot)",
  "net.ipv4.vs.a b",
  "net.ipv4.vs.*",
  "net.ipv4.vs..",
  "net..ipv4",
  "net.ipv4.vs.a/../../x",
  "Net.IPv4.vs.x",
  "net.ipv4.vs.x-y",
];

const arbitraryString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 16 }),
  fc.string({ unit: fc.constantFrom(...";&|`$()<>*?[]{}~#!'\" \n\r\t\\%/.:-_aZ09\u0000\u001b\u2028\u0085\u202e".split("")), maxLength: 12 }),
);

/** Strings for a field whose valid values are `valid`: dictionary, arbitrary, and valid-plus-fragment. */
export function hostileString(valid: readonly string[] = []): fc.Arbitrary<string> {
  const options: fc.Arbitrary<string>[] = [fc.constantFrom(...HOSTILE_STRINGS), arbitraryString];
  if (valid.length > 0) {
    const v = fc.constantFrom(...valid);
    const frag = fc.constantFrom(...FRAGMENTS);
    options.push(
      fc.tuple(v, frag).map(([a, b]) => a + b),
      fc.tuple(frag, v).map(([a, b]) => a + b),
      fc.tuple(v, frag, v).map(([a, b, c]) => a + b + c),
      v.map((a) => a.toUpperCase()),
      v.map((a) => ` ${a}`),
    );
  }
  return fc.oneof(...options);
}

/** Numbers (and number-like strings) for a field whose valid values are `valid`. */
export function hostileNumber(valid: readonly number[] = []): fc.Arbitrary<unknown> {
  const edge = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 1.5, 0.1, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e21, -1e21];
  const options: fc.Arbitrary<unknown>[] = [
    fc.constantFrom(...edge),
    fc.integer({ min: -70000, max: 70000 }),
    fc.integer(),
    fc.double(),
    fc.constantFrom("0443", "443", "1e3", "0x1bb", "-0", "NaN", "Infinity", "1.5", " 1", "1 ", "1\n"),
  ];
  if (valid.length > 0) {
    const v = fc.constantFrom(...valid);
    options.push(
      v.map((n) => String(n)),
      v.map((n) => `0${n}`),
      v.map((n) => n + 0.5),
      v.map((n) => -n),
      v.map((n) => [n]),
      v.map((n) => ({ valueOf: () => n }) as unknown),
    );
  }
  return fc.oneof(...options);
}

/** Anything: strings, numbers, structures, null. */
export const hostileAny: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_OTHERS) },
  { weight: 1, arbitrary: arbitraryString },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS).map((k) => protoKeyObjectWith(k)) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...HOSTILE_STRINGS, ...(HOSTILE_OTHERS as unknown[])), { maxLength: 3 }) },
);

function protoKeyObjectWith(key: string): Record<string, unknown> {
  return JSON.parse(`{${JSON.stringify(key)}: 1}`);
}

/** A value for a field: mostly of the field's own kind, sometimes anything. */
export function fieldValue(kind: "string" | "number" | "boolean" | "array" | "object" | "any", valid: readonly unknown[] = []): fc.Arbitrary<unknown> {
  const own: fc.Arbitrary<unknown> =
    kind === "string"
      ? hostileString(valid as string[])
      : kind === "number"
        ? hostileNumber(valid as number[])
        : kind === "boolean"
          ? fc.constantFrom<unknown>("true", "false", 0, 1, "", "yes", null, [], {}, [true], new Boolean(false))
          : kind === "array"
            ? fc.constantFrom<unknown>({}, { 0: valid[0], length: 1 }, "abc", "172.16.1.8", 1, null, [null], [undefined], [[]], [{}], ["__proto__"], protoKeyObject([]))
            : kind === "object"
              ? fc.constantFrom<unknown>([], [valid[0]], "abc", 1, null, true, protoKeyObject({}), Object.create(null), { __proto__: null, toString: 1 })
              : hostileAny;
  return fc.oneof({ weight: 4, arbitrary: own }, { weight: 1, arbitrary: hostileAny });
}

// ---------------------------------------------------------------------------------------------
// Printable text

/**
 * Characters that must never reach a terminal or log raw from a user value: C0 controls, DEL,
 * C1 controls, the Unicode line/paragraph separators, bidi controls, and lone surrogates.
 */
const UNPRINTABLE_BASE = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u061c\\u202a-\\u202e\\u2066-\\u2069";
const LONE_SURROGATE = "[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]";

/** First unprintable character (as its code point), or undefined. `allow` exempts e.g. "\n\t". */
export function firstUnprintable(text: string, allow = ""): string | undefined {
  const re = new RegExp(`[${UNPRINTABLE_BASE}]|${LONE_SURROGATE}`, "g");
  for (const m of text.matchAll(re)) {
    if (allow.includes(m[0])) continue;
    return `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} at index ${m.index}`;
  }
  return undefined;
}

/** Short, unambiguous rendering of a value for failure messages (escapes everything). */
export function describe(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (typeof value === "bigint") text = `${value}n`;
  else if (typeof value === "symbol" || typeof value === "function") text = String(value);
  else if (typeof value === "number") text = Object.is(value, -0) ? "-0" : String(value);
  else if (value === undefined) text = "undefined";
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === null) text = `Object.create(null)${text}`;
  }
  text = text.replace(/[\u2028\u2029\u0080-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return text.length > 120 ? `${text.slice(0, 100)}... (${text.length} chars)` : text;
}

// ---------------------------------------------------------------------------------------------
// Where a value may sit in a script

/**
 * One flag per character of a POSIX sh script: 1 where the shell takes the character as inert
 * data — inside single quotes, in the body of a heredoc whose delimiter is quoted, or in a
 * comment — and 0 everywhere else (commands, double quotes, unquoted heredocs, delimiters).
 * Enough of sh for generated scripts: quotes, backslashes, $( ), $(( )), backticks, comments,
 * heredocs (<< and <<-).
 */
export function inertMask(src: string): Uint8Array {
  const mask = new Uint8Array(src.length);
  type Ctx = { kind: "top" | "dq" | "cmd" | "bq"; depth: number };
  const stack: Ctx[] = [{ kind: "top", depth: 0 }];
  const pending: { delim: string; quoted: boolean; strip: boolean }[] = [];
  const n = src.length;
  const isMeta = (c: string | undefined) => c === undefined || /[\s;&|()<>]/.test(c);
  let i = 0;
  while (i < n) {
    const ctx = stack[stack.length - 1];
    const ch = src[i];
    if (ctx.kind === "dq") {
      if (ch === "\\") i += 2;
      else if (ch === '"') {
        stack.pop();
        i++;
      } else if (ch === "$" && src[i + 1] === "(") {
        stack.push({ kind: "cmd", depth: 0 });
        i += 2;
      } else if (ch === "`") {
        stack.push({ kind: "bq", depth: 0 });
        i++;
      } else i++;
      continue;
    }
    if (ch === "\\") {
      i += 2;
      continue;
    }
    if (ch === "'") {
      const end = src.indexOf("'", i + 1);
      const e = end < 0 ? n : end;
      mask.fill(1, i + 1, e);
      i = e + 1;
      continue;
    }
    if (ch === '"') {
      stack.push({ kind: "dq", depth: 0 });
      i++;
      continue;
    }
    if (ch === "`") {
      if (ctx.kind === "bq") stack.pop();
      else stack.push({ kind: "bq", depth: 0 });
      i++;
      continue;
    }
    if (ch === "$" && src[i + 1] === "(") {
      stack.push({ kind: "cmd", depth: 0 });
      i += 2;
      continue;
    }
    if (ctx.kind === "cmd" && ch === "(") {
      ctx.depth++;
      i++;
      continue;
    }
    if (ctx.kind === "cmd" && ch === ")") {
      if (ctx.depth === 0) stack.pop();
      else ctx.depth--;
      i++;
      continue;
    }
    if (ch === "#" && (i === 0 || isMeta(src[i - 1]))) {
      const end = src.indexOf("\n", i);
      const e = end < 0 ? n : end;
      mask.fill(1, i, e);
      i = e;
      continue;
    }
    if (ch === "<" && src[i + 1] === "<" && src[i + 2] !== "<") {
      let j = i + 2;
      let strip = false;
      if (src[j] === "-") {
        strip = true;
        j++;
      }
      while (src[j] === " " || src[j] === "\t") j++;
      let delim = "";
      let quoted = false;
      while (j < n && !isMeta(src[j])) {
        if (src[j] === "'" || src[j] === '"') {
          const e = src.indexOf(src[j], j + 1);
          const end = e < 0 ? n : e;
          delim += src.slice(j + 1, end);
          quoted = true;
          j = end + 1;
        } else if (src[j] === "\\") {
          delim += src[j + 1] ?? "";
          quoted = true;
          j += 2;
        } else delim += src[j++];
      }
      pending.push({ delim, quoted, strip });
      i = j;
      continue;
    }
    if (ch === "\n" && pending.length > 0) {
      i++;
      for (const h of pending) {
        while (i < n) {
          let lineEnd = src.indexOf("\n", i);
          if (lineEnd < 0) lineEnd = n;
          const line = h.strip ? src.slice(i, lineEnd).replace(/^\t+/, "") : src.slice(i, lineEnd);
          if (line === h.delim) {
            i = lineEnd + 1;
            break;
          }
          if (h.quoted) mask.fill(1, i, Math.min(lineEnd + 1, n));
          i = lineEnd + 1;
        }
      }
      pending.length = 0;
      continue;
    }
    i++;
  }
  return mask;
}

/** Occurrences of `needle` in `script` that are not wholly inert (see inertMask). */
export function liveOccurrences(script: string, mask: Uint8Array, needle: string): number[] {
  const out: number[] = [];
  if (needle === "") return out;
  for (let at = script.indexOf(needle); at >= 0; at = script.indexOf(needle, at + 1)) {
    for (let k = at; k < at + needle.length; k++) {
      if (mask[k] !== 1) {
        out.push(at);
        break;
      }
    }
  }
  return out;
}

/** Characters any validated value may consist of without quoting (names, addresses, numbers). */
export const SAFE_VALUE = /^[A-Za-z0-9_.:\/,-]*$/;

/** Every string in a value, keys included (for arrays and objects a user passed). */
export function stringsIn(value: unknown, depth = 0): string[] {
  if (typeof value === "string") return [value];
  if (depth > 3 || value === null || typeof value !== "object") return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!Array.isArray(value)) out.push(k);
    out.push(...stringsIn(v, depth + 1));
  }
  return out;
}

export interface PlacementProblem {
  readonly script: string;
  readonly value: string;
  readonly count: number;
  readonly baseline: number;
  readonly context: string;
}

/**
 * Accepted values must sit only where the shell cannot read them as code. Values of the safe
 * character set pass outright; others are counted at live positions and compared with the seed's
 * script (the same text may occur in our own code, e.g. "; ").
 */
export function placementProblems(
  scripts: Readonly<Record<string, string>>,
  baseline: Readonly<Record<string, string>>,
  values: readonly string[],
): PlacementProblem[] {
  const problems: PlacementProblem[] = [];
  for (const [name, text] of Object.entries(scripts)) {
    let mask: Uint8Array | undefined;
    let baseMask: Uint8Array | undefined;
    for (const value of values) {
      if (value === "" || SAFE_VALUE.test(value) || !text.includes(value)) continue;
      mask ??= inertMask(text);
      const live = liveOccurrences(text, mask, value);
      if (live.length === 0) continue;
      const base = baseline[name] ?? "";
      baseMask ??= inertMask(base);
      const baseLive = liveOccurrences(base, baseMask, value).length;
      if (live.length > baseLive) {
        const at = live[0];
        const lineStart = text.lastIndexOf("\n", at) + 1;
        const lineEnd = text.indexOf("\n", at + value.length);
        problems.push({ script: name, value, count: live.length, baseline: baseLive, context: text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).slice(0, 200) });
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// sh -n, batched

export interface ScriptCase {
  readonly label: string;
  readonly name: string;
  readonly text: string;
}

/** Keeps one copy of each distinct script (most hostile inputs that pass render the same text). */
export class ScriptBatch {
  private readonly byHash = new Map<string, ScriptCase>();
  add(label: string, scripts: Readonly<Record<string, string>>): void {
    for (const [name, text] of Object.entries(scripts)) {
      const h = createHash("sha256").update(text).digest("hex");
      const seen = this.byHash.get(h);
      if (!seen || label.length < seen.label.length) this.byHash.set(h, { label, name, text });
    }
  }
  get size(): number {
    return this.byHash.size;
  }
  /** Runs `sh -n` over every distinct script with one shell process; returns the failures. */
  checkSyntax(): { label: string; name: string; error: string }[] {
    const cases = [...this.byHash.values()];
    if (cases.length === 0) return [];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-prop-sh-"));
    try {
      const files = cases.map((c, i) => {
        const file = path.join(dir, `${i}.sh`);
        fs.writeFileSync(file, c.text);
        return file;
      });
      // One dash process runs the loop; each file gets its own `sh -n` so one failure is not fatal.
      const r = spawnSync("sh", ["-c", 'for f do out=$(sh -n "$f" 2>&1) || printf "%s\\t%s\\n" "$f" "$(printf %s "$out" | tr "\\n\\t" "  ")"; done', "sh", ...files], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      if (r.status !== 0 || r.error) throw new Error(`sh -n batch did not run: ${r.error?.message ?? r.stderr}`);
      const failures: { label: string; name: string; error: string }[] = [];
      for (const line of r.stdout.split("\n").filter(Boolean)) {
        const [file, error] = line.split("\t");
        const idx = Number(path.basename(file, ".sh"));
        failures.push({ label: cases[idx].label, name: cases[idx].name, error });
      }
      return failures;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Object paths

export type Seg = string | number;

export function deepClone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Undoes the JSON-like escaping an error message may apply to a prop or path (\\u202e, \\n, ...). */
export function unescapeText(text: string): string {
  return text.replace(/\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([nrtbfv0\\"'`]))/g, (_m, cp, u, x, c) => {
    if (cp || u || x) return String.fromCodePoint(parseInt(cp ?? u ?? x, 16));
    return ({ n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", 0: "\0" } as Record<string, string>)[c] ?? c;
  });
}

/**
 * True when an issue at (path, prop) names the field `target`: the field itself, an element or
 * part of it, or the prop that contains it. Props and paths may be escaped (made printable) or
 * shortened with "..." / "…" by the library; both spellings count.
 */
export function issueNames(issuePath: string, issueProp: string, target: string): boolean {
  const under = (a: string, b: string) => a === b || (a.startsWith(b) && /^[.[/]/.test(a.slice(b.length)));
  const shortened = (a: string, b: string) => {
    const m = /^(.*?)(\.\.\.|…)["\]]*$/s.exec(a);
    return m !== null && m[1].length >= 8 && b.startsWith(m[1]);
  };
  for (const p of new Set([issuePath, unescapeText(issuePath)])) {
    for (const prop of new Set([issueProp, unescapeText(issueProp), unescapeText(issueProp.replace(/^"|"$/g, ""))])) {
      const loc = prop === "" ? p : /^[A-Za-z_$]/.test(prop) ? `${p}.${prop}` : `${p}${prop}`;
      const locDot = prop === "" ? p : `${p}.${prop}`;
      for (const l of [loc, locDot]) {
        if (under(l, target) || under(p, target) || (under(target, l) && l !== p) || shortened(l, target)) return true;
      }
    }
  }
  return false;
}

/** Every dictionary value for a field, for the exhaustive survey (PROP_SURVEY=1). */
export function surveyValues(mode: "value" | "key", valid: readonly unknown[]): unknown[] {
  if (mode === "key") return [...HOSTILE_KEYS];
  const glued = valid.filter((v): v is string => typeof v === "string").flatMap((v) => FRAGMENTS.flatMap((f) => [v + f, f + v]));
  const numeric = valid.filter((v): v is number => typeof v === "number").flatMap((n) => [String(n), `0${n}`, n + 0.5, -n, [n]]);
  return [...HOSTILE_STRINGS, ...HOSTILE_OTHERS, ...EXOTIC_VALUES, ...glued, ...numeric];
}

/** PROP_SURVEY=1 runs the exhaustive surveys (they report, they do not fail). */
export const SURVEY = process.env.PROP_SURVEY === "1";
