export * from "./model";
export * from "./plan";
export * from "./render";
export * from "./policy";
export * from "./drift";
export * from "./constructs";
export * from "./testing";
