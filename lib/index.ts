/**
 * `cdktf-ipvs`: the public API. The constructs and their props, the model types their read-only
 * members return, the spec format (IpvsHost.fromSpec), the policy entry points and the jest
 * matchers. Everything else (renderers, planner internals, shell helpers) is in
 * `cdktf-ipvs/internal`, with no stability promise.
 *
 * @packageDocumentation
 */

// Constructs and their props.
export {
  IpvsHost,
  VirtualService,
  CONVERGE_MODES,
  type ConvergeMode,
  type IpvsHostProps,
  type SshConnectionProps,
  type SshBastionProps,
  type VirtualServiceProps,
  type RealServerProps,
  type AliasProps,
} from "./constructs/ipvs-host";
export { PROVISIONING_ENGINES, type ProvisioningEngine } from "./constructs/engine";
export { CDK_LIBRARY, CDK_LIBRARIES, CDK_LIBRARY_ENV, type CdkLibrary } from "./constructs/cdk";

// The spec format (spec.json, IpvsHost.fromSpec) and its vocabularies.
export {
  PROTOCOLS,
  SCHEDULERS,
  SCHEDULER_FLAGS,
  FORWARDING_METHODS,
  ALIAS_METHODS,
  type Protocol,
  type Scheduler,
  type ForwardingMethod,
  type AliasMethod,
  type PersistenceSpec,
  type RealServerSpec,
  type AliasSpec,
  type VirtualServiceSpec,
  type SshSpec,
  type HostSpec,
  type HostSettings,
  type IpvsSpec,
} from "./model/spec";

// What IpvsHost.desiredState / plan / rendered return.
export type {
  DesiredHost,
  DesiredService,
  DesiredAddressService,
  DesiredFwmarkService,
  DesiredRealServer,
  DesiredPersistence,
  DesiredAlias,
  DesiredSysctl,
  DesiredModule,
  DesiredSsh,
} from "./model/desired";
export type { AddressFamily } from "./model/address";
export { IpvsModelError, formatIssue, type ModelIssue } from "./model/errors";
export { conntrackMaxFor, type ConntrackSizing } from "./model/conntrack-sizing";
export {
  STEP_NAMES,
  formatPlan,
  planSummaryLines,
  type StepName,
  type PlanStep,
  type ModulesStep,
  type SysctlsStep,
  type IpvsStep,
  type AliasesStep,
  type BootStep,
  type VerifyStep,
  type HostPlan,
  type FormatPlanOptions,
} from "./plan/plan";
export type { RenderedHost, HostManifest, HostScripts, HostReview, StepReview } from "./render";
export { UPLOAD_STEP } from "./render/commands";

// Policy: at synth time (IpvsPolicyChecks, IpvsPolicy.suppress) and on a desired host or a plan JSON.
export { IpvsPolicy, IpvsPolicyChecks, type IpvsSuppression, type IpvsPolicyReport } from "./constructs/policy-checks";
export { formatFinding, type Finding, type RuleHit, type RuleLevel, type HostRule } from "./policy/rule";
export { HOST_RULES, checkHost } from "./policy/check";
export { checkTerraformPlan, PlanFormatError } from "./policy/plan-json";
export type { StackFinding, StackRuleHit } from "./policy/stack/rule";

// Jest matchers (expect.extend(ipvsMatchers)).
export { ipvsMatchers, type MatcherResult } from "./testing/matchers";
