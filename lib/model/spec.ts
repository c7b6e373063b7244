/**
 * What a user declares. The construct props and the CLI's spec.json share these shapes, so one
 * validator serves both. Everything here is unvalidated input; lib/model/build.ts turns it into
 * a DesiredHost or an IpvsModelError.
 */

/** Transport protocols of an address+port service: tcp (`ipvsadm -t`), udp (`-u`), sctp (`--sctp-service`). */
export const PROTOCOLS = ["tcp", "udp", "sctp"] as const;
/** A transport protocol, one of {@link PROTOCOLS}. */
export type Protocol = (typeof PROTOCOLS)[number];

/** The schedulers ipvsadm(8) knows, with the kernel module each one lives in. */
export const SCHEDULERS = [
  "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos",
] as const;
/** An IPVS scheduling algorithm (`ipvsadm -s`), one of {@link SCHEDULERS}; the host loads it as module `ip_vs_<name>`. */
export type Scheduler = (typeof SCHEDULERS)[number];

/**
 * Scheduler flags (`ipvsadm -b`) and the schedulers that read them. No prototype, so a flag
 * named "constructor" or "__proto__" finds nothing; still, look flags up with Object.hasOwn.
 */
export const SCHEDULER_FLAGS: Readonly<Record<string, readonly Scheduler[]>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, readonly Scheduler[]>, {
    "sh-fallback": ["sh"],
    "sh-port": ["sh"],
    "mh-fallback": ["mh"],
    "mh-port": ["mh"],
  }),
);

/** How IPVS sends packets to a real server: masquerade (NAT, `-m`), gatewaying (direct routing, `-g`), ipip (IP-in-IP tunnel, `-i`). */
export const FORWARDING_METHODS = ["masquerade", "gatewaying", "ipip"] as const;
/** A forwarding method, one of {@link FORWARDING_METHODS}. */
export type ForwardingMethod = (typeof FORWARDING_METHODS)[number];

/** How an alias port reaches its service: iptables nat `redirect` (REDIRECT) or `dnat` (DNAT). */
export const ALIAS_METHODS = ["redirect", "dnat"] as const;
/** An alias method, one of {@link ALIAS_METHODS}. */
export type AliasMethod = (typeof ALIAS_METHODS)[number];

/** Client persistence (`ipvsadm -p TIMEOUT [-M NETMASK]`): a client keeps going to the same real server. */
export interface PersistenceSpec {
  /** Seconds a client stays with the same real server (`ipvsadm -p`). 1–2678400 (31 days). */
  readonly timeout: number;
  /**
   * Clients in the same network share a real server (`ipvsadm -M`): a dotted IPv4 netmask, or a
   * prefix length 1–128 for IPv6 services.
   * @default "255.255.255.255" (IPv4) or 128 (IPv6): per client address
   */
  readonly netmask?: string | number;
}

/** One real server (backend) of a virtual service (`ipvsadm -a ... -r`). */
export interface RealServerSpec {
  /** Address of the real server, same family as the service. */
  readonly address: string;
  /**
   * Port on the real server. Gatewaying and ipip cannot change the port, so there it must equal
   * the service port.
   * @default the service port (0, "the packet's port", for firewall-mark services)
   */
  readonly port?: number;
  /** How IPVS reaches the real server: masquerade (NAT, -m), gatewaying (direct routing, -g), ipip (tunnel, -i). */
  readonly forwarding: ForwardingMethod;
  /**
   * Relative weight; 0 drains the server (no new connections). 0–65535.
   * @default 1
   */
  readonly weight?: number;
  /**
   * Stop sending new connections above this many active ones (`ipvsadm -x`); 0 means no limit.
   * @default 0
   */
  readonly upperThreshold?: number;
  /**
   * Resume below this many (`ipvsadm -y`); 0 means "when under the upper threshold". Must be
   * below upperThreshold.
   * @default 0
   */
  readonly lowerThreshold?: number;
}

/**
 * An extra port that reaches an address+port service through iptables nat rules in cdktf-ipvs's own
 * chains. The host then keeps net.ipv4.vs.conntrack=1, and every real server of the service must
 * use masquerade.
 */
export interface AliasSpec {
  /** Port clients connect to; traffic is redirected to the service port. 1–65535. */
  readonly port: number;
  /**
   * How the alias reaches the service: `redirect` (iptables REDIRECT: the packet goes to the
   * primary address of the interface it arrived on, so the service address must be that address)
   * or `dnat` (iptables DNAT to the service address and port; works for any service address).
   * @default "redirect"
   */
  readonly method?: AliasMethod;
  /**
   * Destination address clients use for the alias.
   * @default the service address
   */
  readonly address?: string;
  /**
   * Serve clients on other hosts (nat PREROUTING).
   * @default true
   */
  readonly remoteClients?: boolean;
  /**
   * Also serve clients on the load balancer itself (nat OUTPUT). Needs method "dnat": REDIRECT
   * in OUTPUT rewrites the destination to loopback, which no virtual service listens on.
   * @default false
   */
  readonly localClients?: boolean;
}

/**
 * One IPVS virtual service: address+port (`-t`/`-u`/`--sctp-service`) or firewall mark (`-f`), with
 * its scheduler, persistence, real servers and aliases.
 */
export interface VirtualServiceSpec {
  /** Name, unique on the host; shows up in logs and iptables comments. [A-Za-z0-9_.-], 1–40 chars. */
  readonly name: string;
  /**
   * Transport protocol of an address+port service. Not used by firewall-mark services.
   * @default "tcp"
   */
  readonly protocol?: Protocol;
  /** Virtual address (IPv4 or IPv6). Give address+port, or fwmark. */
  readonly address?: string;
  /** Virtual port, 1–65535. */
  readonly port?: number;
  /** Firewall mark (`ipvsadm -f`), 1–4294967295, instead of address+port. */
  readonly fwmark?: number;
  /**
   * Address family of a firewall-mark service (address+port services take it from the address).
   * @default "ipv4"
   */
  readonly family?: "ipv4" | "ipv6";
  /**
   * Scheduling algorithm.
   * @default "wlc" (ipvsadm's default)
   */
  readonly scheduler?: Scheduler;
  /** Scheduler flags (`ipvsadm -b`): sh-fallback, sh-port (sh); mh-fallback, mh-port (mh). */
  readonly schedulerFlags?: readonly string[];
  /** Client persistence (`ipvsadm -p`, `-M`). @default none */
  readonly persistence?: PersistenceSpec;
  /** Real servers. @default none */
  readonly realServers?: readonly RealServerSpec[];
  /** Extra ports that reach this service through iptables nat. @default none */
  readonly aliases?: readonly AliasSpec[];
  /**
   * How long a deploy that removes one of this service's TCP or SCTP real servers (or the whole
   * service) lets it drain: the server first gets weight 0, so it takes no new connections, and is
   * deleted once its active connections have ended or after this many seconds, whichever comes
   * first. 0 deletes at once. UDP real servers are always deleted at once. 0–86400.
   * @default the host's drainTimeoutSeconds (60)
   */
  readonly drainTimeoutSeconds?: number;
  /**
   * Take over this service when it already exists on the host but was not created by cdktf-ipvs
   * (a host brought under management with `cdktf-ipvs import`), instead of refusing it. The apply
   * then owns it like any service it created: an identical service is left as it is, a different
   * one is changed to the declaration, and destroy deletes it. A service that does not exist yet
   * is simply created.
   * @default false: an existing service not created by cdktf-ipvs stops the apply
   */
  readonly adopt?: boolean;
}

/** The SSH endpoint Terraform (or the CLI) uses to reach a load-balancer host. */
export interface SshSpec {
  /**
   * IPv4 or IPv6 address, or DNS name ([A-Za-z0-9_.-], labels of at most 63, at most 253
   * characters) of the host. An unresolved Terraform token is accepted too: it is only known at
   * apply time, so policy rule IPVS008 treats it like a DNS name.
   */
  readonly host: string;
  /**
   * TCP port of sshd, 1–65535.
   * @default 22
   */
  readonly port?: number;
}

/**
 * The kernel settings of a load-balancer host, the same in a spec's host entry (HostSpec) and in
 * IpvsHostProps.
 */
export interface HostSettings {
  /**
   * Keep net.ipv4.vs.conntrack=1 on this host. Aliases need it, so it cannot be false while the
   * host has an alias.
   * @default true when the host has an alias, otherwise not managed
   */
  readonly conntrack?: boolean;
  /**
   * Keep net.ipv4.vs.expire_nodest_conn=1: when a real server is removed (or its service), IPVS
   * expires the connections still bound to it as their next packet arrives, so the client sees the
   * connection end at once instead of its packets being dropped until it times out. false leaves
   * the sysctl to the machine. A sysctls entry for the key decides instead when this is not given;
   * with true, a sysctls entry of another value is a contradiction.
   * @default true: set to 1 when the host has any virtual service
   */
  readonly expireNodestConn?: boolean;
  /**
   * Keep net.ipv4.vs.expire_quiescent_template=1: a persistence template whose real server has
   * weight 0 (drained) is expired when the next connection would use it, so persistent clients
   * move to another server instead of sticking to the drained one. false leaves the sysctl to the
   * machine; a sysctls entry for the key decides instead when this is not given.
   * @default true: set to 1 when the host has any virtual service
   */
  readonly expireQuiescentTemplate?: boolean;
  /**
   * How long a deploy lets a removed TCP/SCTP real server drain (weight 0, then deleted once its
   * active connections have ended or after this many seconds), for services that do not set their
   * own (VirtualServiceSpec.drainTimeoutSeconds) and for services removed from the host. 0
   * deletes at once. 0–86400.
   * @default 60
   */
  readonly drainTimeoutSeconds?: number;
  /**
   * The host's own addresses besides its service addresses. Real servers at other addresses are
   * on other hosts, and masquerading to them needs IP forwarding.
   * @default none
   */
  readonly localAddresses?: readonly string[];
  /**
   * Further sysctls this host should have, e.g. `{"net.ipv4.vs.expire_nodest_conn": 1}`.
   * Keys are dotted sysctl names a load balancer needs (see unsafeSysctls for the allowlist);
   * values are integers or short words.
   * @default none
   */
  readonly sysctls?: Readonly<Record<string, string | number>>;
  /**
   * Also accept sysctls outside the load-balancer allowlist (net.ipv4.vs.*, net.ipv4.ip_forward,
   * net.ipv6.conf.<all|default|IFACE>.forwarding,
   * net.ipv4.conf.<all|default|IFACE>.{arp_ignore,arp_announce,arp_filter,rp_filter,forwarding,send_redirects},
   * net.netfilter.nf_conntrack_*, net.nf_conntrack_max, net.ipv4.ip_nonlocal_bind,
   * net.ipv6.ip_nonlocal_bind). The scripts run as root, so a key such as kernel.modprobe would
   * hand the spec author the host; only set this when you own every spec that reaches the host.
   * Each key accepted this way is listed in DesiredHost.unsafeSysctls and reported by policy rule
   * IPVS007.
   * @default false
   */
  readonly unsafeSysctls?: boolean;
}

/** One load-balancer host: its virtual services and the kernel settings it needs (IpvsHost.fromSpec takes one). */
export interface HostSpec extends HostSettings {
  /** Name of the load-balancer host; used for output folders. [A-Za-z0-9_.-], 1–63 chars. */
  readonly name: string;
  /** Virtual services on this host. */
  readonly virtualServices?: readonly VirtualServiceSpec[];
  /**
   * How Terraform / the CLI reaches this host over SSH. When given with an IP address, a TCP
   * virtual service or remote-clients alias on that address and port is refused (it would take
   * over the SSH connection the deploy and destroy depend on); with a DNS name, policy rule
   * IPVS008 warns about TCP services and aliases on the SSH port.
   * @default not known (no lockout check)
   */
  readonly ssh?: SshSpec;
}

/** The spec.json format the CLI reads: every load-balancer host. */
export interface IpvsSpec {
  /** The hosts; names must be unique. */
  readonly hosts: readonly HostSpec[];
}
