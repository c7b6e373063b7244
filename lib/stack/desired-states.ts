/**
 * The desired states that cdktf-ipvs's own hosts carry inside a synthesized stack. Every apply.sh
 * we render carries its host's desired state on one marker line (DESIRED_STATE_MARKER), and
 * Terraform receives that script as the text of an upload. This reader does not depend on how the
 * upload is laid out (which resource, which provisioner, which attribute, one script per file or
 * all of them in one bundle): it looks at every string in the JSON, and inside our script bundles
 * (base64 of a gzipped tar), keeps the texts with a marker line, undoes Terraform's template
 * escaping and reads the desired state. Callers render the scripts again from it (lib/plan +
 * lib/render), exactly as synth did. Used by the CLI (policy, preview, drift) and the jest matchers.
 */
import { DesiredHost } from "../model";
import { readBundle } from "../render/bundle";
import { DESIRED_STATE_MARKER, readDesiredState } from "../render/scripts";

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

/** How findings and matchers name one of our hosts: its SSH endpoint when known, else its name. */
export function desiredHostKey(host: DesiredHost): string {
  if (host.ssh?.host === undefined) return host.name;
  return `${host.ssh.host.includes(":") ? `[${host.ssh.host}]` : host.ssh.host}:${host.ssh.port}`;
}
