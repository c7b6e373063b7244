/**
 * The per-host model policy rules run on: for each target host (connection host + port), the
 * recognized events of every provisioner that connects there, and the order in which they run.
 *
 * Order, as Terraform gives it: within a resource, provisioners and lines run in order; across
 * resources, B's create-time provisioners run after A's when B depends on A (depends_on or a
 * reference, directly or through others). Destroy-time provisioners run in the reverse order.
 * Resources with no such path between them are unordered: Terraform may run them in parallel.
 */
import { KnownFiles, StackStep, resourceSteps, ResourceSteps } from "./commands";
import { RecognizedEvent, recognizeStep } from "./recognize";
import { HostTarget, loadStacks, ProvisionerWhen, StackResource, TerraformStackJson } from "./terraform-json";

/** One recognized event on a host, with the step it came from. */
export interface HostEvent {
  readonly event: RecognizedEvent;
  /** The command or upload it came from (origin: resource, provisioner, line). */
  readonly step: StackStep;
  readonly resource: string;
  readonly when: ProvisionerWhen;
  /** Position among the events of its resource, for ordering inside the resource. */
  readonly sequence: number;
}

/** How two events on a host are ordered. */
export type EventOrder = "before" | "after" | "unordered";

/** Everything that runs on one target host. */
export interface HostModel {
  readonly target: HostTarget;
  /** Resources with at least one provisioner connecting to this host, in a run order. */
  readonly resources: readonly string[];
  /**
   * Create-time events in one possible run order (resources topologically, then text order).
   * Provisioners whose `when` is unknown (plan JSON) are here too, marked `when: "unknown"`.
   */
  readonly create: readonly HostEvent[];
  /** Destroy-time events, resources in reverse dependency order. */
  readonly destroy: readonly HostEvent[];
  /** Every step on this host, recognized or not (including notes), in the same order. */
  readonly steps: readonly StackStep[];
  /** Whether `a` runs before or after `b`, or whether Terraform leaves that open. Events of different phases (create vs destroy) are unordered. */
  order(a: HostEvent, b: HostEvent): EventOrder;
}

/** A stack read into per-host models. */
export interface StackModel {
  readonly stack: TerraformStackJson;
  /** Provisioning resources' steps, resources in a run order. */
  readonly resources: readonly ResourceSteps[];
  readonly hosts: readonly HostModel[];
  /** True when resource `later` depends on `earlier`, directly or not. */
  dependsOn(later: string, earlier: string): boolean;
  readonly problems: readonly string[];
}

/** Addresses a resource depends on directly: depends_on (a module name means all its resources) and references. */
function directDependencies(resource: StackResource, all: readonly StackResource[]): string[] {
  const out = new Set<string>(resource.references);
  for (const d of resource.dependsOn) {
    const isModule = /^(module\.[^.]+\.)*module\.[^.]+$/.test(d);
    for (const r of all) if (r.address === d || (isModule && r.address.startsWith(`${d}.`))) out.add(r.address);
  }
  out.delete(resource.address);
  return [...out];
}

/** Every resource each one depends on, transitively; cycles reported, not followed forever. */
function ancestorsOf(resources: readonly StackResource[], problems: string[]): Map<string, Set<string>> {
  const direct = new Map(resources.map((r) => [r.address, directDependencies(r, resources)]));
  const memo = new Map<string, Set<string>>();
  const visiting = new Set<string>();
  const visit = (address: string): Set<string> => {
    const known = memo.get(address);
    if (known) return known;
    if (visiting.has(address)) {
      problems.push(`dependency cycle through ${address}`);
      return new Set();
    }
    visiting.add(address);
    const all = new Set<string>();
    for (const d of direct.get(address) ?? []) {
      all.add(d);
      for (const a of visit(d)) all.add(a);
    }
    visiting.delete(address);
    memo.set(address, all);
    return all;
  };
  for (const r of resources) visit(r.address);
  return memo;
}

/** Resources in an order where every resource comes after those it depends on (stable otherwise). */
function runOrder(resources: readonly StackResource[], ancestors: ReadonlyMap<string, ReadonlySet<string>>): StackResource[] {
  const done = new Set<string>();
  const out: StackResource[] = [];
  const byAddress = new Map(resources.map((r) => [r.address, r]));
  const place = (r: StackResource) => {
    if (done.has(r.address)) return;
    done.add(r.address);
    const before = [...(ancestors.get(r.address) ?? [])].map((a) => byAddress.get(a)!).sort((x, y) => resources.indexOf(x) - resources.indexOf(y));
    for (const b of before) place(b);
    out.push(r);
  };
  for (const r of resources) place(r);
  return out;
}

/** Files known before a resource runs: what its ancestors uploaded or wrote, later ones winning. */
function filesBefore(resource: string, ordered: readonly ResourceSteps[], ancestors: ReadonlySet<string>): KnownFiles {
  const files: KnownFiles = new Map();
  for (const done of ordered) {
    if (!ancestors.has(done.resource.address)) continue;
    for (const [host, byPath] of done.filesAfter) {
      const mine = files.get(host) ?? new Map<string, string>();
      for (const [p, text] of byPath) mine.set(p, text);
      files.set(host, mine);
    }
  }
  return files;
}

/** Reads a stack into per-host models. */
export function buildStackModel(stack: TerraformStackJson): StackModel {
  const problems = [...stack.problems];
  const ancestors = ancestorsOf(stack.resources, problems);
  const dependsOn = (later: string, earlier: string) => ancestors.get(later)?.has(earlier) ?? false;
  const ordered = runOrder(stack.resources, ancestors);
  const resources: ResourceSteps[] = [];
  for (const r of ordered) {
    if (r.provisioners.length === 0) continue;
    resources.push(resourceSteps(stack, r, filesBefore(r.address, resources, ancestors.get(r.address) ?? new Set())));
  }

  const hosts = new Map<string, { target: HostTarget; resources: string[]; create: HostEvent[]; destroy: HostEvent[]; steps: StackStep[] }>();
  for (const { resource, steps } of resources) {
    let sequence = 0;
    for (const step of steps) {
      const host = hosts.get(step.target.key) ?? { target: step.target, resources: [], create: [], destroy: [], steps: [] };
      hosts.set(step.target.key, host);
      if (!host.resources.includes(resource.address)) host.resources.push(resource.address);
      host.steps.push(step);
      const when = step.origin.when;
      for (const event of recognizeStep(step)) {
        (when === "destroy" ? host.destroy : host.create).push({ event, step, resource: resource.address, when, sequence: sequence++ });
      }
    }
  }

  const order = (a: HostEvent, b: HostEvent): EventOrder => {
    if ((a.when === "destroy") !== (b.when === "destroy")) return "unordered";
    if (a.resource === b.resource) return a.sequence === b.sequence ? "unordered" : a.sequence < b.sequence ? "before" : "after";
    const reversed = a.when === "destroy";
    if (dependsOn(b.resource, a.resource)) return reversed ? "after" : "before";
    if (dependsOn(a.resource, b.resource)) return reversed ? "before" : "after";
    return "unordered";
  };
  const rank = new Map(resources.map((r, i) => [r.resource.address, i]));
  const models = [...hosts.values()].map(
    (h): HostModel => ({
      ...h,
      // Destroy runs dependents first: later resources' destroy provisioners come first.
      destroy: [...h.destroy].sort((x, y) => rank.get(y.resource)! - rank.get(x.resource)! || x.sequence - y.sequence),
      order,
    }),
  );
  return { stack, resources, hosts: models, dependsOn, problems };
}

/** Loads every stack at a path (file, stack directory, cdktf.out) and models it. Never throws. */
export function loadStackModels(target: string): StackModel[] {
  return loadStacks(target).map(buildStackModel);
}
