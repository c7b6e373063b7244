/**
 * Alias rules for iptables / ip6tables nat, in our own chains. Each rule is a list of tokens that
 * works both as an iptables-restore line and as `iptables -C` arguments; every token comes from
 * validated model values (addresses, ports, enum words, names of [A-Za-z0-9_.-]), none contains
 * a space or a shell metacharacter.
 */
import { DesiredAlias, hostPort } from "../model";
import { HOST_LAYOUT } from "./layout";

export type IptablesFamily = "ipv4" | "ipv6";

export interface AliasChain {
  readonly family: IptablesFamily;
  /** iptables or ip6tables */
  readonly command: "iptables" | "ip6tables";
  /** Our chain. */
  readonly chain: string;
  /** The built-in nat chain that jumps to ours. */
  readonly parent: "PREROUTING" | "OUTPUT";
  /** Rules (tokens after `-A CHAIN`), in order. */
  readonly rules: readonly string[];
}

export function aliasRuleTokens(alias: DesiredAlias): string {
  const prefix = alias.family === "ipv6" ? 128 : 32;
  const match = `-d ${alias.address}/${prefix} -p ${alias.protocol} -m ${alias.protocol} --dport ${alias.port}`;
  const comment = `-m comment --comment ${HOST_LAYOUT.ruleComment}:${alias.service}`;
  const target =
    alias.method === "redirect"
      ? `-j REDIRECT --to-ports ${alias.targetPort}`
      : `-j DNAT --to-destination ${hostPort(alias.family, alias.targetAddress, alias.targetPort)}`;
  return `${match} ${comment} ${target}`;
}

/**
 * The four chains we may own (two families × remote/local), each with its desired rules; a chain
 * with no rules is one to remove if present.
 */
export function aliasChains(aliases: readonly DesiredAlias[]): AliasChain[] {
  const chains: AliasChain[] = [];
  for (const family of ["ipv4", "ipv6"] as const) {
    const command = family === "ipv4" ? "iptables" : "ip6tables";
    const mine = aliases.filter((a) => a.family === family);
    chains.push({
      family,
      command,
      chain: HOST_LAYOUT.chainRemote,
      parent: "PREROUTING",
      rules: mine.filter((a) => a.remoteClients).map(aliasRuleTokens),
    });
    chains.push({
      family,
      command,
      chain: HOST_LAYOUT.chainLocal,
      parent: "OUTPUT",
      rules: mine.filter((a) => a.localClients).map(aliasRuleTokens),
    });
  }
  return chains;
}
