/**
 * The constructs accept exactly what lib/model (and so the CLI) accepts: fromSpec validates the
 * whole host entry first, service ids are service names, and the SSH endpoint Terraform
 * provisions through is part of the spec the model checks.
 */
import { TerraformStack, TerraformVariable, Testing } from "cdktf";
import { IpvsHost, IpvsHostProps } from "../../lib/constructs";
import { HostSpec, buildDesiredSpec } from "../../lib/model";
import { modelIssues } from "../model-issues";

function newStack(id = "s"): TerraformStack {
  return new TerraformStack(Testing.app(), id);
}

const connection = { host: "10.0.0.1" };

describe("SSH lockout: a service or alias cannot take over the endpoint Terraform provisions through", () => {
  test("a service on connection.host:22 throws at addVirtualService, naming the path and the conflict", () => {
    const lb = new IpvsHost(newStack("stack"), "lb1", { connection });
    expect(() => lb.addVirtualService("ssh", { address: "10.0.0.1", port: 22 })).toThrow(
      /^stack\/lb1\/ssh: virtual service tcp 10\.0\.0\.1:22 is the SSH endpoint Terraform uses \(ssh 10\.0\.0\.1:22\)/,
    );
    // The refused service is not left behind.
    expect(lb.node.tryFindChild("ssh")).toBeUndefined();
    expect(() => lb.addVirtualService("ssh", { address: "10.0.0.1", port: 2022 })).not.toThrow();
  });

  test("an alias on a custom connection.port throws at addAlias, naming the alias and the conflict", () => {
    const lb = new IpvsHost(newStack("stack"), "lb1", { connection: { host: "10.0.0.1", port: 2222 } });
    const app = lb.addVirtualService("app", { address: "10.0.0.1", port: 1000 });
    app.addRealServer({ address: "10.0.0.1", port: 1001, forwarding: "masquerade" });
    expect(() => app.addAlias({ port: 2222, method: "dnat" })).toThrow(
      /^stack\/lb1\/app\/alias\[0\]: alias tcp 10\.0\.0\.1:2222 .*is the SSH endpoint Terraform uses \(ssh 10\.0\.0\.1:2222\)/,
    );
    expect(lb.desiredState.aliases).toEqual([]);
    // Port 22 is free when SSH listens elsewhere.
    expect(() => app.addAlias({ port: 22, method: "dnat" })).not.toThrow();
  });

  test("toSpec carries the literal SSH endpoint, and none for a Terraform reference", () => {
    expect(new IpvsHost(newStack(), "lb1", { connection: { host: "10.0.0.1", port: 2222 } }).toSpec().ssh).toEqual({ host: "10.0.0.1", port: 2222 });
    expect(new IpvsHost(newStack(), "lb1", { connection }).toSpec().ssh).toEqual({ host: "10.0.0.1", port: 22 });
    const stack = newStack();
    const host = new TerraformVariable(stack, "host", { type: "string" });
    expect(new IpvsHost(stack, "lb1", { connection: { host: host.stringValue } }).toSpec().ssh).toBeUndefined();
  });

  test("fromSpec refuses a spec whose service is the SSH endpoint before creating anything", () => {
    const stack = newStack();
    const spec: HostSpec = { name: "lb1", virtualServices: [{ name: "ssh", address: "10.0.0.1", port: 22 }] };
    const issues = modelIssues(() => IpvsHost.fromSpec(stack, "lb", spec, { connection }));
    expect(issues.map((i) => i.path)).toEqual(["s/lb.virtualServices[0]"]);
    expect(issues[0].message).toMatch(/is the SSH endpoint Terraform uses/);
    expect(stack.node.tryFindChild("lb")).toBeUndefined();
  });
});

describe("IpvsHost.fromSpec agrees with the CLI", () => {
  test("an ssh entry in the spec must agree with the connection", () => {
    const spec: HostSpec = { name: "lb1", ssh: { host: "10.0.0.2" } };
    expect(modelIssues(() => IpvsHost.fromSpec(newStack(), "lb", spec, { connection })).map((i) => `${i.path}: ${i.message}`)).toEqual([
      's/lb: ssh {"host":"10.0.0.2"} contradicts connection 10.0.0.1 port 22, which is where Terraform connects; make them agree or leave ssh out of the spec',
    ]);
    expect(() => IpvsHost.fromSpec(newStack(), "lb", { name: "lb1", ssh: { host: "10.0.0.1", port: 22 } }, { connection })).not.toThrow();
  });

  const good: HostSpec = {
    name: "lb1",
    virtualServices: [{ name: "app", address: "172.16.1.8", port: 1000, realServers: [{ address: "172.16.1.8", port: 1001, forwarding: "masquerade" }] }],
  };

  test("an unknown host-level key (sysctl for sysctls) is refused, not ignored, and nothing is created", () => {
    const stack = newStack();
    const spec = { ...good, sysctl: { "net.ipv4.vs.expire_nodest_conn": 1 } } as HostSpec;
    const issues = modelIssues(() => IpvsHost.fromSpec(stack, "lb", spec, { connection }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "s/lb", prop: "sysctl" });
    expect(issues[0].message).toMatch(/^sysctl .* is not a known prop; allowed: .*sysctls/);
    expect(stack.node.tryFindChild("lb")).toBeUndefined();
  });

  test('a service name "a/b" is refused (not renamed to "a--b")', () => {
    const stack = newStack();
    const spec: HostSpec = { ...good, virtualServices: [{ ...good.virtualServices![0], name: "a/b" }] };
    const issues = modelIssues(() => IpvsHost.fromSpec(stack, "lb", spec, { connection }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([expect.stringMatching(/^s\/lb\.virtualServices\[0\]: name "a\/b" is not a valid name/)]);
    expect(stack.node.findAll().some((c) => c.node.id === "a--b")).toBe(false);
  });

  test("every problem is reported at once, with the same messages the CLI prints", () => {
    const spec = {
      name: "lb1",
      sysctl: {},
      virtualServices: [
        { name: "a/b", address: "172.16.1.8", port: 1000 },
        { name: "app", address: "172.16.1.9", port: 1000, realServers: [{ address: "172.16.1.9", forwarding: "masquerade", weight: -5 }] },
      ],
    } as unknown as HostSpec;
    const fromSpec = modelIssues(() => IpvsHost.fromSpec(newStack(), "lb", spec, { connection }));
    const cli = modelIssues(() => buildDesiredSpec({ hosts: [spec] }));
    expect(fromSpec.length).toBeGreaterThanOrEqual(3);
    expect(fromSpec.map((i) => i.message)).toEqual(cli.map((i) => i.message));
    // Same places, named from the host's construct path instead of spec.hosts[0].
    expect(fromSpec.map((i) => i.path)).toEqual(cli.map((i) => i.path.replace("spec.hosts[0]", "s/lb")));
  });

  test("bad connection props are reported together with the spec's problems", () => {
    const spec = { ...good, sysctl: {} } as HostSpec;
    const issues = modelIssues(() => IpvsHost.fromSpec(newStack(), "lb", spec, { connection: { host: "10.0.0.1", port: 0 } }));
    expect(issues.map((i) => i.prop).sort()).toEqual(["connection.port", "sysctl"]);
  });

  test("a service named like a provisioning step is refused with the reason (cdktf ids must be unique)", () => {
    const spec: HostSpec = { ...good, virtualServices: [{ ...good.virtualServices![0], name: "ipvs" }] };
    const issues = modelIssues(() => IpvsHost.fromSpec(newStack(), "lb", spec, { connection }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      's/lb.virtualServices[0]: name "ipvs" is the construct id of the host\'s ipvs provisioning step; cdktf needs unique ids on a host, so rename the service (reserved: modules, sysctls, ipvs, aliases, boot, verify)',
    ]);
  });

  test("a valid spec builds the same services under the same names", () => {
    const lb = IpvsHost.fromSpec(newStack(), "lb", good, { connection });
    expect(lb.desiredState.services.map((s) => [s.name, s.path])).toEqual([["app", "s/lb/app"]]);
  });
});

describe("unsafeSysctls", () => {
  const sysctls = { "kernel.panic": 10 };

  test("sysctls outside the load-balancer allowlist are refused by default", () => {
    const issues = modelIssues(() => new IpvsHost(newStack(), "lb1", { connection, sysctls }));
    expect(issues.map((i) => i.prop)).toEqual(['sysctls["kernel.panic"]']);
    expect(issues[0].message).toMatch(/unsafeSysctls: true/);
  });

  test("the prop opts in, reaches the spec, and the desired state lists the key", () => {
    const lb = new IpvsHost(newStack(), "lb1", { connection, sysctls, unsafeSysctls: true });
    expect(lb.toSpec().unsafeSysctls).toBe(true);
    expect(lb.desiredState.unsafeSysctls).toEqual(["kernel.panic"]);
  });

  test("fromSpec takes it from the spec, and props override the spec", () => {
    const spec: HostSpec = { name: "lb1", sysctls, unsafeSysctls: true };
    expect(IpvsHost.fromSpec(newStack(), "lb", spec, { connection }).desiredState.unsafeSysctls).toEqual(["kernel.panic"]);
    const issues = modelIssues(() => IpvsHost.fromSpec(newStack(), "lb", spec, { connection, unsafeSysctls: false }));
    expect(issues.map((i) => `${i.path} ${i.prop}`)).toEqual(['s/lb sysctls["kernel.panic"]']);
  });

  test("must be a boolean", () => {
    const issues = modelIssues(() => new IpvsHost(newStack(), "lb1", { connection, unsafeSysctls: "yes" } as unknown as IpvsHostProps));
    expect(issues.map((i) => i.message)).toContain('unsafeSysctls "yes" is not a boolean');
  });
});

describe("addVirtualService ids are service names", () => {
  const newHost = () => new IpvsHost(newStack("stack"), "lb1", { connection });
  const service = { address: "172.16.1.8", port: 1000 };

  test('"a/b" is refused before any construct is created (constructs would rename it to "a--b")', () => {
    const lb = newHost();
    const issues = modelIssues(() => lb.addVirtualService("a/b", service));
    expect(issues).toEqual([
      {
        path: "stack/lb1",
        prop: "id",
        value: "a/b",
        message:
          'virtual service id "a/b" is not a valid service name (the id is the service\'s name on the host); allowed: 1–40 characters of A–Z a–z 0–9 _ . -, starting with a letter or digit',
      },
    ]);
    expect(lb.node.children.some((c) => c.node.id === "a--b")).toBe(false);
  });

  test("empty, too long or badly started ids are refused; 40 characters are fine", () => {
    const lb = newHost();
    for (const id of ["", "x".repeat(41), ".app", "-app", "app name", "app${x}"]) {
      expect(modelIssues(() => lb.addVirtualService(id, service)).map((i) => i.prop)).toEqual(["id"]);
    }
    expect(() => lb.addVirtualService("x".repeat(40), service)).not.toThrow();
  });

  test("a second service with the same id is an IpvsModelError naming the first", () => {
    const lb = newHost();
    lb.addVirtualService("app", service);
    expect(modelIssues(() => lb.addVirtualService("app", { address: "172.16.1.9", port: 1000 }))[0].message).toBe(
      'virtual service id "app" is already used by stack/lb1/app; service names must be unique on a host',
    );
  });

  test("ids of the provisioning steps are refused with the reason", () => {
    const lb = newHost();
    expect(modelIssues(() => lb.addVirtualService("verify", service))[0].message).toMatch(/^id "verify" is the construct id of the host's verify provisioning step/);
  });

  test("props that would rename the service or bypass addRealServer/addAlias are refused", () => {
    const lb = newHost();
    const issues = modelIssues(() => lb.addVirtualService("app", { ...service, name: "other", realServers: [] } as never));
    expect(issues.map((i) => `${i.path} ${i.prop}`)).toEqual(["stack/lb1/app name", "stack/lb1/app realServers"]);
    expect(issues[0].message).toMatch(/\(the id is the name\)/);
  });
});
