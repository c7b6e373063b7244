import { DataResource, Testing, TerraformStack } from "cdktf";
import { IpvsHost } from "../../lib/constructs";
import { ipvsMatchers } from "../../lib/testing";
import { seedHost } from "../fixtures";

expect.extend(ipvsMatchers);
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace jest {
    interface Matchers<R> {
      toPassIpvsPolicy(failOn?: "error" | "warning" | "info"): R;
      toHaveIpvsAlias(expected: { port: number; service?: string; host?: string }): R;
    }
  }
}

const SEED = [
  "ipvsadm -A -t 172.16.1.8:1000 -s rr",
  "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m",
  "iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000",
];
const PERSISTED = ["printf 'ip_vs\\n' > /etc/modules-load.d/ipvs.conf", "modprobe ip_vs", "echo 'net.ipv4.vs.conntrack = 1' > /etc/sysctl.d/90-ipvs.conf", "sysctl -p /etc/sysctl.d/90-ipvs.conf"];

function synth(inline: string[]): string {
  const stack = new TerraformStack(Testing.app(), "hand");
  new DataResource(stack, "lb", { connection: { type: "ssh", host: "172.16.1.8" }, provisioners: [{ type: "remote-exec", inline }] });
  return Testing.synth(stack);
}

describe("toPassIpvsPolicy", () => {
  test("fails on the seed's stack, and the message shows the finding", () => {
    const result = ipvsMatchers.toPassIpvsPolicy(synth(SEED));
    expect(result.pass).toBe(false);
    expect(result.message()).toContain("[error] IPVS101 172.16.1.8:22 terraform_data.lb: REDIRECT to IPVS service tcp 172.16.1.8:1000");
    expect(result.message()).toContain("iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000");
  });

  test("passes on the fixed stack, also with --fail-on warning when conntrack is persisted", () => {
    expect(synth([...PERSISTED, ...SEED])).toPassIpvsPolicy();
    expect(synth([...PERSISTED, ...SEED])).toPassIpvsPolicy("warning");
    expect(synth(["sysctl -w net.ipv4.vs.conntrack=1", ...SEED])).not.toPassIpvsPolicy("warning");
  });
});

describe("toHaveIpvsAlias", () => {
  test("finds the seed's alias, with or without the service", () => {
    expect(synth(SEED)).toHaveIpvsAlias({ port: 1010 });
    expect(synth(SEED)).toHaveIpvsAlias({ port: 1010, service: "172.16.1.8:1000", host: "172.16.1.8:22" });
  });

  test("says which aliases exist when the wanted one does not", () => {
    const result = ipvsMatchers.toHaveIpvsAlias(synth(SEED), { port: 1020 });
    expect(result.pass).toBe(false);
    expect(result.message()).toBe("expected an alias on port 1020; aliases found: 172.16.1.8:22: port 1010 → 172.16.1.8:1000 (tcp, REDIRECT)");
  });
});

describe("the matchers on cdktf-ipvs's own hosts (IpvsHost)", () => {
  /** The seed declared with IpvsHost; the spec's aliases are REDIRECT 1010 and DNAT 1020. */
  function synthOurs(host = "172.16.1.8"): string {
    const stack = new TerraformStack(Testing.app(), "ours");
    IpvsHost.fromSpec(stack, "lb1", seedHost(), { engine: "terraform_data", connection: { host, privateKeyPath: "/k", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7b4J3UZXcFd0f4Z4o0T0WQx3w0V9g4hFQn6m5Q7cCk" } });
    return Testing.synth(stack);
  }

  test("given an IpvsHost with aliases, toHaveIpvsAlias finds them by port, service and host (name or SSH endpoint)", () => {
    const stack = synthOurs();
    expect(stack).toHaveIpvsAlias({ port: 1010, service: "172.16.1.8:1000" });
    expect(stack).toHaveIpvsAlias({ port: 1020, host: "172.16.1.8:22" });
    expect(stack).toHaveIpvsAlias({ port: 1010, host: seedHost().name });
    expect(stack).not.toHaveIpvsAlias({ port: 1030 });
    expect(stack).not.toHaveIpvsAlias({ port: 1010, host: "10.0.0.9:22" });
  });

  test("when the wanted alias is missing, the message lists the IpvsHost's aliases", () => {
    const result = ipvsMatchers.toHaveIpvsAlias(synthOurs(), { port: 1030 });
    expect(result.pass).toBe(false);
    expect(result.message()).toBe(
      "expected an alias on port 1030; aliases found: 172.16.1.8:22: port 1010 → 172.16.1.8:1000 (tcp, REDIRECT); 172.16.1.8:22: port 1020 → 172.16.1.8:1000 (tcp, DNAT)",
    );
  });

  test("toPassIpvsPolicy runs the host rules on the IpvsHost: no error, but the conntrack table warning (IPVS002) fails it at warning", () => {
    expect(synthOurs()).toPassIpvsPolicy();
    const atWarning = ipvsMatchers.toPassIpvsPolicy(synthOurs(), "warning");
    expect(atWarning.pass).toBe(false);
    expect(atWarning.message()).toContain("[warning] IPVS002 172.16.1.8:22");
  });
});
