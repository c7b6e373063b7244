/**
 * net.ipv4.vs.expire_nodest_conn and expire_quiescent_template: on by default for a host with
 * virtual services, each with an opt-out prop; a sysctls entry for the key decides when the prop
 * is not given and contradicts it when it is true.
 */
import { HostSpec, buildDesiredHost, buildDesiredSpec } from "../../lib/model";
import { planHost, planStep } from "../../lib/plan";
import { seedHost, seedService } from "../fixtures";
import { issueLines } from "../model-issues";

const NODEST = "net.ipv4.vs.expire_nodest_conn";
const QUIESCENT = "net.ipv4.vs.expire_quiescent_template";

const sysctl = (spec: HostSpec, key: string) => buildDesiredHost(spec).sysctls.find((s) => s.key === key);
const keys = (spec: HostSpec) => buildDesiredHost(spec).sysctls.map((s) => `${s.key}=${s.value}`);

describe("given a host with virtual services and no expire props", () => {
  test("then both sysctls are 1, after conntrack, each with the reason and how to opt out", () => {
    expect(keys(seedHost())).toEqual(["net.ipv4.vs.conntrack=1", `${NODEST}=1`, `${QUIESCENT}=1`]);
    expect(sysctl(seedHost(), NODEST)?.reason).toBe(
      "on by default for a host with virtual services (expireNodestConn: false leaves it alone): connections to a removed real server are ended at once instead of hanging until the client times out",
    );
    expect(sysctl(seedHost(), QUIESCENT)?.reason).toBe(
      "on by default for a host with virtual services (expireQuiescentTemplate: false leaves it alone): persistent clients of a drained (weight 0) real server move to another server",
    );
  });

  test("then a service without real servers is enough (a real server may be added later)", () => {
    expect(keys(seedHost({ virtualServices: [seedService({ realServers: [], aliases: [] })] }))).toEqual([`${NODEST}=1`, `${QUIESCENT}=1`]);
  });
});

describe("given a host without virtual services", () => {
  test("then neither is managed", () => {
    expect(keys({ name: "empty" })).toEqual([]);
    expect(keys({ name: "empty", expireNodestConn: true, expireQuiescentTemplate: true })).toEqual([]);
  });
});

describe("given the opt-out props", () => {
  test("when expireNodestConn is false, then only expire_quiescent_template is set", () => {
    expect(keys(seedHost({ expireNodestConn: false }))).toEqual(["net.ipv4.vs.conntrack=1", `${QUIESCENT}=1`]);
  });
  test("when expireQuiescentTemplate is false, then only expire_nodest_conn is set", () => {
    expect(keys(seedHost({ expireQuiescentTemplate: false }))).toEqual(["net.ipv4.vs.conntrack=1", `${NODEST}=1`]);
  });
  test("when both are false, then neither is set (left to the machine)", () => {
    expect(keys(seedHost({ expireNodestConn: false, expireQuiescentTemplate: false }))).toEqual(["net.ipv4.vs.conntrack=1"]);
  });
  test("when a prop is true, then the reason says it was requested", () => {
    expect(sysctl(seedHost({ expireNodestConn: true }), NODEST)).toEqual({
      key: NODEST,
      value: "1",
      reason: "requested by the host's expireNodestConn prop: connections to a removed real server are ended at once instead of hanging until the client times out",
    });
  });
  test("when a prop is not a boolean, then that is the problem, from the schema, once", () => {
    expect(issueLines(() => buildDesiredSpec({ hosts: [{ ...seedHost(), expireNodestConn: "no" }] }))).toEqual(['spec.hosts[0]: expireNodestConn "no" is not a boolean']);
    expect(issueLines(() => buildDesiredHost({ ...seedHost(), expireQuiescentTemplate: 0 }))).toEqual(["spec.hosts[0]: expireQuiescentTemplate 0 is not a boolean"]);
  });
});

describe("given a sysctls entry for the same key", () => {
  test("when the prop is not given, then the entry wins (0 turns it off), declared as the user's", () => {
    expect(sysctl(seedHost({ sysctls: { [NODEST]: 0 } }), NODEST)).toEqual({ key: NODEST, value: "0", reason: "declared in the host's sysctls" });
    expect(keys(seedHost({ sysctls: { [NODEST]: 0 } })).filter((k) => k.startsWith(NODEST))).toEqual([`${NODEST}=0`]);
    expect(sysctl(seedHost({ sysctls: { [QUIESCENT]: 1 } }), QUIESCENT)?.reason).toBe("declared in the host's sysctls");
  });
  test("when the prop is false, then the entry is still applied (the prop only stops the default)", () => {
    expect(sysctl(seedHost({ expireNodestConn: false, sysctls: { [NODEST]: 1 } }), NODEST)).toEqual({ key: NODEST, value: "1", reason: "declared in the host's sysctls" });
  });
  test("when the prop is true and the entry agrees, then it is set once", () => {
    expect(keys(seedHost({ expireNodestConn: true, sysctls: { [NODEST]: "1" } })).filter((k) => k.startsWith(NODEST))).toEqual([`${NODEST}=1`]);
  });
  test("when the prop is true and the entry says 0, then that is a contradiction, named like conntrack's", () => {
    expect(issueLines(() => buildDesiredHost(seedHost({ expireNodestConn: true, sysctls: { [NODEST]: 0 } })))).toEqual([
      `spec.hosts[0]: sysctls["${NODEST}"] 0 contradicts ${NODEST}=1, which requested by the host's expireNodestConn prop: connections to a removed real server are ended at once instead of hanging until the client times out`,
    ]);
    expect(issueLines(() => buildDesiredHost(seedHost({ expireQuiescentTemplate: true, sysctls: { [QUIESCENT]: 2 } })))).toHaveLength(1);
  });
});

describe("the sysctl.d file and the plan carry them like any other sysctl", () => {
  test("the plan's sysctls step lists both", () => {
    const plan = planHost(buildDesiredHost(seedHost()));
    expect(planStep(plan, "sysctls").sysctls.map((s) => s.key)).toEqual(["net.ipv4.vs.conntrack", NODEST, QUIESCENT]);
  });
});
