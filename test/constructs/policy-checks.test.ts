import { Aspects, DataResource, Testing, TerraformStack } from "cdktf";
import { IpvsPolicy, IpvsPolicyChecks } from "../../lib/constructs";

const SEED = [
  "ipvsadm -A -t 172.16.1.8:1000 -s rr",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
  "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
];

/** A hand-written stack as the seed's author would write it: terraform_data with remote-exec. */
function handWritten(inline: string[]) {
  const app = Testing.app();
  const stack = new TerraformStack(app, "hand");
  const lb = new DataResource(stack, "lb", {
    connection: { type: "ssh", host: "172.16.1.8", user: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" },
    provisioners: [{ type: "remote-exec", inline }],
  });
  const checks = IpvsPolicyChecks.applyTo(app);
  return { app, stack, lb, checks };
}

describe("IpvsPolicyChecks, an Aspect over every stack of an app", () => {
  test("a hand-written alias without conntrack=1 fails synth, naming the rule, resource and command", () => {
    const { stack } = handWritten(SEED);
    expect(() => Testing.fullSynth(stack)).toThrow(/IPVS101 172\.16\.1\.8:22 terraform_data\.lb: REDIRECT to IPVS service tcp 172\.16\.1\.8:1000/);
  });

  test("the fixed stack synthesizes; a warning (conntrack not persisted) is annotated, not fatal", () => {
    const { stack, checks } = handWritten(["modprobe ip_vs", "sysctl -w net.ipv4.vs.conntrack=1", ...SEED]);
    expect(() => Testing.fullSynth(stack)).not.toThrow();
    expect(checks.reports[0].findings.map((f) => [f.ruleId, f.level])).toEqual([["IPVS103", "warning"]]);
  });

  test("a suppression with a reason silences a rule on that resource and stays in the report", () => {
    const { stack, lb, checks } = handWritten(SEED);
    IpvsPolicy.suppress(lb, "IPVS101", "lab host, conntrack is set by the image");
    expect(() => Testing.fullSynth(stack)).not.toThrow();
    expect(checks.reports[0].findings).toEqual([expect.objectContaining({ ruleId: "IPVS101", suppressed: "lab host, conntrack is set by the image" })]);
  });

  test("added to one stack with Aspects.of(stack) it checks that stack", () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, "one");
    new DataResource(stack, "lb", { connection: { type: "ssh", host: "172.16.1.8" }, provisioners: [{ type: "remote-exec", inline: SEED }] });
    Aspects.of(stack).add(new IpvsPolicyChecks());
    expect(() => Testing.fullSynth(stack)).toThrow(/IPVS101/);
  });

  test("a suppression needs a reason of at least 10 characters", () => {
    const { lb } = handWritten(SEED);
    expect(() => IpvsPolicy.suppress(lb, "IPVS101", "because")).toThrow(/hand\/lb: suppressing IPVS101 needs a reason of at least 10 characters/);
  });
});
