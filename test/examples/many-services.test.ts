/**
 * examples/many-services compiles and synthesizes every entry of its data file into one host:
 * each entry becomes one ipvsadm rule set, each alias an iptables rule, with the conntrack sysctl.
 */
import * as fs from "fs";
import * as path from "path";
import { ServicesFile, loadServicesFile, synthManyServices } from "../../examples/many-services/main";
import { EXAMPLES, STEPS, compileExample, readStack, stepsByHost, tmpOutdir } from "./example-helpers";

const DATA = path.join(EXAMPLES, "many-services", "services.json");

describe("examples/many-services", () => {
  const data = loadServicesFile(DATA);

  test("compiles (tsc -p examples/many-services/tsconfig.json)", () => {
    expect(compileExample("many-services")).toEqual({ status: 0, output: "" });
  });

  test("the data file's 200 services synthesize into one host's steps, each service and alias its own entry", () => {
    expect(data.services.length).toBe(200);
    const out = tmpOutdir();
    try {
      const stack = synthManyServices(DATA, out.dir);
      const { json, byPath } = readStack(out.dir, "many-services");
      expect(stepsByHost(byPath)).toEqual({ lb1: STEPS });
      expect(json.resource.terraform_data).toBeDefined();
      expect(json.provider).toBeUndefined();

      const ipvs = byPath.get("many-services/lb1/ipvs")!.triggers;
      for (const s of data.services) {
        const lines = ipvs[`-t ${data.address}:${s.port}`].split("\n");
        expect(lines[0]).toBe(`-A -t ${data.address}:${s.port} -s ${s.scheduler ?? "wlc"}`);
        expect(lines.slice(1)).toEqual(s.realServers.map((rs) => `-a -t ${data.address}:${s.port} -r ${rs.address}:${rs.port ?? s.port} -m -w ${rs.weight ?? 1}`));
      }
      const withAliases = data.services.filter((s) => (s.aliases ?? []).length > 0);
      expect(withAliases.length).toBe(10);
      const aliasRules = byPath.get("many-services/lb1/aliases")!.triggers;
      for (const s of withAliases) {
        for (const a of s.aliases!) {
          expect(aliasRules[`-t ${data.address}:${s.port}`]).toContain(`--dport ${a.port} -m comment --comment cdktf-ipvs:${s.name} -j DNAT --to-destination ${data.address}:${s.port}`);
        }
      }
      expect(byPath.get("many-services/lb1/sysctls")!.triggers["/etc/sysctl.d/90-cdktf-ipvs.conf"]).toMatch(/^net\.ipv4\.vs\.conntrack = 1$/m);
      expect(stack.lb.virtualServices.map((v) => v.node.id)).toEqual(data.services.map((s) => s.name));
    } finally {
      out.cleanup();
    }
  });

  test("a bad entry fails synth with its construct path", () => {
    const dir = tmpOutdir();
    try {
      const bad: ServicesFile = { ...data, services: [...data.services.slice(0, 3), { name: "broken", port: 8001, realServers: [{ address: "10.0.1.11" }] }] };
      const file = path.join(dir.dir, "bad.json");
      fs.writeFileSync(file, JSON.stringify(bad));
      expect(() => synthManyServices(file, path.join(dir.dir, "out"))).toThrow(/many-services\/lb1\/broken/);
    } finally {
      dir.cleanup();
    }
  });
});
