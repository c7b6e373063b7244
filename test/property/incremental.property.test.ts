/**
 * Differential property of the incremental add* checks: for random sequences of adds over a small
 * universe of values (so that collisions, family mixes, forwarding vs aliases, the conntrack
 * pairing, the SSH lockout and IP forwarding against a declared sysctl all happen often), every
 * add does exactly what checking the whole host after that add says (what every add did before
 * the checks became incremental): it throws the very IpvsModelError buildDesiredHost gives for the
 * whole host, or it is accepted. At the end the host's desired state is the whole host's, and its
 * cdk.tf.json is exactly IpvsHost.fromSpec's of the same spec.
 */
import { TerraformStack, Testing } from "cdktf";
import fc from "fast-check";
import { IpvsHost, IpvsHostProps, VirtualService } from "../../lib/constructs";
import { AliasSpec, HostSpec, IpvsModelError, PathNamer, RealServerSpec, VirtualServiceSpec, buildDesiredHost } from "../../lib/model";
import { FC_SEED, configureFastCheck, runs } from "./support";

configureFastCheck();

type Props = Omit<VirtualServiceSpec, "name" | "realServers" | "aliases">;
type Op = { kind: "service"; name: string; props: Props } | { kind: "realServer"; service: number; rs: RealServerSpec } | { kind: "alias"; service: number; alias: AliasSpec };
interface Svc {
  name: string;
  props: Props;
  realServers: RealServerSpec[];
  aliases: AliasSpec[];
}

const ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.7", "fd00::1", "127.0.0.1"];
const PORTS = [22, 80, 81, 2222, 8080];

const serviceProps: fc.Arbitrary<Props> = fc.oneof(
  { weight: 4, arbitrary: fc.record(
    {
      address: fc.constantFrom("10.0.0.1", "10.0.0.2", "10.0.0.7", "fd00::1", "fd00:0::1"),
      port: fc.constantFrom(...PORTS),
      protocol: fc.constantFrom("tcp" as const, "udp" as const),
      scheduler: fc.constantFrom("rr" as const, "sh" as const),
    },
    { requiredKeys: ["address", "port"] },
  ) },
  // A flag only sh takes: refused with any other scheduler.
  {
    weight: 1,
    arbitrary: fc.record({ address: fc.constantFrom("10.0.0.1", "10.0.0.2"), port: fc.constantFrom(...PORTS), scheduler: fc.constantFrom("sh" as const, "sh" as const, "rr" as const), schedulerFlags: fc.constant(["sh-port"]) }),
  },
  { weight: 1, arbitrary: fc.record({ fwmark: fc.constantFrom(1, 2), family: fc.constantFrom("ipv4" as const, "ipv6" as const) }, { requiredKeys: ["fwmark"] }) },
);

const realServer: fc.Arbitrary<RealServerSpec> = fc.record(
  {
    address: fc.constantFrom(...ADDRESSES),
    port: fc.constantFrom(80, 81, 8080),
    forwarding: fc.constantFrom("masquerade" as const, "masquerade" as const, "gatewaying" as const, "ipip" as const),
    weight: fc.constantFrom(1, 5, 7, -1),
  },
  { requiredKeys: ["address", "forwarding"] },
);

const alias: fc.Arbitrary<AliasSpec> = fc.record(
  {
    port: fc.constantFrom(...PORTS, 9000, 9001, 9002, 0),
    method: fc.constantFrom("redirect" as const, "dnat" as const),
    address: fc.constantFrom("10.0.0.1", "10.0.0.2", "fd00::1"),
    localClients: fc.constantFrom(true, false, false),
    remoteClients: fc.constantFrom(true, true, false),
  },
  { requiredKeys: ["port"] },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("service" as const), name: fc.constantFrom("a", "b", "c", "d", "e", "f"), props: serviceProps }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("realServer" as const), service: fc.nat(7), rs: realServer }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("alias" as const), service: fc.nat(7), alias }) },
);

const hostProps: fc.Arbitrary<IpvsHostProps> = fc.record(
  {
    connection: fc.constantFrom<IpvsHostProps["connection"][]>({ host: "10.0.0.1" }, { host: "10.0.0.2", port: 2222 }, { host: "lb.example.com" }),
    conntrack: fc.constantFrom(true, true, false),
    localAddresses: fc.constantFrom<string[][]>(["10.0.0.9"], ["fd00::9", "10.0.0.2"]),
    sysctls: fc.constantFrom<Record<string, number>[]>({ "net.ipv4.ip_forward": 0 }, { "net.ipv6.conf.all.forwarding": 0 }, { "net.ipv4.vs.conntrack": 0 }, { "net.ipv4.ip_forward": 1 }),
  },
  { requiredKeys: ["connection"] },
);

let stackCounter = 0;

function hostSpec(props: IpvsHostProps, services: readonly Svc[]): HostSpec {
  const c = props.connection;
  return {
    name: "lb",
    virtualServices: services.map((s) => ({ ...s.props, name: s.name, realServers: s.realServers, aliases: s.aliases })),
    conntrack: props.conntrack,
    localAddresses: props.localAddresses,
    sysctls: props.sysctls,
    unsafeSysctls: props.unsafeSysctls,
    // A literal connection.host is the host's ssh endpoint in the model (IpvsHost.toSpec).
    ssh: { host: c.host, port: c.port ?? 22 },
  };
}

/** What checking the whole host says (undefined: valid), with the constructs' paths. */
function wholeHost(stackId: string, props: IpvsHostProps, services: readonly Svc[]): IpvsModelError | undefined {
  const host = `${stackId}/lb`;
  const paths: PathNamer = { host, service: (i) => `${host}/${services[i].name}`, realServer: (s, i) => `${s}/realServer[${i}]`, alias: (s, i) => `${s}/alias[${i}]` };
  try {
    buildDesiredHost(hostSpec(props, services), paths);
    return undefined;
  } catch (e) {
    if (e instanceof IpvsModelError) return e;
    throw e;
  }
}

function run(props: IpvsHostProps, ops: readonly Op[]): void {
  const stackId = `s${stackCounter++}`;
  const empty = wholeHost(stackId, props, []);
  if (empty) {
    // Host-level props that contradict each other (conntrack true, net.ipv4.vs.conntrack=0).
    expect(() => new IpvsHost(new TerraformStack(Testing.app(), stackId), "lb", { ...props, engine: "terraform_data" })).toThrow(empty.message);
    return;
  }
  const lb = new IpvsHost(new TerraformStack(Testing.app(), stackId), "lb", { ...props, engine: "terraform_data" });
  let services: Svc[] = [];
  const constructs: VirtualService[] = [];
  let refused = 0;
  for (const o of ops) {
    let next: Svc[];
    let add: () => void;
    if (o.kind === "service") {
      if (services.some((s) => s.name === o.name)) continue; // a construct id rule, not the model's
      next = [...services, { name: o.name, props: o.props, realServers: [], aliases: [] }];
      add = () => constructs.push(lb.addVirtualService(o.name, o.props));
    } else {
      if (services.length === 0) continue;
      const i = o.service % services.length;
      next = services.map((s, j) => (j !== i ? s : o.kind === "realServer" ? { ...s, realServers: [...s.realServers, o.rs] } : { ...s, aliases: [...s.aliases, o.alias] }));
      add = o.kind === "realServer" ? () => constructs[i].addRealServer(o.rs) : () => constructs[i].addAlias(o.alias);
    }
    const expected = wholeHost(stackId, props, next);
    let thrown: unknown;
    try {
      add();
    } catch (e) {
      thrown = e;
    }
    if (expected) {
      refused++;
      if (!(thrown instanceof IpvsModelError)) throw new Error(`${JSON.stringify(o)} was accepted; the whole host's check says:\n${expected.message}`);
      expect(thrown.message).toBe(expected.message);
      expect(thrown.issues).toEqual(expected.issues);
    } else {
      if (thrown) throw new Error(`${JSON.stringify(o)} was refused, but the whole host is valid:\n${(thrown as Error).message}`);
      services = next;
    }
  }
  expect(lb.toSpec()).toEqual(hostSpec(props, services));
  const viaSpec = IpvsHost.fromSpec(new TerraformStack(Testing.app(), stackId), "lb", hostSpec(props, services), { ...props, engine: "terraform_data" });
  expect(lb.desiredState).toEqual(viaSpec.desiredState);
  expect(Testing.synth(TerraformStack.of(lb))).toBe(Testing.synth(TerraformStack.of(viaSpec)));
  stats.refused += refused;
  stats.accepted += services.length + services.reduce((n, s) => n + s.realServers.length + s.aliases.length, 0);
}

const stats = { refused: 0, accepted: 0 };

describe(`add* checked incrementally does what checking the whole host does (fast-check seed ${FC_SEED})`, () => {
  test("random sequences of adds: same refusals with the same errors, same acceptances, same cdk.tf.json", () => {
    fc.assert(
      fc.property(hostProps, fc.array(op, { minLength: 10, maxLength: 40, size: "max" }), (props, ops) => run(props, ops)),
      { numRuns: runs(120) },
    );
    // The universe is small on purpose: both outcomes must be common.
    expect(stats.refused).toBeGreaterThan(500);
    expect(stats.accepted).toBeGreaterThan(500);
  });
});
