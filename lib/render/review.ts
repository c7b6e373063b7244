/**
 * What each step makes true, as text a reviewer reads in `terraform plan` / `cdktf diff`: one
 * entry per object (a virtual service with its real servers, a service's alias rules, a
 * persistence file), each entry one line per rule in the operator's own vocabulary: ipvsadm rules
 * as `ipvsadm -Sn` prints them, iptables rules as `iptables -t nat -S` would, sysctls and files
 * as they are written on the host.
 *
 * The constructs put these entries into the step's triggers. Terraform prints only the entries
 * that changed ("# (N unchanged attributes hidden)"), and within a multi-line entry the lines that
 * were added, removed or changed, so changing one weight shows that service's rules with the one
 * line old and new. Terraform does not shorten a multi-line string itself, hence one entry per
 * object rather than one text per step: readable with 1000 services.
 *
 * Every step re-runs exactly when its entries change (or an upstream step re-runs), so the entries
 * cover everything the step does: a step whose entries are unchanged does the same thing again.
 */
import { DesiredService } from "../model";
import { HostPlan, STEP_FORMAT_VERSION, StepName, planStep, sha256 } from "../plan";
import { SCRIPT_NAMES, SCRIPT_PATHS, UPLOAD_STEP } from "./commands";
import { aliasChains, aliasRuleTokens } from "./iptables";
import { ipvsRealServerRule, ipvsServiceKey, ipvsServiceRule } from "./ipvsadm";
import { HOST_LAYOUT as L } from "./layout";
import { bootUnit, modulesLoadConf, sysctlConf } from "./persistence";
import { HostScripts } from "./scripts";

/** Entry name → lines (joined with "\n", no trailing newline). */
export type StepReview = Readonly<Record<string, string>>;

/** Entry names every step's triggers use for other things; review entries never take them. */
export const RESERVED_TRIGGER_KEYS = ["host", "port", "user", "step", "format", "upstream", "upload", "private_key_path", "host_key"] as const;

const lines = (list: readonly string[]) => list.join("\n");
/** A file's content as an entry: its lines without the final newline. */
const fileEntry = (content: string) => content.replace(/\n$/, "");

/** `-A -t 172.16.1.8:1000 -s rr` and its real servers, as `ipvsadm -Sn` prints them (sorted). */
function serviceLines(svc: DesiredService): string[] {
  return [ipvsServiceRule(svc), ...svc.realServers.map((r) => ipvsRealServerRule(svc, r)).sort()];
}

export function reviewStep(plan: HostPlan, step: StepName): StepReview {
  switch (step) {
    case "modules":
      return { [L.modulesFile]: fileEntry(modulesLoadConf(plan.host)) };
    case "sysctls":
      return { [L.sysctlFile]: fileEntry(sysctlConf(plan.host)) };
    case "ipvs": {
      const services = planStep(plan, "ipvs").services;
      if (services.length === 0) return { services: "none: removes the IPVS services cdktf-ipvs added before" };
      return Object.fromEntries(services.map((s) => [ipvsServiceKey(s), lines(serviceLines(s))]));
    }
    case "aliases": {
      const aliasStep = planStep(plan, "aliases");
      const services = planStep(plan, "ipvs").services;
      const out: Record<string, string> = {};
      const chains = aliasChains(aliasStep.aliases).filter((c) => c.rules.length > 0);
      out.chains = chains.length
        ? lines(chains.map((c) => `${c.command} -t nat -A ${c.parent} -m comment --comment ${L.ruleComment} -j ${c.chain}`))
        : `none: removes ${L.chainRemote} and ${L.chainLocal} if present`;
      if (aliasStep.requiresConntrack) out.requires = "net.ipv4.vs.conntrack = 1";
      // One entry per service, its rules in chain order (as iptables -S lists them).
      const byService = new Map<string, string[]>();
      for (const c of chains) {
        for (const alias of aliasStep.aliases.filter((a) => a.family === c.family && (c.parent === "PREROUTING" ? a.remoteClients : a.localClients))) {
          const svc = services.find((s) => s.name === alias.service);
          const key = svc ? ipvsServiceKey(svc) : `service ${alias.service}`;
          const list = byService.get(key) ?? [];
          list.push(`${c.command} -t nat -A ${c.chain} ${aliasRuleTokens(alias)}`);
          byService.set(key, list);
        }
      }
      for (const [key, rules] of [...byService].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[key] = lines(rules);
      return out;
    }
    case "boot":
      return { [L.unitFile]: fileEntry(bootUnit(plan.host)), enable: `systemctl enable ${L.unitName}` };
    case "verify":
      return { checks: `sh ${L.verifyScript}: the live host against this plan (modules, sysctls, IPVS services, alias rules, persistence files, boot unit); any difference fails the deploy` };
  }
}

/** The upload step's entries: each script's destination and sha256. */
export function reviewUpload(scripts: HostScripts): StepReview {
  return Object.fromEntries(SCRIPT_NAMES.map((n) => [SCRIPT_PATHS[n], `sha256 ${sha256(scripts[n])}`]));
}

/** What each provisioning step makes true, entry by entry, as the steps' triggers carry it (RenderedHost.review). */
export interface HostReview {
  /** Entries of each plan step, and of the upload step. */
  readonly steps: Readonly<Record<StepName | typeof UPLOAD_STEP, StepReview>>;
  /** Trigger format version (a bump re-runs every step after a library upgrade). */
  readonly format: string;
}

export function reviewHost(plan: HostPlan, scripts: HostScripts): HostReview {
  const steps = Object.fromEntries(plan.steps.map((s) => [s.name, reviewStep(plan, s.name)])) as Record<StepName, StepReview>;
  return { steps: { ...steps, [UPLOAD_STEP]: reviewUpload(scripts) }, format: String(STEP_FORMAT_VERSION) };
}

/** The whole review as text, entry by entry (for tests and people; the triggers hold the same). */
export function formatReview(review: HostReview): string {
  const out: string[] = [];
  for (const [step, entries] of Object.entries(review.steps)) {
    out.push(`${step}:`);
    for (const [key, value] of Object.entries(entries)) out.push(`  ${key}:`, ...value.split("\n").map((l) => `    ${l}`));
  }
  return out.join("\n");
}

