/** End-to-end tests: boot a real IPVS kernel under qemu and deploy into it. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/test/e2e"],
  testMatch: ["**/*.e2e.test.ts"],
  testTimeout: 15 * 60 * 1000,
  maxWorkers: 1,
};
