import { buildDesiredHost } from "../../lib/model";
import { STEP_NAMES, formatPlan, planHost, planSummaryLines, stableJson } from "../../lib/plan";
import { seedHost, seedService } from "../fixtures";

const plan = (spec = seedHost()) => planHost(buildDesiredHost(spec));

describe("planHost", () => {
  test("orders modules → sysctls → ipvs → aliases → boot → verify", () => {
    expect(plan().steps.map((s) => s.name)).toEqual(["modules", "sysctls", "ipvs", "aliases", "boot", "verify"]);
    expect(STEP_NAMES).toEqual(plan().steps.map((s) => s.name));
  });

  test("destroys in reverse, boot-time restore first so a reboot cannot bring anything back", () => {
    expect(plan().destroyOrder).toEqual(["boot", "aliases", "ipvs", "sysctls", "modules"]);
  });

  test("puts conntrack=1 in the sysctls step, before the aliases step", () => {
    const steps = plan().steps;
    const sysctls = steps.find((s) => s.name === "sysctls")!;
    expect(sysctls.actions.join()).toContain("net.ipv4.vs.conntrack=1");
    const aliases = steps.find((s) => s.name === "aliases")!;
    expect(aliases).toMatchObject({ requiresConntrack: true });
    expect(steps.indexOf(sysctls)).toBeLessThan(steps.indexOf(aliases));
  });

  test("is deterministic: same spec, same hashes", () => {
    expect(plan().steps.map((s) => s.hash)).toEqual(plan().steps.map((s) => s.hash));
  });

  test("changing a weight changes only the ipvs step's hash (and verify's)", () => {
    const before = plan();
    const after = plan(
      seedHost({
        virtualServices: [
          seedService({
            realServers: [
              { address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 5 },
              { address: "172.16.1.8", port: 1002, forwarding: "masquerade" },
            ],
          }),
        ],
      }),
    );
    const changed = before.steps.filter((s, i) => s.hash !== after.steps[i].hash).map((s) => s.name);
    expect(changed).toEqual(["ipvs", "verify"]);
  });

  test("dropping an alias changes the aliases step's hash but not the ipvs step's", () => {
    const before = plan();
    const after = plan(seedHost({ virtualServices: [seedService({ aliases: [{ port: 1010, method: "redirect" }] })] }));
    const changed = before.steps.filter((s, i) => s.hash !== after.steps[i].hash).map((s) => s.name);
    expect(changed).toEqual(["aliases", "verify"]);
  });

  test("does not depend on the order services were declared in", () => {
    const a = seedService({ name: "a", port: 1000, aliases: [] });
    const b = seedService({ name: "b", port: 2000, aliases: [] });
    expect(plan(seedHost({ virtualServices: [a, b] })).hash).toBe(plan(seedHost({ virtualServices: [b, a] })).hash);
  });

  test("formats a plan people can read", () => {
    const text = formatPlan(plan());
    expect(text).toMatch(/1\. modules .*\n(.*\n)*.*2\. sysctls .*\n(.*\n)*.*3\. ipvs .*\n(.*\n)*.*4\. aliases .*\n(.*\n)*.*5\. boot .*\n(.*\n)*.*6\. verify /);
    expect(text).toContain("alias tcp 172.16.1.8:1010 → 172.16.1.8:1000 (app, redirect, remote clients)");
    expect(text).toContain("destroy: boot → aliases → ipvs → sysctls → modules");
  });
});

describe("the plan summary", () => {
  const v6 = () =>
    plan(
      seedHost({
        virtualServices: [
          seedService({
            address: "2001:db8::10",
            port: 443,
            realServers: [{ address: "2001:db8:1::21", port: 443, forwarding: "masquerade", weight: 2 }],
            aliases: [{ port: 8443, method: "dnat" }],
          }),
        ],
      }),
    );

  test("brackets every IPv6 address with a port: services, real servers and aliases", () => {
    const text = formatPlan(v6());
    expect(text).toContain("service tcp [2001:db8::10]:443 (app) rr → [2001:db8:1::21]:443 masquerade w2");
    expect(text).toContain("alias tcp [2001:db8::10]:8443 → [2001:db8::10]:443 (app, dnat, remote clients)");
    expect(text).not.toMatch(/(^|[^[])2001:db8:1::21:443/m);
  });

  test("is formatPlan line by line; without hashes for the constructs' output", () => {
    expect(planSummaryLines(plan()).join("\n")).toBe(formatPlan(plan()));
    expect(planSummaryLines(plan(), { hashes: false })[1]).toBe("  1. modules Load kernel modules and persist them in /etc/modules-load.d");
    expect(formatPlan(plan(), { hashes: false })).not.toMatch(/\[[0-9a-f]{12}\]/);
  });
});

describe("stableJson", () => {
  test("sorts keys and drops undefined and declaration paths", () => {
    expect(stableJson({ b: 1, a: [{ y: 2, x: undefined, path: "p" }] })).toBe('{"a":[{"y":2}],"b":1}');
  });
});
