/**
 * Reads strings back through Terraform, in one batch: each string (or map of strings, whose keys
 * Terraform reads as templates too) goes into the value of an output (where, as in every attribute
 * of a .tf.json file, Terraform evaluates "${" and "%{"), one
 * `terraform init` + `terraform apply` evaluates them all, `terraform output -json` gives them
 * back. An output Terraform cannot evaluate is reported with Terraform's diagnostic and dropped
 * for the next round. Also `terraform validate` over whole synthesized stacks, one module each.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * What Terraform makes of a string in .tf.json when it holds no expression: "$${" reads as "${",
 * "%%{" as "%{". Returns the first live "${" / "%{" (an interpolation or directive Terraform would
 * evaluate) instead when there is one. The batch round trip below checks this model against a real
 * Terraform; this one is cheap enough for every case.
 */
export function terraformLiteral(text: string): { value: string } | { live: number } {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if ((c === "$" || c === "%") && text[i + 1] === c && text[i + 2] === "{") {
      out += `${c}{`;
      i += 2;
    } else if ((c === "$" || c === "%") && text[i + 1] === "{") {
      return { live: i };
    } else out += c;
  }
  return { value: out };
}

export interface RoundTripItem {
  /** Which case and which attribute, for the report. */
  readonly label: string;
  /** The string (or map of strings: its keys are templates too) exactly as it stands in cdk.tf.json. */
  readonly tfText: unknown;
  /** What the host (or SSH, or the plan's reader) must receive. */
  readonly expected: string | Readonly<Record<string, string>>;
}

export interface RoundTripFailure {
  readonly label: string;
  readonly expected: string | Readonly<Record<string, string>>;
  readonly got?: string;
  readonly error?: string;
}

const ENV = { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };

function tf(dir: string, args: string[]) {
  return spawnSync("terraform", args, { cwd: dir, env: ENV, encoding: "utf8", maxBuffer: 256 << 20 });
}

export function requireTerraform(): void {
  const r = spawnSync("terraform", ["version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error("terraform is not on PATH; the round trip needs a real terraform (>= 1.4)");
}

interface Diagnostic {
  severity: string;
  summary: string;
  detail?: string;
  range?: { filename?: string };
  snippet?: { context?: string };
}

function diagnosticsOf(stdout: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const msg = JSON.parse(line);
      if (msg.type === "diagnostic" && msg.diagnostic) out.push(msg.diagnostic);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

/** A string equal to the expected one, or an object of exactly the expected entries. */
function sameValue(got: unknown, expected: string | Readonly<Record<string, string>>): boolean {
  if (typeof expected === "string") return got === expected;
  if (typeof got !== "object" || got === null || Array.isArray(got)) return false;
  const g = got as Record<string, unknown>;
  const keys = Object.keys(expected);
  return Object.keys(g).length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(g, k) && g[k] === expected[k]);
}

export function terraformRoundTrip(items: readonly RoundTripItem[]): RoundTripFailure[] {
  requireTerraform();
  const failures: RoundTripFailure[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-prop-tf-"));
  try {
    let live = items.map((item, i) => ({ item, name: `o${i}` }));
    for (let round = 0; round < 8 && live.length > 0; round++) {
      const config = { output: Object.fromEntries(live.map(({ item, name }) => [name, { value: item.tfText }])) };
      fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(config));
      fs.rmSync(path.join(dir, "terraform.tfstate"), { force: true });
      if (round === 0) {
        const init = tf(dir, ["init", "-input=false", "-no-color"]);
        if (init.status !== 0) throw new Error(`terraform init failed: ${init.stdout}${init.stderr}`);
      }
      const apply = tf(dir, ["apply", "-input=false", "-auto-approve", "-json"]);
      if (apply.status === 0) {
        const out = tf(dir, ["output", "-json"]);
        if (out.status !== 0) throw new Error(`terraform output failed: ${out.stderr}`);
        const values = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
        for (const { item, name } of live) {
          const got = values[name]?.value;
          if (!sameValue(got, item.expected)) failures.push({ label: item.label, expected: item.expected, got: typeof got === "string" ? got : JSON.stringify(got) });
        }
        return failures;
      }
      const diags = diagnosticsOf(apply.stdout).filter((d) => d.severity === "error");
      const bad = new Set<string>();
      for (const d of diags) {
        const m = /^output\.(o\d+)$/.exec(d.snippet?.context ?? "");
        if (m) {
          bad.add(m[1]);
          const entry = live.find((l) => l.name === m[1]);
          if (entry) failures.push({ label: entry.item.label, expected: entry.item.expected, error: `${d.summary}: ${d.detail ?? ""}`.slice(0, 300) });
        }
      }
      if (bad.size === 0) throw new Error(`terraform apply failed without naming an output: ${apply.stdout.slice(0, 4000)}${apply.stderr}`);
      live = live.filter((l) => !bad.has(l.name));
    }
    return failures;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `terraform validate` over many synthesized stacks at once, each a module of one root; a stack
 * that even `terraform init` cannot read is reported with Terraform's error and left out.
 */
export function terraformValidateStacks(stacks: readonly { label: string; json: Record<string, unknown> }[]): { label: string; error: string }[] {
  requireTerraform();
  if (stacks.length === 0) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-prop-validate-"));
  const out: { label: string; error: string }[] = [];
  try {
    stacks.forEach((s, i) => {
      const sub = path.join(dir, `c${i}`);
      fs.mkdirSync(sub);
      const { terraform: _settings, ...rest } = s.json; // backend + provider pins belong to a root module
      fs.writeFileSync(path.join(sub, "main.tf.json"), JSON.stringify(rest));
    });
    let live = stacks.map((_s, i) => i);
    for (let round = 0; round < 6 && live.length > 0; round++) {
      const modules = Object.fromEntries(live.map((i) => [`c${i}`, { source: `./c${i}` }]));
      fs.writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify({ module: modules }));
      fs.rmSync(path.join(dir, ".terraform"), { recursive: true, force: true });
      const init = tf(dir, ["init", "-input=false", "-backend=false", "-no-color"]);
      if (init.status !== 0) {
        // Text diagnostics: "Error: <summary>" ... "on cN/main.tf.json line 1, in ...".
        const bad = new Set<number>();
        const text = `${init.stdout}\n${init.stderr}`;
        const re = /Error: ([^\n]*)\n(?:[^\n]*\n){0,3}?\s*on c(\d+)\/main\.tf\.json[^\n]*\n/g;
        for (const m of text.matchAll(re)) {
          const i = Number(m[2]);
          if (!bad.has(i)) out.push({ label: stacks[i].label, error: `terraform init: ${m[1]}` });
          bad.add(i);
        }
        if (bad.size === 0) throw new Error(`terraform init failed: ${text.replace(/^- c\d+ in c\d+\n/gm, "").slice(0, 3000)}`);
        live = live.filter((i) => !bad.has(i));
        continue;
      }
      const r = tf(dir, ["validate", "-json", "-no-color"]);
      const result = JSON.parse(r.stdout) as { diagnostics: Diagnostic[] };
      for (const d of result.diagnostics.filter((x) => x.severity === "error")) {
        const m = /^c(\d+)[/\\]/.exec(d.range?.filename ?? "");
        out.push({ label: m ? stacks[Number(m[1])].label : "(no file)", error: `${d.summary}: ${d.detail ?? ""}`.slice(0, 300) });
      }
      return out;
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
