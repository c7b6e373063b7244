/**
 * One reader of iptables' rule grammar, for the parts that matter to aliases: the table, the
 * chain operation, destination address and port, protocol, and the REDIRECT/DNAT target. A line
 * of `iptables-save` (`-A PREROUTING -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -j REDIRECT
 * --to-ports 1000`) and a command in a provisioner are both such argument lists.
 */
import { ArgList, own } from "./args";

export type IptablesOperation = "append" | "insert" | "delete" | "check" | "replace" | "new-chain" | "flush" | "delete-chain" | "policy" | "list" | "other";

export interface IptablesRule {
  readonly table: string;
  readonly operation: IptablesOperation;
  readonly chain?: string;
  readonly protocol?: string;
  /** `-d` without a /32 or /128 suffix; `negated` when written `! -d`. */
  readonly destination?: { readonly address: string; readonly prefix?: number; readonly negated: boolean };
  readonly destinationPort?: string;
  readonly inInterface?: string;
  readonly outInterface?: string;
  readonly jump?: string;
  /** REDIRECT `--to-ports`. */
  readonly toPorts?: string;
  /** DNAT `--to-destination` split into address and port (port undefined when left out). */
  readonly toDestination?: { readonly address: string; readonly port?: string };
  readonly comment?: string;
  /** Options this reader does not interpret, kept as written. */
  readonly other: readonly string[];
  readonly problems: readonly string[];
}

const OPERATIONS: Readonly<Record<string, IptablesOperation>> = {
  "-A": "append",
  "--append": "append",
  "-I": "insert",
  "--insert": "insert",
  "-D": "delete",
  "--delete": "delete",
  "-C": "check",
  "--check": "check",
  "-R": "replace",
  "--replace": "replace",
  "-N": "new-chain",
  "--new-chain": "new-chain",
  "-F": "flush",
  "--flush": "flush",
  "-X": "delete-chain",
  "--delete-chain": "delete-chain",
  "-P": "policy",
  "--policy": "policy",
  "-L": "list",
  "--list": "list",
  "-S": "list",
  "--list-rules": "list",
};

/** Options whose value we do not interpret but must skip over. */
const OTHER_WITH_VALUE = new Set(["-s", "--source", "--sport", "--source-port", "-m", "--match", "--to-source", "--mark", "--set-mark", "--ctstate", "--state", "--dports", "--sports", "--uid-owner", "--to"]);

/** Options whose value is optional: consumed only when the next argument looks like one (`-w` or `-w 5`). */
const OTHER_WITH_OPTIONAL_NUMBER = new Set(["-w", "--wait", "-W", "--wait-interval"]);

/** `172.16.1.8:1000`, `[fd00::8]:1000`, `172.16.1.8` (DNAT --to-destination forms). */
function splitDestination(text: string): { address: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  if (v6) return v6[2] === undefined ? { address: v6[1] } : { address: v6[1], port: v6[2] };
  const colon = text.lastIndexOf(":");
  // A bare IPv6 address has several colons and no port.
  if (colon < 0 || text.indexOf(":") !== colon) return { address: text };
  return { address: text.slice(0, colon), port: text.slice(colon + 1) };
}

/**
 * Reads the arguments of one iptables/ip6tables call (without the program name), or one rule line
 * of iptables-save (give `table` from the preceding `*nat` line).
 */
export function parseIptablesArgs(args: readonly string[], table = "filter"): IptablesRule {
  const out: {
    table: string;
    operation?: IptablesOperation;
    chain?: string;
    protocol?: string;
    destination?: { address: string; prefix?: number; negated: boolean };
    destinationPort?: string;
    inInterface?: string;
    outInterface?: string;
    jump?: string;
    toPorts?: string;
    toDestination?: { address: string; port?: string };
    comment?: string;
  } = { table };
  const other: string[] = [];
  const list = new ArgList(args);
  const problems = list.problems;
  let negate = false;

  for (let arg = list.next(); arg !== undefined; arg = list.next()) {
    const value = () => list.value(arg!);
    if (arg === "!") {
      negate = true;
      continue;
    }
    const negated = negate;
    negate = false;
    const op = own(OPERATIONS, arg);
    if (op) {
      if (out.operation) problems.push(`two operations: ${arg} after another`);
      out.operation ??= op;
      // The chain is optional for -F, -X, -L, -S.
      const notOption = (a: string | undefined): a is string => a !== undefined && !a.startsWith("-");
      if (notOption(list.peek())) {
        out.chain = list.next();
        // -I CHAIN N / -D CHAIN N / -R CHAIN N / -P CHAIN POLICY: a rule number or policy.
        const numbered = op === "insert" || op === "replace" || op === "delete" || op === "policy";
        if (numbered && notOption(list.peek())) other.push(list.next()!);
      } else if (op !== "flush" && op !== "delete-chain" && op !== "list") problems.push(`${arg} needs a chain`);
      continue;
    }
    switch (arg) {
      case "-t":
      case "--table":
        out.table = value() ?? out.table;
        break;
      case "-p":
      case "--protocol":
        out.protocol = value();
        break;
      case "-d":
      case "--destination":
      case "--dst": {
        const v = value();
        if (v === undefined) break;
        const [address, prefix] = v.split("/");
        out.destination = prefix !== undefined && /^\d+$/.test(prefix) ? { address, prefix: Number(prefix), negated } : { address, negated };
        break;
      }
      case "--dport":
      case "--destination-port":
        out.destinationPort = value();
        break;
      case "-i":
      case "--in-interface":
        out.inInterface = value();
        break;
      case "-o":
      case "--out-interface":
        out.outInterface = value();
        break;
      case "-j":
      case "--jump":
      case "-g":
      case "--goto":
        out.jump = value();
        break;
      case "--to-ports":
      case "--to-port":
        out.toPorts = value();
        break;
      case "--to-destination": {
        const v = value();
        if (v !== undefined) out.toDestination = splitDestination(v);
        break;
      }
      case "--comment":
        out.comment = value();
        break;
      default:
        if (OTHER_WITH_OPTIONAL_NUMBER.has(arg)) {
          const next = list.peek();
          other.push(arg, ...(next !== undefined && /^\d+$/.test(next) ? [list.next()!] : []));
        } else if (OTHER_WITH_VALUE.has(arg)) {
          const v = value();
          other.push(...(negated ? ["!"] : []), arg, ...(v === undefined ? [] : [v]));
        } else if (arg.startsWith("-")) other.push(arg);
        else problems.push(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  return { ...out, operation: out.operation ?? "other", other, problems };
}
