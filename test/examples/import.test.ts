/**
 * examples/import: the saved outputs of a running host (dumps/) imported with `cdktf-ipvs import`
 * give exactly the committed imported/spec.json and imported/lb1.ts (so they stay current with the
 * importer); the example compiles (imported/lb1.ts included) and synthesizes the host from the
 * spec, adopting its services, with the same ipvsadm rules the dump shows, its aliases and the
 * conntrack sysctl they need.
 */
import * as fs from "fs";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { synthImported } from "../../examples/import/main";
import { EXAMPLES, STEPS, compileExample, readStack, stepsByHost, tmpOutdir } from "./example-helpers";

const DIR = path.join(EXAMPLES, "import");
const dump = (f: string) => path.join(DIR, "dumps", f);

describe("examples/import", () => {
  test("compiles (tsc -p examples/import/tsconfig.json, imported/lb1.ts included)", () => {
    expect(compileExample("import")).toEqual({ status: 0, output: "" });
  });

  test("cdktf-ipvs import on the saved dumps writes the committed spec.json and lb1.ts", () => {
    const out = tmpOutdir();
    try {
      const io = { lines: [] as string[], errors: [] as string[] };
      const code = runCli(
        ["import", "--ipvs", dump("ipvsadm-Sn.txt"), "--thresholds", dump("ipvsadm-Ln-thresholds.txt"), "--nat", dump("iptables-save-nat.txt"), "--sysctls", dump("sysctl-a.txt"), "--out", path.join(out.dir, "spec.json"), "--ts", path.join(out.dir, "lb1.ts")],
        { out: (t) => io.lines.push(t), err: (t) => io.errors.push(t) },
      );
      expect({ code, errors: io.errors }).toEqual({ code: 0, errors: [] });
      expect(io.lines.join("\n")).toMatch(/imported lb1: 2 virtual service\(s\) \(adopt\), 4 real server\(s\), 2 alias\(es\)/);
      expect(fs.readFileSync(path.join(out.dir, "spec.json"), "utf8")).toBe(fs.readFileSync(path.join(DIR, "imported", "spec.json"), "utf8"));
      expect(fs.readFileSync(path.join(out.dir, "lb1.ts"), "utf8")).toBe(fs.readFileSync(path.join(DIR, "imported", "lb1.ts"), "utf8"));
    } finally {
      out.cleanup();
    }
  });

  test("the imported spec synthesizes lb1 with the dump's IPVS rules, adopted, its aliases and conntrack=1", () => {
    const out = tmpOutdir();
    try {
      const stack = synthImported(undefined, out.dir);
      const { byPath } = readStack(out.dir, "imported");
      expect(stepsByHost(byPath)).toEqual({ lb1: STEPS });
      expect(stack.lb.desiredState.services.map((s) => [s.name, s.adopt])).toEqual([
        ["tcp-172.16.1.8-1000", true],
        ["tcp-172.16.1.8-3000", true],
      ]);
      // The ipvs step's rules are the dump's, line for line (thresholds aside: -Sn does not print them).
      const ipvs = byPath.get("imported/lb1/ipvs")!.triggers;
      const rules = ["-t 172.16.1.8:1000", "-t 172.16.1.8:3000"].flatMap((k) => ipvs[k].split("\n")).map((l) => l.replace(/ -x \d+ -y \d+$/, ""));
      expect(rules).toEqual(fs.readFileSync(dump("ipvsadm-Sn.txt"), "utf8").trim().split("\n"));
      const aliases = byPath.get("imported/lb1/aliases")!.triggers["-t 172.16.1.8:1000"];
      expect(aliases).toContain("--dport 1010 -m comment --comment cdktf-ipvs:tcp-172.16.1.8-1000 -j REDIRECT --to-ports 1000");
      expect(aliases).toContain("--dport 1020 -m comment --comment cdktf-ipvs:tcp-172.16.1.8-1000 -j DNAT --to-destination 172.16.1.8:1000");
      expect(aliases).not.toContain("9999"); // the REDIRECT to sshd is no IPVS alias: not imported
      expect(byPath.get("imported/lb1/sysctls")!.triggers["/etc/sysctl.d/90-cdktf-ipvs.conf"]).toMatch(/^net\.ipv4\.vs\.conntrack = 1$/m);
    } finally {
      out.cleanup();
    }
  });
});
