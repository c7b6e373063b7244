/**
 * One reader of ipvsadm's argument grammar. A line of `ipvsadm -Sn`, a command in a hand-written
 * provisioner (`ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 3`) and a rule we render
 * ourselves are all such argument lists, so import, policy and the render tests read them alike.
 * Formats as measured in lab/FINDINGS.md (ipvsadm 1.31).
 */
import { ArgList, own } from "./args";

export type IpvsProtocol = "tcp" | "udp" | "sctp";

export type IpvsServiceRef =
  | { readonly kind: "address"; readonly protocol: IpvsProtocol; readonly host: string; readonly port: string }
  | { readonly kind: "fwmark"; readonly fwmark: string; readonly ipv6: boolean };

export type IpvsForwarding = "masquerade" | "gatewaying" | "ipip";

export type IpvsadmAction =
  | "add-service"
  | "edit-service"
  | "delete-service"
  | "add-server"
  | "edit-server"
  | "delete-server"
  | "clear"
  | "restore"
  | "save"
  | "list"
  | "zero"
  | "other";

export interface IpvsadmCommand {
  readonly action: IpvsadmAction;
  readonly service?: IpvsServiceRef;
  readonly scheduler?: string;
  readonly schedulerFlags?: readonly string[];
  /** Persistence timeout in seconds (`-p` alone means ipvsadm's default, 300). */
  readonly persistence?: string;
  readonly netmask?: string;
  /** `-r host[:port]` as written; port undefined when left out (the service port). */
  readonly server?: { readonly host: string; readonly port?: string };
  readonly forwarding?: IpvsForwarding;
  readonly weight?: string;
  readonly upperThreshold?: string;
  readonly lowerThreshold?: string;
  /** Options this reader does not interpret (e.g. `--tun-type ipip`, `-n`), kept as written. */
  readonly other: readonly string[];
  /** What could not be read: unknown options, missing values. */
  readonly problems: readonly string[];
}

const ACTIONS: Readonly<Record<string, IpvsadmAction>> = {
  "-A": "add-service",
  "--add-service": "add-service",
  "-E": "edit-service",
  "--edit-service": "edit-service",
  "-D": "delete-service",
  "--delete-service": "delete-service",
  "-a": "add-server",
  "--add-server": "add-server",
  "-e": "edit-server",
  "--edit-server": "edit-server",
  "-d": "delete-server",
  "--delete-server": "delete-server",
  "-C": "clear",
  "--clear": "clear",
  "-R": "restore",
  "--restore": "restore",
  "-S": "save",
  "--save": "save",
  "-L": "list",
  "-l": "list",
  "--list": "list",
  "-Z": "zero",
  "--zero": "zero",
};

const SERVICE_OPTIONS: Readonly<Record<string, IpvsProtocol | "fwmark">> = {
  "-t": "tcp",
  "--tcp-service": "tcp",
  "-u": "udp",
  "--udp-service": "udp",
  "--sctp-service": "sctp",
  "-f": "fwmark",
  "--fwmark-service": "fwmark",
};

const FORWARDING: Readonly<Record<string, IpvsForwarding>> = {
  "-m": "masquerade",
  "--masquerading": "masquerade",
  "-g": "gatewaying",
  "--gatewaying": "gatewaying",
  "-i": "ipip",
  "--ipip": "ipip",
};

/** Options that take a value and that we keep in `other` with it. */
const OTHER_WITH_VALUE = new Set(["--tun-type", "--tun-port", "--pe", "--mcast-interface", "--syncid", "--mcast-group", "--mcast-port", "--mcast-ttl", "--mcast-size"]);

/**
 * `host:port`, `[v6]:port`, or a host alone. Returns undefined for text that is neither.
 * Port may be a number or a service name (`ipvsadm -S` without -n prints `domain`).
 */
export function splitHostPort(text: string): { host: string; port?: string } | undefined {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::([A-Za-z0-9_-]+))?$/.exec(text);
  if (v6) return v6[2] === undefined ? { host: v6[1] } : { host: v6[1], port: v6[2] };
  const v4 = /^([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_-]+))?$/.exec(text);
  if (v4) return v4[2] === undefined ? { host: v4[1] } : { host: v4[1], port: v4[2] };
  return undefined;
}

/** Reads the arguments of one ipvsadm call (without the program name), or one `-Sn` line. */
export function parseIpvsadmArgs(args: readonly string[]): IpvsadmCommand {
  let action: IpvsadmAction | undefined;
  let service: IpvsServiceRef | undefined;
  let protocolOrMark: IpvsProtocol | "fwmark" | undefined;
  let serviceText: string | undefined;
  let ipv6 = false;
  const out: {
    scheduler?: string;
    schedulerFlags?: string[];
    persistence?: string;
    netmask?: string;
    server?: { host: string; port?: string };
    forwarding?: IpvsForwarding;
    weight?: string;
    upperThreshold?: string;
    lowerThreshold?: string;
  } = {};
  const other: string[] = [];
  const list = new ArgList(args);
  const problems = list.problems;

  for (let arg = list.next(); arg !== undefined; arg = list.next()) {
    const value = () => list.value(arg!);
    // Short options may be glued: -Sn, -Ln. Split single-dash clusters of known letters.
    if (/^-[A-Za-z]{2,}$/.test(arg) && own(ACTIONS, arg.slice(0, 2))) {
      action ??= own(ACTIONS, arg.slice(0, 2));
      for (const flag of arg.slice(2)) other.push(`-${flag}`);
      continue;
    }
    const act = own(ACTIONS, arg);
    if (act) {
      if (action && action !== act) problems.push(`two commands: ${arg} after another command`);
      action ??= act;
      continue;
    }
    const svc = own(SERVICE_OPTIONS, arg);
    if (svc) {
      protocolOrMark = svc;
      serviceText = value();
      continue;
    }
    const fwd = own(FORWARDING, arg);
    if (fwd) {
      out.forwarding = fwd;
      continue;
    }
    switch (arg) {
      case "-s":
      case "--scheduler":
        out.scheduler = value();
        break;
      case "-b":
      case "--sched-flags":
        out.schedulerFlags = (value() ?? "").split(",").filter((f) => f !== "");
        break;
      case "-p":
      case "--persistent": {
        // The timeout is optional: `-p` alone, or `-p 360`.
        const next = list.peek();
        out.persistence = next !== undefined && /^\d+$/.test(next) ? list.next() : "300";
        break;
      }
      case "-M":
      case "--netmask":
        out.netmask = value();
        break;
      case "-r":
      case "--real-server": {
        const text = value();
        if (text === undefined) break;
        const hp = splitHostPort(text);
        if (hp) out.server = hp;
        else problems.push(`-r ${JSON.stringify(text)} is not host[:port]`);
        break;
      }
      case "-w":
      case "--weight":
        out.weight = value();
        break;
      case "-x":
      case "--u-threshold":
        out.upperThreshold = value();
        break;
      case "-y":
      case "--l-threshold":
        out.lowerThreshold = value();
        break;
      case "-6":
      case "--ipv6":
        ipv6 = true;
        break;
      default:
        if (OTHER_WITH_VALUE.has(arg)) {
          const v = value();
          other.push(arg, ...(v === undefined ? [] : [v]));
        } else if (arg.startsWith("-")) other.push(arg);
        else problems.push(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }

  if (protocolOrMark && serviceText !== undefined) {
    if (protocolOrMark === "fwmark") service = { kind: "fwmark", fwmark: serviceText, ipv6 };
    else {
      const hp = splitHostPort(serviceText);
      if (hp && hp.port !== undefined) service = { kind: "address", protocol: protocolOrMark, host: hp.host, port: hp.port };
      else problems.push(`service ${JSON.stringify(serviceText)} is not host:port`);
    }
  }
  const result: IpvsadmCommand = { action: action ?? "other", ...(service ? { service } : {}), ...out, other, problems };
  return result;
}

/** The ownership key of a service as `ipvsadm -Sn` writes it: `-t 172.16.1.8:1000`, `-f 7 -6`. */
export function ipvsServiceKeyOf(ref: IpvsServiceRef): string {
  if (ref.kind === "fwmark") return ref.ipv6 ? `-f ${ref.fwmark} -6` : `-f ${ref.fwmark}`;
  const flag = ref.protocol === "tcp" ? "-t" : ref.protocol === "udp" ? "-u" : "--sctp-service";
  const host = ref.host.includes(":") ? `[${ref.host}]` : ref.host;
  return `${flag} ${host}:${ref.port}`;
}
