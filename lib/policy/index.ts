export * from "./rule";
export * from "./check";
export * from "./plan-json";
export { aliasRequiresConntrack } from "./rules/alias-requires-conntrack";
export { conntrackTableSize } from "./rules/conntrack-table-size";
export { expireNodestConn } from "./rules/expire-nodest-conn";
export { redirectNeedsServiceAddress } from "./rules/redirect-needs-service-address";
export { unsafeSysctls } from "./rules/unsafe-sysctls";
export { sshPortByName } from "./rules/ssh-port-by-name";
