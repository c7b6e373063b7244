/**
 * The provisioning resource behind each step, in two flavours: null_resource (default, from
 * @cdktf/provider-null) and the built-in terraform_data (no provider download; air-gapped sites).
 * Both get the same triggers, provisioners and lifecycle; only the attribute names differ.
 */
import { Resource as NullResource } from "@cdktf/provider-null/lib/resource";
import { ITerraformDependable, TerraformResource, TerraformSelf, TerraformStack, anyToHclTerraform, anyToTerraform, hashMapper, hashMapperHcl } from "cdktf";
// Not in cdktf's index, but the check its DataResource adds to every resource.
import { ValidateTerraformVersion } from "cdktf/lib/validations/validate-terraform-version";
import { Construct } from "constructs";

export const PROVISIONING_ENGINES = ["null_resource", "terraform_data"] as const;
export type ProvisioningEngine = (typeof PROVISIONING_ENGINES)[number];

export interface StepResourceConfig {
  /**
   * Values whose change replaces the resource (re-running its provisioners). Produced at synth
   * time: which entries there are depends on what was declared after the resource was created.
   */
  readonly triggers: () => Record<string, string>;
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

/** null_resource whose triggers are produced when the stack is synthesized. */
class StepNullResource extends NullResource {
  constructor(scope: Construct, id: string, config: ConstructorParameters<typeof NullResource>[2], private readonly produce: () => Record<string, string>) {
    super(scope, id, config);
  }
  protected synthesizeAttributes(): { [name: string]: unknown } {
    this.triggers = this.produce();
    return super.synthesizeAttributes();
  }
  protected synthesizeHclAttributes(): { [name: string]: unknown } {
    this.triggers = this.produce();
    return super.synthesizeHclAttributes();
  }
}

/**
 * terraform_data whose triggers_replace is produced when the stack is synthesized. Not cdktf's
 * DataResource: that adds to every resource a validation running `terraform version` (350
 * processes for 50 hosts); the same check is added here once per stack.
 */
class StepDataResource extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    config: { dependsOn: ITerraformDependable[]; lifecycle: { createBeforeDestroy: boolean }; connection: never; provisioners: never },
    private readonly input: Record<string, string>,
    private readonly produce: () => Record<string, string>,
  ) {
    super(scope, id, { terraformResourceType: "terraform_data", terraformGeneratorMetadata: { providerName: "terraform" }, ...config });
    const stack = TerraformStack.of(scope);
    if (!versionChecked.has(stack)) {
      versionChecked.add(stack);
      stack.node.addValidation(new ValidateTerraformVersion(">=1.4", "The built-in Terraform data resource is only supported for Terraform >=1.4. Please upgrade your Terraform version."));
    }
  }
  protected synthesizeAttributes(): { [name: string]: unknown } {
    return { input: hashMapper(anyToTerraform)(this.input), triggers_replace: hashMapper(anyToTerraform)(this.produce()) };
  }
  protected synthesizeHclAttributes(): { [name: string]: unknown } {
    return { input: hashMapperHcl(anyToHclTerraform)(this.input), triggers_replace: hashMapperHcl(anyToHclTerraform)(this.produce()) };
  }
}
const versionChecked = new WeakSet<TerraformStack>();

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
    // null_resource has only triggers: the inputs (fixed at construction) go there too.
    return new StepNullResource(scope, id, common, () => ({ ...config.triggers(), ...config.inputs }));
  }
  return new StepDataResource(scope, id, common, config.inputs, config.triggers);
}
