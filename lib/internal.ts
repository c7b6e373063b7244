/**
 * `cdktf-ipvs/internal`: every module of the library (model, planner, renderers, policy rules,
 * drift checks, constructs' helpers), as the CLI and the tests use them. Not the public API: its
 * names and signatures may change in any release. The public API is `cdktf-ipvs` (lib/index.ts).
 */
export * from "./model";
export * from "./plan";
export * from "./render";
export * from "./policy";
export * from "./drift";
export * from "./constructs";
export * from "./testing";
export * from "./import";
