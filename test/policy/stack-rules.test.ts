import { buildStackModel, readTerraformConfiguration } from "../../lib/stack";
import {
  StackFinding,
  StackRule,
  checkStack,
  stackAliasNeedsConntrack,
  stackAliasNeedsMasquerade,
  stackConntrackBeforeAlias,
  stackConntrackSurvivesReboot,
  stackHostKeyUnchecked,
  stackIpvsadmClear,
  stackKeyTextInline,
  stackRedirectOtherAddress,
} from "../../lib/policy/stack";

/** The seed's commands, exactly as the blog post ran them. */
const SEED = [
  "ipvsadm -A -t 172.16.1.8:1000 -s rr",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m",
  "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
];
const LB = { host: "172.16.1.8" };
const PERSIST = [
  "cat <<'EOF' > /etc/modules-load.d/ipvs.conf\nip_vs\nEOF",
  "cat <<'EOF' > /etc/sysctl.d/90-ipvs.conf\nnet.ipv4.vs.conntrack = 1\nEOF",
];

type Resources = Record<string, { inline: string[]; host?: string; dependsOn?: string[]; type?: string; connection?: Record<string, string> }>;

function stack(resources: Resources): object {
  const byType: Record<string, Record<string, object>> = {};
  for (const [name, r] of Object.entries(resources)) {
    (byType[r.type ?? "null_resource"] ??= {})[name] = {
      connection: { host: r.host ?? LB.host, ...r.connection },
      ...(r.dependsOn ? { depends_on: r.dependsOn } : {}),
      provisioner: [{ "remote-exec": { inline: r.inline } }],
    };
  }
  return { resource: byType };
}

function findings(resources: Resources, rule: StackRule): StackFinding[] {
  return checkStack(buildStackModel(readTerraformConfiguration(stack(resources))), [rule]);
}

describe("IPVS101: an alias needs conntrack=1 on the same host", () => {
  test("the seed's exact commands are flagged at the REDIRECT rule", () => {
    expect(findings({ lb: { inline: SEED } }, stackAliasNeedsConntrack)).toEqual([
      expect.objectContaining({
        ruleId: "IPVS101",
        level: "error",
        host: "172.16.1.8:22",
        resource: "null_resource.lb",
        command: "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
        detail: "REDIRECT to IPVS service tcp 172.16.1.8:1000, but nothing on 172.16.1.8:22 sets net.ipv4.vs.conntrack=1",
      }),
    ]);
  });

  test("a DNAT alias is flagged the same way; sudo does not hide it", () => {
    const inline = [...SEED.slice(0, 3), "sudo iptables -t nat -A PREROUTING -d 172.16.1.8 -p tcp --dport 1020 -j DNAT --to-destination 172.16.1.8:1000"];
    expect(findings({ lb: { inline } }, stackAliasNeedsConntrack).map((f) => f.detail)).toEqual([expect.stringMatching(/^DNAT to IPVS service tcp 172.16.1.8:1000/)]);
  });

  test("conntrack=1 set on another host does not count, and the finding says where it is", () => {
    const hits = findings({ lb: { inline: SEED }, other: { host: "172.16.1.9", inline: ["sysctl -w net.ipv4.vs.conntrack=1"] } }, stackAliasNeedsConntrack);
    expect(hits.map((f) => f.detail)).toEqual([expect.stringContaining("(it is set on 172.16.1.9:22 instead: a sysctl is per host)")]);
  });

  test("compliant: conntrack=1 through sysctl -w, a /proc write, or sysctl -p of a written file", () => {
    for (const set of ["sysctl -w net.ipv4.vs.conntrack=1", "echo 1 > /proc/sys/net/ipv4/vs/conntrack", `${PERSIST[1]}\nsysctl -p /etc/sysctl.d/90-ipvs.conf`]) {
      expect(findings({ lb: { inline: ["modprobe ip_vs", set, ...SEED] } }, stackAliasNeedsConntrack)).toEqual([]);
    }
  });

  test("compliant: a nat rule that leads to no IPVS service is not an alias", () => {
    expect(findings({ lb: { inline: [SEED[0], "iptables -t nat -A PREROUTING -p tcp --dport 8080 -j REDIRECT --to-port 80"] } }, stackAliasNeedsConntrack)).toEqual([]);
  });
});

describe("IPVS102: conntrack=1 before the alias", () => {
  test("set after the alias in the same resource", () => {
    expect(findings({ lb: { inline: [...SEED, "sysctl -w net.ipv4.vs.conntrack=1"] } }, stackConntrackBeforeAlias)).toEqual([
      expect.objectContaining({ ruleId: "IPVS102", resource: "null_resource.lb", detail: "net.ipv4.vs.conntrack=1 is set only after it (null_resource.lb)" }),
    ]);
  });

  test("set in a resource that runs later", () => {
    const hits = findings({ lb: { inline: SEED }, tune: { inline: ["sysctl -w net.ipv4.vs.conntrack=1"], dependsOn: ["null_resource.lb"] } }, stackConntrackBeforeAlias);
    expect(hits.map((f) => f.detail)).toEqual(["net.ipv4.vs.conntrack=1 is set only after it (null_resource.tune)"]);
  });

  test("set in a resource with no order to the alias's", () => {
    const hits = findings({ lb: { inline: SEED }, tune: { inline: ["sysctl -w net.ipv4.vs.conntrack=1"] } }, stackConntrackBeforeAlias);
    expect(hits.map((f) => f.detail)).toEqual(["net.ipv4.vs.conntrack=1 is set in a resource with no order to it (null_resource.tune)"]);
  });

  test("compliant: set in a resource the alias's resource depends on", () => {
    expect(findings({ tune: { inline: ["sysctl -w net.ipv4.vs.conntrack=1"] }, lb: { inline: SEED, dependsOn: ["null_resource.tune"] } }, stackConntrackBeforeAlias)).toEqual([]);
  });
});

describe("IPVS103: conntrack=1 survives a reboot", () => {
  test("sysctl -w only: lost at reboot", () => {
    expect(findings({ lb: { inline: ["sysctl -w net.ipv4.vs.conntrack=1", ...SEED] } }, stackConntrackSurvivesReboot).map((f) => f.detail)).toEqual([
      "conntrack=1 is set for this boot only; no sysctl.d or sysctl.conf file written by the stack holds it",
    ]);
  });

  test("a heredoc-written sysctl.d file without ip_vs in modules-load.d: the key does not exist at boot", () => {
    const hits = findings({ lb: { inline: [PERSIST[1], "sysctl -p /etc/sysctl.d/90-ipvs.conf", ...SEED] } }, stackConntrackSurvivesReboot);
    expect(hits).toEqual([expect.objectContaining({ command: "cat", detail: expect.stringContaining("no modules-load.d file or /etc/modules loads ip_vs at boot") })]);
  });

  test("compliant: sysctl.d entry and ip_vs in modules-load.d", () => {
    expect(findings({ lb: { inline: [...PERSIST, "modprobe ip_vs", "sysctl -p /etc/sysctl.d/90-ipvs.conf", ...SEED] } }, stackConntrackSurvivesReboot)).toEqual([]);
  });
});

describe("IPVS104: an alias needs masquerade real servers", () => {
  test("a gatewaying real server (ipvsadm's default without -m) behind an alias", () => {
    const inline = ["sysctl -w net.ipv4.vs.conntrack=1", SEED[0], "ipvsadm -a -t 172.16.1.8:1000 -r 10.0.0.5:1000", SEED[3]];
    expect(findings({ lb: { inline } }, stackAliasNeedsMasquerade)).toEqual([
      expect.objectContaining({ ruleId: "IPVS104", command: "ipvsadm -a -t 172.16.1.8:1000 -r 10.0.0.5:1000", detail: expect.stringMatching(/uses gatewaying/) }),
    ]);
  });

  test("compliant: the seed's masquerade real servers", () => {
    expect(findings({ lb: { inline: ["sysctl -w net.ipv4.vs.conntrack=1", ...SEED] } }, stackAliasNeedsMasquerade)).toEqual([]);
  });
});

describe("IPVS105: ipvsadm -C", () => {
  test("is flagged", () => {
    expect(findings({ lb: { inline: ["ipvsadm -C", ...SEED] } }, stackIpvsadmClear)).toEqual([expect.objectContaining({ ruleId: "IPVS105", command: "ipvsadm -C" })]);
  });

  test("compliant: deleting one service", () => {
    expect(findings({ lb: { inline: ["ipvsadm -D -t 172.16.1.8:1000"] } }, stackIpvsadmClear)).toEqual([]);
  });
});

describe("IPVS106: REDIRECT matched on another address than the service's", () => {
  test("REDIRECT of packets to 10.0.0.9 lands on the service port of an address where no service listens", () => {
    const inline = ["sysctl -w net.ipv4.vs.conntrack=1", ...SEED.slice(0, 3), "iptables -t nat -A PREROUTING -d 10.0.0.9 -p tcp --dport 1010 -j REDIRECT --to-port 1000"];
    expect(findings({ lb: { inline } }, stackRedirectOtherAddress)).toEqual([
      expect.objectContaining({ ruleId: "IPVS106", level: "warning", detail: "REDIRECT on 10.0.0.9 to port 1000, but the IPVS service on that port listens on 172.16.1.8" }),
    ]);
  });

  test("compliant: REDIRECT matched on the service's own address, and DNAT from any address", () => {
    const inline = [
      ...SEED.slice(0, 3),
      "iptables -t nat -A PREROUTING -d 172.16.1.8 -p tcp --dport 1010 -j REDIRECT --to-port 1000",
      "iptables -t nat -A PREROUTING -d 10.0.0.9 -p tcp --dport 1020 -j DNAT --to-destination 172.16.1.8:1000",
    ];
    expect(findings({ lb: { inline } }, stackRedirectOtherAddress)).toEqual([]);
  });
});

describe("IPVS107: private key text in the stack", () => {
  test("a key written into the connection is flagged, without repeating it", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    const hits = findings({ lb: { inline: SEED, connection: { private_key: key } } }, stackKeyTextInline);
    expect(hits).toEqual([expect.objectContaining({ ruleId: "IPVS107", level: "error", resource: "null_resource.lb", detail: "holds private key text (redacted here)" })]);
    expect(JSON.stringify(hits)).not.toContain("b3BlbnNzaC1rZXktdjE");
  });

  test("compliant: the key read from a file at apply time", () => {
    expect(findings({ lb: { inline: SEED, connection: { private_key: '${file("~/.ssh/id_ed25519")}' } } }, stackKeyTextInline)).toEqual([]);
  });
});

describe("IPVS108: host key not pinned", () => {
  test("a connection without host_key is reported (info)", () => {
    expect(findings({ lb: { inline: SEED } }, stackHostKeyUnchecked)).toEqual([expect.objectContaining({ ruleId: "IPVS108", level: "info", detail: "connection to 172.16.1.8:22 has no host_key" })]);
  });

  test("compliant: host_key set", () => {
    expect(findings({ lb: { inline: SEED, connection: { host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" } } }, stackHostKeyUnchecked)).toEqual([]);
  });

  const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
  test("through a bastion: a pinned host_key without bastion_host_key is reported; both missing are named together", () => {
    expect(findings({ lb: { inline: SEED, connection: { host_key: KEY, bastion_host: "10.0.0.1" } } }, stackHostKeyUnchecked)).toEqual([
      expect.objectContaining({ ruleId: "IPVS108", detail: "connection to 172.16.1.8:22 has no bastion_host_key" }),
    ]);
    expect(findings({ lb: { inline: SEED, connection: { bastion_host: "10.0.0.1" } } }, stackHostKeyUnchecked)).toEqual([
      expect.objectContaining({ ruleId: "IPVS108", detail: "connection to 172.16.1.8:22 has no host_key and no bastion_host_key" }),
    ]);
  });

  test("compliant: through a bastion with both keys pinned", () => {
    expect(findings({ lb: { inline: SEED, connection: { host_key: KEY, bastion_host: "10.0.0.1", bastion_host_key: KEY } } }, stackHostKeyUnchecked)).toEqual([]);
  });
});

describe("checkStack", () => {
  test("the seed's fixed stack (terraform_data, conntrack first, persisted, host key pinned) passes every rule", () => {
    const fixed = { lb: { type: "terraform_data", connection: { host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }, inline: ["modprobe ip_vs", ...PERSIST, "sysctl -p /etc/sysctl.d/90-ipvs.conf", ...SEED] } };
    expect(checkStack(buildStackModel(readTerraformConfiguration(stack(fixed))))).toEqual([]);
  });

  test("a rule that throws becomes an error finding instead of aborting the run", () => {
    const broken: StackRule = { ...stackIpvsadmClear, id: "X1", check: () => { throw new Error("boom"); } };
    expect(findings({ lb: { inline: SEED } }, broken)).toEqual([expect.objectContaining({ ruleId: "X1", level: "error", detail: "rule X1 failed: boom" })]);
  });
});
