import { DesiredHost, buildDesiredHost } from "../../lib/model";
import { HOST_RULES, aliasRequiresConntrack, checkHost, conntrackTableSize, expireNodestConn, redirectNeedsServiceAddress, sshPortByName, unsafeSysctls } from "../../lib/policy";
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

describe("IPVS004 expireNodestConn (on by default; fires only on an opt-out)", () => {
  test("compliant: the default sets it to 1", () => {
    expect(expireNodestConn.check(seed())).toEqual([]);
  });
  test("compliant: set to 1 through sysctls", () => {
    expect(expireNodestConn.check(buildDesiredHost(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } })))).toEqual([]);
  });
  test("compliant: opted out on a host whose services have no real servers (nothing to expire)", () => {
    expect(expireNodestConn.check(buildDesiredHost(seedHost({ expireNodestConn: false, virtualServices: [seedService({ realServers: [], aliases: [] })] })))).toEqual([]);
  });
  test("non-compliant: opted out with expireNodestConn: false", () => {
    expect(expireNodestConn.check(buildDesiredHost(seedHost({ expireNodestConn: false })))).toEqual([
      { path: "spec.hosts[0]", detail: "host lb1 opts out of net.ipv4.vs.expire_nodest_conn=1 (expireNodestConn: false)" },
    ]);
  });
  test("non-compliant: turned off through sysctls", () => {
    expect(expireNodestConn.check(buildDesiredHost(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": 0 } })))).toEqual([
      { path: "spec.hosts[0]", detail: "host lb1 sets net.ipv4.vs.expire_nodest_conn=0" },
    ]);
  });
});

describe("IPVS007 unsafeSysctls", () => {
  test("given allowlisted sysctls only, when checked, then it is compliant", () => {
    expect(unsafeSysctls.check(buildDesiredHost(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } })))).toEqual([]);
  });
  test("given the opt-in without any unsafe key, when checked, then it is compliant", () => {
    expect(unsafeSysctls.check(buildDesiredHost(seedHost({ unsafeSysctls: true, sysctls: { "net.ipv4.ip_forward": 1 } })))).toEqual([]);
  });
  test("given keys accepted only through unsafeSysctls: true, when checked, then each is reported", () => {
    const host = buildDesiredHost(seedHost({ unsafeSysctls: true, sysctls: { "kernel.modules_disabled": 1, "net.ipv4.vs.expire_nodest_conn": 1, "fs.protected_symlinks": 0 } }));
    expect(unsafeSysctls.check(host)).toEqual([
      { path: "spec.hosts[0]", detail: "host lb1 sets kernel.modules_disabled=1, which is outside the load-balancer allowlist (accepted because unsafeSysctls is true)" },
      { path: "spec.hosts[0]", detail: "host lb1 sets fs.protected_symlinks=0, which is outside the load-balancer allowlist (accepted because unsafeSysctls is true)" },
    ]);
  });
  test("given a desired state read from an older script without unsafeSysctls, when checked, then it is compliant", () => {
    const { unsafeSysctls: _dropped, ...old } = seed();
    expect(unsafeSysctls.check(old as DesiredHost)).toEqual([]);
  });
  test("is a warning with an explanation and a fix", () => {
    expect([unsafeSysctls.id, unsafeSysctls.level]).toEqual(["IPVS007", "warning"]);
    expect(unsafeSysctls.explanation).toContain("kernel.modprobe");
    expect(unsafeSysctls.fix).toContain("unsafeSysctls off");
  });
});

describe("IPVS008 sshPortByName", () => {
  const onPort22 = seedService({ port: 22, aliases: [{ port: 1010 }] });
  test("given SSH by DNS name and no TCP service or alias on the SSH port, when checked, then it is compliant", () => {
    expect(sshPortByName.check(buildDesiredHost(seedHost({ ssh: { host: "lb1.example.com" } })))).toEqual([]);
  });
  test("given SSH by IP address, when checked, then the rule leaves it to the model (which refuses exact conflicts)", () => {
    expect(sshPortByName.check(buildDesiredHost(seedHost({ ssh: { host: "172.16.1.9" }, virtualServices: [onPort22] })))).toEqual([]);
  });
  test("given no ssh, when checked, then it is compliant", () => {
    expect(sshPortByName.check(buildDesiredHost(seedHost({ virtualServices: [onPort22] })))).toEqual([]);
  });
  test("given SSH by DNS name, when a TCP service and a remote-clients alias are on the SSH port, then each is reported", () => {
    const host = buildDesiredHost(
      seedHost({
        ssh: { host: "lb1.example.com", port: 2222 },
        virtualServices: [
          seedService({ port: 2222, aliases: [{ port: 1010 }] }),
          seedService({ name: "other", port: 3000, aliases: [{ port: 2222, address: "172.16.1.9", method: "dnat" }, { port: 1020, method: "dnat" }] }),
          seedService({ name: "dns", protocol: "udp", port: 2222, aliases: [] }),
        ],
      }),
    );
    expect(sshPortByName.check(host)).toEqual([
      {
        path: "spec.hosts[0].virtualServices[0]",
        detail: "virtual service tcp 172.16.1.8:2222 is on the SSH port of host lb1 (ssh lb1.example.com:2222); cdktf-ipvs cannot tell whether lb1.example.com resolves to 172.16.1.8",
      },
      {
        path: "spec.hosts[0].virtualServices[1].aliases[0]",
        detail: "alias tcp 172.16.1.9:2222 is on the SSH port of host lb1 (ssh lb1.example.com:2222); cdktf-ipvs cannot tell whether lb1.example.com resolves to 172.16.1.9",
      },
    ]);
  });
  test("given SSH through a Terraform token, when a TCP service is on the SSH port, then it is reported", () => {
    const host = buildDesiredHost(seedHost({ ssh: { host: "${TfToken[TOKEN.3]}" }, virtualServices: [seedService({ port: 22, aliases: [] })] }));
    expect(sshPortByName.check(host)).toEqual([
      {
        path: "spec.hosts[0].virtualServices[0]",
        detail: "virtual service tcp 172.16.1.8:22 is on the SSH port of host lb1 (ssh to an address only known at apply time, port 22); cdktf-ipvs cannot tell whether that address is 172.16.1.8",
      },
    ]);
  });
  test("is a warning with an explanation and a fix", () => {
    expect([sshPortByName.id, sshPortByName.level]).toEqual(["IPVS008", "warning"]);
    expect(sshPortByName.explanation).toContain("cannot tell");
    expect(sshPortByName.fix).toContain("IP address");
  });
});

describe("checkHost", () => {
  test("runs the new rules too", () => {
    expect(HOST_RULES.map((r) => r.id)).toEqual(["IPVS001", "IPVS002", "IPVS003", "IPVS004", "IPVS007", "IPVS008"]);
    const findings = checkHost(buildDesiredHost(seedHost({ expireNodestConn: false, unsafeSysctls: true, sysctls: { "kernel.modprobe": "x" }, ssh: { host: "lb1.example.com", port: 1000 } })));
    expect(findings.map((f) => [f.ruleId, f.level, f.path])).toEqual([
      ["IPVS002", "warning", "spec.hosts[0]"],
      ["IPVS004", "info", "spec.hosts[0]"],
      ["IPVS007", "warning", "spec.hosts[0]"],
      ["IPVS008", "warning", "spec.hosts[0].virtualServices[0]"],
    ]);
  });

  test("labels findings with rule id, level and fix", () => {
    const findings = checkHost(seed());
    expect(findings.map((f) => [f.ruleId, f.level])).toEqual([["IPVS002", "warning"]]);
    expect(findings[0].fix).toContain("nf_conntrack_max");
    expect(findings[0].fix).toContain("conntrackMaxFor");
  });
});
