/**
 * The validated, normalized desired state of one load-balancer host. Plain data: lib/plan,
 * lib/render, lib/policy and lib/drift all read this and nothing else.
 */
import { AddressFamily, hostPort } from "./address";
import { AliasMethod, ForwardingMethod, Protocol, Scheduler } from "./spec";

/** A real server as the host gets it (`ipvsadm -a`): canonical address, defaults filled in. */
export interface DesiredRealServer {
  /** Canonical address (IPv4 dotted quad or RFC 5952 IPv6), same family as the service. */
  readonly address: string;
  /** Port on the real server, 0–65535; the service port when not declared (0 for firewall-mark services). */
  readonly port: number;
  /** masquerade (NAT, `-m`), gatewaying (direct routing, `-g`) or ipip (tunnel, `-i`). */
  readonly forwarding: ForwardingMethod;
  /** Weight (`-w`) 0–65535; 0 = no new connections (drained). 1 when not declared. */
  readonly weight: number;
  /** No new connections above this many active ones (`-x`); 0 = no limit. */
  readonly upperThreshold: number;
  /** Take new connections again below this many (`-y`); 0 = once under upperThreshold. */
  readonly lowerThreshold: number;
  /** Where it was declared, for messages. */
  readonly path: string;
}

/** Client persistence of a service (`ipvsadm -p TIMEOUT [-M NETMASK]`). */
export interface DesiredPersistence {
  /** Seconds a client stays with the same real server (`-p`), 1–2678400. */
  readonly timeout: number;
  /** Dotted netmask for IPv4, prefix length for IPv6; undefined = per client address. */
  readonly netmask?: string | number;
}

interface DesiredServiceBase {
  /** Service name, unique on the host ([A-Za-z0-9_.-], 1–40 chars); shown in logs and iptables comments. */
  readonly name: string;
  /** Address family: the address's, or VirtualServiceSpec.family for a firewall-mark service (default ipv4). */
  readonly family: AddressFamily;
  /** Scheduling algorithm (`ipvsadm -s`); "wlc" when not declared. */
  readonly scheduler: Scheduler;
  /** Scheduler flags (`ipvsadm -b`) as declared, e.g. sh-port; empty for none. */
  readonly schedulerFlags: readonly string[];
  /** Client persistence; absent = none (each connection scheduled on its own). */
  readonly persistence?: DesiredPersistence;
  /** Real servers, in declaration order; may be empty. */
  readonly realServers: readonly DesiredRealServer[];
  /** Seconds a removed TCP/SCTP real server may drain before it is deleted; 0: at once. */
  readonly drainTimeoutSeconds: number;
  /** Take the service over when it exists but is not ours (VirtualServiceSpec.adopt); absent = false. */
  readonly adopt?: boolean;
  /** Where it was declared (construct path or spec path), for messages. */
  readonly path: string;
}

/** A virtual service selected by protocol, address and port (`ipvsadm -t|-u|--sctp-service ADDR:PORT`). */
export interface DesiredAddressService extends DesiredServiceBase {
  /** Discriminant of {@link DesiredService}: selected by address and port. */
  readonly kind: "address";
  /** tcp, udp or sctp; "tcp" when not declared. */
  readonly protocol: Protocol;
  /** Virtual address in canonical form (IPv4 dotted quad or RFC 5952 IPv6). */
  readonly address: string;
  /** Virtual port, 1–65535. */
  readonly port: number;
}

/** A virtual service selected by firewall mark (`ipvsadm -f MARK`): it takes every packet carrying the mark. */
export interface DesiredFwmarkService extends DesiredServiceBase {
  /** Discriminant of {@link DesiredService}: selected by firewall mark. */
  readonly kind: "fwmark";
  /** Firewall mark, 1–4294967295. */
  readonly fwmark: number;
}

/** A virtual service, by address+port or by firewall mark; switch on `kind`. */
export type DesiredService = DesiredAddressService | DesiredFwmarkService;

/** An alias port: an iptables nat rule that sends clients of address:port to the service's address and port. */
export interface DesiredAlias {
  /** Name of the service the alias leads to. */
  readonly service: string;
  /** The service's protocol. */
  readonly protocol: Protocol;
  /** The service's address family: iptables for ipv4, ip6tables for ipv6. */
  readonly family: AddressFamily;
  /** Destination address clients use. */
  readonly address: string;
  /** Port clients connect to, 1–65535. */
  readonly port: number;
  /** redirect (REDIRECT to the arrival interface's primary address) or dnat (DNAT to targetAddress:targetPort). */
  readonly method: AliasMethod;
  /** Where the packet is sent: the service address and port. */
  readonly targetAddress: string;
  /** The service port the packet is sent to. */
  readonly targetPort: number;
  /** Serves clients on other hosts (rule in nat PREROUTING); true when not declared. */
  readonly remoteClients: boolean;
  /** Serves clients on the load balancer itself (rule in nat OUTPUT, dnat only); false when not declared. */
  readonly localClients: boolean;
  /** Where it was declared (construct path or spec path), for messages. */
  readonly path: string;
}

/** A sysctl the host should have, set at apply time and persisted in /etc/sysctl.d. */
export interface DesiredSysctl {
  /** Dotted sysctl name, e.g. `net.ipv4.vs.conntrack`. */
  readonly key: string;
  /** Value as text, e.g. "1" (integers are written as decimal text). */
  readonly value: string;
  /** Why the host needs it, shown in the plan and in the sysctl.d file. */
  readonly reason: string;
}

/** A kernel module the host loads and persists in /etc/modules-load.d. */
export interface DesiredModule {
  /** Module name: `ip_vs`, `ip_vs_<scheduler>` for each scheduler in use, `nf_conntrack`. */
  readonly name: string;
  /** Why the host needs it, shown in the plan. */
  readonly reason: string;
}

/** The SSH endpoint of a host, as far as it is known at synth time. */
export interface DesiredSsh {
  /**
   * "address": host is an IP address (canonical form); "name": a DNS name (as given);
   * "token": an unresolved Terraform token, only known at apply time (host is left out).
   */
  readonly kind: "address" | "name" | "token";
  /** IP address (canonical form) or DNS name; absent when kind is "token". */
  readonly host?: string;
  /** sshd's TCP port, 1–65535; 22 when not given. */
  readonly port: number;
}

/**
 * The validated, normalized desired state of one load-balancer host (IpvsHost.desiredState): what
 * the plan, the scripts and the policy rules read.
 */
export interface DesiredHost {
  /** Host name ([A-Za-z0-9_.-], 1–63 chars), used in logs, comments and output folders. */
  readonly name: string;
  /** Where the host was declared: its construct path, or `spec.hosts[N]` in a spec.json. */
  readonly path: string;
  /** Virtual services, in declaration order. */
  readonly services: readonly DesiredService[];
  /** Alias ports of all its services. */
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
