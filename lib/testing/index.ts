export * from "./matchers";
