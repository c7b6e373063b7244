/**
 * What the pairing rules need to know about one host of a hand-written (or any) stack, read off
 * the recognized events of lib/stack: the IPVS services the stack creates there, the aliases in
 * front of them (REDIRECT/DNAT rules that lead to a service), where net.ipv4.vs.conntrack=1 is
 * set now, and what makes it come back after a reboot.
 */
import { parseAddress } from "../../model";
import { HostEvent, HostModel, StackStep } from "../../stack";

export const CONNTRACK_KEY = "net.ipv4.vs.conntrack";

/** An IPVS virtual service the stack adds on the host. */
export interface StackService {
  readonly protocol: string;
  /** Canonical address, or the text as written when it is not an address (a name, `$VIP`). */
  readonly address: string;
  readonly port: string;
  readonly event: HostEvent;
  /** Forwarding methods of the real servers the stack adds to it. */
  readonly forwarding: readonly { readonly method: string; readonly event: HostEvent }[];
}

/** A nat rule that sends clients of another port to a service. */
export interface StackAlias {
  readonly event: HostEvent;
  readonly service: StackService;
  readonly target: "REDIRECT" | "DNAT";
}

export interface HostFacts {
  readonly services: readonly StackService[];
  readonly aliases: readonly StackAlias[];
  /** Events that set conntrack=1 now: `sysctl -w`, a /proc write, or `sysctl -p` of a file holding it. */
  readonly conntrackNow: readonly HostEvent[];
  /** Files written with conntrack=1 (sysctl.d or sysctl.conf), read by systemd-sysctl at boot. */
  readonly conntrackFiles: readonly HostEvent[];
  /** Module-load files (modules-load.d, /etc/modules) that list ip_vs, so the key exists at boot. */
  readonly ipvsAtBoot: readonly HostEvent[];
  /** `ipvsadm -C`. */
  readonly clears: readonly HostEvent[];
  /** REDIRECT rules matched on an address where no service listens, to the port of a service on another address. */
  readonly redirectsElsewhere: readonly { readonly event: HostEvent; readonly matchAddress: string; readonly service: StackService }[];
}

const canonical = (address: string | undefined): string | undefined => (address === undefined ? undefined : (parseAddress(address)?.canonical ?? address));

/** The command as written, for findings: `iptables -t nat -A PREROUTING ...`, or the upload. */
export function commandText(step: StackStep): string {
  if (step.kind === "command") return [...step.prefixes, ...step.words.map((w) => w.text)].join(" ");
  if (step.kind === "upload") return `file → ${step.destination}`;
  return step.message;
}

export function hostFacts(host: HostModel): HostFacts {
  const services: { protocol: string; address: string; port: string; event: HostEvent; forwarding: { method: string; event: HostEvent }[] }[] = [];
  const serviceOf = (protocol: string, address: string | undefined, port: string) =>
    services.find((s) => s.protocol === protocol && s.address === canonical(address) && s.port === port);
  const conntrackNow: HostEvent[] = [];
  const conntrackFiles: HostEvent[] = [];
  const ipvsAtBoot: HostEvent[] = [];
  const clears: HostEvent[] = [];

  for (const e of host.create) {
    const ev = e.event;
    if (ev.kind === "ipvs") {
      const svc = ev.command.service;
      if (ev.action === "clear") clears.push(e);
      if (svc?.kind !== "address") continue;
      if (ev.action === "add-service" && !serviceOf(svc.protocol, svc.host, svc.port)) {
        services.push({ protocol: svc.protocol, address: canonical(svc.host)!, port: svc.port, event: e, forwarding: [] });
      }
      if (ev.action === "add-server" || ev.action === "edit-server") {
        serviceOf(svc.protocol, svc.host, svc.port)?.forwarding.push({ method: ev.command.forwarding ?? "gatewaying", event: e });
      }
    } else if (ev.kind === "sysctl-set") {
      if (ev.key === CONNTRACK_KEY && ev.value === "1") conntrackNow.push(e);
    } else if (ev.kind === "sysctl-load") {
      // The last entry for the key wins, as sysctl applies them in order.
      const last = [...ev.entries].reverse().find((x) => x.key === CONNTRACK_KEY);
      if (last?.value === "1") conntrackNow.push(e);
    } else if (ev.kind === "file-write") {
      if (ev.sysctlEntries?.some((x) => x.key === CONNTRACK_KEY && x.value === "1")) conntrackFiles.push(e);
      if (ev.modules?.includes("ip_vs")) ipvsAtBoot.push(e);
    }
  }

  const aliases: StackAlias[] = [];
  const redirectsElsewhere: { event: HostEvent; matchAddress: string; service: StackService }[] = [];
  for (const e of host.create) {
    const ev = e.event;
    if (ev.kind !== "nat" || (ev.target !== "REDIRECT" && ev.target !== "DNAT")) continue;
    if (ev.operation !== "append" && ev.operation !== "insert") continue;
    const protocol = ev.protocol ?? "tcp";
    const port = ev.toPort ?? ev.matchPort;
    if (port === undefined) continue;
    // REDIRECT delivers to the address the packet came in on (the one matched, when given);
    // DNAT to the address it names.
    const address = ev.target === "DNAT" ? canonical(ev.toAddress) : canonical(ev.matchAddress);
    const service = services.find((s) => s.protocol === protocol && s.port === port && (address === undefined || s.address === address));
    if (service) aliases.push({ event: e, service, target: ev.target });
    else if (ev.target === "REDIRECT" && address !== undefined) {
      const other = services.find((s) => s.protocol === protocol && s.port === port);
      if (other) redirectsElsewhere.push({ event: e, matchAddress: address, service: other });
    }
  }
  return { services, aliases, conntrackNow, conntrackFiles, ipvsAtBoot, clears, redirectsElsewhere };
}
