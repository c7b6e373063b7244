/**
 * Declaring through add* checks only what the new object can break (lib/model/incremental.ts),
 * yet an add that breaks the host still throws at that call, with exactly the IpvsModelError the
 * whole host's check gives: each case below compares the thrown error with buildDesiredHost of
 * the whole host (what every add ran before) and with the wording users see. A valid sequence of
 * adds synthesizes exactly what IpvsHost.fromSpec of the same spec does, and the whole host is
 * not built again on the way.
 */
import { TerraformStack, Testing } from "cdktf";
import { IpvsHost, IpvsHostProps, VirtualService } from "../../lib/constructs";
import { AliasSpec, HostSpec, IpvsModelError, PathNamer, RealServerSpec, VirtualServiceSpec, buildDesiredHost } from "../../lib/model";

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };
type SvcSpec = Mutable<VirtualServiceSpec> & { realServers: RealServerSpec[]; aliases: AliasSpec[] };

/** A host declared through the constructs, with the spec it should equal kept alongside. */
class Declared {
  readonly lb: IpvsHost;
  readonly hostPath: string;
  readonly services: SvcSpec[] = [];
  private readonly constructs = new Map<string, VirtualService>();

  constructor(
    readonly props: IpvsHostProps,
    stackId = "s",
    hostId = "lb",
  ) {
    this.lb = new IpvsHost(new TerraformStack(Testing.app(), stackId), hostId, props);
    this.hostPath = `${stackId}/${hostId}`;
  }

  spec(services: SvcSpec[] = this.services): HostSpec {
    const c = this.props.connection;
    return {
      name: this.lb.node.id,
      virtualServices: services,
      conntrack: this.props.conntrack,
      localAddresses: this.props.localAddresses,
      sysctls: this.props.sysctls,
      unsafeSysctls: this.props.unsafeSysctls,
      ssh: { host: c.host, port: c.port ?? 22 },
    };
  }

  /** What checking the whole host says about `services` (undefined: valid), with the construct paths. */
  fullCheck(services: SvcSpec[]): IpvsModelError | undefined {
    const paths: PathNamer = {
      host: this.hostPath,
      service: (i) => `${this.hostPath}/${services[i].name}`,
      realServer: (svc, i) => `${svc}/realServer[${i}]`,
      alias: (svc, i) => `${svc}/alias[${i}]`,
    };
    try {
      buildDesiredHost(this.spec(services), paths);
      return undefined;
    } catch (e) {
      if (e instanceof IpvsModelError) return e;
      throw e;
    }
  }

  service(name: string, props: Omit<VirtualServiceSpec, "name" | "realServers" | "aliases">): void {
    this.expectSameOutcome([...this.services, { ...props, name, realServers: [], aliases: [] }], () => {
      this.constructs.set(name, this.lb.addVirtualService(name, props));
    });
  }

  realServer(service: string, rs: RealServerSpec): void {
    this.expectSameOutcome(this.with(service, (s) => ({ ...s, realServers: [...s.realServers, rs] })), () => this.constructs.get(service)!.addRealServer(rs));
  }

  alias(service: string, alias: AliasSpec): void {
    this.expectSameOutcome(this.with(service, (s) => ({ ...s, aliases: [...s.aliases, alias] })), () => this.constructs.get(service)!.addAlias(alias));
  }

  /** The last error an add threw (each add must throw exactly what the full check says). */
  lastError?: IpvsModelError;

  private with(service: string, change: (s: SvcSpec) => SvcSpec): SvcSpec[] {
    return this.services.map((s) => (s.name === service ? change(s) : s));
  }

  private expectSameOutcome(next: SvcSpec[], add: () => void): void {
    const expected = this.fullCheck(next);
    let thrown: unknown;
    try {
      add();
    } catch (e) {
      thrown = e;
    }
    if (expected) {
      expect(thrown).toBeInstanceOf(IpvsModelError);
      expect((thrown as IpvsModelError).message).toBe(expected.message);
      expect((thrown as IpvsModelError).issues).toEqual(expected.issues);
      this.lastError = thrown as IpvsModelError;
    } else {
      if (thrown) throw thrown;
      this.services.splice(0, this.services.length, ...next);
      this.lastError = undefined;
    }
  }
}

const connection = { host: "10.0.0.1", port: 2222, privateKeyPath: "/keys/id" };
const masq = (address: string, port?: number): RealServerSpec => ({ address, ...(port !== undefined ? { port } : {}), forwarding: "masquerade" });

describe("an add that breaks the host throws at that call, with the whole host's message", () => {
  test("two services with one key", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.5", port: 80 });
    d.service("b", { address: "10.0.0.5", port: 80 });
    expect(d.lastError?.message).toBe("s/lb/b: virtual service tcp 10.0.0.5:80 is already declared by s/lb/a; declare each virtual service once.");
    expect(d.lb.node.tryFindChild("b")).toBeUndefined();
    // Another protocol or port is another key.
    d.service("b", { address: "10.0.0.5", port: 80, protocol: "udp" });
    d.service("c", { fwmark: 7 });
    d.service("d", { fwmark: 7 });
    expect(d.lastError?.message).toBe("s/lb/d: virtual service fwmark 7 is already declared by s/lb/c; declare each virtual service once.");
    d.service("d", { fwmark: 7, family: "ipv6" });
    expect(d.lastError).toBeUndefined();
    // An IPv6 address in another spelling is the same key.
    d.service("e", { address: "fd00::1", port: 443 });
    d.service("f", { address: "fd00:0::0:1", port: 443 });
    expect(d.lastError?.message).toBe("s/lb/f: virtual service tcp [fd00::1]:443 is already declared by s/lb/e; declare each virtual service once.");
  });

  test("an alias on a port a service listens on, and a service on a port an alias listens on", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.5", port: 80 });
    d.service("b", { address: "10.0.0.5", port: 81 });
    d.alias("a", { port: 81 });
    expect(d.lastError?.message).toBe("s/lb/a/alias[0]: alias port 81 collides with virtual service tcp 10.0.0.5:81 (s/lb/b); choose another port.");
    d.alias("a", { port: 80, method: "dnat" });
    expect(d.lastError?.message).toMatch(/^s\/lb\/a\/alias\[0\]: alias port 80 collides with virtual service tcp 10\.0\.0\.5:80 \(s\/lb\/a\)/);
    d.alias("a", { port: 8080 });
    expect(d.lastError).toBeUndefined();
    // The service is refused; the whole host's check names the alias that held the port.
    d.service("c", { address: "10.0.0.5", port: 8080 });
    expect(d.lastError?.message).toBe("s/lb/a/alias[0]: alias port 8080 collides with virtual service tcp 10.0.0.5:8080 (s/lb/c); choose another port.");
    expect(d.lb.node.tryFindChild("c")).toBeUndefined();
    // Other protocol, other address: free.
    d.service("c", { address: "10.0.0.5", port: 8080, protocol: "udp" });
    d.alias("b", { port: 8080, address: "10.0.0.6", method: "dnat" });
    expect(d.lastError).toBeUndefined();
  });

  test("two aliases on one port: the message is the whole host's, whichever service comes first", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.5", port: 80 });
    d.service("b", { address: "10.0.0.5", port: 81 });
    d.alias("b", { port: 9000 });
    d.alias("b", { port: 9000 });
    expect(d.lastError?.message).toBe("s/lb/b/alias[1]: alias port 9000 collides with alias tcp 10.0.0.5:9000 (s/lb/b/alias[0]); choose another port.");
    // An alias of an earlier service on that port: the host's check meets it first and reports
    // the later one, as it always did.
    d.alias("a", { port: 9000 });
    expect(d.lastError?.message).toBe("s/lb/b/alias[0]: alias port 9000 collides with alias tcp 10.0.0.5:9000 (s/lb/a/alias[0]); choose another port.");
    expect(d.lb.desiredState.aliases.map((a) => a.path)).toEqual(["s/lb/b/alias[0]"]);
  });

  test("forwarding vs aliases, in either order", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.5", port: 80 });
    d.realServer("a", masq("10.0.0.5", 8080));
    d.alias("a", { port: 81 });
    d.realServer("a", { address: "10.0.0.7", port: 80, forwarding: "gatewaying" });
    expect(d.lastError?.message).toBe(
      's/lb/a/alias[0]: an alias needs every real server of s/lb/a to use forwarding "masquerade", but s/lb/a/realServer[1] uses "gatewaying": its replies bypass the load balancer, so no conntrack entry can undo the alias NAT.',
    );
    d.service("b", { address: "10.0.0.5", port: 90 });
    d.realServer("b", { address: "10.0.0.7", forwarding: "ipip" });
    expect(d.lastError).toBeUndefined();
    d.alias("b", { port: 91, method: "dnat" });
    expect(d.lastError?.message).toBe(
      's/lb/b/alias[0]: an alias needs every real server of s/lb/b to use forwarding "masquerade", but s/lb/b/realServer[0] uses "ipip": its replies bypass the load balancer, so no conntrack entry can undo the alias NAT.',
    );
    // Aliases of other services are not concerned.
    d.realServer("a", masq("10.0.0.5", 8081));
    d.alias("a", { port: 82 });
    expect(d.lastError).toBeUndefined();
  });

  test("the conntrack pairing: conntrack false, or conntrack=0 in sysctls, refuses the first alias", () => {
    for (const props of [{ conntrack: false }, { sysctls: { "net.ipv4.vs.conntrack": 0 } }]) {
      const d = new Declared({ connection, ...props });
      d.service("a", { address: "10.0.0.5", port: 80 });
      d.realServer("a", masq("10.0.0.5", 8080));
      d.alias("a", { port: 81 });
      expect(d.lastError?.message).toMatch(/^s\/lb: (conntrack false|sysctls\["net\.ipv4\.vs\.conntrack"\] 0) is not allowed while the host has aliases; an alias \(s\/lb\/a\/alias\[0\]\) needs it/);
      expect(d.lb.desiredState.aliases).toEqual([]);
    }
  });

  test("the SSH lockout: a service or alias on the SSH endpoint", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.1", port: 2222 });
    expect(d.lastError?.message).toMatch(/^s\/lb\/a: virtual service tcp 10\.0\.0\.1:2222 is the SSH endpoint Terraform uses/);
    d.service("a", { address: "10.0.0.1", port: 80 });
    d.alias("a", { port: 2222 });
    expect(d.lastError?.message).toMatch(/^s\/lb\/a\/alias\[0\]: alias tcp 10\.0\.0\.1:2222 .*is the SSH endpoint Terraform uses/);
    d.alias("a", { port: 2222, remoteClients: false, localClients: true, method: "dnat" });
    expect(d.lastError).toBeUndefined();
  });

  test("a real server declared twice, and one of the wrong family or port", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.5", port: 80 });
    d.realServer("a", masq("10.0.0.7"));
    d.realServer("a", masq("10.0.0.7", 80));
    expect(d.lastError?.message).toBe("s/lb/a/realServer[1]: real server 10.0.0.7:80 is already declared by s/lb/a/realServer[0]; declare each real server once per service.");
    d.realServer("a", masq("fd00::7"));
    expect(d.lastError?.message).toMatch(/^s\/lb\/a\/realServer\[1\]: address "fd00::7" is ipv6 but the virtual service is ipv4/);
    d.realServer("a", { address: "10.0.0.8", port: 81, forwarding: "gatewaying" });
    expect(d.lastError?.message).toMatch(/^s\/lb\/a\/realServer\[1\]: port 81 differs from the virtual service port 80/);
    d.realServer("a", masq("10.0.0.7", 81));
    expect(d.lastError).toBeUndefined();
  });

  test("IP forwarding declared 0 refuses a masquerade real server on another host, not one on this host", () => {
    const d = new Declared({ connection, localAddresses: ["10.0.0.9"], sysctls: { "net.ipv4.ip_forward": 0 } });
    d.service("a", { address: "10.0.0.5", port: 80 });
    d.service("b", { address: "10.0.0.6", port: 80 });
    // On this host: the service's own address, another service's address, a local address, loopback.
    for (const address of ["10.0.0.5", "10.0.0.6", "10.0.0.9", "127.0.0.1"]) {
      d.realServer("a", masq(address, 8080));
      expect(d.lastError).toBeUndefined();
    }
    d.realServer("b", masq("10.0.0.7", 8080));
    expect(d.lastError?.message).toMatch(/^s\/lb: sysctls\["net\.ipv4\.ip_forward"\] 0 contradicts net\.ipv4\.ip_forward=1, which masquerade real server 10\.0\.0\.7 \(s\/lb\/b\/realServer\[0\]\) is on another host/);
    // A service on that address makes it this host's.
    d.service("c", { address: "10.0.0.7", port: 80 });
    d.realServer("b", masq("10.0.0.7", 8080));
    expect(d.lastError).toBeUndefined();
  });

  test("a bad value in one object, and a refused add leaves the host as it was", () => {
    const d = new Declared({ connection });
    d.service("a", { address: "10.0.0.5", port: 80, scheduler: "rr" });
    d.realServer("a", { address: "10.0.0.7", forwarding: "masquerade", weight: 70000 });
    expect(d.lastError?.message).toBe("s/lb/a/realServer[0]: weight 70000 is out of range; allowed 0–65535");
    d.alias("a", { port: 0 });
    expect(d.lastError?.message).toMatch(/^s\/lb\/a\/alias\[0\]: port 0 /);
    d.service("b", { address: "10.0.0.5", port: 81, schedulerFlags: ["sh-port"] });
    expect(d.lastError?.message).toMatch(/^s\/lb\/b: schedulerFlags\[0\] "sh-port" only applies to scheduler sh/);
    d.realServer("a", masq("10.0.0.7"));
    d.alias("a", { port: 81 });
    expect(d.lastError).toBeUndefined();
    expect(d.lb.desiredState).toEqual(buildDesiredHost(d.lb.toSpec(), { host: "s/lb", service: (i) => `s/lb/${d.services[i].name}`, realServer: (s, i) => `${s}/realServer[${i}]`, alias: (s, i) => `${s}/alias[${i}]` }));
    expect(d.lb.toSpec()).toEqual(d.spec());
  });
});

describe("declaring through add* without building the whole host again", () => {
  afterEach(() => jest.restoreAllMocks());

  test("valid adds never check the whole host; a refused one does, once", () => {
    const lb = new IpvsHost(new TerraformStack(Testing.app(), "s"), "lb", { connection, engine: "terraform_data" });
    const whole = jest.spyOn(IpvsHost.prototype, "revalidate");
    for (let i = 0; i < 300; i++) {
      const svc = lb.addVirtualService(`svc${i}`, { address: "172.16.1.8", port: 10000 + i, scheduler: "rr" });
      for (let r = 0; r < 4; r++) svc.addRealServer({ address: "172.16.1.8", port: 1001 + r, forwarding: "masquerade" });
      svc.addAlias({ port: 30000 + i, method: "dnat" });
    }
    expect(whole).not.toHaveBeenCalled();
    expect(() => lb.addVirtualService("dup", { address: "172.16.1.8", port: 30007 })).toThrow("collides with virtual service tcp 172.16.1.8:30007 (s/lb/dup)");
    expect(whole).toHaveBeenCalledTimes(1);
    // And the indexes still hold every service after a refused add.
    expect(() => lb.addVirtualService("dup", { address: "172.16.1.8", port: 10299 })).toThrow("is already declared by s/lb/svc299");
    expect(lb.desiredState.services).toHaveLength(300);
    expect(lb.desiredState.aliases).toHaveLength(300);
  });
});

describe("a valid sequence of adds synthesizes exactly what fromSpec does", () => {
  const spec: HostSpec = {
    name: "lb",
    virtualServices: [
      {
        name: "web",
        address: "172.16.1.8",
        port: 80,
        scheduler: "wrr",
        persistence: { timeout: 300, netmask: "255.255.255.0" },
        realServers: [
          { address: "172.16.1.8", port: 8080, forwarding: "masquerade", weight: 3 },
          { address: "10.0.0.7", port: 8080, forwarding: "masquerade", upperThreshold: 100, lowerThreshold: 10 },
        ],
        aliases: [{ port: 8000 }, { port: 8001, method: "dnat", localClients: true }],
      },
      { name: "dns", protocol: "udp", address: "fd00::8", port: 53, scheduler: "sh", schedulerFlags: ["sh-port"], realServers: [{ address: "fd00::9", forwarding: "gatewaying" }] },
      { name: "mark", fwmark: 7, scheduler: "rr", realServers: [{ address: "10.0.0.7", port: 0, forwarding: "ipip" }] },
      { name: "api", address: "172.16.1.9", port: 443, realServers: [{ address: "172.16.1.8", port: 8443, forwarding: "masquerade" }], aliases: [{ port: 8443, address: "172.16.1.8", method: "dnat" }] },
    ],
  };
  const props: IpvsHostProps = { connection, engine: "terraform_data", localAddresses: ["172.16.1.10"], sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 } };

  test("same cdk.tf.json, same desired state", () => {
    const viaSpec = IpvsHost.fromSpec(new TerraformStack(Testing.app(), "s"), "lb", spec, props);
    const lb = new IpvsHost(new TerraformStack(Testing.app(), "s"), "lb", props);
    for (const { name, realServers = [], aliases = [], ...svcProps } of spec.virtualServices ?? []) {
      const svc = lb.addVirtualService(name, svcProps);
      for (const rs of realServers) svc.addRealServer(rs);
      for (const a of aliases) svc.addAlias(a);
    }
    const synthesized = Testing.synth(TerraformStack.of(lb));
    expect(synthesized).toBe(Testing.synth(TerraformStack.of(viaSpec)));
    expect(lb.desiredState).toEqual(viaSpec.desiredState);
    expect(lb.desiredState.services).toHaveLength(4);
    expect(lb.desiredState.aliases).toHaveLength(3);
  });

  test("adds after fromSpec are checked against the spec's services", () => {
    const lb = IpvsHost.fromSpec(new TerraformStack(Testing.app(), "s"), "lb", spec, props);
    expect(() => lb.addVirtualService("web2", { address: "172.16.1.8", port: 8001 })).toThrow(
      "s/lb/web/alias[1]: alias port 8001 collides with virtual service tcp 172.16.1.8:8001 (s/lb/web2); choose another port.",
    );
    const svc = lb.addVirtualService("web2", { address: "172.16.1.8", port: 81 });
    expect(() => svc.addAlias({ port: 8443 })).toThrow("s/lb/web2/alias[0]: alias port 8443 collides with alias tcp 172.16.1.8:8443 (s/lb/api/alias[0]); choose another port.");
    expect(() => (lb.node.findChild("mark") as VirtualService).addAlias({ port: 1 })).toThrow("an alias needs an address+port virtual service; s/lb/mark is selected by firewall mark 7");
  });
});
