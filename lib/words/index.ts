export * from "./shell-words";
export * from "./ipvsadm";
export * from "./iptables";
