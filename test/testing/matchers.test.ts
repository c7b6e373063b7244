import { DataResource, Testing, TerraformStack } from "cdktf";
import { ipvsMatchers } from "../../lib/testing";

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
    expect(result.message()).toBe("expected an alias on port 1020; aliases found: 172.16.1.8:22: port 1010 → tcp 172.16.1.8:1000 (REDIRECT)");
  });
});
