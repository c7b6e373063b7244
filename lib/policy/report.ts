/**
 * Reports for CI: findings of any rule set (host rules over a DesiredHost, stack rules over a
 * stack's command model) as SARIF 2.1.0 (what GitHub code scanning reads) or JUnit XML (what CI
 * test reports read). One shape for both kinds of finding, so reporters do not care where a
 * finding came from.
 */
import { createHash } from "crypto";
import { RuleLevel } from "./rule";

/** What a reporter needs of a rule. */
export interface ReportRule {
  readonly id: string;
  readonly level: RuleLevel;
  readonly summary: string;
  readonly explanation: string;
  readonly fix: string;
}

/** One finding, wherever it came from. */
export interface ReportFinding {
  readonly ruleId: string;
  readonly level: RuleLevel;
  /** Where, in the user's words: a construct or spec path, or `host 172.16.1.8:22, null_resource.lb`. */
  readonly where: string;
  /** The offending command, when there is one. */
  readonly command?: string;
  readonly detail: string;
  /** The file the finding is in (cdk.tf.json, spec.json, plan.json), relative to the repository. */
  readonly file: string;
  /** 1-based line in that file, when known. */
  readonly line?: number;
}

const SARIF_LEVEL: Record<RuleLevel, "error" | "warning" | "note"> = { error: "error", warning: "warning", info: "note" };

/** SARIF 2.1.0 log with one run. Results carry a region (GitHub needs startLine) and a stable fingerprint. */
export function toSarif(findings: readonly ReportFinding[], rules: readonly ReportRule[], tool: { name: string; version: string; informationUri?: string }): object {
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            ...(tool.informationUri ? { informationUri: tool.informationUri } : {}),
            rules: rules.map((r) => ({
              id: r.id,
              shortDescription: { text: r.summary },
              fullDescription: { text: r.explanation },
              help: { text: `${r.explanation}\nFix: ${r.fix}` },
              defaultConfiguration: { level: SARIF_LEVEL[r.level] },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.ruleId,
          ...(ruleIndex.has(f.ruleId) ? { ruleIndex: ruleIndex.get(f.ruleId) } : {}),
          level: SARIF_LEVEL[f.level],
          message: { text: `${f.where}: ${f.detail}${f.command ? ` (${f.command})` : ""}` },
          locations: [
            {
              physicalLocation: { artifactLocation: { uri: f.file.split("\\").join("/") }, region: { startLine: f.line ?? 1 } },
              logicalLocations: [{ fullyQualifiedName: f.where }],
            },
          ],
          partialFingerprints: { "cdktfIpvs/v1": fingerprint(f) },
        })),
      },
    ],
  };
}

/** Same rule, place and detail → same fingerprint, so code scanning does not open a new alert each run. */
function fingerprint(f: ReportFinding): string {
  return createHash("sha256").update(`${f.ruleId}\u0000${f.where}\u0000${f.command ?? ""}\u0000${f.detail}`).digest("hex").slice(0, 32);
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

/** Text for XML: markup characters escaped, characters XML 1.0 cannot hold (most C0 controls) as `\uXXXX`. */
export function xmlText(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/**
 * JUnit XML: one test case per rule and place it was checked at (`cases`), failing when a finding
 * at or above `failOn` names it; other findings are listed as system-out of their case.
 */
export function toJunit(findings: readonly ReportFinding[], cases: readonly { readonly ruleId: string; readonly where: string }[], suite: string, failOn: RuleLevel = "error"): string {
  const rank: Record<RuleLevel, number> = { error: 0, warning: 1, info: 2 };
  const body: string[] = [];
  let failures = 0;
  for (const c of cases) {
    const mine = findings.filter((f) => f.ruleId === c.ruleId && f.where === c.where);
    const failing = mine.filter((f) => rank[f.level] <= rank[failOn]);
    const open = `    <testcase classname="${xmlText(c.where)}" name="${xmlText(c.ruleId)}">`;
    if (mine.length === 0) {
      body.push(`${open}</testcase>`);
      continue;
    }
    const lines = mine.map((f) => `[${f.level}] ${f.detail}${f.command ? ` (${f.command})` : ""}`).join("\n");
    if (failing.length > 0) {
      failures++;
      body.push(`${open}\n      <failure message="${xmlText(failing[0].detail)}" type="${failing[0].level}">${xmlText(lines)}</failure>\n    </testcase>`);
    } else body.push(`${open}\n      <system-out>${xmlText(lines)}</system-out>\n    </testcase>`);
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites tests="${cases.length}" failures="${failures}">`,
    `  <testsuite name="${xmlText(suite)}" tests="${cases.length}" failures="${failures}" errors="0">`,
    ...body,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
