export * from "./address";
export * from "./spec";
export * from "./desired";
export * from "./errors";
export * from "./build";
export * from "./sysctls";
export * from "./conntrack-sizing";
export { NOT_AN_SSH_HOST, specSchemaPath } from "./shape";
