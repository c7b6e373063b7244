export * from "./model";
export * from "./plan";
export * from "./render";
export * from "./constructs";
