/** The lockout guard: no TCP service or alias may take over the SSH endpoint Terraform deploys through. */
import { HostSpec, buildDesiredHost } from "../../lib/model";
import { seedHost, seedService } from "../fixtures";
import { issueLines } from "../model-issues";

const check = (spec: unknown) => issueLines(() => buildDesiredHost(spec));
const svc0 = "spec.hosts[0].virtualServices[0]";
const TAIL = "the boot unit would re-apply it at every boot and destroy needs SSH.";

describe("given the SSH endpoint as an IP address", () => {
  test("when a TCP virtual service listens on that address and port, then it is an error naming the conflict", () => {
    const spec = seedHost({ ssh: { host: "172.16.1.8" }, virtualServices: [seedService({ port: 22, aliases: [] })] });
    expect(check(spec)).toEqual([
      `${svc0}: virtual service tcp 172.16.1.8:22 is the SSH endpoint Terraform uses (ssh 172.16.1.8:22); ${TAIL} Move the service or the SSH port.`,
    ]);
  });

  test("when sshd listens on another port and a service takes it, then that port is the conflict", () => {
    const spec = seedHost({ ssh: { host: "172.16.1.8", port: 1000 } });
    expect(check(spec)).toEqual([
      `${svc0}: virtual service tcp 172.16.1.8:1000 is the SSH endpoint Terraform uses (ssh 172.16.1.8:1000); ${TAIL} Move the service or the SSH port.`,
    ]);
  });

  test("when the addresses are written differently, then they are compared in canonical form", () => {
    const spec = seedHost({ ssh: { host: "FD00:16:0::8" }, virtualServices: [{ name: "v6", address: "fd00:16::8", port: 22 }] });
    expect(check(spec)).toEqual([
      `${svc0}: virtual service tcp [fd00:16::8]:22 is the SSH endpoint Terraform uses (ssh [fd00:16::8]:22); ${TAIL} Move the service or the SSH port.`,
    ]);
  });

  test("when a remote-clients alias sits on the SSH port of that address, then it is an error", () => {
    const spec = seedHost({ ssh: { host: "172.16.1.8" }, virtualServices: [seedService({ aliases: [{ port: 1010 }, { port: 22, method: "dnat" }] })] });
    expect(check(spec)).toEqual([
      `${svc0}.aliases[1]: alias tcp 172.16.1.8:22 (to virtual service tcp 172.16.1.8:1000) is the SSH endpoint Terraform uses (ssh 172.16.1.8:22); ${TAIL} Move the alias or the SSH port.`,
    ]);
  });

  test("when an alias on another address is on the SSH port, then that address is compared", () => {
    const spec = seedHost({ ssh: { host: "172.16.1.9" }, virtualServices: [seedService({ aliases: [{ port: 22, address: "172.16.1.9", method: "dnat" }] })] });
    expect(check(spec)).toEqual([
      `${svc0}.aliases[0]: alias tcp 172.16.1.9:22 (to virtual service tcp 172.16.1.8:1000) is the SSH endpoint Terraform uses (ssh 172.16.1.9:22); ${TAIL} Move the alias or the SSH port.`,
    ]);
  });

  test.each<[string, Partial<HostSpec>]>([
    ["a UDP service on the SSH port", { virtualServices: [seedService({ protocol: "udp", port: 22, aliases: [] })] }],
    ["a TCP service on another address", { virtualServices: [seedService({ address: "172.16.1.9", port: 22, aliases: [] })] }],
    ["a TCP service on another port", {}],
    ["a local-clients-only alias on the SSH port", { virtualServices: [seedService({ aliases: [{ port: 22, method: "dnat", remoteClients: false, localClients: true }] })] }],
  ])("when there is only %s, then it is accepted", (_what, overrides) => {
    const host = buildDesiredHost(seedHost({ ssh: { host: "172.16.1.8" }, ...overrides }));
    expect(host.ssh).toEqual({ kind: "address", host: "172.16.1.8", port: 22 });
  });
});

describe("given the SSH endpoint as a DNS name or a Terraform token", () => {
  test("when a TCP service is on the SSH port, then the model accepts it (policy IPVS008 warns)", () => {
    const host = buildDesiredHost(seedHost({ ssh: { host: "lb1.example.com" }, virtualServices: [seedService({ port: 22, aliases: [] })] }));
    expect(host.ssh).toEqual({ kind: "name", host: "lb1.example.com", port: 22 });
    expect(buildDesiredHost(seedHost({ ssh: { host: "lb_1.internal." } })).ssh).toEqual({ kind: "name", host: "lb_1.internal.", port: 22 });
  });

  test("when the host is a cdktf token, then it is kept as only known at apply time, without the token text", () => {
    const host = buildDesiredHost(seedHost({ ssh: { host: "${TfToken[TOKEN.7]}", port: 2222 } }));
    expect(host.ssh).toEqual({ kind: "token", port: 2222 });
    expect(buildDesiredHost(seedHost())).not.toHaveProperty("ssh"); // and without ssh there is none
  });
});

describe("given a malformed SSH endpoint", () => {
  const NOT_HOST = "is not an IP address or DNS name; allowed: an IPv4 or IPv6 address, or a DNS name of A–Z a–z 0–9 _ . - (at most 253 characters)";
  test.each(["lb1 .example.com", "root@lb1", "1.2.3.999", "10.0.0.010", "-lb1.example.com", "lb1..example.com", "lb1.example.com-", "a".repeat(64) + ".example.com", "[fd00::1]"])(
    "when host is %j, then it is refused",
    (bad) => {
      expect(check(seedHost({ ssh: { host: bad } }))).toEqual([`spec.hosts[0]: ssh.host ${JSON.stringify(bad)} ${NOT_HOST}`]);
    },
  );

  test("when port is out of range, not an integer, or host is missing, then each is named", () => {
    expect(check({ ...seedHost(), ssh: { port: 0 } })).toEqual([
      "spec.hosts[0]: ssh.host undefined is missing; give the address or DNS name Terraform connects to over SSH",
      "spec.hosts[0]: ssh.port 0 is out of range; allowed 1–65535",
    ]);
    expect(check({ ...seedHost(), ssh: { host: "lb1", port: "22", user: "root" } })).toEqual([
      "spec.hosts[0]: ssh.user \"root\" is not a known prop; allowed: host, port",
      'spec.hosts[0]: ssh.port "22" must be an integer; allowed 1–65535',
    ]);
  });

  test("when ssh is a string, then it says what is expected", () => {
    expect(check({ ...seedHost(), ssh: "root@lb1:22" })).toEqual(['spec.hosts[0]: ssh "root@lb1:22" is not an object; expected { host, port }']);
  });
});
