/**
 * The provisioning resource behind each step, in two flavours: null_resource (default, from the
 * hashicorp/null provider) and the built-in terraform_data (no provider download; air-gapped sites).
 * Both get the same triggers, provisioners and lifecycle; only the attribute names differ.
 *
 * The null provider's bindings are the two classes below (what @cdktf/provider-null generates,
 * reduced to what the steps use), so the app needs no provider package, for cdktf and cdktn
 * alike; a stack that uses null_resource and has no null provider gets one (ensureNullProvider).
 */
import { Construct, IConstruct } from "constructs";
import {
  ITerraformDependable,
  TerraformProvider,
  TerraformResource,
  TerraformSelf,
  TerraformStack,
  ValidateTerraformVersion,
  anyToHclTerraform,
  anyToTerraform,
  hashMapper,
  hashMapperHcl,
  stringToHclTerraform,
  stringToTerraform,
} from "./cdk";

/** Resource types a host's steps can use: null_resource (hashicorp/null provider) or terraform_data (Terraform ≥ 1.4). */
export const PROVISIONING_ENGINES = ["null_resource", "terraform_data"] as const;
/** A provisioning engine, one of {@link PROVISIONING_ENGINES} (IpvsHostProps.engine). */
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

/** The hashicorp/null provider as @cdktf/provider-null 11 declares it (same required_providers entry). */
const NULL_PROVIDER = { providerName: "null", providerVersion: "3.2.4", providerVersionConstraint: "~> 3.0" };

/** null_resource whose triggers are produced when the stack is synthesized. */
class StepNullResource extends TerraformResource {
  constructor(
    scope: Construct,
    id: string,
    config: { dependsOn: ITerraformDependable[]; lifecycle: { createBeforeDestroy: boolean }; connection: never; provisioners: never },
    private readonly produce: () => Record<string, string>,
  ) {
    super(scope, id, { terraformResourceType: "null_resource", terraformGeneratorMetadata: NULL_PROVIDER, ...config });
  }
  protected synthesizeAttributes(): { [name: string]: unknown } {
    return { triggers: hashMapper(stringToTerraform)(this.produce()) };
  }
  protected synthesizeHclAttributes(): { [name: string]: unknown } {
    return { triggers: { value: hashMapperHcl(stringToHclTerraform)(this.produce()), isBlock: false, type: "map", storageClassType: "stringMap" } };
  }
}

/**
 * The null provider a stack gets when it uses null_resource steps and declares no null provider
 * of its own. Should the app add its own after the first IpvsHost (any construct whose provider
 * type is "null", e.g. @cdktf/provider-null's NullProvider), this one synthesizes nothing.
 */
export class IpvsNullProvider extends TerraformProvider {
  constructor(scope: Construct, id: string) {
    super(scope, id, { terraformResourceType: "null", terraformGeneratorMetadata: NULL_PROVIDER, terraformProviderSource: "null" });
  }
  /** True when the stack has a null provider other than this one. */
  private superseded(): boolean {
    return nullProvidersOf(TerraformStack.of(this)).some((p) => p !== this);
  }
  toTerraform(): Record<string, unknown> {
    return this.superseded() ? {} : super.toTerraform();
  }
  toHclTerraform(): Record<string, unknown> {
    return this.superseded() ? {} : super.toHclTerraform();
  }
  toMetadata(): Record<string, unknown> {
    return this.superseded() ? {} : super.toMetadata();
  }
  protected synthesizeAttributes(): { [name: string]: unknown } {
    return {};
  }
  protected synthesizeHclAttributes(): { [name: string]: unknown } {
    return {};
  }
}

/** Construct id of the provider ensureNullProvider adds to a stack. */
export const NULL_PROVIDER_ID = "cdktf-ipvs-null-provider";

function nullProvidersOf(stack: TerraformStack): IConstruct[] {
  return stack.node.findAll().filter((c) => TerraformProvider.isTerraformProvider(c) && (c as TerraformProvider).terraformResourceType === "null");
}

/** Adds an IpvsNullProvider to the stack of `scope` unless the stack already has a null provider. */
export function ensureNullProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (nullProvidersOf(stack).length === 0) new IpvsNullProvider(stack, NULL_PROVIDER_ID);
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
    ensureNullProvider(scope);
    // null_resource has only triggers: the inputs (fixed at construction) go there too.
    return new StepNullResource(scope, id, common, () => ({ ...config.triggers(), ...config.inputs }));
  }
  return new StepDataResource(scope, id, common, config.inputs, config.triggers);
}
