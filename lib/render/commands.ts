/**
 * The short commands a provisioner runs on the host around the uploaded scripts. They live here,
 * with the scripts, so that every piece of shell text we send to a host is produced in lib/render.
 */
import { StepName } from "../plan";
import { HOST_LAYOUT as L } from "./layout";
import { shQuote } from "./shell";

export interface StepCommands {
  /** Before uploads: make our state directory (the file provisioner cannot). */
  readonly prepare: string;
  /** Runs the step. */
  readonly run: string;
  /** Undoes the step on destroy (none for verify). */
  readonly undo?: string;
}

/**
 * GENERATION identifies the provisioning resource (Terraform's `${self.id}`): destroy.sh uses it
 * to tell a replaced resource's destroy from a real one.
 */
export function stepCommands(step: StepName, generation: string): StepCommands {
  const prepare = `mkdir -p ${shQuote(L.stateDir)} && chmod 700 ${shQuote(L.stateDir)}`;
  if (step === "verify") return { prepare, run: `sh ${L.verifyScript}` };
  return {
    prepare,
    run: `sh ${L.applyScript} --generation ${generation} ${step}`,
    undo: `if [ -f ${L.destroyScript} ]; then sh ${L.destroyScript} --generation ${generation} ${step}; else echo 'cdktf-ipvs: nothing to undo for ${step}'; fi`,
  };
}

/** Recognizes a step's run command in a plan (generation as Terraform writes `${self.id}`). */
export function stepOfCommand(command: string): StepName | undefined {
  if (command === `sh ${L.verifyScript}`) return "verify";
  const prefix = `sh ${L.applyScript} --generation `;
  if (!command.startsWith(prefix)) return undefined;
  const step = command.slice(prefix.length).split(" ")[1];
  return (["modules", "sysctls", "ipvs", "aliases", "boot"] as const).find((s) => s === step);
}
