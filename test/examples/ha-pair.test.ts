/**
 * examples/ha-pair compiles and synthesizes two hosts with the same services: the same ipvsadm and
 * alias rules on each, the conntrack sysctl on each, and each host's steps connecting to itself.
 */
import { Testing, TerraformStack } from "cdktf";
import { HaPair, VIP, declareServices, synthHaPair } from "../../examples/ha-pair/main";
import { STEPS, compileExample, readStack, tmpOutdir } from "./example-helpers";

describe("examples/ha-pair", () => {
  test("compiles (tsc -p examples/ha-pair/tsconfig.json)", () => {
    expect(compileExample("ha-pair")).toEqual({ status: 0, output: "" });
  });

  test("both hosts get the same services, alias rules and conntrack sysctl, each on its own connection", () => {
    const out = tmpOutdir();
    try {
      const stack = synthHaPair(out.dir);
      const { json, byPath } = readStack(out.dir, "ha-pair");
      expect(json.provider).toBeUndefined(); // terraform_data

      // ha-pair/pair/<host>/<step>
      const byHost: Record<string, string[]> = {};
      for (const p of byPath.keys()) {
        const [, pair, host, step] = p.split("/");
        expect(pair).toBe("pair");
        (byHost[host] ??= []).push(step);
      }
      for (const steps of Object.values(byHost)) steps.sort();
      expect(byHost).toEqual({ "lb-a": STEPS, "lb-b": STEPS });

      const rules = (host: string, step: string) => {
        const { host: _h, upstream: _u, upload: _l, ...rest } = byPath.get(`ha-pair/pair/${host}/${step}`)!.triggers;
        return rest;
      };
      // The files' comments name the host ("Managed by cdktf-ipvs for host lb-a"); the rules do not differ.
      const withoutComments = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.split("\n").filter((l) => !l.startsWith("#")).join("\n")]));
      for (const step of ["ipvs", "aliases", "sysctls", "modules"]) expect(withoutComments(rules("lb-b", step))).toEqual(withoutComments(rules("lb-a", step)));

      const ipvs = rules("lb-a", "ipvs");
      expect(ipvs[`-t ${VIP}:443`].split("\n")).toEqual([
        `-A -t ${VIP}:443 -s wlc`,
        ...["10.0.1.21", "10.0.1.22", "10.0.1.23"].map((a) => `-a -t ${VIP}:443 -r ${a}:443 -m -w 1`),
      ]);
      expect(ipvs[`-u ${VIP}:53`].split("\n")).toEqual([`-A -u ${VIP}:53 -s rr`, `-a -u ${VIP}:53 -r 10.0.1.31:53 -m -w 1`, `-a -u ${VIP}:53 -r 10.0.1.32:53 -m -w 1`]);
      expect(rules("lb-a", "aliases")[`-t ${VIP}:443`]).toContain(`--dport 8443 -m comment --comment cdktf-ipvs:web -j DNAT --to-destination ${VIP}:443`);
      for (const host of ["lb-a", "lb-b"]) {
        expect(rules(host, "sysctls")["/etc/sysctl.d/90-cdktf-ipvs.conf"]).toMatch(/^net\.ipv4\.vs\.conntrack = 1$/m);
      }
      expect(byPath.get("ha-pair/pair/lb-a/modules")!.triggers.host).toBe("10.0.0.11");
      expect(byPath.get("ha-pair/pair/lb-b/modules")!.triggers.host).toBe("10.0.0.12");

      const [a, b] = stack.pair.hosts.map((h) => h.desiredState);
      expect(b.services.map((s) => s.name)).toEqual(a.services.map((s) => s.name));
      expect(a.services.map((s) => s.name)).toEqual(["web", "dns"]);
    } finally {
      out.cleanup();
    }
  });

  test("HaPair applies the declaration to however many hosts it is given", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    const trio = new HaPair(stack, "p", { hosts: { x: { host: "192.0.2.1", agent: true }, y: { host: "192.0.2.2", agent: true }, z: { host: "192.0.2.3", agent: true } }, services: declareServices });
    expect(trio.hosts.map((h) => [h.node.id, h.virtualServices.map((v) => v.node.id)])).toEqual([
      ["x", ["web", "dns"]],
      ["y", ["web", "dns"]],
      ["z", ["web", "dns"]],
    ]);
  });
});
