/**
 * Address parsing and canonical forms. Canonical text matters: it is what `ipvsadm -Sn` prints,
 * and the rendered scripts compare desired and live state as text.
 */
/** IP version of a service, real server or alias: "ipv4" or "ipv6" (IPVS never mixes them in one service). */
export type AddressFamily = "ipv4" | "ipv6";

export interface ParsedAddress {
  readonly family: AddressFamily;
  /** IPv4 dotted quad, or IPv6 in RFC 5952 form (lowercase, longest zero run compressed). */
  readonly canonical: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function parseIpv4(text: string): string | undefined {
  return IPV4.test(text) ? text : undefined;
}

/** Returns the 8 groups of an IPv6 address, or undefined when it is not one. */
function ipv6Groups(text: string): number[] | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text) || text.length > 45) return undefined;
  let head = text;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIpv4(tail);
    if (!v4) return undefined;
    const o = v4.split(".").map(Number);
    tailV4 = [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(":") && !head.endsWith("::")) head = head.slice(0, -1);
  }
  const parts = head.split("::");
  if (parts.length > 2) return undefined;
  const parse = (s: string): number[] | undefined => {
    if (s === "") return [];
    const groups = s.split(":");
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(parts[0]);
  if (!left) return undefined;
  if (parts.length === 1) {
    const all = [...left, ...tailV4];
    return all.length === 8 ? all : undefined;
  }
  const right = parse(parts[1]);
  if (!right) return undefined;
  const missing = 8 - left.length - right.length - tailV4.length;
  if (missing < 1) return undefined;
  return [...left, ...new Array<number>(missing).fill(0), ...right, ...tailV4];
}

/** RFC 5952: lowercase hex, no leading zeros, the longest run (>= 2) of zero groups as "::". */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

export function parseAddress(text: unknown): ParsedAddress | undefined {
  if (typeof text !== "string") return undefined;
  const v4 = parseIpv4(text);
  if (v4) return { family: "ipv4", canonical: v4 };
  const v6 = ipv6Groups(text);
  if (v6) return { family: "ipv6", canonical: formatIpv6(v6) };
  return undefined;
}

/** `addr:port` as ipvsadm and iptables write it: IPv6 in brackets. */
export function hostPort(family: AddressFamily, address: string, port: number): string {
  return family === "ipv6" ? `[${address}]:${port}` : `${address}:${port}`;
}

/** True for 127.0.0.0/8 and ::1: traffic to these never leaves the host. */
export function isLoopback(address: ParsedAddress): boolean {
  return address.family === "ipv4" ? address.canonical.startsWith("127.") : address.canonical === "::1";
}

/** Contiguous IPv4 netmask in dotted form (ipvsadm -M). */
export function isContiguousIpv4Netmask(text: string): boolean {
  const v4 = parseIpv4(text);
  if (!v4) return false;
  const bits = v4
    .split(".")
    .map((o) => Number(o).toString(2).padStart(8, "0"))
    .join("");
  return /^1+0*$/.test(bits);
}
