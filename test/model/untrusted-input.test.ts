/**
 * A spec.json is untrusted input: whatever its shape, buildDesiredHost and buildDesiredSpec
 * report every problem of the run in one IpvsModelError (shape first, then semantics, nothing
 * twice) and never crash with a TypeError.
 */
import * as fs from "fs";
import * as path from "path";
import {
  AliasSpec,
  HostSpec,
  IpvsModelError,
  PersistenceSpec,
  RealServerSpec,
  SshSpec,
  VirtualServiceSpec,
  buildDesiredHost,
  buildDesiredSpec,
  specPathNamer,
  specSchemaPath,
} from "../../lib/model";
import { seedHost, seedService } from "../fixtures";
import { issueLines } from "../model-issues";

/** Every error becomes a line: untrusted input must never throw anything but an IpvsModelError. */
const issueLinesOrThrew = (run: () => unknown) => issueLines(run, { others: "line" });

const hostIssues = (spec: unknown) => issueLinesOrThrew(() => buildDesiredHost(spec));
const svcPath = "spec.hosts[0].virtualServices[0]";
const withService = (svc: object): unknown => ({ name: "lb1", virtualServices: [svc] });
const plainService = { name: "app", address: "172.16.1.8", port: 1000, scheduler: "rr" };

describe("given lists where objects should be, and objects where lists should be", () => {
  test("when realServers is an object, then one issue names the prop and no TypeError escapes", () => {
    expect(hostIssues(withService({ ...plainService, realServers: { address: "10.0.0.1" } }))).toEqual([
      `${svcPath}: realServers {"address":"10.0.0.1"} is not a list of real servers`,
    ]);
    expect(hostIssues({ name: "lb1", virtualServices: "app" })).toEqual(['spec.hosts[0]: virtualServices "app" is not a list of virtual services']);
  });

  test("when aliases is an object, then one issue names the prop", () => {
    expect(hostIssues(withService({ ...plainService, aliases: { port: 1010 } }))).toEqual([`${svcPath}: aliases {"port":1010} is not a list of aliases`]);
  });

  test("when items are null, nested lists or text, then each item is named once", () => {
    const spec = {
      name: "lb1",
      virtualServices: [[plainService], null, { ...plainService, name: "b", port: 2, realServers: [null, [1], "x"], aliases: [null] }],
    };
    expect(hostIssues(spec)).toEqual([
      'spec.hosts[0].virtualServices[0]: virtualService [{"name":"app","address":"172.16.1.8","port":1000,"scheduler":"rr"}] is not an object',
      "spec.hosts[0].virtualServices[1]: virtualService null is not an object",
      "spec.hosts[0].virtualServices[2].realServers[0]: realServer null is not an object",
      "spec.hosts[0].virtualServices[2].realServers[1]: realServer [1] is not an object",
      'spec.hosts[0].virtualServices[2].realServers[2]: realServer "x" is not an object',
      "spec.hosts[0].virtualServices[2].aliases[0]: alias null is not an object",
    ]);
  });

  test("when the host itself is not an object, then that is the one issue", () => {
    expect(hostIssues(null)).toEqual(["spec.hosts[0]: host null is not an object; expected { name, virtualServices: [...] }"]);
    expect(hostIssues([seedHost()])).toHaveLength(1);
  });
});

describe("given names that exist on Object.prototype", () => {
  test('when schedulerFlags is ["constructor"], then it is an unknown flag, not a TypeError', () => {
    expect(hostIssues(withService({ ...plainService, schedulerFlags: ["constructor"] }))).toEqual([
      `${svcPath}: schedulerFlags[0] "constructor" is not a scheduler flag; allowed: sh-fallback, sh-port, mh-fallback, mh-port`,
    ]);
  });

  test('when schedulerFlags is ["__proto__", "toString"], then both are unknown flags', () => {
    expect(hostIssues(withService({ ...plainService, schedulerFlags: ["__proto__", "toString"] }))).toEqual([
      `${svcPath}: schedulerFlags[0] "__proto__" is not a scheduler flag; allowed: sh-fallback, sh-port, mh-fallback, mh-port`,
      `${svcPath}: schedulerFlags[1] "toString" is not a scheduler flag; allowed: sh-fallback, sh-port, mh-fallback, mh-port`,
    ]);
  });

  test("when a spec.json carries a __proto__ key, then it is an unknown prop", () => {
    const spec = JSON.parse('{"name":"lb1","__proto__":{"conntrack":false}}') as unknown;
    expect(hostIssues(spec)).toEqual([
      'spec.hosts[0]: __proto__ {"conntrack":false} is not a known prop; allowed: name, virtualServices, conntrack, expireNodestConn, expireQuiescentTemplate, localAddresses, sysctls, drainTimeoutSeconds, unsafeSysctls, ssh',
    ]);
  });
});

describe("given numbers that are not integers", () => {
  test('when port is "443" (text), then it must be an integer, with the allowed range', () => {
    expect(hostIssues(withService({ ...plainService, port: "443" }))).toEqual([`${svcPath}: port "443" must be an integer; allowed 1–65535`]);
    // an integer that is only out of range still says so
    expect(hostIssues(withService({ ...plainService, port: 0 }))).toEqual([`${svcPath}: port 0 is out of range; allowed 1–65535`]);
  });

  test("when weight is 1.5, then it must be an integer, with the allowed range", () => {
    const spec = withService({ ...plainService, realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 1.5 }] });
    expect(hostIssues(spec)).toEqual([`${svcPath}.realServers[0]: weight 1.5 must be an integer; allowed 0–65535`]);
  });

  test("when persistence.timeout is 0.5, then it must be an integer, in seconds", () => {
    expect(hostIssues(withService({ ...plainService, persistence: { timeout: 0.5 } }))).toEqual([
      `${svcPath}: persistence.timeout 0.5 must be an integer; allowed 1–2678400 seconds`,
    ]);
  });
});

describe("given many problems at once", () => {
  test("when shape and semantic problems mix, then all come in one run, each once", () => {
    const spec = {
      name: "lb 1",
      extra: true,
      conntrack: "yes",
      localAddresses: ["10.0.0.300"],
      virtualServices: [
        { name: "app", protocol: "icmp", address: "172.16.1.8", port: "443", bogus: 1, persistence: 3 },
        { name: "web", address: "not-an-ip", port: 80, realServers: [{ address: "10.0.0.1", forwarding: "nat", wieght: 2 }] },
      ],
    };
    expect(hostIssues(spec)).toEqual([
      "spec.hosts[0]: extra true is not a known prop; allowed: name, virtualServices, conntrack, expireNodestConn, expireQuiescentTemplate, localAddresses, sysctls, drainTimeoutSeconds, unsafeSysctls, ssh",
      'spec.hosts[0]: name "lb 1" is not a valid name; allowed: 1–63 characters of A–Z a–z 0–9 _ . -, starting with a letter or digit',
      "spec.hosts[0].virtualServices[0]: bogus 1 is not a known prop; allowed: name, protocol, address, port, fwmark, family, scheduler, schedulerFlags, persistence, realServers, aliases, drainTimeoutSeconds, adopt",
      'spec.hosts[0].virtualServices[0]: protocol "icmp" is not supported; allowed: tcp, udp, sctp',
      'spec.hosts[0].virtualServices[0]: port "443" must be an integer; allowed 1–65535',
      "spec.hosts[0].virtualServices[0]: persistence 3 is not an object; expected { timeout, netmask }",
      "spec.hosts[0].virtualServices[1].realServers[0]: wieght 2 is not a known prop; allowed: address, port, forwarding, weight, upperThreshold, lowerThreshold",
      'spec.hosts[0].virtualServices[1].realServers[0]: forwarding "nat" is not a forwarding method; allowed: masquerade, gatewaying, ipip',
      'spec.hosts[0]: conntrack "yes" is not a boolean',
      'spec.hosts[0]: localAddresses[0] "10.0.0.300" is not an IP address; allowed: an IPv4 address (172.16.1.8) or an IPv6 address (fd00::8)',
      'spec.hosts[0].virtualServices[1]: address "not-an-ip" is not an IP address; allowed: an IPv4 address (172.16.1.8) or an IPv6 address (fd00::8)',
    ]);
  });

  test("when a service's address is bad, then its real servers are not also blamed for the family", () => {
    const spec = withService({ name: "v6", address: "fd00::zz", port: 80, realServers: [{ address: "fd00::1", forwarding: "masquerade" }] });
    expect(hostIssues(spec)).toEqual([
      `${svcPath}: address "fd00::zz" is not an IP address; allowed: an IPv4 address (172.16.1.8) or an IPv6 address (fd00::8)`,
    ]);
  });

  test("when a service has neither address nor port nor fwmark, then both missing props are named", () => {
    expect(hostIssues(withService({ name: "x" }))).toEqual([
      `${svcPath}: address undefined is missing; a virtual service needs address and port, or fwmark`,
      `${svcPath}: port undefined is missing; a virtual service needs address and port, or fwmark`,
    ]);
  });

  test("when a required prop is missing, then it is named", () => {
    expect(hostIssues({ virtualServices: [{ ...plainService, realServers: [{ address: "172.16.1.8" }] }] })).toEqual([
      "spec.hosts[0]: name undefined is missing; give the host a name (1–63 characters of A–Z a–z 0–9 _ . -)",
      `${svcPath}.realServers[0]: forwarding undefined is missing; allowed: masquerade, gatewaying, ipip`,
    ]);
  });

  test("when a value is a Terraform token, then it says so instead of a type error", () => {
    expect(hostIssues({ name: "${TfToken[TOKEN.1]}", virtualServices: [{ ...plainService, port: "${TfToken[TOKEN.2]}" }] })).toEqual([
      'spec.hosts[0]: name "${TfToken[TOKEN.1]}" is an unresolved Terraform token; IPVS settings must be known at synth time (plain values)',
      `${svcPath}: port "\${TfToken[TOKEN.2]}" is an unresolved Terraform token; IPVS settings must be known at synth time (plain values)`,
    ]);
  });

  test("when paths come from constructs, then shape issues use the same PathNamer", () => {
    const paths = { host: "stack/lb1", service: () => "stack/lb1/app", realServer: (s: string, i: number) => `${s}/realServer[${i}]`, alias: (s: string, i: number) => `${s}/alias[${i}]` };
    const spec = { name: "lb1", conntrack: undefined, virtualServices: [{ ...plainService, realServers: [{ address: "172.16.1.8", forwarding: "masquerade", weight: "2" }] }] };
    expect(issueLinesOrThrew(() => buildDesiredHost(spec, paths))).toEqual(['stack/lb1/app/realServer[0]: weight "2" must be an integer; allowed 0–65535']);
  });
});

describe("given anything at all", () => {
  const garbage: unknown[] = [
    undefined, null, 0, "x", [], true, Symbol("s"), 10n, () => 1, Object.create(null),
    { name: "lb1", virtualServices: [{ name: "a", address: 1, port: {}, realServers: [{ address: [], forwarding: {}, port: "x", weight: null, upperThreshold: "1", lowerThreshold: -1 }] }] },
    { name: "lb1", virtualServices: [{ name: "a", fwmark: "7", family: 6, persistence: { timeout: null, netmask: {} }, schedulerFlags: "sh-port", aliases: [{}] }] },
    { name: "lb1", virtualServices: [{ ...plainService, aliases: [{ port: null, address: {}, remoteClients: "no", localClients: 1, method: [] }] }] },
    { name: "lb1", sysctls: [], ssh: "root@lb1", unsafeSysctls: "yes" },
    { name: "lb1", sysctls: { "net.ipv4.vs.conntrack": { a: 1 } }, ssh: { host: 5, port: "22" }, localAddresses: [null] },
    { name: "lb1", sysctls: "net.ipv4.ip_forward=1", virtualServices: [{ ...plainService, persistence: [] }] },
    { name: "lb1", virtualServices: [{ ...plainService, aliases: [{ port: 1010 }], realServers: [{ address: "10.0.0.1", forwarding: "gatewaying" }] }], sysctls: { "net.ipv4.vs.conntrack": Object.create(null) } },
    // these crashed with a TypeError before the shape check
    { name: "lb1", localAddresses: "10.0.0.1" },
    { name: "lb1", virtualServices: [{ ...plainService, schedulerFlags: 5 }] },
    { name: "lb1", virtualServices: [{ ...plainService, schedulerFlags: ["constructor"] }] },
    { name: "lb1", virtualServices: [{ ...plainService, realServers: { a: 1 }, aliases: { b: 2 } }] },
    { name: "lb1", virtualServices: [{ ...plainService, realServers: [null], aliases: [[]] }] },
    // values the shape check refuses must not reach the cross-checks (they would be turned into text)
    { name: "lb1", ssh: { host: "172.16.1.8", port: Symbol("x") }, virtualServices: [plainService] },
    { name: "lb1", virtualServices: [{ ...plainService, aliases: [{ port: Symbol("x") }, { port: 1010 }] }] },
    { name: "lb1", virtualServices: [{ name: "m", fwmark: Symbol("x") }, { name: "m2", fwmark: 10n }] },
    { name: "lb1", virtualServices: [{ ...plainService, realServers: [{ address: "172.16.1.8", forwarding: Symbol("x") }], aliases: [{ port: 1010 }] }] },
  ];

  test("when each input is checked as a host, as a spec and as a spec's host, then each is refused with IpvsModelError only", () => {
    const wrong: string[] = [];
    garbage.forEach((g, i) => {
      const runs: [string, () => unknown][] = [
        ["buildDesiredHost", () => buildDesiredHost(g)],
        ["buildDesiredSpec", () => buildDesiredSpec(g)],
        ["buildDesiredSpec hosts[0]", () => buildDesiredSpec({ hosts: [g] })],
      ];
      for (const [what, run] of runs) {
        try {
          run();
          wrong.push(`#${i} ${what}: did not throw`);
        } catch (e) {
          if (!(e instanceof IpvsModelError)) wrong.push(`#${i} ${what}: ${String(e)}`);
        }
      }
    });
    expect(wrong).toEqual([]);
  });
});

describe("buildDesiredSpec, given a broken top level", () => {
  test("when hosts is an object and there is an unknown key, then both are reported", () => {
    expect(issueLinesOrThrew(() => buildDesiredSpec({ hosts: { lb1: {} }, host: [] }))).toEqual([
      "spec: host [] is not a known prop; allowed: $schema, hosts",
      'spec: hosts {"lb1":{}} is not a list; expected { "hosts": [ { "name": ..., "virtualServices": [...] } ] }',
    ]);
  });

  test("when $schema is not text, then it says so", () => {
    expect(issueLinesOrThrew(() => buildDesiredSpec({ $schema: 7, hosts: [] }))).toEqual(["spec: $schema 7 is not text; allowed: the path or URL of spec.schema.json"]);
  });

  test("when the spec is null, then it says what is expected", () => {
    expect(issueLinesOrThrew(() => buildDesiredSpec(null))).toEqual(['spec: spec null is not an object; expected { "hosts": [ { "name": ..., "virtualServices": [...] } ] }']);
  });

  test("when an unknown top-level key comes with broken hosts, then every host's problems come too", () => {
    expect(issueLinesOrThrew(() => buildDesiredSpec({ $schema: "./schema/spec.schema.json", version: 2, hosts: [null, { name: "lb2", virtualServices: 3 }] }))).toEqual([
      "spec: version 2 is not a known prop; allowed: $schema, hosts",
      "spec.hosts[0]: host null is not an object; expected { name, virtualServices: [...] }",
      "spec.hosts[1]: virtualServices 3 is not a list of virtual services",
    ]);
  });
});

describe("the JSON schema and the TypeScript spec types", () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "../../schema/spec.schema.json"), "utf8")) as {
    definitions: Record<string, { properties: Record<string, { properties?: Record<string, unknown> }> }>;
  };
  const props = (def: string) => Object.keys(schema.definitions[def].properties).sort();

  // Required<...> makes the compiler insist on every field; excess-property checks refuse unknown ones.
  const ssh: Required<SshSpec> = { host: "172.16.1.9", port: 2222 };
  const persistence: Required<PersistenceSpec> = { timeout: 60, netmask: "255.255.255.0" };
  const realServer: Required<RealServerSpec> = { address: "172.16.1.8", port: 1001, forwarding: "masquerade", weight: 2, upperThreshold: 10, lowerThreshold: 5 };
  const alias: Required<AliasSpec> = { port: 1010, method: "dnat", address: "172.16.1.8", remoteClients: true, localClients: true };
  const service: Required<VirtualServiceSpec> = { ...seedService({ realServers: [realServer], aliases: [alias] }), family: "ipv4", fwmark: 1, schedulerFlags: [], persistence, drainTimeoutSeconds: 30, adopt: false } as Required<VirtualServiceSpec>;
  const host: Required<HostSpec> = {
    name: "lb1",
    virtualServices: [service],
    conntrack: true,
    expireNodestConn: true,
    expireQuiescentTemplate: true,
    localAddresses: ["10.0.0.1"],
    sysctls: {},
    drainTimeoutSeconds: 60,
    unsafeSysctls: false,
    ssh,
  };

  test("when the schema's props are compared with the types' fields, then they are the same", () => {
    expect(props("host")).toEqual(Object.keys(host).sort());
    expect(props("virtualService")).toEqual(Object.keys(service).sort());
    expect(props("realServer")).toEqual(Object.keys(realServer).sort());
    expect(props("alias")).toEqual(Object.keys(alias).sort());
    expect(Object.keys(schema.definitions.virtualService.properties.persistence.properties ?? {}).sort()).toEqual(Object.keys(persistence).sort());
    expect(Object.keys(schema.definitions.host.properties.ssh.properties ?? {}).sort()).toEqual(Object.keys(ssh).sort());
  });

  test("when a host uses every field (without the fwmark), then it is valid", () => {
    const { fwmark: _fwmark, family: _family, ...addressService } = service;
    expect(issueLinesOrThrew(() => buildDesiredHost({ ...host, virtualServices: [addressService] }, specPathNamer(0)))).toEqual(["(no error)"]);
  });

  test("when the schema is looked up, then it is the shipped file", () => {
    expect(specSchemaPath()).toBe(path.resolve(__dirname, "../../schema/spec.schema.json"));
  });
});
