/**
 * The hosts of a synthesized cdktf stack (cdktf.out/stacks/<stack>/cdk.tf.json), without a spec.
 * Every apply.sh we render carries its host's desired state on one marker line
 * (DESIRED_STATE_MARKER), and Terraform receives that script as the text of an upload. This
 * reader does not depend on how the upload is laid out (which resource, which provisioner,
 * which attribute, one script per file or all of them in one bundle): it looks at every string
 * in the JSON, and inside our script bundles (base64 of a gzipped tar), keeps the texts with a
 * marker line, undoes Terraform's template escaping and reads the desired state. The caller
 * renders the scripts again from it (lib/plan + lib/render), exactly as synth did.
 */
import * as fs from "fs";
import * as path from "path";
import { DesiredHost } from "../model";
import { readBundle } from "../render/bundle";
import { DESIRED_STATE_MARKER, readDesiredState } from "../render/scripts";
import { readJsonFile } from "./json";

/** The stack cannot be read: no cdk.tf.json, not JSON, no host, or two different states for one host. */
export class StackReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackReadError";
  }
}

/** Terraform reads "$${" as "${" and "%%{" as "%{" (the inverse of escapeTerraformTemplate). */
export function unescapeTerraformTemplate(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}

/** cdk.tf.json of DIR (a stack folder) or DIR itself when it is that file. */
export function stackFile(dirOrFile: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dirOrFile);
  } catch (e) {
    throw new StackReadError(`cannot read stack ${dirOrFile}: ${(e as Error).message}`);
  }
  if (!stat.isDirectory()) return dirOrFile;
  const file = path.join(dirOrFile, "cdk.tf.json");
  if (fs.existsSync(file)) return file;
  const stacks = path.join(dirOrFile, "stacks");
  const names = fs.existsSync(stacks) ? fs.readdirSync(stacks).filter((n) => fs.existsSync(path.join(stacks, n, "cdk.tf.json"))) : [];
  const hint = names.length > 0 ? `; give one of its stacks: ${names.map((n) => path.join(dirOrFile, "stacks", n)).join(", ")}` : "; synthesize first (cdktf synth) and give cdktf.out/stacks/<stack>";
  throw new StackReadError(`${dirOrFile} holds no cdk.tf.json${hint}`);
}

/** Every string value in a JSON value, depth first. */
function* strings(value: unknown): Generator<string> {
  if (typeof value === "string") yield value;
  else if (Array.isArray(value)) for (const v of value) yield* strings(v);
  else if (typeof value === "object" && value !== null) for (const v of Object.values(value)) yield* strings(v);
}

/**
 * The texts a string of the stack may carry a script in: itself, and when it is an upload of our
 * packed scripts (lib/render/bundle.ts: base64 of a gzipped tar), the scripts inside.
 */
export function textsOf(value: string): string[] {
  const compact = value.trim();
  if (compact.length < 64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return [value];
  try {
    return [value, ...Object.values(readBundle(compact))];
  } catch {
    return [value]; // base64 of something else
  }
}

const hasMarker = (text: string) => text.startsWith(DESIRED_STATE_MARKER) || text.includes(`\n${DESIRED_STATE_MARKER}`);

/** The desired states carried by the scripts in a synthesized stack (Terraform JSON, parsed). */
export function hostsOfStackJson(stack: unknown, where = "the stack"): DesiredHost[] {
  const byName = new Map<string, { host: DesiredHost; json: string }>();
  for (const text of [...strings(stack)].flatMap(textsOf).filter(hasMarker)) {
    let host: DesiredHost | undefined;
    try {
      host = readDesiredState(unescapeTerraformTemplate(text));
    } catch (e) {
      throw new StackReadError(`${where}: a script's desired state cannot be read: ${(e as Error).message}`);
    }
    if (!host) continue;
    const json = JSON.stringify(host);
    const seen = byName.get(host.name);
    if (seen && seen.json !== json) throw new StackReadError(`${where}: two different desired states for host "${host.name}"; is this one synthesized stack?`);
    if (!seen) byName.set(host.name, { host, json });
  }
  return [...byName.values()].map((v) => v.host);
}

/** The hosts of the stack in DIR (a cdktf.out/stacks/<stack> folder) or in a cdk.tf.json file. */
export function readStackHosts(dirOrFile: string): DesiredHost[] {
  const file = stackFile(dirOrFile);
  const json = readJsonFile(file, "stack", (message) => new StackReadError(message));
  const hosts = hostsOfStackJson(json, file);
  if (hosts.length === 0) throw new StackReadError(`stack ${file} has no cdktf-ipvs host (no uploaded apply.sh with a "${DESIRED_STATE_MARKER.trim()}" line)`);
  return hosts;
}
