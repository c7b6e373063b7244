/**
 * Everything a host receives, rendered from its plan: the three scripts, the persistence files
 * (also embedded in apply.sh, which installs them) and a manifest describing the plan.
 */
import { HostPlan, planStep, sha256 } from "../plan";
import { aliasChains } from "./iptables";
import { ipvsRules } from "./ipvsadm";
import { HOST_LAYOUT } from "./layout";
import { bootUnit, modulesLoadConf, sysctlConf } from "./persistence";
import { HostScripts, renderScripts } from "./scripts";

export * from "./layout";
export * from "./commands";
export * from "./ipvsadm";
export * from "./iptables";
export * from "./persistence";
export * from "./shell";
export { DESIRED_STATE_MARKER, HostScripts, readDesiredState, renderScripts } from "./scripts";

export interface HostManifest {
  readonly host: string;
  readonly path: string;
  readonly planHash: string;
  readonly steps: readonly { readonly name: string; readonly hash: string; readonly title: string; readonly actions: readonly string[] }[];
  readonly destroyOrder: readonly string[];
  readonly ipvsRules: readonly string[];
  readonly aliasRules: readonly { readonly command: string; readonly chain: string; readonly parent: string; readonly rules: readonly string[] }[];
  readonly sysctls: Readonly<Record<string, string>>;
  readonly modules: readonly string[];
  readonly persistenceFiles: Readonly<Record<string, string>>;
  readonly scripts: Readonly<Record<string, string>>;
}

export interface RenderedHost {
  readonly scripts: HostScripts;
  /** Host path → content, as apply.sh installs them. */
  readonly persistenceFiles: Readonly<Record<string, string>>;
  readonly manifest: HostManifest;
}

export function renderHost(plan: HostPlan): RenderedHost {
  const host = plan.host;
  const scripts = renderScripts(plan);
  const persistenceFiles = {
    [HOST_LAYOUT.modulesFile]: modulesLoadConf(host),
    [HOST_LAYOUT.sysctlFile]: sysctlConf(host),
    [HOST_LAYOUT.unitFile]: bootUnit(host),
  };
  const manifest: HostManifest = {
    host: host.name,
    path: host.path,
    planHash: plan.hash,
    steps: plan.steps.map((s) => ({ name: s.name, hash: s.hash, title: s.title, actions: s.actions })),
    destroyOrder: plan.destroyOrder,
    // From the steps, sorted as the scripts carry them.
    ipvsRules: ipvsRules(planStep(plan, "ipvs").services),
    aliasRules: aliasChains(planStep(plan, "aliases").aliases)
      .filter((c) => c.rules.length > 0)
      .map((c) => ({ command: c.command, chain: c.chain, parent: c.parent, rules: c.rules })),
    sysctls: Object.fromEntries(host.sysctls.map((s) => [s.key, s.value])),
    modules: host.modules.map((m) => m.name),
    persistenceFiles: Object.fromEntries(Object.entries(persistenceFiles).map(([p, c]) => [p, sha256(c)])),
    scripts: Object.fromEntries(Object.entries(scripts).map(([n, c]) => [n, sha256(c)])),
  };
  return { scripts, persistenceFiles, manifest };
}
