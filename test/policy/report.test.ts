import { ReportFinding, toJunit, toSarif, xmlText } from "../../lib/policy/report";
import { STACK_RULES, checkStack, stackReportFinding } from "../../lib/policy/stack";
import { buildStackModel, readTerraformConfiguration } from "../../lib/stack";

/** The seed's hand-written stack: four commands, no conntrack=1. */
const SEED_STACK = {
  resource: {
    null_resource: {
      lb: {
        connection: { host: "172.16.1.8", host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" },
        provisioner: [
          {
            "remote-exec": {
              inline: [
                "ipvsadm -A -t 172.16.1.8:1000 -s rr",
                "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
                "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
              ],
            },
          },
        ],
      },
    },
  },
};
const findings: ReportFinding[] = checkStack(buildStackModel(readTerraformConfiguration(SEED_STACK))).map((f) => stackReportFinding(f, "cdktf.out/stacks/lb/cdk.tf.json", 4));
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("SARIF 2.1.0 for GitHub code scanning", () => {
  const sarif = toSarif(findings, STACK_RULES, { name: "cdktf-ipvs", version: "0.1.0" }) as Json;
  const run = sarif.runs[0];

  test("names its version and lists every rule with a description, help and default level", () => {
    expect(sarif.version).toBe("2.1.0");
    expect(run.tool.driver.rules.map((r: Json) => r.id)).toEqual(STACK_RULES.map((r) => r.id));
    expect(run.tool.driver.rules[0]).toMatchObject({ shortDescription: { text: expect.any(String) }, help: { text: expect.stringContaining("Fix:") }, defaultConfiguration: { level: "error" } });
  });

  test("each result has a rule id and index, a level, a message, a file with a start line, and a fingerprint", () => {
    expect(run.results).toEqual([
      {
        ruleId: "IPVS101",
        ruleIndex: 0,
        level: "error",
        message: { text: expect.stringContaining("172.16.1.8:22 null_resource.lb: REDIRECT to IPVS service tcp 172.16.1.8:1000") },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: "cdktf.out/stacks/lb/cdk.tf.json" }, region: { startLine: 4 } },
            logicalLocations: [{ fullyQualifiedName: "172.16.1.8:22 null_resource.lb" }],
          },
        ],
        partialFingerprints: { "cdktfIpvs/v1": expect.stringMatching(/^[0-9a-f]{32}$/) },
      },
    ]);
  });

  test("the fingerprint is stable across runs and differs between findings", () => {
    const again = toSarif(findings, STACK_RULES, { name: "cdktf-ipvs", version: "0.1.1" }) as Json;
    expect(again.runs[0].results[0].partialFingerprints).toEqual(run.results[0].partialFingerprints);
    const other = toSarif([{ ...findings[0], detail: "something else" }], STACK_RULES, { name: "x", version: "1" }) as Json;
    expect(other.runs[0].results[0].partialFingerprints).not.toEqual(run.results[0].partialFingerprints);
  });

  test("info maps to SARIF's note", () => {
    const info = toSarif([{ ...findings[0], level: "info" }], [], { name: "x", version: "1" }) as Json;
    expect(info.runs[0].results[0].level).toBe("note");
    expect(info.runs[0].results[0].ruleIndex).toBeUndefined();
  });
});

describe("JUnit XML", () => {
  const cases = STACK_RULES.map((r) => ({ ruleId: r.id, where: "172.16.1.8:22 null_resource.lb" }));

  test("one case per rule and place; the finding's rule fails, the others pass", () => {
    const xml = toJunit(findings, cases, "cdktf-ipvs policy");
    expect(xml).toContain(`<testsuite name="cdktf-ipvs policy" tests="${STACK_RULES.length}" failures="1" errors="0">`);
    expect(xml.match(/<testcase /g)).toHaveLength(STACK_RULES.length);
    expect(xml).toMatch(/<testcase classname="172.16.1.8:22 null_resource.lb" name="IPVS101">\n\s+<failure message="REDIRECT to IPVS service/);
    expect(xml).toContain('<testcase classname="172.16.1.8:22 null_resource.lb" name="IPVS105"></testcase>');
  });

  test("findings below --fail-on are reported, not failed", () => {
    const xml = toJunit([{ ...findings[0], level: "warning" }], cases, "s", "error");
    expect(xml).toContain('failures="0"');
    expect(xml).toContain("<system-out>[warning] REDIRECT");
  });

  test("markup and control characters in user text cannot break the document", () => {
    expect(xmlText(`a<b>&"c'\u001b\u0000`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;\\u001b\\u0000");
    const xml = toJunit([{ ...findings[0], where: "</testcase><x>", detail: "]]>\u0007" }], [{ ruleId: "IPVS101", where: "</testcase><x>" }], "s");
    expect(xml).not.toContain("<x>");
    expect(xml).toContain("&lt;/testcase&gt;&lt;x&gt;");
    expect(xml).not.toMatch(/[\u0000-\u0008]/);
  });
});
