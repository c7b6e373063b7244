import { DesiredHost, buildDesiredHost } from "../../lib/model";
import { aliasRequiresConntrack, checkHost, conntrackTableSize, expireNodestConn, redirectNeedsServiceAddress } from "../../lib/policy";
import { seedHost, seedService } from "../fixtures";

const seed = () => buildDesiredHost(seedHost());

describe("IPVS001 aliasRequiresConntrack", () => {
  test("compliant: the model pairs every alias with conntrack=1", () => {
    expect(aliasRequiresConntrack.check(seed())).toEqual([]);
  });
  test("non-compliant: a desired state with aliases but without conntrack=1 (e.g. from a hand-edited plan)", () => {
    const host: DesiredHost = { ...seed(), sysctls: [] };
    const hits = aliasRequiresConntrack.check(host);
    expect(hits).toHaveLength(2);
    expect(hits[0]).toEqual({
      path: "spec.hosts[0].virtualServices[0].aliases[0]",
      detail: "alias tcp 172.16.1.8:1010 → :1000 but net.ipv4.vs.conntrack is not managed on host lb1",
    });
  });
  test("is an error", () => {
    expect(aliasRequiresConntrack.level).toBe("error");
  });
});

describe("IPVS002 conntrackTableSize", () => {
  test("compliant: nf_conntrack_max is set", () => {
    expect(conntrackTableSize.check(buildDesiredHost(seedHost({ sysctls: { "net.netfilter.nf_conntrack_max": 262144 } })))).toEqual([]);
  });
  test("compliant: no conntrack, no concern", () => {
    expect(conntrackTableSize.check(buildDesiredHost(seedHost({ virtualServices: [seedService({ aliases: [] })] })))).toEqual([]);
  });
  test("non-compliant: conntrack=1 with the default table size", () => {
    expect(conntrackTableSize.check(seed())).toEqual([{ path: "spec.hosts[0]", detail: expect.stringContaining("does not set net.netfilter.nf_conntrack_max") }]);
  });
});

describe("IPVS003 redirectNeedsServiceAddress", () => {
  test("compliant: REDIRECT on the service address (the seed)", () => {
    expect(redirectNeedsServiceAddress.check(seed())).toEqual([]);
  });
  test("non-compliant: REDIRECT on another address", () => {
    const host = buildDesiredHost(seedHost({ virtualServices: [seedService({ aliases: [{ port: 1010, address: "172.16.1.9", method: "redirect" }] })] }));
    expect(redirectNeedsServiceAddress.check(host)).toEqual([
      { path: "spec.hosts[0].virtualServices[0].aliases[0]", detail: "alias on 172.16.1.9:1010 uses REDIRECT but the service listens on 172.16.1.8:1000" },
    ]);
  });
  test("compliant: DNAT on another address", () => {
    const host = buildDesiredHost(seedHost({ virtualServices: [seedService({ aliases: [{ port: 1010, address: "172.16.1.9", method: "dnat" }] })] }));
    expect(redirectNeedsServiceAddress.check(host)).toEqual([]);
  });
});

describe("IPVS004 expireNodestConn", () => {
  test("compliant: set to 1", () => {
    expect(expireNodestConn.check(buildDesiredHost(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } })))).toEqual([]);
  });
  test("non-compliant: not set", () => {
    expect(expireNodestConn.check(seed())).toHaveLength(1);
  });
});

describe("checkHost", () => {
  test("labels findings with rule id, level and fix", () => {
    const findings = checkHost(seed());
    expect(findings.map((f) => [f.ruleId, f.level])).toEqual([
      ["IPVS002", "warning"],
      ["IPVS004", "info"],
    ]);
    expect(findings[0].fix).toContain("nf_conntrack_max");
  });
});
