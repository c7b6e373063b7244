/**
 * examples/seed compiles with its own tsconfig and synthesizes the problem statement's host:
 * one service, two masquerade real servers, a REDIRECT and a DNAT alias, and the conntrack sysctl
 * the aliases need.
 */
import { synthSeed } from "../../examples/seed/main";
import { STEPS, compileExample, readStack, stepsByHost, tmpOutdir } from "./example-helpers";

describe("examples/seed", () => {
  test("compiles (tsc -p examples/seed/tsconfig.json)", () => {
    expect(compileExample("seed")).toEqual({ status: 0, output: "" });
  });

  test("synthesizes lb1: 172.16.1.8:1000 rr over :1001/:1002, aliases 1010 REDIRECT and 1020 DNAT, conntrack=1", () => {
    const out = tmpOutdir();
    try {
      const stack = synthSeed(out.dir);
      const { json, byPath } = readStack(out.dir, "seed");
      expect(stepsByHost(byPath)).toEqual({ lb1: STEPS });
      expect(json.provider.null).toBeDefined(); // default engine: null_resource, provider added once

      expect(byPath.get("seed/lb1/ipvs")!.triggers["-t 172.16.1.8:1000"]).toBe(
        ["-A -t 172.16.1.8:1000 -s rr", "-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1", "-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1"].join("\n"),
      );
      const aliases = byPath.get("seed/lb1/aliases")!.triggers["-t 172.16.1.8:1000"];
      expect(aliases).toContain("--dport 1010 -m comment --comment cdktf-ipvs:app -j REDIRECT --to-ports 1000");
      expect(aliases).toContain("--dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000");
      expect(byPath.get("seed/lb1/sysctls")!.triggers["/etc/sysctl.d/90-cdktf-ipvs.conf"]).toMatch(/^net\.ipv4\.vs\.conntrack = 1$/m);
      expect(byPath.get("seed/lb1/modules")!.triggers.host).toBe("172.16.1.8");

      const desired = stack.lb.desiredState;
      expect(desired.aliases.map((a) => [a.port, a.method, a.targetPort])).toEqual([
        [1010, "redirect", 1000],
        [1020, "dnat", 1000],
      ]);
      expect(desired.sysctls.find((s) => s.key === "net.ipv4.vs.conntrack")?.value).toBe("1");
    } finally {
      out.cleanup();
    }
  });
});
