/**
 * Reads synthesized Terraform JSON — `cdk.tf.json` from `cdktf.out/stacks/<name>/`, any
 * hand-written `*.tf.json`, or `terraform show -json planfile` — into the provisioning resources
 * that policy looks at: their provisioners in order, their SSH target, and what they depend on.
 * No cdktf import: stacks from cdktf, CDK Terrain and hand-written JSON are read alike.
 *
 * Never throws on odd input: what cannot be read lands in `problems`.
 */
import * as fs from "fs";
import * as path from "path";

/** When a provisioner runs. Plan JSON does not record `when`, so its provisioners are "unknown". */
export type ProvisionerWhen = "create" | "destroy" | "unknown";

/** A Terraform JSON value, as read. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A Terraform JSON object (block body). */
export type JsonObject = { [key: string]: JsonValue };

/** One provisioner block of a resource, in the order Terraform runs them. */
export interface StackProvisioner {
  /** 0-based position among the resource's provisioners. */
  readonly index: number;
  /** `remote-exec`, `file`, `local-exec`, ... */
  readonly type: string;
  readonly when: ProvisionerWhen;
  /**
   * The provisioner's arguments (`inline`, `script`, `scripts`, `content`, `source`,
   * `destination`, `command`). From plan JSON only constant values are known; others are absent
   * and named in `unknownArguments`.
   */
  readonly args: JsonObject;
  /** Arguments present in the configuration whose value is not a constant (plan JSON only). */
  readonly unknownArguments: readonly string[];
  /** The provisioner's own `connection` block, which overrides the resource's field by field. */
  readonly connection?: JsonObject;
}

/** `count` or `for_each` on a resource: its provisioners run once per instance. */
export interface StackRepetition {
  readonly kind: "count" | "for_each";
  /** The expression as written (JSON), or the plan JSON's expression object. */
  readonly expression: JsonValue;
}

/** A resource of the stack, with what matters for provisioning. */
export interface StackResource {
  /** `TYPE.NAME`, prefixed by `module.X.` inside modules (plan JSON). */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  /** Every argument other than provisioner, connection, depends_on, lifecycle, count, for_each and cdktf's `//`. */
  readonly attributes: JsonObject;
  readonly provisioners: readonly StackProvisioner[];
  /** The resource-level `connection` block, if any. */
  readonly connection?: JsonObject;
  /** Addresses from `depends_on`, as written without `${}`. */
  readonly dependsOn: readonly string[];
  /** Addresses of other resources of the stack this one references in any argument (depends_on excluded). */
  readonly references: readonly string[];
  readonly repetition?: StackRepetition;
  /** cdktf's construct path (`//.metadata.path`), when present. */
  readonly constructPath?: string;
}

/** Where a stack was read from and what kind of JSON it was. */
export type StackFormat = "configuration" | "plan";

/** A stack read from one configuration (or one plan). */
export interface TerraformStackJson {
  /** The cdktf stack name, the file's name, or the directory's name. */
  readonly name: string;
  readonly format: StackFormat;
  /** Files it was read from (several `*.tf.json` of one directory form one configuration). */
  readonly files: readonly string[];
  /** Where relative script paths (`script`, `file("x.sh")`, file `source`) are looked up. */
  readonly directory?: string;
  readonly resources: readonly StackResource[];
  /** Variable defaults (`variable.X.default`), used to resolve `${var.X}` in connection hosts. */
  readonly variables: Readonly<Record<string, JsonValue>>;
  readonly problems: readonly string[];
}

/** Arguments that are not resource attributes, read separately. */
const META_ARGUMENTS = new Set(["provisioner", "connection", "depends_on", "lifecycle", "count", "for_each", "provider", "//"]);

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON blocks may be an object or an array of objects (Terraform accepts both). */
function blocks(v: unknown): JsonObject[] {
  if (Array.isArray(v)) return v.filter(isObject);
  return isObject(v) ? [v] : [];
}

/** Every `${...}` interpolation in a Terraform template string (`$${` is an escaped literal). */
export function interpolationsOf(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$" && text[i + 2] === "{") {
      i += 2;
      continue;
    }
    if (text[i] !== "$" || text[i + 1] !== "{") continue;
    let depth = 1;
    let j = i + 2;
    for (; j < text.length && depth > 0; j++) {
      if (text[j] === "{") depth++;
      else if (text[j] === "}") depth--;
    }
    if (depth > 0) break;
    found.push(text.slice(i + 2, j - 1));
    i = j - 1;
  }
  return found;
}

/** All strings inside a JSON value (keys excluded). */
function stringsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsIn(x, out);
  else if (isObject(v)) for (const x of Object.values(v)) stringsIn(x, out);
  return out;
}

/** Resource addresses (`TYPE.NAME`) that an interpolation mentions, among the known ones. */
function referencedAddresses(expressionTexts: readonly string[], known: ReadonlySet<string>, self: string): string[] {
  const found = new Set<string>();
  for (const expr of expressionTexts) {
    for (const m of expr.matchAll(/(?<![\w.-])((?:module\.[A-Za-z_][\w-]*\.)*[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*)/g)) {
      if (known.has(m[1]) && m[1] !== self) found.add(m[1]);
    }
  }
  return [...found].sort();
}

/** `"${null_resource.a}"` or `"null_resource.a"` → `null_resource.a`. */
function plainAddress(text: string): string {
  const m = /^\$\{(.*)\}$/.exec(text.trim());
  return (m ? m[1] : text).trim();
}

function whenOf(v: unknown): ProvisionerWhen {
  return typeof v === "string" && plainAddress(v) === "destroy" ? "destroy" : "create";
}

/** Provisioners in run order, from the array form or the object form `{ "remote-exec": [...] }`. */
function readProvisioners(raw: unknown): StackProvisioner[] {
  const entries: [string, JsonObject][] = [];
  for (const block of blocks(raw)) {
    for (const [type, body] of Object.entries(block)) for (const b of blocks(body)) entries.push([type, b]);
  }
  return entries.map(([type, body], index) => {
    const args: JsonObject = {};
    for (const [k, v] of Object.entries(body)) if (k !== "connection" && k !== "when") args[k] = v;
    const connection = blocks(body.connection)[0];
    return { index, type, when: whenOf(body.when), args, unknownArguments: [], ...(connection ? { connection } : {}) };
  });
}

/**
 * Reads a Terraform JSON configuration (`cdk.tf.json` or a `*.tf.json`). Several objects (the
 * `*.tf.json` files of one directory) are merged as Terraform merges them.
 */
export function readTerraformConfiguration(json: unknown, options: { name?: string; files?: string[]; directory?: string } = {}): TerraformStackJson {
  const problems: string[] = [];
  const raws: { type: string; name: string; body: JsonObject }[] = [];
  const variables: Record<string, JsonValue> = {};
  const documents = Array.isArray(json) ? json : [json];
  for (const doc of documents) {
    if (!isObject(doc)) {
      problems.push("not a Terraform JSON object");
      continue;
    }
    for (const resourceBlock of blocks(doc.resource)) {
      for (const [type, byName] of Object.entries(resourceBlock)) {
        for (const named of blocks(byName)) {
          for (const [name, body] of Object.entries(named)) {
            const [first] = blocks(body);
            if (first) raws.push({ type, name, body: first });
            else problems.push(`resource.${type}.${name} is not an object`);
          }
        }
      }
    }
    for (const variableBlock of blocks(doc.variable)) {
      for (const [name, body] of Object.entries(variableBlock)) {
        const [first] = blocks(body);
        if (first && first.default !== undefined) variables[name] = first.default;
      }
    }
  }
  const known = new Set(raws.map((r) => `${r.type}.${r.name}`));
  const resources = raws.map(({ type, name, body }): StackResource => {
    const address = `${type}.${name}`;
    const attributes: JsonObject = {};
    for (const [k, v] of Object.entries(body)) if (!META_ARGUMENTS.has(k)) attributes[k] = v;
    const provisioners = readProvisioners(body.provisioner);
    const connection = blocks(body.connection)[0];
    const dependsOn = (Array.isArray(body.depends_on) ? body.depends_on : []).filter((d): d is string => typeof d === "string").map(plainAddress);
    // References in any argument except depends_on (kept apart) and cdktf metadata.
    const searched = { ...attributes, provisioner: body.provisioner ?? null, connection: body.connection ?? null, count: body.count ?? null, for_each: body.for_each ?? null };
    const references = referencedAddresses(stringsIn(searched).flatMap(interpolationsOf), known, address);
    const repetition: StackRepetition | undefined =
      body.count !== undefined ? { kind: "count", expression: body.count } : body.for_each !== undefined ? { kind: "for_each", expression: body.for_each } : undefined;
    const meta = isObject(body["//"]) && isObject(body["//"].metadata) ? body["//"].metadata : undefined;
    return {
      address,
      type,
      name,
      attributes,
      provisioners,
      ...(connection ? { connection } : {}),
      dependsOn,
      references,
      ...(repetition ? { repetition } : {}),
      ...(meta && typeof meta.path === "string" ? { constructPath: meta.path } : {}),
    };
  });
  return {
    name: options.name ?? "stack",
    format: "configuration",
    files: options.files ?? [],
    ...(options.directory ? { directory: options.directory } : {}),
    resources,
    variables,
    problems,
  };
}

/**
 * Reads `terraform show -json PLANFILE`. Measured with Terraform 1.11.4: the configuration part
 * keeps each provisioner's `type` and `expressions.<arg>.constant_value`, but NOT its connection
 * block and NOT `when` — a destroy-time provisioner looks like a create-time one. So every
 * provisioner here has `when: "unknown"` and no resource has a connection: callers group them all
 * under one host (see `PLAN_JSON_HOST`). Non-constant arguments (e.g. `inline` built from a
 * variable) are listed in `unknownArguments`. Resource references come from the plan's own
 * `references` lists and `depends_on`; module calls are read recursively with `module.X.` prefixes.
 */
export function readTerraformPlan(json: unknown, options: { name?: string; files?: string[]; directory?: string } = {}): TerraformStackJson {
  const problems: string[] = [];
  const plan = isObject(json) ? json : {};
  const configuration = isObject(plan.configuration) ? plan.configuration : undefined;
  if (!configuration) problems.push("plan JSON has no configuration section");
  const raws: { prefix: string; body: JsonObject }[] = [];
  const variables: Record<string, JsonValue> = {};
  const walk = (module: JsonObject, prefix: string) => {
    for (const r of Array.isArray(module.resources) ? module.resources.filter(isObject) : []) {
      if (r.mode === "managed" || r.mode === undefined) raws.push({ prefix, body: r });
    }
    if (prefix === "" && isObject(module.variables)) {
      for (const [name, v] of Object.entries(module.variables)) if (isObject(v) && v.default !== undefined) variables[name] = v.default;
    }
    if (isObject(module.module_calls)) {
      for (const [name, call] of Object.entries(module.module_calls)) {
        if (isObject(call) && isObject(call.module)) walk(call.module, `${prefix}module.${name}.`);
      }
    }
  };
  if (configuration && isObject(configuration.root_module)) walk(configuration.root_module, "");
  const known = new Set(raws.map((r) => `${r.prefix}${r.body.address}`));
  const resources = raws.map(({ prefix, body }): StackResource => {
    const address = `${prefix}${String(body.address)}`;
    const expressions = isObject(body.expressions) ? body.expressions : {};
    const attributes: JsonObject = {};
    const refTexts: string[] = [];
    collectPlanExpressions(expressions, attributes, refTexts);
    const provisioners = (Array.isArray(body.provisioners) ? body.provisioners.filter(isObject) : []).map((p, index): StackProvisioner => {
      const args: JsonObject = {};
      const unknownArguments: string[] = [];
      const exprs = isObject(p.expressions) ? p.expressions : {};
      for (const [arg, e] of Object.entries(exprs)) {
        if (isObject(e) && e.constant_value !== undefined) args[arg] = e.constant_value;
        else unknownArguments.push(arg);
        collectPlanExpressions({ [arg]: e }, {}, refTexts);
      }
      return { index, type: String(p.type), when: "unknown", args, unknownArguments };
    });
    const dependsOn = (Array.isArray(body.depends_on) ? body.depends_on : []).filter((d): d is string => typeof d === "string").map((d) => `${prefix}${d}`);
    const references = referencedAddresses(
      refTexts.map((r) => `${prefix}${r}`),
      known,
      address,
    );
    const repetition: StackRepetition | undefined =
      body.count_expression !== undefined ? { kind: "count", expression: body.count_expression } : body.for_each_expression !== undefined ? { kind: "for_each", expression: body.for_each_expression } : undefined;
    return {
      address,
      type: String(body.type),
      name: String(body.name),
      attributes,
      provisioners,
      dependsOn,
      references,
      ...(repetition ? { repetition } : {}),
    };
  });
  return { name: options.name ?? "plan", format: "plan", files: options.files ?? [], ...(options.directory ? { directory: options.directory } : {}), resources, variables, problems };
}

/**
 * Plan JSON expressions: `{ constant_value }` or `{ references: [...] }`, nested blocks as
 * objects or arrays of them. Constants go to `attributes`, reference texts to `refs`.
 */
function collectPlanExpressions(expressions: JsonObject, attributes: JsonObject, refs: string[]): void {
  for (const [key, e] of Object.entries(expressions)) {
    if (isObject(e) && ("constant_value" in e || "references" in e)) {
      if (e.constant_value !== undefined) attributes[key] = e.constant_value;
      if (Array.isArray(e.references)) for (const r of e.references) if (typeof r === "string") refs.push(r);
    } else {
      for (const nested of blocks(e)) collectPlanExpressions(nested, {}, refs);
    }
  }
}

/** True for the output of `terraform show -json PLANFILE` (as opposed to a configuration). */
export function isPlanJson(json: unknown): boolean {
  return isObject(json) && typeof json.format_version === "string" && (isObject(json.configuration) || isObject(json.planned_values));
}

/** Reads either kind of JSON, telling them apart by shape. */
export function readStackJson(json: unknown, options: { name?: string; files?: string[]; directory?: string } = {}): TerraformStackJson {
  return isPlanJson(json) ? readTerraformPlan(json, options) : readTerraformConfiguration(json, options);
}

/**
 * Loads the stacks at `target`: a `cdk.tf.json` / `*.tf.json` / plan JSON file; a stack directory
 * (its `*.tf.json` files form one configuration); a `cdktf.out` directory or a project holding
 * one (one stack per `stacks/<name>/cdk.tf.json`). Never throws: an unreadable target gives one
 * stack with a problem.
 */
export function loadStacks(target: string): TerraformStackJson[] {
  const failed = (problem: string): TerraformStackJson[] => [
    { name: path.basename(target), format: "configuration", files: [], resources: [], variables: {}, problems: [problem] },
  ];
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    return failed(`${target}: not found`);
  }
  if (stat.isFile()) {
    const parsed = readJsonFile(target);
    if ("problem" in parsed) return failed(parsed.problem);
    const directory = path.dirname(target);
    const base = path.basename(target);
    const name = base === "cdk.tf.json" ? path.basename(directory) : base.replace(/(\.tf)?\.json$/, "");
    return [readStackJson(parsed.json, { name, files: [target], directory })];
  }
  const stacksDirs = [path.join(target, "stacks"), path.join(target, "cdktf.out", "stacks")];
  for (const stacksDir of stacksDirs) {
    const names = listDir(stacksDir).filter((n) => fs.existsSync(path.join(stacksDir, n, "cdk.tf.json")));
    if (names.length > 0) return names.sort().flatMap((n) => loadStacks(path.join(stacksDir, n, "cdk.tf.json")));
  }
  const tfJson = listDir(target).filter((n) => n.endsWith(".tf.json")).sort();
  if (tfJson.length === 0) return failed(`${target}: no cdk.tf.json, *.tf.json or cdktf.out/stacks/*/cdk.tf.json found`);
  const docs: unknown[] = [];
  const problems: string[] = [];
  const files = tfJson.map((n) => path.join(target, n));
  for (const file of files) {
    const parsed = readJsonFile(file);
    if ("problem" in parsed) problems.push(parsed.problem);
    else docs.push(parsed.json);
  }
  const stack = readTerraformConfiguration(docs, { name: path.basename(path.resolve(target)), files, directory: target });
  return [{ ...stack, problems: [...problems, ...stack.problems] }];
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function readJsonFile(file: string): { json: unknown } | { problem: string } {
  try {
    return { json: JSON.parse(fs.readFileSync(file, "utf8")) };
  } catch (e) {
    return { problem: `${file}: ${(e as Error).message}` };
  }
}

/** The text of a file next to the stack, or why not. Absolute paths are read as they are. */
export function readStackFile(stack: TerraformStackJson, file: string): { text: string } | { problem: string } {
  const relative = file.replace(/^\$\{path\.(module|root|cwd)\}\//, "");
  if (/\$\{/.test(relative)) return { problem: `${file}: path is computed by Terraform; not read` };
  if (!stack.directory && !path.isAbsolute(relative)) return { problem: `${file}: not found (the stack was not read from a directory)` };
  const full = path.resolve(stack.directory ?? "/", relative);
  try {
    return { text: fs.readFileSync(full, "utf8") };
  } catch {
    return { problem: `${file}: not found next to the stack (${full})` };
  }
}

/** The host key of every resource read from plan JSON, which keeps no connection blocks. */
export const PLAN_JSON_HOST = "(plan JSON has no connection)";

/** The machine a provisioner runs its commands on. */
export interface HostTarget {
  /** `host:port` (`[v6]:port`), or the unresolved expressions, or `PLAN_JSON_HOST`. */
  readonly key: string;
  /** The host as resolved, or the expression text when it could not be. */
  readonly host: string;
  readonly port: string;
  /** False when host or port still holds a Terraform expression. */
  readonly resolved: boolean;
}

/** The value at `self.a.b["c"]` in the resource's attributes; undefined when absent or not text. */
function selfValue(resource: StackResource, pathText: string): string | undefined {
  const parts = [...pathText.matchAll(/\.?([A-Za-z_][\w-]*)|\["([^"\]]*)"\]|\[(\d+)\]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  let v: JsonValue | undefined = resource.attributes;
  for (const p of parts) {
    if (Array.isArray(v)) v = v[Number(p)];
    else if (isObject(v)) v = Object.prototype.hasOwnProperty.call(v, p) ? v[p] : undefined;
    else return undefined;
  }
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return typeof v === "string" ? v : undefined;
}

/**
 * Replaces `${self.X...}` (e.g. `self.triggers.host`, `self.triggers_replace.port`,
 * `self.input.host`) and `${var.X}` with their literal values when those are known and hold no
 * further expression; anything else stays as written. `keep` decides whether a value may replace
 * its expression (commands only take values that cannot change how the shell splits words).
 */
export function resolveTemplate(text: string, resource: StackResource, stack: TerraformStackJson, keep: (value: string) => boolean = () => true): string {
  let out = text;
  for (let round = 0; round < 4 && out.includes("${"); round++) {
    let changed = false;
    for (const expr of interpolationsOf(out)) {
      const self = /^\s*self((?:\.[A-Za-z_][\w-]*|\["[^"\]]*"\]|\[\d+\])+)\s*$/.exec(expr);
      const variable = /^\s*var\.([A-Za-z_][\w-]*)\s*$/.exec(expr);
      let value: string | undefined;
      if (self) value = selfValue(resource, self[1]);
      else if (variable && Object.prototype.hasOwnProperty.call(stack.variables, variable[1])) {
        const v = stack.variables[variable[1]];
        value = typeof v === "string" || typeof v === "number" ? String(v) : undefined;
      }
      if (value === undefined || !keep(value)) continue;
      out = out.split(`\${${expr}}`).join(value);
      changed = true;
    }
    if (!changed) break;
  }
  return out;
}

/**
 * The host and port a provisioner connects to: the resource's `connection` merged field by field
 * with the provisioner's own (as Terraform does), `${self.…}`/`${var.…}` resolved; port 22 when
 * not given. Plan JSON keeps no connection, so all its resources share `PLAN_JSON_HOST`.
 */
export function targetOf(stack: TerraformStackJson, resource: StackResource, provisioner?: StackProvisioner): HostTarget {
  if (stack.format === "plan") return { key: PLAN_JSON_HOST, host: PLAN_JSON_HOST, port: "", resolved: false };
  const connection: JsonObject = { ...(resource.connection ?? {}), ...(provisioner?.connection ?? {}) };
  const text = (v: JsonValue | undefined) => (typeof v === "string" || typeof v === "number" ? String(v) : undefined);
  const hostText = text(connection.host);
  if (hostText === undefined) return { key: "(no connection host)", host: "(no connection host)", port: "", resolved: false };
  const host = resolveTemplate(hostText, resource, stack);
  const port = resolveTemplate(text(connection.port) ?? "22", resource, stack);
  const resolved = !host.includes("${") && !port.includes("${");
  const shownHost = host.includes(":") && !host.includes("${") ? `[${host}]` : host;
  return { key: `${shownHost}:${port}`, host, port, resolved };
}
