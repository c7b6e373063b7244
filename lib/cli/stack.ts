/**
 * The hosts of a synthesized cdktf stack folder or cdk.tf.json file, without a spec: the file is
 * read here, its desired states by lib/stack/desired-states.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { DesiredHost } from "../model";
import { DESIRED_STATE_MARKER } from "../render/scripts";
import { StackReadError, hostsOfStackJson } from "../stack/desired-states";
import { readJsonFile } from "./json";

export { StackReadError, hostsOfStackJson, unescapeTerraformTemplate } from "../stack/desired-states";

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

/** The hosts of the stack in DIR (a cdktf.out/stacks/<stack> folder) or in a cdk.tf.json file. */
export function readStackHosts(dirOrFile: string): DesiredHost[] {
  const file = stackFile(dirOrFile);
  const json = readJsonFile(file, "stack", (message) => new StackReadError(message));
  const hosts = hostsOfStackJson(json, file);
  if (hosts.length === 0) throw new StackReadError(`stack ${file} has no cdktf-ipvs host (no uploaded apply.sh with a "${DESIRED_STATE_MARKER.trim()}" line)`);
  return hosts;
}
