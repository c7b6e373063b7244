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

/** How the SSH user runs our commands as root: "sudo", or none when the user is root. */
export const BECOME_METHODS = ["sudo"] as const;
export type BecomeMethod = (typeof BECOME_METHODS)[number];

/** How the commands reach root on the host. */
export interface CommandOptions {
  /**
   * "sudo": the SSH user is not root; every command runs as `sudo -n sh -c '...'` (never a
   * password prompt), and the bundle is uploaded into UPLOAD_INBOX first.
   * @default none: the SSH user is root
   */
  readonly become?: BecomeMethod;
}

/**
 * With become "sudo", the file provisioner (which writes as the SSH user) uploads the bundle into
 * this directory; the upload step then unpacks it as root into the state directory and removes
 * it. Root makes it fresh before every upload (`rm -rf`, `mkdir -m 700`, owned by the SSH user),
 * and only root can create or replace entries in /var/lib, so no other local user can plant a
 * symlink or a directory of theirs there, or read or swap the bundle between the upload and the
 * unpack (the sha256 check after the unpack stays the last word either way). Not /tmp: the
 * destination is fixed at synth time, and a fixed name in a world-writable directory can be taken
 * first by anyone (a symlink pointing elsewhere, or a directory they own and can write into).
 */
export const UPLOAD_INBOX = "/var/lib/cdktf-ipvs-upload";
const INBOX_BUNDLE = `${UPLOAD_INBOX}/scripts.tar.gz.b64`;

/** Where the file provisioner uploads the bundle. */
export function bundleDestination(options: CommandOptions = {}): string {
  return options.become === "sudo" ? INBOX_BUNDLE : BUNDLE_PATH;
}

/** Every destination our upload step uses, with or without become (for plan readers). */
export const BUNDLE_DESTINATIONS: readonly string[] = [BUNDLE_PATH, INBOX_BUNDLE];

/**
 * Checked before every command with become "sudo": `sudo -n` never prompts, so a user who needs a
 * password (or may not use sudo, or has no sudo) fails at once with sudo's reason and this text,
 * instead of hanging until Terraform's timeout.
 */
const SUDO_CHECK =
  `sudo -n true || { echo ${shQuote(
    'cdktf-ipvs: connection.become is "sudo", but "sudo -n true" failed for the SSH user (see the line above): the user must be allowed to run commands as root through sudo without a password, e.g. "USER ALL=(root) NOPASSWD: ALL" in /etc/sudoers.d/USER',
  )} >&2; exit 1; }`;

/**
 * COMMAND as it is sent to the host: unchanged when the SSH user is root; with become "sudo",
 * run by `sh -c` as root through `sudo -n` (after the check above), quoted as one word.
 */
export function asRoot(command: string, options: CommandOptions = {}): string {
  return options.become === "sudo" ? `${SUDO_CHECK}; sudo -n sh -c ${shQuote(command)}` : command;
}

/** The command asRoot(command, { become: "sudo" }) wrapped, or undefined when COMMAND is not such a wrapping. */
export function unwrapSudo(command: string): string | undefined {
  const head = `${SUDO_CHECK}; sudo -n sh -c `;
  if (!command.startsWith(head)) return undefined;
  const quoted = command.slice(head.length);
  if (!/^'(?:[^']|'\\'')*'$/.test(quoted)) return undefined;
  const inner = quoted.slice(1, -1).replace(/'\\''/g, "'");
  return asRoot(inner, { become: "sudo" }) === command ? inner : undefined;
}

/**
 * The upload step: make the state directory (and with become, a fresh inbox the SSH user can
 * write, see UPLOAD_INBOX); (after the file provisioner uploaded the bundle) unpack it into a
 * scratch folder, move each script into place with a rename (a script running at that moment
 * keeps reading its old file), and check that all three have the hashes of this plan. It undoes
 * nothing: the modules step's destroy (the last one of a real destroy) removes the scripts, and a
 * superseded upload must not remove what its successor uploaded.
 */
export function uploadCommands(hashes: Readonly<Record<ScriptName, string>>, options: CommandOptions = {}): UploadCommands {
  return { prepare: asRoot(uploadPrepare(options), options), run: asRoot(uploadRun(hashes, options), options) };
}

function uploadPrepare(options: CommandOptions): string {
  const state = `mkdir -p ${shQuote(L.stateDir)} && chmod 700 ${shQuote(L.stateDir)}`;
  if (options.become !== "sudo") return state;
  // SUDO_UID: the SSH user's uid, set by sudo; the file provisioner writes as that user.
  const inbox = shQuote(UPLOAD_INBOX);
  return `${state} && [ -n "$SUDO_UID" ] && rm -rf ${inbox} && mkdir -m 700 ${inbox} && chown "$SUDO_UID" ${inbox}`;
}

function uploadRun(hashes: Readonly<Record<ScriptName, string>>, options: CommandOptions): string {
  const dir = shQuote(UNPACK_DIR);
  const moves = SCRIPT_NAMES.map((n) => `"$d"/${n}`).join(" ");
  const bundle = bundleDestination(options);
  const remove = options.become === "sudo" ? shQuote(UPLOAD_INBOX) : shQuote(bundle);
  return (
    `d=${dir} && rm -rf "$d" && mkdir -m 700 "$d" && base64 -d ${shQuote(bundle)} | tar -xmzf - -C "$d" && ` +
    `mv -f ${moves} ${shQuote(`${L.stateDir}/`)} && rm -rf "$d" ${remove} && ` +
    `${sha256Check(SCRIPT_NAMES.map((n) => [n, hashes[n]]))} || { echo ${shQuote("cdktf-ipvs: the uploaded scripts did not arrive intact")} >&2; exit 1; }`
  );
}

/**
 * A plan step's commands. GENERATION identifies the provisioning resource (Terraform's
 * `${self.id}`): destroy.sh uses it to tell a replaced resource's destroy from a real one.
 * SCRIPT_HASH is the sha256 of the script the step runs (verify.sh for verify, apply.sh for the
 * others), as the upload step uploads it.
 */
export function stepCommands(step: StepName, generation: string, scriptHash: string, options: CommandOptions = {}): StepCommands {
  const run = asRoot(stepRun(step, generation, scriptHash), options);
  return step === "verify" ? { run } : { run, undo: undoCommand(step, generation, options) };
}

function stepRun(step: StepName, generation: string, scriptHash: string): string {
  const script: ScriptName = step === "verify" ? "verify.sh" : "apply.sh";
  const guard = `${sha256Check([[script, scriptHash]])} || { echo ${notOurs(script)} >&2; exit 1; }`;
  if (step === "verify") return `${guard}; sh ${shQuote(L.verifyScript)}`;
  return `${guard}; sh ${shQuote(L.applyScript)} --generation ${shQuote(generation)} ${step}`;
}

/** The converge step of `converge: "every-deploy"`: it runs on every deploy, not only on change. */
export const CONVERGE_STEP = "converge";

/**
 * The converge step: the whole idempotent apply, then verify, with the scripts this plan
 * uploaded (hash-checked). A no-op apply costs about one read of the tables; any drift since the
 * last deploy (conntrack=0, a deleted real server, a stray rule in our chain) is put back, and
 * verify fails the deploy when it cannot be.
 */
export function convergeCommands(applyHash: string, verifyHash: string, options: CommandOptions = {}): StepCommands {
  return { run: asRoot(convergeRun(applyHash, verifyHash), options) };
}

function convergeRun(applyHash: string, verifyHash: string): string {
  const guard = (name: ScriptName, hash: string) => `${sha256Check([[name, hash]])} || { echo ${notOurs(name)} >&2; exit 1; }`;
  return `${guard("apply.sh", applyHash)}; ${guard("verify.sh", verifyHash)}; sh ${shQuote(L.applyScript)} && sh ${shQuote(L.verifyScript)}`;
}

/**
 * Undoes STEP on destroy with the host's destroy.sh. No hash check: at destroy time the host's
 * destroy.sh is the one of the last apply, which knows what that apply made (and a replaced
 * step's destroy runs after its successor's upload, so it is current then); refusing it would
 * leave the host half-destroyed.
 */
export function undoCommand(step: Exclude<StepName, "verify">, generation: string, options: CommandOptions = {}): string {
  return asRoot(
    `if [ -f ${shQuote(L.destroyScript)} ]; then sh ${shQuote(L.destroyScript)} --generation ${shQuote(generation)} ${step}; else echo ${shQuote(`cdktf-ipvs: nothing to undo for ${step}`)}; fi`,
    options,
  );
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
 * the command must be exactly what stepCommands, uploadCommands or convergeCommands produce for
 * the hashes and the generation it names, with or without become "sudo" (then the whole command
 * is the `sudo -n sh -c '...'` wrapping of one). Commands of earlier releases (no hash check) are
 * recognized too.
 */
export function readStepCommand(command: string): RecognizedCommand | undefined {
  const inner = unwrapSudo(command);
  return inner !== undefined ? readRootCommand(inner, { become: "sudo" }) : readRootCommand(command, {});
}

/** readStepCommand of a command as root runs it (unwrapped). */
function readRootCommand(command: string, options: CommandOptions): RecognizedCommand | undefined {
  if (options.become === undefined) {
    if (command === `sh ${L.verifyScript}`) return { step: "verify", checks: {} };
    const legacy = `sh ${L.applyScript} --generation `;
    if (command.startsWith(legacy)) {
      const step = APPLY_STEPS.find((s) => s === command.slice(legacy.length).split(" ")[1]);
      return step ? { step, checks: {} } : undefined;
    }
  }
  const checks: Partial<Record<ScriptName, string>> = {};
  for (const m of command.matchAll(HASH_LINE)) checks[`${m[2]}.sh` as ScriptName] = m[1];
  if (checks["apply.sh"] && checks["verify.sh"] && checks["destroy.sh"]) {
    return command === uploadRun(checks as Record<ScriptName, string>, options) ? { step: UPLOAD_STEP, checks } : undefined;
  }
  if (checks["verify.sh"] && command === stepRun("verify", "", checks["verify.sh"])) return { step: "verify", checks };
  if (checks["apply.sh"] && checks["verify.sh"] && command === convergeRun(checks["apply.sh"], checks["verify.sh"])) return { step: CONVERGE_STEP, checks };
  const tail = / --generation ('(?:[^']|'\\'')*') ([a-z]+)$/.exec(command);
  const apply = checks["apply.sh"];
  if (!tail || !apply) return undefined;
  const step = APPLY_STEPS.find((s) => s === tail[2]);
  const generation = tail[1].slice(1, -1).replace(/'\\''/g, "'");
  return step && command === stepRun(step, generation, apply) ? { step, checks } : undefined;
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

