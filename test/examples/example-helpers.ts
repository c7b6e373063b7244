/** Shared by the example tests: compile an example with its own tsconfig, read what it synthesized. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const EXAMPLES = path.resolve(__dirname, "../../examples");

/** `tsc --noEmit -p examples/<name>/tsconfig.json`: the example compiles as its cdktf.json builds it. */
export function compileExample(name: string): { status: number | null; output: string } {
  const tsc = require.resolve("typescript/bin/tsc");
  const run = spawnSync(process.execPath, [tsc, "--noEmit", "-p", path.join(EXAMPLES, name, "tsconfig.json")], { encoding: "utf8", timeout: 110_000 });
  return { status: run.status, output: run.stdout + run.stderr };
}

export function tmpOutdir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-example-"));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface SynthResource {
  readonly type: string;
  readonly address: string;
  /** The construct path, e.g. seed/lb1/ipvs. */
  readonly path: string;
  readonly triggers: Record<string, string>;
}

/** The stack's cdk.tf.json and its resources, keyed by construct path. */
export function readStack(outdir: string, stack: string) {
  const json = JSON.parse(fs.readFileSync(path.join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
  const byPath = new Map<string, SynthResource>();
  for (const [type, resources] of Object.entries(json.resource ?? {}) as [string, Record<string, Record<string, unknown>>][]) {
    for (const [name, r] of Object.entries(resources)) {
      const p = (r["//"] as { metadata: { path: string } }).metadata.path;
      byPath.set(p, { type, address: `${type}.${name}`, path: p, triggers: (r.triggers ?? r.triggers_replace) as Record<string, string> });
    }
  }
  return { json, byPath };
}

/** Hosts (second path segment) → their step names, sorted. */
export function stepsByHost(byPath: Map<string, SynthResource>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const p of byPath.keys()) {
    const [, host, step] = p.split("/");
    (out[host] ??= []).push(step);
  }
  for (const steps of Object.values(out)) steps.sort();
  return out;
}

export const STEPS = ["_upload", "aliases", "boot", "ipvs", "modules", "sysctls", "verify"];
