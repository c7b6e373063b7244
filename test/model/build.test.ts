import { HostSpec, IpvsModelError, buildDesiredHost, buildDesiredSpec, hostNeedsConntrack } from "../../lib/model";
import { seedHost, seedService } from "../fixtures";

/** The messages buildDesiredHost throws for a spec, or [] when it is valid. */
function problems(spec: HostSpec): string[] {
  try {
    buildDesiredHost(spec);
    return [];
  } catch (e) {
    if (!(e instanceof IpvsModelError)) throw e;
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

function expectOneProblem(spec: HostSpec, ...fragments: string[]): void {
  const found = problems(spec);
  expect(found).toHaveLength(1);
  for (const f of fragments) expect(found[0]).toContain(f);
}

describe("buildDesiredHost, given the seed's scenario", () => {
  const host = buildDesiredHost(seedHost());

  test("keeps the service with its real servers", () => {
    expect(host.services).toHaveLength(1);
    const svc = host.services[0];
    expect(svc).toMatchObject({ kind: "address", protocol: "tcp", address: "172.16.1.8", port: 1000, scheduler: "rr" });
    expect(svc.realServers.map((r) => [r.port, r.forwarding, r.weight])).toEqual([
      [1001, "masquerade", 1],
      [1002, "masquerade", 1],
    ]);
  });

  test("makes conntrack=1 part of the host's desired state because of the aliases", () => {
    expect(hostNeedsConntrack(host)).toBe(true);
    expect(host.sysctls).toContainEqual(expect.objectContaining({ key: "net.ipv4.vs.conntrack", value: "1" }));
  });

  test("resolves each alias to the service address and port", () => {
    expect(host.aliases.map((a) => [a.port, a.method, a.address, a.targetAddress, a.targetPort])).toEqual([
      [1010, "redirect", "172.16.1.8", "172.16.1.8", 1000],
      [1020, "dnat", "172.16.1.8", "172.16.1.8", 1000],
    ]);
  });

  test("needs ip_vs, the scheduler module and nf_conntrack, ip_vs first", () => {
    expect(host.modules.map((m) => m.name)).toEqual(["ip_vs", "ip_vs_rr", "nf_conntrack"]);
  });

  test("does not turn on IP forwarding: the real servers are on the host itself", () => {
    expect(host.sysctls.map((s) => s.key)).not.toContain("net.ipv4.ip_forward");
  });
});

describe("buildDesiredHost, host settings", () => {
  test("turns on IP forwarding for a masquerade real server on another host", () => {
    const host = buildDesiredHost(
      seedHost({ virtualServices: [seedService({ realServers: [{ address: "10.1.0.5", port: 80, forwarding: "masquerade" }] })] }),
    );
    expect(host.sysctls).toContainEqual(expect.objectContaining({ key: "net.ipv4.ip_forward", value: "1" }));
  });

  test("treats localAddresses as the host itself", () => {
    const host = buildDesiredHost(
      seedHost({
        localAddresses: ["10.1.0.5"],
        virtualServices: [seedService({ realServers: [{ address: "10.1.0.5", port: 80, forwarding: "masquerade" }] })],
      }),
    );
    expect(host.sysctls.map((s) => s.key)).not.toContain("net.ipv4.ip_forward");
  });

  test("IPv6 masquerade to another host turns on IPv6 forwarding", () => {
    const host = buildDesiredHost(
      seedHost({
        virtualServices: [
          { name: "v6", address: "fd00:16::8", port: 80, realServers: [{ address: "fd00:99::1", forwarding: "masquerade" }] },
        ],
      }),
    );
    expect(host.sysctls.map((s) => s.key)).toEqual(["net.ipv6.conf.all.forwarding", "net.ipv4.vs.expire_nodest_conn", "net.ipv4.vs.expire_quiescent_template"]);
  });

  test("without aliases conntrack is not managed", () => {
    const host = buildDesiredHost(seedHost({ virtualServices: [seedService({ aliases: [] })] }));
    // Only the expire_* defaults (test/model/expire-defaults.test.ts); no conntrack.
    expect(host.sysctls.map((s) => s.key)).toEqual(["net.ipv4.vs.expire_nodest_conn", "net.ipv4.vs.expire_quiescent_template"]);
  });

  test("keeps extra sysctls, integers as text", () => {
    const host = buildDesiredHost(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } }));
    expect(host.sysctls).toContainEqual(expect.objectContaining({ key: "net.ipv4.vs.expire_nodest_conn", value: "1" }));
  });

  test("canonicalizes IPv6 addresses the way ipvsadm prints them", () => {
    const host = buildDesiredHost(
      seedHost({ virtualServices: [{ name: "v6", address: "FD00:0016:0:0::8", port: 80, realServers: [{ address: "fd00:16:0::8", port: 81, forwarding: "masquerade" }] }] }),
    );
    expect(host.services[0]).toMatchObject({ address: "fd00:16::8", family: "ipv6" });
    expect(host.services[0].realServers[0].address).toBe("fd00:16::8");
  });

  test("defaults: tcp, wlc, weight 1, real server port = service port", () => {
    const host = buildDesiredHost(seedHost({ virtualServices: [{ name: "web", address: "10.0.0.1", port: 80, realServers: [{ address: "10.0.0.1", forwarding: "masquerade" }] }] }));
    expect(host.services[0]).toMatchObject({ protocol: "tcp", scheduler: "wlc" });
    expect(host.services[0].realServers[0]).toMatchObject({ port: 80, weight: 1, upperThreshold: 0, lowerThreshold: 0 });
  });

  test("a firewall-mark service with real servers at port 0", () => {
    const host = buildDesiredHost(seedHost({ virtualServices: [{ name: "mark", fwmark: 7, scheduler: "mh", schedulerFlags: ["mh-port"], realServers: [{ address: "10.0.0.2", forwarding: "gatewaying" }] }] }));
    expect(host.services[0]).toMatchObject({ kind: "fwmark", fwmark: 7, family: "ipv4" });
    expect(host.services[0].realServers[0].port).toBe(0);
  });
});

describe("buildDesiredHost rejects, naming path, prop, value and what is allowed", () => {
  const svc = (o: Parameters<typeof seedService>[0]) => seedHost({ virtualServices: [seedService(o)] });
  const rs = (o: object) => svc({ aliases: [], realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade", ...o }] });

  test("a weight out of range", () => {
    expectOneProblem(rs({ weight: 70000 }), "spec.hosts[0].virtualServices[0].realServers[0]", "weight 70000 is out of range; allowed 0–65535");
  });
  test("a negative weight", () => {
    expectOneProblem(rs({ weight: -1 }), "weight -1 is out of range");
  });
  test("an unknown scheduler, listing the allowed ones", () => {
    expectOneProblem(svc({ scheduler: "roundrobin" as never }), 'scheduler "roundrobin" is not an IPVS scheduler; allowed: rr, wrr, lc, wlc');
  });
  test("a port out of range", () => {
    expectOneProblem(svc({ port: 70000 }), "spec.hosts[0].virtualServices[0]", "port 70000 is out of range; allowed 1–65535");
  });
  test("a port that is not an integer: says so, with the range", () => {
    expectOneProblem(svc({ port: 80.5 }), "spec.hosts[0].virtualServices[0]: port 80.5 must be an integer; allowed 1–65535");
  });
  test("an address that is not an IP address", () => {
    expectOneProblem(svc({ address: "lb.example.com" }), 'address "lb.example.com" is not an IP address');
  });
  test("shell metacharacters in an address", () => {
    expectOneProblem(rs({ address: "172.16.1.8; reboot" }), "is not an IP address");
  });
  test("shell metacharacters in a name", () => {
    expectOneProblem(svc({ name: "app'$(reboot)" }), "name", "is not a valid name");
  });
  test("an unknown protocol", () => {
    expectOneProblem(svc({ protocol: "icmp" as never }), 'protocol "icmp" is not supported; allowed: tcp, udp, sctp');
  });
  test("an unknown forwarding method", () => {
    expectOneProblem(rs({ forwarding: "nat" }), 'forwarding "nat" is not a forwarding method; allowed: masquerade, gatewaying, ipip');
  });
  test("a duplicate virtual service", () => {
    const spec = seedHost({ virtualServices: [seedService(), seedService({ name: "again", aliases: [] })] });
    expectOneProblem(spec, "virtualServices[1]", "virtual service tcp 172.16.1.8:1000 is already declared by spec.hosts[0].virtualServices[0]");
  });
  test("a duplicate service name", () => {
    const spec = seedHost({ virtualServices: [seedService(), seedService({ port: 2000, aliases: [] })] });
    expectOneProblem(spec, 'name "app" is already used by spec.hosts[0].virtualServices[0]');
  });
  test("a duplicate real server", () => {
    const spec = svc({ realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade" }, { address: "172.16.1.8", port: 1001, forwarding: "masquerade" }] });
    expectOneProblem(spec, "realServers[1]", "real server 172.16.1.8:1001 is already declared by spec.hosts[0].virtualServices[0].realServers[0]");
  });
  test("an alias port colliding with the service port", () => {
    expectOneProblem(svc({ aliases: [{ port: 1000 }] }), "aliases[0]", "alias port 1000 collides with virtual service tcp 172.16.1.8:1000");
  });
  test("an alias port colliding with another service on the host", () => {
    const spec = seedHost({ virtualServices: [seedService({ aliases: [{ port: 2000 }] }), seedService({ name: "other", port: 2000, aliases: [] })] });
    expectOneProblem(spec, "alias port 2000 collides with virtual service tcp 172.16.1.8:2000");
  });
  test("two aliases on the same port", () => {
    expectOneProblem(svc({ aliases: [{ port: 1010 }, { port: 1010, method: "dnat" }] }), "aliases[1]", "alias port 1010 collides with alias tcp 172.16.1.8:1010");
  });
  test("the same alias port over another protocol is fine", () => {
    const spec = seedHost({ virtualServices: [seedService(), seedService({ name: "dns", protocol: "udp", port: 1000, aliases: [{ port: 1010 }] })] });
    expect(problems(spec)).toEqual([]);
  });
  test("mixed address families in a service", () => {
    expectOneProblem(rs({ address: "fd00::1" }), 'address "fd00::1" is ipv6 but the virtual service is ipv4');
  });
  test("an alias address of the other family", () => {
    expectOneProblem(svc({ aliases: [{ port: 1010, address: "fd00::8" }] }), "an alias must use the service's address family");
  });
  test("a gatewaying real server on another port", () => {
    expectOneProblem(
      svc({ aliases: [], realServers: [{ address: "10.0.0.2", port: 8080, forwarding: "gatewaying" }] }),
      "port 8080 differs from the virtual service port 1000; gatewaying forwards the packet unchanged",
    );
  });
  test("an ipip real server on another port", () => {
    expectOneProblem(svc({ aliases: [], realServers: [{ address: "10.0.0.2", port: 8080, forwarding: "ipip" }] }), "ipip forwards the packet unchanged");
  });
  test("an alias on a service with a gatewaying real server", () => {
    expectOneProblem(
      svc({ realServers: [{ address: "10.0.0.2", forwarding: "gatewaying" }], aliases: [{ port: 1010 }] }),
      "aliases[0]",
      'uses "gatewaying": its replies bypass the load balancer, so no conntrack entry can undo the alias NAT',
    );
  });
  test("conntrack switched off while an alias exists", () => {
    expectOneProblem(seedHost({ conntrack: false }), "spec.hosts[0]", "conntrack false is not allowed while the host has aliases");
  });
  test("net.ipv4.vs.conntrack=0 in sysctls while an alias exists", () => {
    expectOneProblem(seedHost({ sysctls: { "net.ipv4.vs.conntrack": 0 } }), "is not allowed while the host has aliases", "Allowed: 1");
  });
  test("conntrack false is fine without aliases", () => {
    expect(problems(seedHost({ conntrack: false, virtualServices: [seedService({ aliases: [] })] }))).toEqual([]);
  });
  test("an alias on a firewall-mark service", () => {
    expectOneProblem(
      seedHost({ virtualServices: [{ name: "mark", fwmark: 7, realServers: [], aliases: [{ port: 1010 }] }] }),
      "an alias needs an address+port virtual service",
    );
  });
  test("fwmark together with address and port", () => {
    expectOneProblem(svc({ fwmark: 3 }), "fwmark 3 cannot be combined with address/port");
  });
  test("a service with neither address nor fwmark", () => {
    expect(problems(seedHost({ virtualServices: [{ name: "x", port: 80 }] })).join()).toContain("address undefined is missing");
  });
  test("a local-clients alias with REDIRECT", () => {
    expectOneProblem(svc({ aliases: [{ port: 1010, method: "redirect", localClients: true }] }), 'localClients true needs method "dnat"');
  });
  test("an alias that serves nobody", () => {
    expectOneProblem(svc({ aliases: [{ port: 1010, remoteClients: false }] }), "the alias would serve nobody");
  });
  test("a scheduler flag of another scheduler", () => {
    expectOneProblem(svc({ schedulerFlags: ["sh-port"] }), 'schedulerFlags[0] "sh-port" only applies to scheduler sh, not "rr"');
  });
  test("a persistence timeout out of range", () => {
    expectOneProblem(svc({ persistence: { timeout: 0 } }), "persistence.timeout 0 is out of range; allowed 1–2678400 seconds");
  });
  test("a netmask with holes", () => {
    expectOneProblem(svc({ persistence: { timeout: 60, netmask: "255.0.255.0" } }), "is not a contiguous IPv4 netmask");
  });
  test("an IPv6 persistence prefix out of range", () => {
    expectOneProblem(
      seedHost({ virtualServices: [{ name: "v6", address: "fd00::8", port: 80, persistence: { timeout: 60, netmask: 129 } }] }),
      "is not an IPv6 prefix length; allowed 1–128",
    );
  });
  test("a lower threshold without an upper one", () => {
    expectOneProblem(rs({ lowerThreshold: 5 }), "lowerThreshold 5 must be below upperThreshold (0)");
  });
  test("a misspelt prop", () => {
    expectOneProblem(rs({ wieght: 3 }), "wieght 3 is not a known prop; allowed: address, port, forwarding, weight");
  });
  test("a sysctl name that is not one", () => {
    expectOneProblem(seedHost({ sysctls: { "net/ipv4/x": 1 } }), "is not a sysctl name");
  });
  test("a sysctl value with shell metacharacters", () => {
    expectOneProblem(seedHost({ sysctls: { "net.ipv4.vs.expire_nodest_conn": "1; reboot" } }), "is not an allowed sysctl value");
  });
  test("an unresolved Terraform token where a plain value is needed", () => {
    expectOneProblem(svc({ address: "${TfToken[TOKEN.1]}" }), "is an unresolved Terraform token");
  });

  test("reports every problem at once", () => {
    const spec = svc({ port: 0, scheduler: "x" as never, aliases: [] });
    expect(problems(spec)).toHaveLength(2);
  });
});

describe("buildDesiredSpec", () => {
  test("rejects a spec without hosts", () => {
    expect(() => buildDesiredSpec({} as never)).toThrow(/spec: hosts undefined is missing/);
  });
  test("rejects two hosts with the same name", () => {
    expect(() => buildDesiredSpec({ hosts: [seedHost(), seedHost()] })).toThrow(/host name "lb1" is already used by spec.hosts\[0\]/);
  });
  test("names the host index in paths", () => {
    expect(() => buildDesiredSpec({ hosts: [seedHost(), seedHost({ name: "lb2", conntrack: false })] })).toThrow(/^spec.hosts\[1\]: conntrack false/);
  });
});
