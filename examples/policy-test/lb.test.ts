/**
 * A user's own jest test of a load-balancer stack, with the library's policy entry points:
 *
 *   - the jest matchers (`expect.extend(ipvsMatchers)`): toPassIpvsPolicy, toHaveIpvsAlias;
 *   - IpvsPolicyChecks, the Aspect that runs the same rules at synth (errors fail `cdktf synth`),
 *     whose reports a test can read.
 *
 * In your project: `import { IpvsPolicyChecks, ipvsMatchers } from "cdktf-ipvs";` and put this
 * file where your jest config finds it. Here test/examples/policy-test.test.ts runs it.
 */
import { Testing } from "cdktf";
import { IpvsPolicyChecks, ipvsMatchers } from "../../lib";
import { LbStack } from "./stack";

expect.extend(ipvsMatchers);
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toPassIpvsPolicy(failOn?: "error" | "warning" | "info"): R;
      toHaveIpvsAlias(expected: { port: number; service?: string; host?: string }): R;
    }
  }
}

describe("load balancer stack (user's policy test)", () => {
  test("passes the IPVS policy: every alias has net.ipv4.vs.conntrack=1 on its host", () => {
    const stack = new LbStack(Testing.app(), "lb");
    expect(Testing.synth(stack)).toPassIpvsPolicy();
  });

  test("the aliases 1010 and 1020 lead to the service 172.16.1.8:1000, with conntrack on", () => {
    const synthesized = Testing.synth(new LbStack(Testing.app(), "lb"));
    expect(synthesized).toHaveIpvsAlias({ port: 1010, service: "172.16.1.8:1000", host: "172.16.1.8:22" });
    expect(synthesized).toHaveIpvsAlias({ port: 1020, service: "172.16.1.8:1000" });
    // The construct's read-only view says the same, method included.
    const { lb } = new LbStack(Testing.app(), "lb");
    expect(lb.desiredState.aliases.map((a) => [a.port, a.method, `${a.targetAddress}:${a.targetPort}`])).toEqual([
      [1010, "redirect", "172.16.1.8:1000"],
      [1020, "dnat", "172.16.1.8:1000"],
    ]);
    expect(lb.desiredState.sysctls).toContainEqual(expect.objectContaining({ key: "net.ipv4.vs.conntrack", value: "1" }));
  });

  test("IpvsPolicyChecks at synth: no error on the stack", () => {
    const app = Testing.app();
    const stack = new LbStack(app, "lb");
    const checks = IpvsPolicyChecks.applyTo(app);
    Testing.synth(stack); // runs the aspects
    expect(checks.reports.map((r) => r.stack)).toEqual(["lb"]);
    expect(checks.reports[0].findings.filter((f) => f.level === "error")).toEqual([]);
  });

  test("a hand-written REDIRECT without the conntrack sysctl is caught, by the matcher and at synth", () => {
    const synthesized = Testing.synth(new LbStack(Testing.app(), "lb", { legacy: true }));
    expect(synthesized).not.toPassIpvsPolicy();
    expect(synthesized).toHaveIpvsAlias({ port: 2010, service: "172.16.1.9:2000" });

    const app = Testing.app();
    const stack = new LbStack(app, "lb", { legacy: true });
    const checks = IpvsPolicyChecks.applyTo(app);
    Testing.synth(stack);
    const errors = checks.reports[0].findings.filter((f) => f.level === "error");
    expect(errors.map((f) => [f.ruleId, f.resource])).toEqual([["IPVS101", "terraform_data.legacy"]]);
  });
});
