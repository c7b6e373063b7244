/** drainTimeoutSeconds: the host default, the per-service override, and what is refused. */
import { TerraformStack, Testing } from "cdktf";
import { IpvsHost } from "../../lib/constructs";
import { DEFAULT_DRAIN_TIMEOUT_SECONDS, buildDesiredHost } from "../../lib/model";
import { seedHost, seedService } from "../fixtures";
import { issueLines } from "../model-issues";

describe("drainTimeoutSeconds in the model", () => {
  test("given nothing, when built, then every service and the host drain for 60 s", () => {
    const host = buildDesiredHost(seedHost());
    expect(DEFAULT_DRAIN_TIMEOUT_SECONDS).toBe(60);
    expect(host.drainTimeoutSeconds).toBe(60);
    expect(host.services.map((s) => s.drainTimeoutSeconds)).toEqual([60]);
  });

  test("given a host default and one service's own, when built, then the service's wins and the others take the host's", () => {
    const other = seedService({ name: "other", port: 2000, aliases: [] });
    const host = buildDesiredHost(seedHost({ drainTimeoutSeconds: 5, virtualServices: [seedService({ drainTimeoutSeconds: 0 }), other] }));
    expect(host.drainTimeoutSeconds).toBe(5);
    expect(host.services.map((s) => [s.name, s.drainTimeoutSeconds])).toEqual([
      ["app", 0],
      ["other", 5],
    ]);
  });

  test.each([
    [-1, "drainTimeoutSeconds -1 is out of range; allowed 0–86400 seconds"],
    [86401, "drainTimeoutSeconds 86401 is out of range; allowed 0–86400 seconds"],
    [1.5, "drainTimeoutSeconds 1.5 must be an integer; allowed 0–86400 seconds"],
    ["30", 'drainTimeoutSeconds "30" must be an integer; allowed 0–86400 seconds'],
  ])("given drainTimeoutSeconds %p on a service, when built, then it is refused naming the place and the range", (value, message) => {
    expect(issueLines(() => buildDesiredHost(seedHost({ virtualServices: [seedService({ drainTimeoutSeconds: value as number })] })))).toEqual([
      `spec.hosts[0].virtualServices[0]: ${message}`,
    ]);
  });

  test("given a bad host drainTimeoutSeconds, when built, then it is refused on the host", () => {
    expect(issueLines(() => buildDesiredHost(seedHost({ drainTimeoutSeconds: 100000 })))).toEqual([
      "spec.hosts[0]: drainTimeoutSeconds 100000 is out of range; allowed 0–86400 seconds",
    ]);
  });
});

describe("drainTimeoutSeconds on the constructs", () => {
  test("given the host prop and a service prop, when synthesized, then the desired state carries both", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const lb = new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1" }, drainTimeoutSeconds: 20 });
    lb.addVirtualService("a", { address: "172.16.1.8", port: 1000, drainTimeoutSeconds: 3 }).addRealServer({ address: "10.0.0.2", forwarding: "masquerade" });
    lb.addVirtualService("b", { address: "172.16.1.8", port: 2000 }).addRealServer({ address: "10.0.0.2", forwarding: "masquerade" });
    expect(lb.desiredState.drainTimeoutSeconds).toBe(20);
    expect(lb.desiredState.services.map((s) => s.drainTimeoutSeconds)).toEqual([3, 20]);
  });

  test("given a bad service prop, when the service is added, then the error names the construct path", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const lb = new IpvsHost(stack, "lb1", { connection: { host: "10.0.0.1" } });
    expect(() => lb.addVirtualService("a", { address: "172.16.1.8", port: 1000, drainTimeoutSeconds: -5 })).toThrow(
      "s/lb1/a: drainTimeoutSeconds -5 is out of range; allowed 0–86400 seconds",
    );
  });
});
