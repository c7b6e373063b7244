/**
 * The validated, normalized desired state of one load-balancer host. Plain data: lib/plan,
 * lib/render, lib/policy and lib/drift all read this and nothing else.
 */
import { AddressFamily, hostPort } from "./address";
import { AliasMethod, ForwardingMethod, Protocol, Scheduler } from "./spec";

export interface DesiredRealServer {
  readonly address: string;
  readonly port: number;
  readonly forwarding: ForwardingMethod;
  readonly weight: number;
  readonly upperThreshold: number;
  readonly lowerThreshold: number;
  /** Where it was declared, for messages. */
  readonly path: string;
}

export interface DesiredPersistence {
  readonly timeout: number;
  /** Dotted netmask for IPv4, prefix length for IPv6; undefined = per client address. */
  readonly netmask?: string | number;
}

interface DesiredServiceBase {
  readonly name: string;
  readonly family: AddressFamily;
  readonly scheduler: Scheduler;
  readonly schedulerFlags: readonly string[];
  readonly persistence?: DesiredPersistence;
  readonly realServers: readonly DesiredRealServer[];
  /** Seconds a removed TCP/SCTP real server may drain before it is deleted; 0: at once. */
  readonly drainTimeoutSeconds: number;
  /** Take the service over when it exists but is not ours (VirtualServiceSpec.adopt); absent = false. */
  readonly adopt?: boolean;
  readonly path: string;
}

export interface DesiredAddressService extends DesiredServiceBase {
  readonly kind: "address";
  readonly protocol: Protocol;
  readonly address: string;
  readonly port: number;
}

export interface DesiredFwmarkService extends DesiredServiceBase {
  readonly kind: "fwmark";
  readonly fwmark: number;
}

export type DesiredService = DesiredAddressService | DesiredFwmarkService;

export interface DesiredAlias {
  /** Name of the service the alias leads to. */
  readonly service: string;
  readonly protocol: Protocol;
  readonly family: AddressFamily;
  /** Destination address clients use. */
  readonly address: string;
  readonly port: number;
  readonly method: AliasMethod;
  /** Where the packet is sent: the service address and port. */
  readonly targetAddress: string;
  readonly targetPort: number;
  readonly remoteClients: boolean;
  readonly localClients: boolean;
  readonly path: string;
}

export interface DesiredSysctl {
  readonly key: string;
  readonly value: string;
  /** Why the host needs it, shown in the plan and in the sysctl.d file. */
  readonly reason: string;
}

export interface DesiredModule {
  readonly name: string;
  readonly reason: string;
}

/** The SSH endpoint of a host, as far as it is known at synth time. */
export interface DesiredSsh {
  /**
   * "address": host is an IP address (canonical form); "name": a DNS name (as given);
   * "token": an unresolved Terraform token, only known at apply time (host is left out).
   */
  readonly kind: "address" | "name" | "token";
  readonly host?: string;
  readonly port: number;
}

export interface DesiredHost {
  readonly name: string;
  readonly path: string;
  readonly services: readonly DesiredService[];
  readonly aliases: readonly DesiredAlias[];
  /** In load order; ip_vs first. */
  readonly modules: readonly DesiredModule[];
  /** In apply order. */
  readonly sysctls: readonly DesiredSysctl[];
  /**
   * Sysctl keys outside the load-balancer allowlist, accepted only because the host sets
   * unsafeSysctls: true. Empty otherwise. (Desired states read back from older scripts may lack it.)
   */
  readonly unsafeSysctls: readonly string[];
  /** The SSH endpoint from HostSpec.ssh; absent when not given. */
  readonly ssh?: DesiredSsh;
  /** Drain timeout of services removed from the spec (each declared service carries its own). */
  readonly drainTimeoutSeconds: number;
}

/** HostSpec.drainTimeoutSeconds when not given. */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 60;
/** The longest drain a deploy waits for. */
export const MAX_DRAIN_TIMEOUT_SECONDS = 86400;

/** The key ipvsadm uses for a service: `-t 172.16.1.8:1000`, `-f 7`. */
export function serviceKeyOf(svc: DesiredService): string {
  if (svc.kind === "fwmark") return `fwmark ${svc.fwmark}${svc.family === "ipv6" ? " ipv6" : ""}`;
  return `${svc.protocol} ${hostPort(svc.family, svc.address, svc.port)}`;
}

export const CONNTRACK_SYSCTL = "net.ipv4.vs.conntrack";

/** The pairing: a host with any alias must keep conntrack=1. */
export function hostNeedsConntrack(host: DesiredHost): boolean {
  return host.aliases.length > 0;
}
