export * from "./engine";
export * from "./ipvs-host";
export * from "./terraform-text";
export * from "./policy-checks";
