/**
 * jest matchers for users' own tests, over a synthesized stack (the string Testing.synth returns,
 * or the parsed JSON):
 *
 *   import { ipvsMatchers } from "cdktf-ipvs";
 *   expect.extend(ipvsMatchers);
 *   expect(Testing.synth(stack)).toPassIpvsPolicy();
 *   expect(Testing.synth(stack)).toHaveIpvsAlias({ port: 1010, service: "172.16.1.8:1000" });
 *
 * No jest import here: matchers are plain functions returning { pass, message }.
 */
import { RuleLevel } from "../policy/rule";
import { StackFinding, checkStack, hostFacts } from "../policy/stack";
import { StackModel, buildStackModel, readStackJson } from "../stack";

export interface MatcherResult {
  readonly pass: boolean;
  readonly message: () => string;
}

const RANK: Record<RuleLevel, number> = { error: 0, warning: 1, info: 2 };

function modelOf(received: unknown): StackModel {
  const json = typeof received === "string" ? JSON.parse(received) : received;
  return buildStackModel(readStackJson(json));
}

function show(f: StackFinding): string {
  return `  [${f.level}] ${f.ruleId} ${f.host} ${f.resource}: ${f.detail}\n      ${f.command}\n      Fix: ${f.fix}`;
}

export const ipvsMatchers = {
  /** Passes when no stack rule finds anything at or above `failOn` (default "error"). */
  toPassIpvsPolicy(received: unknown, failOn: RuleLevel = "error"): MatcherResult {
    const findings = checkStack(modelOf(received)).filter((f) => RANK[f.level] <= RANK[failOn]);
    return {
      pass: findings.length === 0,
      message: () =>
        findings.length === 0
          ? `expected IPVS policy findings at or above ${failOn}, found none`
          : `expected the stack to pass the IPVS policy, but found ${findings.length}:\n${findings.map(show).join("\n")}`,
    };
  },

  /**
   * Passes when a provisioner sets up a REDIRECT/DNAT alias on `port` that leads to an IPVS
   * service (`service` as "address:port", optional) added by the stack on the same host.
   */
  toHaveIpvsAlias(received: unknown, expected: { readonly port: number; readonly service?: string; readonly host?: string }): MatcherResult {
    const model = modelOf(received);
    const aliases = model.hosts
      .filter((h) => expected.host === undefined || h.target.key === expected.host)
      .flatMap((h) => hostFacts(h).aliases.map((a) => ({ host: h.target.key, a })));
    const describe = (x: (typeof aliases)[number]) => {
      const ev = x.a.event.event;
      const port = ev.kind === "nat" ? ev.matchPort : "?";
      return `${x.host}: port ${port} → ${x.a.service.protocol} ${x.a.service.address}:${x.a.service.port} (${x.a.target})`;
    };
    const match = aliases.find(({ a }) => {
      const ev = a.event.event;
      return ev.kind === "nat" && ev.matchPort === String(expected.port) && (expected.service === undefined || `${a.service.address}:${a.service.port}` === expected.service);
    });
    const wanted = `an alias on port ${expected.port}${expected.service ? ` to ${expected.service}` : ""}${expected.host ? ` on ${expected.host}` : ""}`;
    return {
      pass: match !== undefined,
      message: () => (match ? `expected no ${wanted}, found ${describe(match)}` : `expected ${wanted}; aliases found: ${aliases.length ? aliases.map(describe).join("; ") : "none"}`),
    };
  },
};
