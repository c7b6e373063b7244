/**
 * DesiredHost → the ordered steps that provision it. Order is the point: modules before the
 * sysctls that only exist once ip_vs is loaded, conntrack=1 before any alias rule can send a
 * packet to IPVS, IPVS before the aliases that lead to it. Destroy runs the same steps backwards.
 *
 * Each step carries a content hash of what it applies. The constructs put the hash, and the
 * upstream step's id, into the step's triggers, so changing a step re-runs it and everything after.
 */
import { createHash } from "crypto";
import {
  DesiredAlias,
  DesiredHost,
  DesiredModule,
  DesiredService,
  DesiredSysctl,
  hostNeedsConntrack,
  hostPort,
  serviceKeyOf,
} from "../model";

/** Bump when the rendered form of a step changes, so hosts re-apply after a library upgrade. */
export const STEP_FORMAT_VERSION = 1;

/** The provisioning steps of a host, in apply order; destroy runs them backwards, without verify. */
export const STEP_NAMES = ["modules", "sysctls", "ipvs", "aliases", "boot", "verify"] as const;
/** A step name, one of {@link STEP_NAMES}. */
export type StepName = (typeof STEP_NAMES)[number];

interface StepBase {
  readonly name: StepName;
  /** One line for people: what the step is for. */
  readonly title: string;
  /** What it will make true on the host, one line each. */
  readonly actions: readonly string[];
  /** sha256 of the step's content; changes exactly when the step would do something different. */
  readonly hash: string;
}

/** Loads the kernel modules and persists them in /etc/modules-load.d. */
export interface ModulesStep extends StepBase {
  /** Discriminant of {@link PlanStep}. */
  readonly name: "modules";
  /** Modules to load, in load order (ip_vs first). */
  readonly modules: readonly DesiredModule[];
}
/** Sets the sysctls and persists them in /etc/sysctl.d. */
export interface SysctlsStep extends StepBase {
  /** Discriminant of {@link PlanStep}. */
  readonly name: "sysctls";
  /** Sysctls to set, in apply order. */
  readonly sysctls: readonly DesiredSysctl[];
}
/** Converges the IPVS services cdktf-ipvs owns; services it does not own are left alone. */
export interface IpvsStep extends StepBase {
  /** Discriminant of {@link PlanStep}. */
  readonly name: "ipvs";
  /** Desired services, sorted by service key so declaration order changes no hash. */
  readonly services: readonly DesiredService[];
}
/** Converges the alias rules in cdktf-ipvs's own iptables nat chains. */
export interface AliasesStep extends StepBase {
  /** Discriminant of {@link PlanStep}. */
  readonly name: "aliases";
  /** Desired aliases, sorted by family, port and address. */
  readonly aliases: readonly DesiredAlias[];
  /** The pairing, carried into the step so the script refuses to add rules without it. */
  readonly requiresConntrack: boolean;
}
/** Installs and enables the systemd unit (cdktf-ipvs.service) that re-runs apply.sh at boot. */
export interface BootStep extends StepBase {
  /** Discriminant of {@link PlanStep}. */
  readonly name: "boot";
}
/** Compares the live host with the desired state; any difference fails the deploy. */
export interface VerifyStep extends StepBase {
  /** Discriminant of {@link PlanStep}. */
  readonly name: "verify";
}
/** One step of a host's plan; switch on `name`. */
export type PlanStep = ModulesStep | SysctlsStep | IpvsStep | AliasesStep | BootStep | VerifyStep;

/** The ordered steps that provision one host (IpvsHost.plan), with content hashes. */
export interface HostPlan {
  /** The desired state the plan was made from. */
  readonly host: DesiredHost;
  /** Apply order. */
  readonly steps: readonly PlanStep[];
  /** Destroy order: the apply order reversed, without verify. */
  readonly destroyOrder: readonly StepName[];
  /** Hash over all steps. */
  readonly hash: string;
}

/** Canonical JSON: sorted keys, so the hash does not depend on declaration order of props. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && k !== "path")
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function hashOf(name: StepName, content: unknown): string {
  return sha256(stableJson({ v: STEP_FORMAT_VERSION, step: name, content }));
}

function describeService(svc: DesiredService): string {
  // IPv6 addresses bracketed, as everywhere people read them: [2001:db8::21]:443.
  const rs = svc.realServers.map((r) => `${hostPort(svc.family, r.address, r.port)} ${r.forwarding} w${r.weight}`).join(", ");
  const persist = svc.persistence ? `, persistent ${svc.persistence.timeout}s` : "";
  return `service ${serviceKeyOf(svc)} (${svc.name}) ${svc.scheduler}${persist} → ${rs || "no real servers"}`;
}

function describeAlias(a: DesiredAlias): string {
  const who = [a.remoteClients ? "remote" : "", a.localClients ? "local" : ""].filter(Boolean).join("+");
  return `alias ${a.protocol} ${hostPort(a.family, a.address, a.port)} → ${hostPort(a.family, a.targetAddress, a.targetPort)} (${a.service}, ${a.method}, ${who} clients)`;
}

export function planHost(host: DesiredHost): HostPlan {
  // Services sorted by key so reordering declarations changes no hash and no script.
  const services = [...host.services].sort((a, b) => (serviceKeyOf(a) < serviceKeyOf(b) ? -1 : 1));
  const aliases = [...host.aliases].sort((a, b) => a.family.localeCompare(b.family) || a.port - b.port || a.address.localeCompare(b.address));
  const requiresConntrack = hostNeedsConntrack(host);

  const modules: ModulesStep = {
    name: "modules",
    title: "Load kernel modules and persist them in /etc/modules-load.d",
    actions: host.modules.map((m) => `load ${m.name} (${m.reason})`),
    modules: host.modules,
    hash: hashOf("modules", host.modules.map((m) => m.name)),
  };
  const sysctls: SysctlsStep = {
    name: "sysctls",
    title: "Set sysctls and persist them in /etc/sysctl.d",
    actions: host.sysctls.map((s) => `${s.key}=${s.value} (${s.reason})`),
    sysctls: host.sysctls,
    hash: hashOf("sysctls", host.sysctls.map((s) => [s.key, s.value])),
  };
  const ipvs: IpvsStep = {
    name: "ipvs",
    title: "Converge the IPVS services this library owns (others are left alone)",
    actions: services.length ? services.map(describeService) : ["no services: remove the ones this library added before"],
    services,
    hash: hashOf("ipvs", services),
  };
  const aliasStep: AliasesStep = {
    name: "aliases",
    title: "Converge the iptables nat alias rules in this library's own chains",
    actions: aliases.length ? aliases.map(describeAlias) : ["no aliases: remove this library's chains if present"],
    aliases,
    requiresConntrack,
    hash: hashOf("aliases", { aliases, requiresConntrack }),
  };
  const boot: BootStep = {
    name: "boot",
    title: "Install the boot-time restore (systemd unit re-running apply.sh)",
    actions: ["install and enable cdktf-ipvs.service"],
    hash: hashOf("boot", {}),
  };
  const verify: VerifyStep = {
    name: "verify",
    title: "Compare the live host with the desired state",
    actions: ["check modules, sysctls (conntrack=1 while aliases exist), IPVS services, alias rules, persistence"],
    hash: hashOf("verify", { modules: modules.hash, sysctls: sysctls.hash, ipvs: ipvs.hash, aliases: aliasStep.hash }),
  };
  const steps: PlanStep[] = [modules, sysctls, ipvs, aliasStep, boot, verify];
  return {
    host,
    steps,
    destroyOrder: ["boot", "aliases", "ipvs", "sysctls", "modules"],
    hash: sha256(steps.map((s) => s.hash).join("\n")),
  };
}

/** The step called NAME, typed by its name. */
export function planStep<N extends StepName>(plan: HostPlan, name: N): Extract<PlanStep, { name: N }> {
  const step = plan.steps.find((s) => s.name === name);
  if (!step) throw new Error(`plan for ${plan.host.name} has no ${name} step`);
  return step as Extract<PlanStep, { name: N }>;
}

/** Options of {@link formatPlan} and {@link planSummaryLines}. */
export interface FormatPlanOptions {
  /**
   * Show each step's content hash after its name.
   * @default true
   */
  readonly hashes?: boolean;
}

/**
 * The plan as people read it, one line per entry: the host, each step with what it makes true,
 * the destroy order. formatPlan joins these lines; the constructs' summary output is this list.
 */
export function planSummaryLines(plan: HostPlan, options: FormatPlanOptions = {}): string[] {
  const lines = [`host ${plan.host.name} (${plan.host.path})`];
  plan.steps.forEach((step, i) => {
    const hash = options.hashes === false ? "" : ` [${step.hash.slice(0, 12)}]`;
    lines.push(`  ${i + 1}. ${step.name}${hash} ${step.title}`);
    for (const a of step.actions) lines.push(`       - ${a}`);
  });
  lines.push(`  destroy: ${plan.destroyOrder.join(" → ")}`);
  return lines;
}

/** The plan as people read it (CLI `plan`, `npm start`). */
export function formatPlan(plan: HostPlan, options: FormatPlanOptions = {}): string {
  return planSummaryLines(plan, options).join("\n");
}
