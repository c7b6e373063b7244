/**
 * The short commands a provisioner runs on the host around the uploaded scripts. They live here,
 * with the scripts, so that every piece of shell text we send to a host is produced in lib/render.
 *
 * Each host has one upload step that copies apply.sh, verify.sh and destroy.sh to the host once;
 * the plan's steps then run the uploaded script for their part, after checking that it is the
 * very script (by sha256) this plan uploaded. So a step can never run a script left behind by
 * another plan (an interrupted apply, `terraform apply -target`, a hand-edited file).
 */
import { STEP_NAMES, StepName } from "../plan";
import { HOST_LAYOUT as L } from "./layout";
import { shQuote } from "./shell";

/** The host's scripts, by file name. */
export const SCRIPT_NAMES = ["apply.sh", "verify.sh", "destroy.sh"] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Where each script lives on the host. */
export const SCRIPT_PATHS: Readonly<Record<ScriptName, string>> = {
  "apply.sh": L.applyScript,
  "verify.sh": L.verifyScript,
  "destroy.sh": L.destroyScript,
};

/** The provisioning step that uploads the scripts; it comes before every plan step. */
export const UPLOAD_STEP = "upload";
/** A plan step, the upload step, or the converge step. */
export type ProvisioningStep = StepName | typeof UPLOAD_STEP | "converge";

export interface StepCommands {
  /** Runs the step (the upload step: checks that the uploads arrived intact). */
  readonly run: string;
  /** Undoes the step on destroy (none for verify and upload). */
  readonly undo?: string;
}

export interface UploadCommands extends StepCommands {
  /** Before the uploads: make our state directory (the file provisioner cannot). */
  readonly prepare: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

function checkedHash(hash: string, what: string): string {
  if (!SHA256.test(hash)) throw new Error(`internal: ${what} is not a sha256 hex digest: ${JSON.stringify(hash)}`);
  return hash;
}

/** `sha256sum -c` over the given scripts; exits 0 only when each file on the host has its hash. */
function sha256Check(hashes: readonly [ScriptName, string][]): string {
  const lines = hashes.map(([name, hash]) => shQuote(`${checkedHash(hash, name)}  ${SCRIPT_PATHS[name]}`));
  return `printf '%s\\n' ${lines.join(" ")} | sha256sum -c --quiet -`;
}

function notOurs(name: ScriptName): string {
  return shQuote(`cdktf-ipvs: ${SCRIPT_PATHS[name]} on the host is not the one this plan uploaded (another plan ran since, or the upload step did not run: apply without -target)`);
}

/** Where the upload step puts the scripts' bundle (see bundle.ts) before unpacking it. */
export const BUNDLE_PATH = `${L.stateDir}/scripts.tar.gz.b64`;
const UNPACK_DIR = `${L.stateDir}/.upload`;

/**
 * The upload step: make the state directory; (after the file provisioner uploaded the bundle)
 * unpack it into a scratch folder, move each script into place with a rename (a script running
 * at that moment keeps reading its old file), and check that all three have the hashes of this
 * plan. It undoes nothing: the modules step's destroy (the last one of a real destroy) removes
 * the scripts, and a superseded upload must not remove what its successor uploaded.
 */
export function uploadCommands(hashes: Readonly<Record<ScriptName, string>>): UploadCommands {
  const dir = shQuote(UNPACK_DIR);
  const moves = SCRIPT_NAMES.map((n) => `"$d"/${n}`).join(" ");
  return {
    prepare: `mkdir -p ${shQuote(L.stateDir)} && chmod 700 ${shQuote(L.stateDir)}`,
    run:
      `d=${dir} && rm -rf "$d" && mkdir -m 700 "$d" && base64 -d ${shQuote(BUNDLE_PATH)} | tar -xmzf - -C "$d" && ` +
      `mv -f ${moves} ${shQuote(`${L.stateDir}/`)} && rm -rf "$d" ${shQuote(BUNDLE_PATH)} && ` +
      `${sha256Check(SCRIPT_NAMES.map((n) => [n, hashes[n]]))} || { echo ${shQuote("cdktf-ipvs: the uploaded scripts did not arrive intact")} >&2; exit 1; }`,
  };
}

/**
 * A plan step's commands. GENERATION identifies the provisioning resource (Terraform's
 * `${self.id}`): destroy.sh uses it to tell a replaced resource's destroy from a real one.
 * SCRIPT_HASH is the sha256 of the script the step runs (verify.sh for verify, apply.sh for the
 * others), as the upload step uploads it.
 */
export function stepCommands(step: StepName, generation: string, scriptHash: string): StepCommands {
  const script: ScriptName = step === "verify" ? "verify.sh" : "apply.sh";
  const guard = `${sha256Check([[script, scriptHash]])} || { echo ${notOurs(script)} >&2; exit 1; }`;
  if (step === "verify") return { run: `${guard}; sh ${shQuote(L.verifyScript)}` };
  return { run: `${guard}; sh ${shQuote(L.applyScript)} --generation ${shQuote(generation)} ${step}`, undo: undoCommand(step, generation) };
}

/** The converge step of `converge: "every-deploy"`: it runs on every deploy, not only on change. */
export const CONVERGE_STEP = "converge";

/**
 * The converge step: the whole idempotent apply, then verify, with the scripts this plan
 * uploaded (hash-checked). A no-op apply costs about one read of the tables; any drift since the
 * last deploy (conntrack=0, a deleted real server, a stray rule in our chain) is put back, and
 * verify fails the deploy when it cannot be.
 */
export function convergeCommands(applyHash: string, verifyHash: string): StepCommands {
  const guard = (name: ScriptName, hash: string) => `${sha256Check([[name, hash]])} || { echo ${notOurs(name)} >&2; exit 1; }`;
  return { run: `${guard("apply.sh", applyHash)}; ${guard("verify.sh", verifyHash)}; sh ${shQuote(L.applyScript)} && sh ${shQuote(L.verifyScript)}` };
}

/**
 * Undoes STEP on destroy with the host's destroy.sh. No hash check: at destroy time the host's
 * destroy.sh is the one of the last apply, which knows what that apply made (and a replaced
 * step's destroy runs after its successor's upload, so it is current then); refusing it would
 * leave the host half-destroyed.
 */
export function undoCommand(step: Exclude<StepName, "verify">, generation: string): string {
  return `if [ -f ${shQuote(L.destroyScript)} ]; then sh ${shQuote(L.destroyScript)} --generation ${shQuote(generation)} ${step}; else echo ${shQuote(`cdktf-ipvs: nothing to undo for ${step}`)}; fi`;
}

/** A provisioner command recognized as one of ours. */
export interface RecognizedCommand {
  readonly step: ProvisioningStep;
  /** The script hashes the command checks on the host (none in commands of older releases). */
  readonly checks: Partial<Record<ScriptName, string>>;
}

const APPLY_STEPS = STEP_NAMES.filter((s) => s !== "verify");
const HASH_LINE = /'([0-9a-f]{64}) {2}\/var\/lib\/cdktf-ipvs\/(apply|verify|destroy)\.sh'/g;

/**
 * Recognizes a step's run command in a plan (generation as Terraform writes it, `${self.id}`):
 * the command must be exactly what stepCommands or uploadCommands produce for the hashes and the
 * generation it names. Commands of earlier releases (no hash check) are recognized too.
 */
export function readStepCommand(command: string): RecognizedCommand | undefined {
  if (command === `sh ${L.verifyScript}`) return { step: "verify", checks: {} };
  const legacy = `sh ${L.applyScript} --generation `;
  if (command.startsWith(legacy)) {
    const step = APPLY_STEPS.find((s) => s === command.slice(legacy.length).split(" ")[1]);
    return step ? { step, checks: {} } : undefined;
  }
  const checks: Partial<Record<ScriptName, string>> = {};
  for (const m of command.matchAll(HASH_LINE)) checks[`${m[2]}.sh` as ScriptName] = m[1];
  if (checks["apply.sh"] && checks["verify.sh"] && checks["destroy.sh"]) {
    const upload = uploadCommands(checks as Record<ScriptName, string>);
    return command === upload.run ? { step: UPLOAD_STEP, checks } : undefined;
  }
  if (checks["verify.sh"] && command === stepCommands("verify", "", checks["verify.sh"]).run) return { step: "verify", checks };
  if (checks["apply.sh"] && checks["verify.sh"] && command === convergeCommands(checks["apply.sh"], checks["verify.sh"]).run) return { step: CONVERGE_STEP, checks };
  const tail = / --generation ('(?:[^']|'\\'')*') ([a-z]+)$/.exec(command);
  const apply = checks["apply.sh"];
  if (!tail || !apply) return undefined;
  const step = APPLY_STEPS.find((s) => s === tail[2]);
  const generation = tail[1].slice(1, -1).replace(/'\\''/g, "'");
  return step && command === stepCommands(step, generation, apply).run ? { step, checks } : undefined;
}

/** The step a run command belongs to, or undefined when it is not one of ours. */
export function stepOfCommand(command: string): ProvisioningStep | undefined {
  return readStepCommand(command)?.step;
}

/**
 * For `cdktf-ipvs drift --fix`, run through `ssh host sh -s`: installs APPLY_TEXT as the host's
 * apply.sh (base64 in a quoted here-document, so no text of the script can end it early; written
 * to a temporary file and renamed into place) and runs it, all steps, as a deploy would. apply.sh
 * must run from its file: its boot step installs its own file for the boot unit.
 */
export function installAndApplyScript(applyText: string): string {
  const b64 = Buffer.from(applyText, "utf8").toString("base64").replace(/.{1,76}/g, "$&\n");
  return [
    "set -eu",
    "umask 077",
    `mkdir -p ${shQuote(L.stateDir)} && chmod 700 ${shQuote(L.stateDir)}`,
    `f=$(mktemp ${shQuote(`${L.stateDir}/.apply.XXXXXX`)})`,
    "trap 'rm -f \"$f\"' EXIT",
    "base64 -d >\"$f\" <<'CDKTF_IPVS_B64'",
    `${b64}CDKTF_IPVS_B64`,
    `mv -f "$f" ${shQuote(L.applyScript)}`,
    "trap - EXIT",
    `exec sh ${shQuote(L.applyScript)}`,
    "",
  ].join("\n");
}

