/**
 * The one place the constructs load CDK for Terraform from. Every file in lib/constructs imports
 * the CDK classes from here, never from "cdktf", so that the library's resources and outputs are
 * built from the same copy as the app's stack, whichever of the two packages the app uses:
 *
 * - `cdktf`: HashiCorp's CDK for Terraform (0.20.x, 0.21.0; deprecated in December 2025);
 * - `cdktn`: CDK Terrain, its community continuation (0.24), with the same class names.
 *
 * Both are optional peer dependencies. Which one is loaded: $CDKTF_IPVS_CDK when set ("cdktf" or
 * "cdktn"); otherwise the one that can be found from here; when both can, the one the app has
 * already loaded (import it before cdktf-ipvs); when the app has loaded neither or both, cdktf.
 * IpvsHost refuses a scope whose App comes from another copy, with a message naming the fix.
 *
 * Types are cdktf's (a devDependency here); cdktn declares the same classes.
 */
import type * as Cdktf from "cdktf";
import type { ValidateTerraformVersion as ValidateTerraformVersionClass } from "cdktf/lib/validations/validate-terraform-version";
import * as path from "path";

/** The packages the constructs can be built from: cdktf (CDK for Terraform) or cdktn (CDK Terrain). */
export const CDK_LIBRARIES = ["cdktf", "cdktn"] as const;
/** One of {@link CDK_LIBRARIES}; also what $CDKTF_IPVS_CDK accepts. */
export type CdkLibrary = (typeof CDK_LIBRARIES)[number];

/** The environment variable that picks the library when an app has both installed. */
export const CDK_LIBRARY_ENV = "CDKTF_IPVS_CDK";

/**
 * Which library to load. `canLoad(name)`: it can be resolved from this package; `loaded(name)`:
 * the process has already loaded it.
 */
export function chooseCdkLibrary(env: Readonly<Record<string, string | undefined>>, canLoad: (name: CdkLibrary) => boolean, loaded: (name: CdkLibrary) => boolean): CdkLibrary {
  const forced = env[CDK_LIBRARY_ENV];
  if (forced !== undefined && forced !== "") {
    if (!(CDK_LIBRARIES as readonly string[]).includes(forced)) {
      throw new Error(`cdktf-ipvs: ${CDK_LIBRARY_ENV}=${JSON.stringify(forced)} is not one of ${CDK_LIBRARIES.join(", ")}`);
    }
    return forced as CdkLibrary;
  }
  const available = CDK_LIBRARIES.filter(canLoad);
  if (available.length === 0) {
    throw new Error(
      "cdktf-ipvs: neither cdktf nor cdktn can be found; install one of them next to cdktf-ipvs: " +
        "`npm install cdktf constructs` (CDK for Terraform) or `npm install cdktn constructs` (CDK Terrain)",
    );
  }
  if (available.length === 1) return available[0];
  const inUse = available.filter(loaded);
  return inUse.length === 1 ? inUse[0] : "cdktf";
}

function canLoad(name: CdkLibrary): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

function loaded(name: CdkLibrary): boolean {
  const marker = `${path.sep}node_modules${path.sep}${name}${path.sep}`;
  return Object.keys(require.cache ?? {}).some((file) => file.includes(marker));
}

/** The library the constructs are built from in this process. */
export const CDK_LIBRARY: CdkLibrary = chooseCdkLibrary(process.env, canLoad, loaded);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const cdk: typeof Cdktf = require(CDK_LIBRARY);
// Not in the index of either package; the check their own DataResource adds to every resource.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const validations: { ValidateTerraformVersion: typeof ValidateTerraformVersionClass } = require(`${CDK_LIBRARY}/lib/validations/validate-terraform-version`);

export const App: typeof Cdktf.App = cdk.App;
export type App = Cdktf.App;
export const Annotations: typeof Cdktf.Annotations = cdk.Annotations;
export const Aspects: typeof Cdktf.Aspects = cdk.Aspects;
export const Fn: typeof Cdktf.Fn = cdk.Fn;
export const Lazy: typeof Cdktf.Lazy = cdk.Lazy;
export const TerraformElement: typeof Cdktf.TerraformElement = cdk.TerraformElement;
export type TerraformElement = Cdktf.TerraformElement;
export const TerraformOutput: typeof Cdktf.TerraformOutput = cdk.TerraformOutput;
export type TerraformOutput = Cdktf.TerraformOutput;
export const TerraformProvider: typeof Cdktf.TerraformProvider = cdk.TerraformProvider;
export type TerraformProvider = Cdktf.TerraformProvider;
export const TerraformResource: typeof Cdktf.TerraformResource = cdk.TerraformResource;
export type TerraformResource = Cdktf.TerraformResource;
export const TerraformSelf: typeof Cdktf.TerraformSelf = cdk.TerraformSelf;
export const TerraformStack: typeof Cdktf.TerraformStack = cdk.TerraformStack;
export type TerraformStack = Cdktf.TerraformStack;
export const Token: typeof Cdktf.Token = cdk.Token;
export const anyToHclTerraform: typeof Cdktf.anyToHclTerraform = cdk.anyToHclTerraform;
export const anyToTerraform: typeof Cdktf.anyToTerraform = cdk.anyToTerraform;
export const hashMapper: typeof Cdktf.hashMapper = cdk.hashMapper;
export const hashMapperHcl: typeof Cdktf.hashMapperHcl = cdk.hashMapperHcl;
export const stringToHclTerraform: typeof Cdktf.stringToHclTerraform = cdk.stringToHclTerraform;
export const stringToTerraform: typeof Cdktf.stringToTerraform = cdk.stringToTerraform;
export const ValidateTerraformVersion: typeof ValidateTerraformVersionClass = validations.ValidateTerraformVersion;
export type ITerraformDependable = Cdktf.ITerraformDependable;
export type IAspect = Cdktf.IAspect;

/**
 * Throws when `scope`'s App was made by another copy of the library than the one loaded here
 * (cdktn app with cdktf loaded, or a second nested cdktf): its stacks would synthesize our
 * resources with the other copy's token and validation machinery.
 */
export function assertSameCdk(scope: { node: { root: unknown } }, what: string): void {
  const root = scope.node.root;
  if (cdk.App.isApp(root) && !(root instanceof cdk.App)) {
    const other = CDK_LIBRARIES.find((n) => n !== CDK_LIBRARY);
    throw new Error(
      `${what}: this app's App comes from another copy of CDK for Terraform than the ${CDK_LIBRARY} that cdktf-ipvs loaded ` +
        `(${require.resolve(CDK_LIBRARY)}). Install a single copy of ${CDK_LIBRARY} (cdktf-ipvs takes it as a peer dependency), ` +
        `or, when the app uses ${other}, set ${CDK_LIBRARY_ENV}=${other} or import ${other} before cdktf-ipvs.`,
    );
  }
}
