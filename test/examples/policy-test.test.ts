/**
 * examples/policy-test: the user's jest test (examples/policy-test/lb.test.ts) compiles with the
 * example's tsconfig and runs here (requiring it registers its tests in this suite, so a failure
 * there fails the repository's jest run); and the stack it tests synthesizes what it claims.
 */
import { Testing } from "cdktf";
import { ipvsMatchers } from "../../lib";
import { LbStack } from "../../examples/policy-test/stack";
import { compileExample } from "./example-helpers";

// The user's test file: its describe/test blocks run as part of this suite.
require("../../examples/policy-test/lb.test");

describe("examples/policy-test", () => {
  test("compiles (tsc -p examples/policy-test/tsconfig.json), the test file included", () => {
    expect(compileExample("policy-test")).toEqual({ status: 0, output: "" });
  });

  test("the stack under test: lb1 with the seed's aliases and conntrack, the legacy host only when asked", () => {
    const plain = JSON.parse(Testing.synth(new LbStack(Testing.app(), "lb")));
    expect(Object.keys(plain.resource.terraform_data).some((k) => k.startsWith("lb1_sysctls_"))).toBe(true);
    const sysctls = Object.entries(plain.resource.terraform_data as Record<string, { triggers_replace: Record<string, string> }>).find(([k]) => k.startsWith("lb1_sysctls_"))![1];
    expect(sysctls.triggers_replace["/etc/sysctl.d/90-cdktf-ipvs.conf"]).toMatch(/^net\.ipv4\.vs\.conntrack = 1$/m);
    expect(plain.resource.terraform_data.legacy).toBeUndefined();

    const legacy = Testing.synth(new LbStack(Testing.app(), "lb", { legacy: true }));
    expect(JSON.parse(legacy).resource.terraform_data.legacy.connection.host).toBe("172.16.1.9");
    // The matcher's verdict, read directly (not through expect), names the finding.
    const verdict = ipvsMatchers.toPassIpvsPolicy(legacy);
    expect(verdict.pass).toBe(false);
    expect(verdict.message()).toMatch(/IPVS101 172\.16\.1\.9:22 terraform_data\.legacy/);
  });
});
