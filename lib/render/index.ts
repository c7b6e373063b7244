/**
 * Everything a host receives, rendered from its plan: the three scripts, the persistence files
 * (also embedded in apply.sh, which installs them) and a manifest describing the plan.
 */
import { CONNTRACK_SYSCTL, DesiredHost } from "../model";
import { HostPlan, planStep, sha256 } from "../plan";
import { aliasChains } from "./iptables";
import { ipvsRules } from "./ipvsadm";
import { HOST_LAYOUT } from "./layout";
import { bootUnit, modulesLoadConf, sysctlConf } from "./persistence";
import { bundleScripts } from "./bundle";
import { HostReview, reviewHost } from "./review";
import { HostScripts, renderScripts } from "./scripts";

export * from "./layout";
export * from "./commands";
export * from "./ipvsadm";
export * from "./iptables";
export * from "./persistence";
export * from "./review";
export * from "./bundle";
export * from "./shell";
export { DESIRED_STATE_MARKER, HostScripts, readDesiredState, renderScripts } from "./scripts";

/** What the host's plan makes true, as `cdktf-ipvs render` writes it to manifest.json. */
export interface HostManifest {
  /** Host name (DesiredHost.name). */
  readonly host: string;
  /** Where the host was declared (construct path or spec path). */
  readonly path: string;
  /** sha256 over all step hashes (HostPlan.hash). */
  readonly planHash: string;
  /** The plan steps, in apply order. */
  readonly steps: readonly {
    /** Step name (a {@link StepName}). */
    readonly name: string;
    /** sha256 of the step's content (PlanStep.hash). */
    readonly hash: string;
    /** What the step is for, one line. */
    readonly title: string;
    /** What it makes true on the host, one line each. */
    readonly actions: readonly string[];
  }[];
  /** Destroy order: the apply order reversed, without verify. */
  readonly destroyOrder: readonly string[];
  /** Desired IPVS rules as `ipvsadm -Sn` prints them (thresholds appended as ` -x U -y L`), sorted. */
  readonly ipvsRules: readonly string[];
  /** cdktf-ipvs's iptables nat chains that have rules, with their alias rules. */
  readonly aliasRules: readonly {
    /** iptables or ip6tables. */
    readonly command: string;
    /** Our chain: CDKTF-IPVS-PRE (remote clients) or CDKTF-IPVS-OUT (local clients). */
    readonly chain: string;
    /** The built-in nat chain that jumps to ours: PREROUTING or OUTPUT. */
    readonly parent: string;
    /** Rules (tokens after `-A CHAIN`), in order. */
    readonly rules: readonly string[];
  }[];
  /** Sysctls the host gets, key → value, in apply order. */
  readonly sysctls: Readonly<Record<string, string>>;
  /**
   * Sysctls the host decides from its running kernel at each apply (lib/render/host/kernel.sh),
   * key → rule: net.ipv4.vs.conn_reuse_mode when the host wants conntrack=1 and its sysctls do not
   * declare it. Empty otherwise.
   */
  readonly kernelDecidedSysctls: Readonly<Record<string, string>>;
  /** Kernel modules, in load order (ip_vs first). */
  readonly modules: readonly string[];
  /** Persistence files: host path (modules-load.d, sysctl.d, systemd unit) → sha256 of the content. */
  readonly persistenceFiles: Readonly<Record<string, string>>;
  /** Scripts: file name (apply.sh, verify.sh, destroy.sh) → sha256 of the content. */
  readonly scripts: Readonly<Record<string, string>>;
}

/** Everything a host receives, rendered from its plan (IpvsHost.rendered). */
export interface RenderedHost {
  /** apply.sh, verify.sh and destroy.sh. */
  readonly scripts: HostScripts;
  /** Host path → content, as apply.sh installs them. */
  readonly persistenceFiles: Readonly<Record<string, string>>;
  /** A description of the plan, as written to manifest.json. */
  readonly manifest: HostManifest;
  /** sha256 of manifestText(manifest): what `sha256sum manifest.json` prints for the rendered manifest. */
  readonly manifestHash: string;
  /** What each step makes true, entry by entry, as the step's triggers carry it (see review.ts). */
  readonly review: HostReview;
  /** The scripts as the upload step carries them: base64 of a gzipped tar (see bundle.ts). */
  readonly bundle: string;
}

export const CONN_REUSE_MODE_KEY = "net.ipv4.vs.conn_reuse_mode";

/** How apply.sh and verify.sh decide net.ipv4.vs.conn_reuse_mode on the host (conn_reuse_mode_for_kernel in lib/render/host/kernel.sh). */
export const CONN_REUSE_MODE_RULE =
  "0 when `uname -r` is 4.1 or later and before 5.9 (with conntrack=1 and conn_reuse_mode=1 those kernels drop the first SYN of a reused source port, a 1 s stall: kubernetes#70747); " +
  "left alone from 5.9 on (fixed: kubernetes#93297), before 4.1 and when the release does not start with MAJOR.MINOR; as kube-proxy does. " +
  "Decided on the host at each apply (logged by the sysctls step), remembered and restored by destroy like any other sysctl, checked by verify.";

/** The sysctls the host decides from its kernel, with their rule (HostManifest.kernelDecidedSysctls). */
export function kernelDecidedSysctls(host: DesiredHost): Record<string, string> {
  const wantsConntrack = host.sysctls.some((s) => s.key === CONNTRACK_SYSCTL && s.value === "1");
  const declared = host.sysctls.some((s) => s.key === CONN_REUSE_MODE_KEY);
  return wantsConntrack && !declared ? { [CONN_REUSE_MODE_KEY]: CONN_REUSE_MODE_RULE } : {};
}

/** The manifest as written to manifest.json: two-space JSON and a final newline. */
export function manifestText(manifest: HostManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
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
    kernelDecidedSysctls: kernelDecidedSysctls(host),
    modules: host.modules.map((m) => m.name),
    persistenceFiles: Object.fromEntries(Object.entries(persistenceFiles).map(([p, c]) => [p, sha256(c)])),
    scripts: Object.fromEntries(Object.entries(scripts).map(([n, c]) => [n, sha256(c)])),
  };
  // Worked out on first use: the constructs render again after every declaration.
  let manifestHash: string | undefined;
  let review: HostReview | undefined;
  let bundle: string | undefined;
  return {
    scripts,
    persistenceFiles,
    manifest,
    get manifestHash() {
      return (manifestHash ??= sha256(manifestText(manifest)));
    },
    get review() {
      return (review ??= reviewHost(plan, scripts));
    },
    get bundle() {
      return (bundle ??= bundleScripts(scripts));
    },
  };
}
