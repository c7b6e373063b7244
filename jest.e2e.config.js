/**
 * End-to-end tests: boot a real IPVS kernel under qemu and deploy into it. Each suite boots its
 * own guest(s) (1 vCPU each), so suites run two at a time (E2E_WORKERS to change; 1 = one after
 * the other). The image is built once, first (test/e2e/global-setup.ts).
 */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test/e2e"],
  testMatch: ["**/*.e2e.test.ts"],
  testTimeout: 15 * 60 * 1000,
  maxWorkers: Number(process.env.E2E_WORKERS ?? 2),
  globalSetup: "<rootDir>/test/e2e/global-setup.ts",
};
