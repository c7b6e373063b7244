import { DesiredHost } from "../model";
import { Finding, HostRule } from "./rule";
import { aliasRequiresConntrack } from "./rules/alias-requires-conntrack";
import { conntrackTableSize } from "./rules/conntrack-table-size";
import { expireNodestConn } from "./rules/expire-nodest-conn";
import { redirectNeedsServiceAddress } from "./rules/redirect-needs-service-address";
import { sshPortByName } from "./rules/ssh-port-by-name";
import { unsafeSysctls } from "./rules/unsafe-sysctls";

/** The built-in host rules (IPVS001–IPVS004, IPVS007, IPVS008); {@link checkHost} runs them by default. */
export const HOST_RULES: readonly HostRule[] = [aliasRequiresConntrack, conntrackTableSize, redirectNeedsServiceAddress, expireNodestConn, unsafeSysctls, sshPortByName];

/** Runs the host rules over one desired state. */
export function checkHost(host: DesiredHost, rules: readonly HostRule[] = HOST_RULES): Finding[] {
  return rules.flatMap((rule) =>
    rule.check(host).map((hit) => ({ ...hit, ruleId: rule.id, level: rule.level, summary: rule.summary, fix: rule.fix })),
  );
}
