import { ipvsServiceKeyOf, parseIpvsadmArgs, parseShell, splitHostPort } from "../../lib/words";

const words = (line: string) => parseShell(line).commands[0].words.map((w) => w.text);

describe("parseIpvsadmArgs reads ipvsadm -Sn lines as measured in the lab (lab/FINDINGS.md)", () => {
  test("a service with scheduler", () => {
    expect(parseIpvsadmArgs(words("-A -t 172.16.1.8:1000 -s rr"))).toEqual({
      action: "add-service",
      service: { kind: "address", protocol: "tcp", host: "172.16.1.8", port: "1000" },
      scheduler: "rr",
      other: [],
      problems: [],
    });
  });

  test("a real server with forwarding and weight", () => {
    expect(parseIpvsadmArgs(words("-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3"))).toMatchObject({
      action: "add-server",
      server: { host: "172.16.1.8", port: "1002" },
      forwarding: "masquerade",
      weight: "3",
      problems: [],
    });
  });

  test("persistence with netmask, UDP", () => {
    expect(parseIpvsadmArgs(words("-A -u 172.16.1.8:53 -s wrr -p 300 -M 255.255.255.0"))).toMatchObject({
      service: { protocol: "udp", port: "53" },
      persistence: "300",
      netmask: "255.255.255.0",
    });
  });

  test("SCTP with scheduler flags, and ipip with --tun-type kept as other", () => {
    expect(parseIpvsadmArgs(words("-A --sctp-service 172.16.1.8:2000 -s sh -b sh-fallback,sh-port"))).toMatchObject({
      service: { protocol: "sctp" },
      schedulerFlags: ["sh-fallback", "sh-port"],
    });
    expect(parseIpvsadmArgs(words("-a --sctp-service 172.16.1.8:2000 -r 10.9.9.10:2000 -i -w 1 --tun-type ipip"))).toMatchObject({
      forwarding: "ipip",
      other: ["--tun-type", "ipip"],
      problems: [],
    });
  });

  test("IPv6 in brackets, and firewall marks", () => {
    expect(parseIpvsadmArgs(words("-a -t [fd00:16::8]:1000 -r [fd00:16::8]:1001 -m -w 0"))).toMatchObject({
      service: { host: "fd00:16::8", port: "1000" },
      server: { host: "fd00:16::8", port: "1001" },
      weight: "0",
    });
    expect(parseIpvsadmArgs(words("-A -f 7 -s mh -b mh-port"))).toMatchObject({ service: { kind: "fwmark", fwmark: "7", ipv6: false } });
  });

  test("service names instead of ports, as ipvsadm -S without -n prints them", () => {
    expect(parseIpvsadmArgs(words("-A -u 172.16.1.8:domain -s wrr"))).toMatchObject({ service: { port: "domain" } });
  });
});

describe("parseIpvsadmArgs reads commands as people write them", () => {
  test("long options and a real server without a port", () => {
    expect(parseIpvsadmArgs(words("--add-server --tcp-service 10.0.0.1:80 --real-server 10.0.0.2 --masquerading --weight 5"))).toMatchObject({
      action: "add-server",
      server: { host: "10.0.0.2" },
      forwarding: "masquerade",
      weight: "5",
    });
  });

  test("-p without a timeout means ipvsadm's default of 300 s", () => {
    expect(parseIpvsadmArgs(words("-A -t 10.0.0.1:443 -s sh -p")).persistence).toBe("300");
  });

  test("clusters such as -Sn and -Ln, and -C", () => {
    expect(parseIpvsadmArgs(["-Sn"])).toMatchObject({ action: "save", other: ["-n"] });
    expect(parseIpvsadmArgs(["-Ln", "--thresholds"])).toMatchObject({ action: "list", other: ["-n", "--thresholds"] });
    expect(parseIpvsadmArgs(["-C"]).action).toBe("clear");
  });

  test("missing values and stray words are problems, not crashes", () => {
    expect(parseIpvsadmArgs(["-A", "-t"]).problems).toEqual(["-t needs a value"]);
    expect(parseIpvsadmArgs(["-A", "-t", "nonsense", "x"]).problems).toEqual(['unexpected argument "x"', 'service "nonsense" is not host:port']);
    expect(parseIpvsadmArgs(["constructor", "-s", "__proto__"]).problems).toEqual(['unexpected argument "constructor"']);
  });
});

describe("service keys and host:port", () => {
  test("keys are written as ipvsadm -Sn writes them", () => {
    expect(ipvsServiceKeyOf({ kind: "address", protocol: "tcp", host: "fd00::8", port: "443" })).toBe("-t [fd00::8]:443");
    expect(ipvsServiceKeyOf({ kind: "address", protocol: "sctp", host: "10.0.0.1", port: "9" })).toBe("--sctp-service 10.0.0.1:9");
    expect(ipvsServiceKeyOf({ kind: "fwmark", fwmark: "7", ipv6: true })).toBe("-f 7 -6");
  });

  test("splitHostPort refuses text that is neither", () => {
    expect(splitHostPort("a b")).toBeUndefined();
    expect(splitHostPort("[fd00::1]")).toEqual({ host: "fd00::1" });
  });
});

describe("our own rendered rules read back", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildDesiredHost } = require("../../lib/model") as typeof import("../../lib/model");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ipvsRules } = require("../../lib/render") as typeof import("../../lib/render");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { seedHost, seedService } = require("../fixtures") as typeof import("../fixtures");

  test("every rendered line parses without problems, with its service key intact", () => {
    const host = buildDesiredHost(
      seedHost({
        virtualServices: [
          seedService(),
          seedService({ name: "v6", address: "fd00:16::8", port: 443, aliases: [], persistence: { timeout: 60, netmask: 64 }, realServers: [{ address: "fd00:16::9", forwarding: "ipip", weight: 0, upperThreshold: 10, lowerThreshold: 5 }] }),
        ],
      }),
    );
    const lines = ipvsRules(host.services);
    expect(lines.length).toBe(5);
    for (const line of lines) {
      const cmd = parseIpvsadmArgs(line.split(" "));
      expect(cmd.problems).toEqual([]);
      expect(line).toContain(ipvsServiceKeyOf(cmd.service!));
    }
    expect(parseIpvsadmArgs(lines[4].split(" "))).toMatchObject({ forwarding: "ipip", weight: "0", upperThreshold: "10", lowerThreshold: "5", other: ["--tun-type", "ipip"] });
  });
});
