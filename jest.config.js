/** Unit and synth tests: fast, no kernel, no network. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "\\.e2e\\.test\\.ts$"],
  testTimeout: 120000,
  setupFilesAfterEnv: ["<rootDir>/test/setup-cdktf.ts"],
};
