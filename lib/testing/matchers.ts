/**
 * jest matchers for users' own tests, over a synthesized stack (the string Testing.synth returns,
 * or the parsed JSON). They see both kinds of host a stack can have: hand-written provisioners
 * (their commands, read by lib/stack) and cdktf-ipvs's own IpvsHost (the desired state its
 * scripts carry, checked with the host rules as `cdktf-ipvs policy` does):
 *
 *   import { ipvsMatchers } from "cdktf-ipvs";
 *   expect.extend(ipvsMatchers);
 *   expect(Testing.synth(stack)).toPassIpvsPolicy();
 *   expect(Testing.synth(stack)).toHaveIpvsAlias({ port: 1010, service: "172.16.1.8:1000" });
 *
 * No jest import here: matchers are plain functions returning { pass, message }.
 */
import { DesiredHost } from "../model";
import { checkHost } from "../policy/check";
import { RuleLevel } from "../policy/rule";
import { StackFinding, checkStack, hostFacts } from "../policy/stack";
import { StackModel, buildStackModel, desiredHostKey, hostsOfStackJson, readStackJson } from "../stack";

/** What a jest matcher returns. */
export interface MatcherResult {
  /** Whether the expectation holds (jest inverts it under `.not`). */
  readonly pass: boolean;
  /** The failure text jest prints, built on demand. */
  readonly message: () => string;
}

const RANK: Record<RuleLevel, number> = { error: 0, warning: 1, info: 2 };

interface ReceivedStack {
  /** Hand-written provisioners, as commands per host. */
  readonly model: StackModel;
  /** cdktf-ipvs's own hosts. */
  readonly ours: readonly DesiredHost[];
}

function stackOf(received: unknown): ReceivedStack {
  const json = typeof received === "string" ? JSON.parse(received) : received;
  return { model: buildStackModel(readStackJson(json)), ours: hostsOfStackJson(json) };
}

/** The host rules' findings on our hosts, in the stack findings' shape. */
function ourFindings(ours: readonly DesiredHost[]): StackFinding[] {
  return ours.flatMap((h) =>
    checkHost(h).map((f) => ({ ruleId: f.ruleId, level: f.level, host: desiredHostKey(h), resource: f.path, command: "", detail: f.detail, summary: f.summary, fix: f.fix })),
  );
}

function show(f: StackFinding): string {
  return `  [${f.level}] ${f.ruleId} ${f.host} ${f.resource}: ${f.detail}\n      ${f.command}\n      Fix: ${f.fix}`;
}

/** An alias as the messages show it: "HOST: port PORT → SERVICE (PROTOCOL, METHOD)". */
interface FoundAlias {
  readonly host: string;
  readonly port: string;
  readonly service: string;
  readonly how: string;
}

function aliasesOf({ model, ours }: ReceivedStack, host: string | undefined): FoundAlias[] {
  const written = model.hosts
    .filter((h) => host === undefined || h.target.key === host)
    .flatMap((h) =>
      hostFacts(h).aliases.map((a) => {
        const ev = a.event.event;
        return { host: h.target.key, port: ev.kind === "nat" ? (ev.matchPort ?? "?") : "?", service: `${a.service.address}:${a.service.port}`, how: `${a.service.protocol}, ${a.target}` };
      }),
    );
  const declared = ours
    .filter((h) => host === undefined || h.name === host || desiredHostKey(h) === host)
    .flatMap((h) =>
      h.aliases.map((a) => {
        const service = a.family === "ipv6" ? `[${a.targetAddress}]:${a.targetPort}` : `${a.targetAddress}:${a.targetPort}`;
        return { host: desiredHostKey(h), port: String(a.port), service, how: `${a.protocol}, ${a.method.toUpperCase()}` };
      }),
    );
  return [...written, ...declared];
}

/** jest matchers over a synthesized stack: `expect.extend(ipvsMatchers)`. */
export const ipvsMatchers = {
  /** Passes when no rule finds anything at or above `failOn` (default "error"): the stack rules on provisioners, the host rules on IpvsHosts. */
  toPassIpvsPolicy(received: unknown, failOn: RuleLevel = "error"): MatcherResult {
    const stack = stackOf(received);
    const findings = [...checkStack(stack.model), ...ourFindings(stack.ours)].filter((f) => RANK[f.level] <= RANK[failOn]);
    return {
      pass: findings.length === 0,
      message: () =>
        findings.length === 0
          ? `expected IPVS policy findings at or above ${failOn}, found none`
          : `expected the stack to pass the IPVS policy, but found ${findings.length}:\n${findings.map(show).join("\n")}`,
    };
  },

  /**
   * Passes when the stack sets up a REDIRECT/DNAT alias on `port` that leads to an IPVS service
   * (`service` as "address:port", IPv6 as "[address]:port"; optional) on the same host: an
   * IpvsHost's alias, or a provisioner's nat rule to a service the stack adds. `host`: an
   * IpvsHost's name or its SSH endpoint "address:port"; for provisioners, the connection's "address:port".
   */
  toHaveIpvsAlias(received: unknown, expected: { readonly port: number; readonly service?: string; readonly host?: string }): MatcherResult {
    const aliases = aliasesOf(stackOf(received), expected.host);
    const describe = (x: FoundAlias) => `${x.host}: port ${x.port} → ${x.service} (${x.how})`;
    const match = aliases.find((a) => a.port === String(expected.port) && (expected.service === undefined || a.service === expected.service));
    const wanted = `an alias on port ${expected.port}${expected.service ? ` to ${expected.service}` : ""}${expected.host ? ` on ${expected.host}` : ""}`;
    return {
      pass: match !== undefined,
      message: () => (match ? `expected no ${wanted}, found ${describe(match)}` : `expected ${wanted}; aliases found: ${aliases.length ? aliases.map(describe).join("; ") : "none"}`),
    };
  },
};
