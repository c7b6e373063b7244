export * from "./shell-words";
