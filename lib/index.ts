export * from "./model";
export * from "./plan";
export * from "./render";
// constructs added below
