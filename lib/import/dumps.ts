/**
 * Readers of the four dumps `cdktf-ipvs import` takes from a host: `ipvsadm -Sn`, `ipvsadm -Ln
 * --thresholds`, `iptables-save -t nat` (and/or `ip6tables-save -t nat`) and `sysctl -a`. Formats
 * as measured on the lab guest (lab/FINDINGS.md: ipvsadm 1.31, iptables 1.8.9, Debian 12). Each
 * reader keeps the line number and text of everything it reads, so whatever cannot be imported
 * is reported with the line it came from.
 */
import { IptablesRule, IpvsadmCommand, parseIptablesArgs, parseIpvsadmArgs, parseShell } from "../words";

/** One line of a dump: 1-based number, its text as given. */
export interface DumpLine {
  readonly source: string;
  readonly number: number;
  readonly text: string;
}

export function lineRef(line: DumpLine): string {
  return `${line.source}:${line.number}`;
}

function linesOf(text: string, source: string): DumpLine[] {
  return text.split(/\r?\n/).map((t, i) => ({ source, number: i + 1, text: t.replace(/\s+$/, "") }));
}

// ---- ipvsadm -Sn ----

export interface IpvsLine {
  readonly line: DumpLine;
  readonly command: IpvsadmCommand;
}

/** Every non-blank line of `ipvsadm -Sn`, read as ipvsadm arguments (the save format has no quoting). */
export function readIpvsSave(text: string, source = "ipvs"): IpvsLine[] {
  return linesOf(text, source)
    .filter((l) => l.text.trim() !== "")
    .map((line) => ({ line, command: parseIpvsadmArgs(line.text.trim().split(/\s+/)) }));
}

// ---- ipvsadm -Ln --thresholds ----

export interface Thresholds {
  readonly upper: number;
  readonly lower: number;
}

export interface ThresholdListing {
  /** `SERVICE-KEY|REAL-SERVER` (keys as `ipvsadm -Sn` writes them: `-t 172.16.1.8:1000|172.16.1.8:1001`). */
  readonly byRealServer: ReadonlyMap<string, Thresholds>;
  /** True when the text has the listing's column header (Uthreshold Lthreshold). */
  readonly hasHeader: boolean;
}

const LISTING_PROTOCOL: Readonly<Record<string, string>> = { TCP: "-t", UDP: "-u", SCTP: "--sctp-service" };

/**
 * `ipvsadm -Ln --thresholds`:
 *   Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn
 *   TCP  172.16.1.8:1000 rr
 *     -> 172.16.1.8:1001               100        10         0          0
 *   FWM  8 IPv6 rr
 */
export function readThresholds(text: string): ThresholdListing {
  const byRealServer = new Map<string, Thresholds>();
  let service: string | undefined;
  let hasHeader = false;
  for (const { text: line } of linesOf(text, "thresholds")) {
    const f = line.trim().split(/\s+/);
    if (f[0] === "Prot" && f.includes("Uthreshold")) hasHeader = true;
    if (Object.prototype.hasOwnProperty.call(LISTING_PROTOCOL, f[0]) && f.length >= 2) service = `${LISTING_PROTOCOL[f[0]]} ${f[1]}`;
    else if (f[0] === "FWM" && f.length >= 2) service = `-f ${f[1]}${f[2] === "IPv6" ? " -6" : ""}`;
    else if (f[0] === "->" && service !== undefined && /^\d+$/.test(f[2] ?? "") && /^\d+$/.test(f[3] ?? "")) {
      byRealServer.set(`${service}|${f[1]}`, { upper: Number(f[2]), lower: Number(f[3]) });
    }
  }
  return { byRealServer, hasHeader };
}

// ---- iptables-save -t nat ----

export interface NatRule {
  readonly line: DumpLine;
  /** The rule's words after quote removal (`--comment "a b"` is one word). */
  readonly words: readonly string[];
  readonly rule: IptablesRule;
}

/** One `*nat` ... `COMMIT` block: its chains (declared with `:NAME`) and rules in order. */
export interface NatTable {
  readonly chains: ReadonlyMap<string, NatRule[]>;
}

/**
 * `iptables-save -t nat` (or `ip6tables-save -t nat`, or both one after the other): one NatTable
 * per `*nat` block. Lines of other tables are skipped; `problems` names lines that could not be read.
 */
export function readNatSave(text: string, source = "nat"): { tables: NatTable[]; problems: { line: DumpLine; why: string }[] } {
  const tables: NatTable[] = [];
  const problems: { line: DumpLine; why: string }[] = [];
  let current: Map<string, NatRule[]> | undefined;
  let table: string | undefined;
  for (const line of linesOf(text, source)) {
    const t = line.text.trim();
    if (t === "" || t.startsWith("#")) continue;
    if (t.startsWith("*")) {
      table = t.slice(1);
      current = table === "nat" ? new Map() : undefined;
      if (current) tables.push({ chains: current });
      continue;
    }
    if (t === "COMMIT") {
      current = undefined;
      table = undefined;
      continue;
    }
    if (!current) continue;
    if (t.startsWith(":")) {
      const name = t.slice(1).split(/\s+/)[0];
      if (!current.has(name)) current.set(name, []);
      continue;
    }
    const parsed = parseShell(t);
    const cmd = parsed.commands.length === 1 ? parsed.commands[0] : undefined;
    if (!cmd || parsed.problems.length > 0 || cmd.words.some((w) => w.dynamic) || cmd.redirects.length > 0) {
      problems.push({ line, why: "is not an iptables-save rule line" });
      continue;
    }
    const words = cmd.words.map((w) => w.text);
    const rule = parseIptablesArgs(words, "nat");
    if (rule.operation !== "append" || rule.chain === undefined) {
      problems.push({ line, why: "is not an iptables-save rule line (-A CHAIN ...)" });
      continue;
    }
    if (!current.has(rule.chain)) current.set(rule.chain, []);
    current.get(rule.chain)!.push({ line, words, rule });
  }
  return { tables, problems };
}

// ---- sysctl -a ----

/** `sysctl -a`: `key = value` lines (a value may hold a tab: `net.ipv4.vs.sync_threshold = 3\t50`). */
export function readSysctls(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const { text: line } of linesOf(text, "sysctls")) {
    const m = /^([A-Za-z0-9_.\-/]+) = (.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}
