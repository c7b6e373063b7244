import { parseIptablesArgs, parseShell } from "../../lib/words";

const words = (line: string) => parseShell(line).commands[0].words.map((w) => w.text);

describe("parseIptablesArgs reads the seed's alias rules", () => {
  test("REDIRECT as the seed wrote it", () => {
    expect(parseIptablesArgs(words("-t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"))).toEqual({
      table: "nat",
      operation: "append",
      chain: "PREROUTING",
      protocol: "tcp",
      destinationPort: "1010",
      jump: "REDIRECT",
      toPorts: "1000",
      other: [],
      problems: [],
    });
  });

  test("DNAT to the service address and port", () => {
    expect(parseIptablesArgs(words("-t nat -I PREROUTING 1 -d 172.16.1.8 -p tcp --dport 1020 -j DNAT --to-destination 172.16.1.8:1000"))).toMatchObject({
      operation: "insert",
      chain: "PREROUTING",
      destination: { address: "172.16.1.8", negated: false },
      toDestination: { address: "172.16.1.8", port: "1000" },
      other: ["1"],
    });
  });

  test("an iptables-save line with our comment (quoted, as iptables prints it)", () => {
    const line = '-A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment "cdktf-ipvs app" -j REDIRECT --to-ports 1000';
    expect(parseIptablesArgs(words(line), "nat")).toMatchObject({
      table: "nat",
      chain: "CDKTF-IPVS-PRE",
      destination: { address: "172.16.1.8", prefix: 32 },
      comment: "cdktf-ipvs app",
      toPorts: "1000",
      other: ["-m", "tcp", "-m", "comment"],
      problems: [],
    });
  });

  test("ip6tables DNAT with a bracketed destination", () => {
    expect(parseIptablesArgs(words("-t nat -A OUTPUT -d fd00:16::8/128 -p udp --dport 5353 -j DNAT --to-destination [fd00:16::8]:53")).toDestination).toEqual({
      address: "fd00:16::8",
      port: "53",
    });
  });

  test("negation is kept on the destination", () => {
    expect(parseIptablesArgs(words("-t nat -A PREROUTING ! -d 10.0.0.1 -j RETURN")).destination).toEqual({ address: "10.0.0.1", negated: true });
  });

  test("-w waits for the xtables lock; its seconds are optional and it never takes the next option", () => {
    expect(parseIptablesArgs(words("-w -t nat -A PREROUTING -j RETURN"))).toMatchObject({ table: "nat", chain: "PREROUTING", other: ["-w"], problems: [] });
    expect(parseIptablesArgs(words("--wait 5 -t nat -F"))).toMatchObject({ table: "nat", operation: "flush", other: ["--wait", "5"], problems: [] });
  });

  test("chain operations without a chain, and broken input as problems", () => {
    expect(parseIptablesArgs(["-t", "nat", "-F"])).toMatchObject({ operation: "flush", problems: [] });
    expect(parseIptablesArgs(["-A"]).problems).toEqual(["-A needs a chain"]);
    expect(parseIptablesArgs(["-t", "nat", "-A", "X", "--dport"]).problems).toEqual(["--dport needs a value"]);
    expect(parseIptablesArgs(["__proto__"]).problems).toEqual(['unexpected argument "__proto__"']);
  });
});
