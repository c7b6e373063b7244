/**
 * Recognizes, in a provisioning step, what matters for IPVS aliases: IPVS changes, nat rules
 * (REDIRECT/DNAT), sysctl settings and loads, writes to sysctl and module-load files, and modprobe.
 * One step may give several events (`sysctl -w a=1 b=2`, `ipvsadm -R` with many lines) or none.
 */
import { IpvsadmAction, IpvsadmCommand, IptablesRule, parseIptablesArgs, parseIpvsadmArgs, parseShell } from "../words";
import { FileUpload, StackStep, StackCommand } from "./commands";
import { fileWritesOf, ShellText } from "./shell-data";

/** IPVS table change: one ipvsadm call, or one line of a restore (`ipvsadm -R`, `ipvsadm-restore`). */
export interface IpvsEvent {
  readonly kind: "ipvs";
  readonly action: IpvsadmAction;
  readonly command: IpvsadmCommand;
  /** `ipvsadm` (one call), `ipvsadm -R` or `ipvsadm-restore` (one line of its input). */
  readonly via: "ipvsadm" | "ipvsadm -R" | "ipvsadm-restore";
  /** True when a word holds $VAR or $(...): the arguments read are not exactly what runs. */
  readonly dynamic: boolean;
}

/** A restore whose input could not be read (stdin from a file we do not know, or computed). */
export interface IpvsRestoreUnknownEvent {
  readonly kind: "ipvs-restore-unknown";
  readonly via: "ipvsadm -R" | "ipvsadm-restore";
}

/** A NAT rule that sends a port elsewhere: what an IPVS alias is made of. */
export interface NatEvent {
  readonly kind: "nat";
  readonly tool: "iptables" | "ip6tables" | "iptables-restore" | "ip6tables-restore" | "nft";
  readonly family: "ipv4" | "ipv6" | "inet" | "unknown";
  /** `append`, `insert`, `delete`, `flush` ... (iptables words; nft `add`/`insert` map to append/insert). */
  readonly operation: string;
  readonly chain?: string;
  readonly protocol?: string;
  /** The port matched (`--dport` / `tcp dport`). */
  readonly matchPort?: string;
  readonly matchAddress?: string;
  /** `REDIRECT`, `DNAT`, or another target/verdict as written (`RETURN`, `MASQUERADE` ...). */
  readonly target?: string;
  /** REDIRECT's port or DNAT's destination port. */
  readonly toPort?: string;
  /** DNAT's destination address. */
  readonly toAddress?: string;
  /** The iptables reading, for iptables tools. */
  readonly rule?: IptablesRule;
  /** True when a word holds $VAR or $(...): the rule read is not exactly what runs. */
  readonly dynamic: boolean;
}

/** A kernel parameter set now (not at boot). */
export interface SysctlSetEvent {
  readonly kind: "sysctl-set";
  /** Dotted key, `net.ipv4.vs.conntrack`. */
  readonly key: string;
  readonly value: string;
  readonly dynamic: boolean;
  /** `sysctl` (-w or plain k=v) or a write to `/proc/sys/...`. */
  readonly via: "sysctl" | "proc";
}

/** Settings loaded from files now: `sysctl -p [FILE]`, `sysctl --system`, `systemctl restart systemd-sysctl`. */
export interface SysctlLoadEvent {
  readonly kind: "sysctl-load";
  /** Files loaded; `system` means every sysctl.d directory and /etc/sysctl.conf. */
  readonly files: readonly string[] | "system";
  /** Entries of the loaded files whose text is known (written or uploaded before), in load order. */
  readonly entries: readonly { readonly key: string; readonly value: string; readonly file: string }[];
  /** Loaded files whose text is not known here. */
  readonly unknownFiles: readonly string[];
}

/** What a file under the sysctl or module-load paths is for. */
export type FileCategory = "sysctl.d" | "sysctl.conf" | "modules-load.d" | "modules" | "other";

/** A file written on the host (shell redirect, tee, or file provisioner). */
export interface FileWriteEvent {
  readonly kind: "file-write";
  readonly path: string;
  readonly category: FileCategory;
  readonly via: "redirect" | "tee" | "file-provisioner";
  readonly append: boolean;
  /** The text written, when known. */
  readonly content?: ShellText;
  /** For sysctl files: `key = value` entries (dotted keys). */
  readonly sysctlEntries?: readonly { readonly key: string; readonly value: string }[];
  /** For module-load files: module names. */
  readonly modules?: readonly string[];
}

/** Kernel modules loaded (or removed) now. */
export interface ModprobeEvent {
  readonly kind: "modprobe";
  readonly modules: readonly string[];
  readonly remove: boolean;
  /** True when a name holds $VAR or $(...) (`modprobe "$module"`). */
  readonly dynamic: boolean;
}

/** A recognized effect of a step. */
export type RecognizedEvent = IpvsEvent | IpvsRestoreUnknownEvent | NatEvent | SysctlSetEvent | SysctlLoadEvent | FileWriteEvent | ModprobeEvent;

/** `/etc/sysctl.d/x.conf` → "sysctl.d" (also /run, /usr/lib, /lib directories systemd reads). */
export function fileCategory(path: string): FileCategory {
  if (/^\/(etc|run|usr\/lib|lib|usr\/local\/lib)\/sysctl\.d\/[^/]+$/.test(path)) return "sysctl.d";
  if (path === "/etc/sysctl.conf") return "sysctl.conf";
  if (/^\/(etc|run|usr\/lib|lib|usr\/local\/lib)\/modules-load\.d\/[^/]+$/.test(path)) return "modules-load.d";
  if (path === "/etc/modules") return "modules";
  return "other";
}

/** `net/ipv4/vs/conntrack` or `net.ipv4.vs.conntrack` → dotted. */
function dottedKey(key: string): string {
  return key.includes("/") ? key.replace(/^\/+/, "").split("/").join(".") : key;
}

/** `key = value` lines of a sysctl.conf-style file; comments (`#`, `;`) and blanks skipped, a leading `-` (ignore errors) dropped. */
export function parseSysctlConf(text: string): { key: string; value: string }[] {
  const entries: { key: string; value: string }[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    entries.push({ key: dottedKey(line.slice(0, eq).trim().replace(/^-/, "")), value: line.slice(eq + 1).trim() });
  }
  return entries;
}

/** Module names of a modules-load.d file or /etc/modules (one per line; `/etc/modules` may add parameters after the name). */
export function parseModulesFile(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith(";"))
    .map((l) => l.split(/\s+/)[0]);
}

function fileWriteEvent(path: string, via: FileWriteEvent["via"], append: boolean, content: ShellText | undefined): FileWriteEvent {
  const category = fileCategory(path);
  const parsed =
    content === undefined
      ? {}
      : category === "sysctl.d" || category === "sysctl.conf"
        ? { sysctlEntries: parseSysctlConf(content.text) }
        : category === "modules-load.d" || category === "modules"
          ? { modules: parseModulesFile(content.text) }
          : {};
  return { kind: "file-write", path, category, via, append, ...(content ? { content } : {}), ...parsed };
}

const PROC_SYS = /^\/proc\/sys\/(.+)$/;

/** Writes to /proc/sys are settings, not files; other writes are file-write events. */
function writesOf(command: StackCommand): RecognizedEvent[] {
  return fileWritesOf(command).map((w): RecognizedEvent => {
    const proc = PROC_SYS.exec(w.path);
    if (!proc) return fileWriteEvent(w.path, w.via, w.append, w.content);
    const value = w.content?.text.trim() ?? "";
    return { kind: "sysctl-set", key: dottedKey(proc[1]), value, dynamic: w.content === undefined || w.content.dynamic, via: "proc" };
  });
}

function sysctlEvents(command: StackCommand): RecognizedEvent[] {
  const args = command.words.slice(1);
  const events: RecognizedEvent[] = [];
  const load: string[] = [];
  let loading = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i].text;
    if (a === "--system") return [{ kind: "sysctl-load", files: "system", entries: [], unknownFiles: [] }];
    if (a === "-p" || a === "--load") {
      loading = true;
      continue;
    }
    const glued = /^(?:-p|--load=)(.+)$/.exec(a);
    if (glued) {
      loading = true;
      load.push(glued[1]);
      continue;
    }
    if (a.startsWith("-")) continue; // -w, -q, -e, -n ...
    const eq = a.indexOf("=");
    if (loading && eq < 0) load.push(a);
    else if (eq > 0) events.push({ kind: "sysctl-set", key: dottedKey(a.slice(0, eq)), value: a.slice(eq + 1), dynamic: args[i].dynamic, via: "sysctl" });
  }
  if (loading) {
    const files = load.length > 0 ? load : ["/etc/sysctl.conf"];
    const known = command.argumentFiles ?? {};
    const entries = files.flatMap((file) => (known[file] === undefined ? [] : parseSysctlConf(known[file]).map((e) => ({ ...e, file }))));
    events.push({ kind: "sysctl-load", files, entries, unknownFiles: files.filter((f) => known[f] === undefined) });
  }
  return events;
}

function modprobeEvents(command: StackCommand): RecognizedEvent[] {
  const args = command.words.slice(1).map((w) => w.text);
  const dynamic = command.words.some((w) => w.dynamic);
  const remove = args.some((a) => a === "-r" || a === "--remove" || /^-[a-zA-Z]*r[a-zA-Z]*$/.test(a));
  const all = args.some((a) => a === "-a" || a === "--all" || /^-[a-zA-Z]*a[a-zA-Z]*$/.test(a)) || remove;
  const names = args.filter((a) => !a.startsWith("-") && !a.includes("="));
  // Without -a, only the first name is a module; the rest are its parameters (`modprobe ip_vs conn_tab_bits=12`).
  const modules = all ? names : names.slice(0, 1);
  return modules.length > 0 ? [{ kind: "modprobe", modules, remove, dynamic }] : [];
}

/** Lines of a restore input as argument lists, comments and blanks skipped. */
function restoreLines(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.trim().startsWith("#"))
    .map((l) => parseShell(l).commands.flatMap((c) => c.words.map((w) => w.text)));
}

function ipvsadmEvents(command: StackCommand): RecognizedEvent[] {
  const dynamic = command.words.some((w) => w.dynamic);
  const via = command.program === "ipvsadm-restore" ? "ipvsadm-restore" : "ipvsadm -R";
  const isRestore = command.program === "ipvsadm-restore" || parseIpvsadmArgs(command.words.slice(1).map((w) => w.text)).action === "restore";
  if (!isRestore) {
    const parsed = parseIpvsadmArgs(command.words.slice(1).map((w) => w.text));
    return [{ kind: "ipvs", action: parsed.action, command: parsed, via: "ipvsadm", dynamic }];
  }
  if (!command.stdin) return [{ kind: "ipvs-restore-unknown", via }];
  return restoreLines(command.stdin.text).map((words): IpvsEvent => {
    const parsed = parseIpvsadmArgs(words);
    return { kind: "ipvs", action: parsed.action, command: parsed, via, dynamic: command.stdin!.dynamic };
  });
}

function natFromIptables(rule: IptablesRule, tool: NatEvent["tool"], dynamic: boolean): NatEvent {
  const family = tool.startsWith("ip6") ? "ipv6" : "ipv4";
  const toPort = rule.toPorts ?? rule.toDestination?.port;
  return {
    kind: "nat",
    tool,
    family,
    operation: rule.operation,
    ...(rule.chain !== undefined ? { chain: rule.chain } : {}),
    ...(rule.protocol !== undefined ? { protocol: rule.protocol } : {}),
    ...(rule.destinationPort !== undefined ? { matchPort: rule.destinationPort } : {}),
    ...(rule.destination !== undefined && !rule.destination.negated ? { matchAddress: rule.destination.address } : {}),
    ...(rule.jump !== undefined ? { target: rule.jump } : {}),
    ...(toPort !== undefined ? { toPort } : {}),
    ...(rule.toDestination !== undefined ? { toAddress: rule.toDestination.address } : {}),
    rule,
    dynamic,
  };
}

/** `iptables`, `iptables-nft`, `ip6tables-legacy` ... → the tool family; undefined for other programs. */
function iptablesTool(program: string): { restore: boolean; v6: boolean } | undefined {
  const m = /^(ip6?)tables(?:-(?:legacy|nft))?(-restore)?(?:-(?:legacy|nft))?$/.exec(program);
  return m ? { restore: m[2] !== undefined, v6: m[1] === "ip6" } : undefined;
}

function iptablesEvents(command: StackCommand, tool: { restore: boolean; v6: boolean }): RecognizedEvent[] {
  if (!tool.restore) {
    const rule = parseIptablesArgs(command.words.slice(1).map((w) => w.text));
    return rule.table === "nat" ? [natFromIptables(rule, tool.v6 ? "ip6tables" : "iptables", command.words.some((w) => w.dynamic))] : [];
  }
  // iptables-restore reads stdin, or the file named as its argument.
  const fromFile = Object.values(command.argumentFiles ?? {})[0];
  const input = fromFile !== undefined ? { text: fromFile, dynamic: false } : command.stdin;
  if (!input) return [];
  const events: RecognizedEvent[] = [];
  let table = "filter";
  for (const words of restoreLines(input.text)) {
    const first = words[0] ?? "";
    if (first.startsWith("*")) table = first.slice(1);
    else if (first.startsWith("-") && table === "nat") events.push(natFromIptables(parseIptablesArgs(words, table), tool.v6 ? "ip6tables-restore" : "iptables-restore", input.dynamic));
  }
  return events;
}

/**
 * nft, best effort: `add|insert rule [FAMILY] TABLE CHAIN ... redirect to :PORT | dnat [ip] to ADDR:PORT`
 * as arguments, or the same statements in a script (`nft -f FILE` with the file known, `nft -f -`
 * from a here-document), where `table`/`chain` blocks give the names.
 */
function nftEvents(command: StackCommand): RecognizedEvent[] {
  const args = command.words.slice(1).map((w) => w.text);
  const fileIndex = args.findIndex((a) => a === "-f" || a === "--file");
  if (fileIndex >= 0) {
    const file = command.argumentFiles?.[args[fileIndex + 1] ?? ""];
    if (file !== undefined) return nftScriptEvents(file, false);
    return command.stdin ? nftScriptEvents(command.stdin.text, command.stdin.dynamic) : [];
  }
  const statement = args.filter((a) => !/^-[a-zA-Z]+$/.test(a)).join(" ");
  return nftScriptEvents(statement, command.words.some((w) => w.dynamic));
}

const NFT_FAMILIES = new Set(["ip", "ip6", "inet", "arp", "bridge", "netdev"]);

function nftScriptEvents(text: string, dynamic: boolean): NatEvent[] {
  const events: NatEvent[] = [];
  let family = "ip";
  let chain: string | undefined;
  for (const statement of text.split(/[\n;]/)) {
    const tokens = statement.replace(/[{}]/g, " ").trim().split(/\s+/).filter((t) => t !== "");
    if (tokens[0] === "table") {
      family = NFT_FAMILIES.has(tokens[1]) ? tokens[1] : "ip";
      continue;
    }
    if (tokens[0] === "chain") {
      chain = tokens[tokens.length - 1];
      continue;
    }
    let rest = tokens;
    let operation = "append";
    if ((tokens[0] === "add" || tokens[0] === "insert") && tokens[1] === "rule") {
      operation = tokens[0] === "add" ? "append" : "insert";
      const hasFamily = NFT_FAMILIES.has(tokens[2]);
      if (hasFamily) family = tokens[2];
      chain = tokens[hasFamily ? 4 : 3];
      rest = tokens.slice(hasFamily ? 5 : 4);
    }
    const event = nftNatStatement(rest);
    if (event) events.push({ kind: "nat", tool: "nft", family: family === "ip" ? "ipv4" : family === "ip6" ? "ipv6" : family === "inet" ? "inet" : "unknown", operation, ...(chain !== undefined ? { chain } : {}), ...event, dynamic });
  }
  return events;
}

function nftNatStatement(tokens: readonly string[]): Pick<NatEvent, "protocol" | "matchPort" | "matchAddress" | "target" | "toPort" | "toAddress"> | undefined {
  const at = (word: string) => tokens.indexOf(word);
  const redirect = at("redirect");
  const dnat = at("dnat");
  if (redirect < 0 && dnat < 0) return undefined;
  const out: { protocol?: string; matchPort?: string; matchAddress?: string; target?: string; toPort?: string; toAddress?: string } = {};
  const dport = at("dport");
  if (dport > 0) {
    out.protocol = tokens[dport - 1];
    out.matchPort = tokens[dport + 1];
  }
  const daddr = at("daddr");
  if (daddr >= 0) out.matchAddress = tokens[daddr + 1];
  const afterTo = (from: number) => {
    const to = tokens.indexOf("to", from);
    return to >= 0 ? tokens[to + 1] : undefined;
  };
  if (redirect >= 0) {
    out.target = "REDIRECT";
    const port = afterTo(redirect);
    if (port !== undefined) out.toPort = port.replace(/^:/, "");
  } else {
    out.target = "DNAT";
    const dest = afterTo(dnat);
    if (dest !== undefined) {
      const m = /^\[([^\]]+)\](?::(.+))?$/.exec(dest) ?? /^([^:]+)(?::(.+))?$/.exec(dest);
      if (m) {
        out.toAddress = m[1];
        if (m[2] !== undefined) out.toPort = m[2];
      } else out.toAddress = dest;
    }
  }
  return out;
}

function uploadEvents(upload: FileUpload): RecognizedEvent[] {
  return [fileWriteEvent(upload.destination, "file-provisioner", false, upload.content !== undefined ? { text: upload.content, dynamic: false } : undefined)];
}

/** What a command does that matters here; [] for commands that do none of it. */
export function recognizeCommand(command: StackCommand): RecognizedEvent[] {
  const events: RecognizedEvent[] = [];
  const program = command.program;
  const iptables = iptablesTool(program);
  if (program === "ipvsadm" || program === "ipvsadm-restore") events.push(...ipvsadmEvents(command));
  else if (iptables) events.push(...iptablesEvents(command, iptables));
  else if (program === "nft") events.push(...nftEvents(command));
  else if (program === "sysctl") events.push(...sysctlEvents(command));
  else if (program === "modprobe") events.push(...modprobeEvents(command));
  else if (program === "systemctl" && command.words.some((w) => /^systemd-sysctl(\.service)?$/.test(w.text)) && command.words.some((w) => /^(re)?start$/.test(w.text))) {
    events.push({ kind: "sysctl-load", files: "system", entries: [], unknownFiles: [] });
  }
  events.push(...writesOf(command));
  return events;
}

/** What a provisioning step does that matters here (commands and uploads; notes give none). */
export function recognizeStep(step: StackStep): RecognizedEvent[] {
  if (step.kind === "command") return recognizeCommand(step);
  if (step.kind === "upload") return uploadEvents(step);
  return [];
}
