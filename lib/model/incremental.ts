/**
 * Checks one declaration added to a host that is already valid, in time that does not grow with
 * the host: what the constructs' add* calls use instead of building the whole host again.
 *
 * The new object goes through the model itself, in a host of its own: the host-level props of the
 * real host (name, ssh, conntrack, sysctls, localAddresses, ...) and one virtual service holding
 * at most the new real server or alias, named with the real paths. That runs every shape and
 * value check of the object, and every check that only needs the object, its service and the
 * host-level props: families, the service port under gatewaying/ipip, alias methods, the
 * conntrack pairing of a first alias, the SSH lockout, IP forwarding against a declared sysctl.
 * What needs the rest of the host is kept in indexes, updated on every accepted add:
 *
 *   - service names and service keys (`tcp 172.16.1.8:1000`, `fwmark 7`): one service per key;
 *   - listening keys (address services and aliases, per protocol, family, address and port): an
 *     alias or address service may not take one that is held;
 *   - per service, its real servers' address+port, its first real server that does not
 *     masquerade, and its number of aliases: an alias needs every real server of its service to
 *     masquerade;
 *   - the host's own addresses (localAddresses and every service address), which tell whether a
 *     masquerade real server is on another host (then IP forwarding is needed).
 *
 * A verdict is either "ok" (the host stays valid: commit() records the object) or "refused"; a
 * refused add is then judged by the full build (buildDesiredHost of the whole host), which stays
 * the one authority for what is valid and for the text of every message. Nothing here imports
 * cdktf.
 */
import { parseAddress, hostPort } from "./address";
import { PathNamer, buildDesiredHost } from "./build";
import { DesiredAlias, DesiredHost, DesiredRealServer, DesiredService, serviceKeyOf } from "./desired";
import { IpvsModelError, ModelIssue } from "./errors";
import { AliasSpec, HostSpec, RealServerSpec, VirtualServiceSpec } from "./spec";

/** What adding one object does to a valid host. */
export type AddVerdict =
  | {
      readonly ok: true;
      /** Records the object in the indexes; call it once the object is part of the host. */
      commit(): void;
    }
  | {
      readonly ok: false;
      /**
       * Why: the object's own issues (as the full build words them), or the index entry it
       * collides with. The full build of the host has the last word, and the message to show.
       */
      readonly issues: readonly ModelIssue[];
    };

/** A virtual service's props, without its real servers and aliases. */
type ServiceProps = Omit<VirtualServiceSpec, "realServers" | "aliases">;

interface ServiceEntry {
  readonly props: ServiceProps;
  readonly path: string;
  /** `address|port` of each real server → its path. */
  readonly realServers: Map<string, string>;
  /** The first real server whose forwarding is not masquerade. */
  notMasquerade?: string;
  aliases: number;
}

/** The host-level part of a HostSpec: everything but the virtual services. */
export type HostLevelSpec = Omit<HostSpec, "virtualServices">;

/** Indexes of one valid host, kept up to date add by add (see the file comment). */
export class HostIndex {
  private readonly services = new Map<string, ServiceEntry>();
  /** serviceKeyOf → path of the service. */
  private readonly serviceKeys = new Map<string, string>();
  /** `protocol host:port` of address services and aliases → path. */
  private readonly listening = new Map<string, string>();
  /** Canonical addresses of the host itself: localAddresses and every address service's. */
  private readonly own = new Set<string>();
  private readonly localAddresses: readonly unknown[];

  private constructor(
    private readonly hostLevel: HostLevelSpec,
    private readonly hostPath: string,
  ) {
    this.localAddresses = Array.isArray(hostLevel.localAddresses) ? [...hostLevel.localAddresses] : [];
    for (const a of this.localAddresses) {
      const parsed = parseAddress(a);
      if (parsed) this.own.add(parsed.canonical);
    }
  }

  /**
   * The indexes of a host the full build accepted: `spec` is what was built (the host-level props
   * are kept for the checks of later adds), `desired` what buildDesiredHost made of it.
   */
  static of(spec: HostSpec, desired: DesiredHost): HostIndex {
    const { virtualServices, ...hostLevel } = spec;
    const index = new HostIndex(hostLevel, desired.path);
    const byName = new Map((virtualServices ?? []).map((s) => [s.name, s] as const));
    for (const svc of desired.services) {
      const declared = byName.get(svc.name);
      if (!declared) throw new Error(`internal: service ${svc.name} of ${desired.path} is not in the spec it was built from`);
      const { realServers: _rs, aliases: _aliases, ...props } = declared;
      index.recordService(props, svc);
      for (const rs of svc.realServers) index.recordRealServer(svc.name, rs);
    }
    for (const alias of desired.aliases) index.recordAlias(alias);
    return index;
  }

  /** Adding virtual service `spec` (its real servers and aliases are ignored) at `path`. */
  checkService(spec: VirtualServiceSpec, path: string): AddVerdict {
    const { realServers: _rs, aliases: _aliases, ...props } = spec;
    const built = this.buildAlone(props, path, {});
    if (!built.ok) return built;
    const svc = built.host.services[0];
    if (!svc) return refused(path, "name", spec.name, "internal: the service did not come out of its own build");
    const sameName = this.services.get(svc.name);
    if (sameName) return refused(path, "name", svc.name, `name "${svc.name}" is already used by ${sameName.path}`);
    const key = serviceKeyOf(svc);
    const sameKey = this.serviceKeys.get(key) ?? (svc.kind === "address" ? this.listening.get(key) : undefined);
    if (sameKey) return refused(path, "address", key, `${key} is already taken by ${sameKey}`);
    return { ok: true, commit: () => this.recordService(props, svc) };
  }

  /** Adding real server `rs` at `path` to the service named `service`. */
  checkRealServer(service: string, rs: RealServerSpec, path: string): AddVerdict {
    const entry = this.services.get(service);
    if (!entry) return refused(path, "realServer", rs, `internal: service ${service} is not indexed`);
    // Whether the real server is on this host depends on every service's address: give the
    // separate build the one that matters, as a local address.
    const parsed = parseAddress((rs as { address?: unknown } | null)?.address);
    const local = parsed && this.own.has(parsed.canonical) ? [parsed.canonical] : [];
    const built = this.buildAlone(entry.props, entry.path, { realServer: rs, realServerPath: path, extraLocal: local });
    if (!built.ok) return built;
    const desired = built.host.services[0]?.realServers[0];
    if (!desired) return refused(path, "realServer", rs, "internal: the real server did not come out of its own build");
    const key = `${desired.address}|${desired.port}`;
    const dup = entry.realServers.get(key);
    if (dup) return refused(path, "address", desired.address, `real server ${key} is already declared by ${dup}`);
    if (desired.forwarding !== "masquerade" && entry.aliases > 0) {
      return refused(path, "forwarding", desired.forwarding, `${entry.path} has aliases, which need every real server to masquerade`);
    }
    return { ok: true, commit: () => this.recordRealServer(service, desired) };
  }

  /** Adding alias `alias` at `path` to the service named `service`. */
  checkAlias(service: string, alias: AliasSpec, path: string): AddVerdict {
    const entry = this.services.get(service);
    if (!entry) return refused(path, "alias", alias, `internal: service ${service} is not indexed`);
    const built = this.buildAlone(entry.props, entry.path, { alias, aliasPath: path });
    if (!built.ok) return built;
    const desired = built.host.aliases[0];
    if (!desired) return refused(path, "alias", alias, "internal: the alias did not come out of its own build");
    if (entry.notMasquerade) return refused(path, "port", desired.port, `${entry.notMasquerade} does not masquerade`);
    const key = listenKeyOf(desired);
    const taken = this.listening.get(key);
    if (taken) return refused(path, "port", desired.port, `${key} is already taken by ${taken}`);
    return { ok: true, commit: () => this.recordAlias(desired) };
  }

  private recordService(props: ServiceProps, svc: DesiredService): void {
    this.services.set(svc.name, { props: { ...props }, path: svc.path, realServers: new Map(), aliases: 0 });
    const key = serviceKeyOf(svc);
    this.serviceKeys.set(key, svc.path);
    if (svc.kind === "address") {
      this.listening.set(key, svc.path);
      this.own.add(svc.address);
    }
  }

  private recordRealServer(service: string, rs: DesiredRealServer): void {
    const entry = this.services.get(service);
    if (!entry) throw new Error(`internal: service ${service} is not indexed`);
    entry.realServers.set(`${rs.address}|${rs.port}`, rs.path);
    if (rs.forwarding !== "masquerade" && entry.notMasquerade === undefined) entry.notMasquerade = rs.path;
  }

  private recordAlias(alias: DesiredAlias): void {
    const entry = this.services.get(alias.service);
    if (!entry) throw new Error(`internal: service ${alias.service} is not indexed`);
    this.listening.set(listenKeyOf(alias), alias.path);
    entry.aliases++;
  }

  /**
   * The host-level props and one service holding at most the one new child, built by the model
   * with the real paths.
   */
  private buildAlone(
    props: ServiceProps,
    servicePath: string,
    child: { realServer?: RealServerSpec; realServerPath?: string; alias?: AliasSpec; aliasPath?: string; extraLocal?: readonly string[] },
  ): { ok: true; host: DesiredHost } | { ok: false; issues: readonly ModelIssue[] } {
    const extraLocal = child.extraLocal ?? [];
    const spec = {
      ...this.hostLevel,
      ...(extraLocal.length ? { localAddresses: [...this.localAddresses, ...extraLocal] } : {}),
      virtualServices: [{ ...props, realServers: child.realServer !== undefined ? [child.realServer] : [], aliases: child.alias !== undefined ? [child.alias] : [] }],
    };
    const paths: PathNamer = {
      host: this.hostPath,
      service: () => servicePath,
      realServer: () => child.realServerPath ?? `${servicePath}/realServer`,
      alias: () => child.aliasPath ?? `${servicePath}/alias`,
    };
    try {
      return { ok: true, host: buildDesiredHost(spec, paths) };
    } catch (e) {
      if (e instanceof IpvsModelError) return { ok: false, issues: e.issues };
      throw e;
    }
  }
}

/** The key an address service or alias listens on: `tcp 172.16.1.8:1000`, `udp [fd00::1]:53`. */
function listenKeyOf(alias: DesiredAlias): string {
  return `${alias.protocol} ${hostPort(alias.family, alias.address, alias.port)}`;
}

function refused(path: string, prop: string, value: unknown, message: string): AddVerdict {
  return { ok: false, issues: [{ path, prop, value, message }] };
}
