/**
 * The provisioning resource behind each step, in two flavours: null_resource (default, from
 * @cdktf/provider-null) and the built-in terraform_data (no provider download; air-gapped sites).
 * Both get the same triggers, provisioners and lifecycle; only the attribute names differ.
 */
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { DataResource, ITerraformDependable, TerraformResource, TerraformSelf } from "cdktf";
import { Construct } from "constructs";

export const PROVISIONING_ENGINES = ["null_resource", "terraform_data"] as const;
export type ProvisioningEngine = (typeof PROVISIONING_ENGINES)[number];

export interface StepResourceConfig {
  /** Values whose change replaces the resource (re-running its provisioners). */
  readonly triggers: Record<string, string>;
  /** Values the provisioners read but whose change must not re-run them (terraform_data only). */
  readonly inputs: Record<string, string>;
  readonly provisioners: unknown[];
  readonly connection: Record<string, unknown>;
  readonly dependsOn: ITerraformDependable[];
}

/** `self.<attr>` for a trigger value, as the engine names it. */
export function selfTrigger(engine: ProvisioningEngine, key: string): string {
  return TerraformSelf.getString(engine === "null_resource" ? `triggers.${key}` : `triggers_replace.${key}`);
}

/** `self.<attr>` for a non-replacing input (null_resource has only triggers). */
export function selfInput(engine: ProvisioningEngine, key: string): string {
  return TerraformSelf.getString(engine === "null_resource" ? `triggers.${key}` : `input.${key}`);
}

export function createStepResource(scope: Construct, id: string, engine: ProvisioningEngine, config: StepResourceConfig): TerraformResource {
  const common = {
    dependsOn: config.dependsOn,
    // The successor applies (diff-based, hitless) before the old resource's destroy runs; the
    // destroy then sees it was superseded and does nothing.
    lifecycle: { createBeforeDestroy: true },
    connection: config.connection as never,
    provisioners: config.provisioners as never,
  };
  if (engine === "null_resource") {
    return new NullResource(scope, id, { ...common, triggers: { ...config.triggers, ...config.inputs } });
  }
  return new DataResource(scope, id, { ...common, triggersReplace: config.triggers, input: config.inputs });
}
