import { fileCategory, parseModulesFile, parseSysctlConf, readTerraformConfiguration, RecognizedEvent, recognizeStep, resourceSteps } from "../../lib/stack";

/** The recognized events of a null_resource whose only provisioner runs these inline lines. */
function eventsOf(...inline: string[]): RecognizedEvent[] {
  return eventsOfProvisioners([{ "remote-exec": { inline } }]);
}

function eventsOfProvisioners(provisioner: object[]): RecognizedEvent[] {
  const stack = readTerraformConfiguration({ resource: { null_resource: { lb: { connection: { host: "172.16.1.8" }, provisioner } } } });
  return resourceSteps(stack, stack.resources[0]).steps.flatMap(recognizeStep);
}

/** Events without the parsed command/rule objects, for exact comparison of what matters. */
function brief(events: readonly RecognizedEvent[]): object[] {
  return events.map((e) => {
    if (e.kind === "ipvs") return { kind: e.kind, action: e.action, via: e.via, service: e.command.service, server: e.command.server };
    if (e.kind === "nat") {
      const { rule, ...rest } = e; // eslint-disable-line @typescript-eslint/no-unused-vars
      return rest;
    }
    if (e.kind === "file-write") {
      const { content, ...rest } = e; // eslint-disable-line @typescript-eslint/no-unused-vars
      return rest;
    }
    return e;
  });
}

const SEED_SERVICE = { kind: "address", protocol: "tcp", host: "172.16.1.8", port: "1000" };

describe("IPVS", () => {
  test("the seed's ipvsadm commands: one service, two real servers", () => {
    const events = eventsOf("ipvsadm -A -t 172.16.1.8:1000 -s rr", "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m", "ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m");
    expect(brief(events)).toEqual([
      { kind: "ipvs", action: "add-service", via: "ipvsadm", service: SEED_SERVICE, server: undefined },
      { kind: "ipvs", action: "add-server", via: "ipvsadm", service: SEED_SERVICE, server: { host: "172.16.1.8", port: "1001" } },
      { kind: "ipvs", action: "add-server", via: "ipvsadm", service: SEED_SERVICE, server: { host: "172.16.1.8", port: "1002" } },
    ]);
  });

  test("-E, -e and -C", () => {
    expect(eventsOf("ipvsadm -E -t 172.16.1.8:1000 -s wrr", "ipvsadm -e -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 0", "ipvsadm -C").map((e) => e.kind === "ipvs" && e.action)).toEqual([
      "edit-service",
      "edit-server",
      "clear",
    ]);
  });

  test("ipvsadm -R and ipvsadm-restore read each line of their here-document", () => {
    const events = eventsOf("ipvsadm -R <<EOF\n-A -t 172.16.1.8:1000 -s rr\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m\nEOF", "sudo ipvsadm-restore <<'EOF'\n# saved\n-A -t 172.16.1.8:1000 -s rr\nEOF");
    expect(brief(events)).toEqual([
      { kind: "ipvs", action: "add-service", via: "ipvsadm -R", service: SEED_SERVICE, server: undefined },
      { kind: "ipvs", action: "add-server", via: "ipvsadm -R", service: SEED_SERVICE, server: { host: "172.16.1.8", port: "1001" } },
      { kind: "ipvs", action: "add-service", via: "ipvsadm-restore", service: SEED_SERVICE, server: undefined },
    ]);
  });

  test("a restore from a file we do not know is reported as such", () => {
    expect(eventsOf("ipvsadm-restore < /etc/ipvsadm.rules")).toEqual([{ kind: "ipvs-restore-unknown", via: "ipvsadm-restore" }]);
  });

  test("a word with $VAR makes the event dynamic", () => {
    expect(eventsOf('ipvsadm -A -t "$VIP:1000" -s rr')).toMatchObject([{ kind: "ipvs", dynamic: true }]);
  });
});

describe("NAT", () => {
  test("the seed's REDIRECT", () => {
    expect(brief(eventsOf("iptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000"))).toEqual([
      { kind: "nat", tool: "iptables", family: "ipv4", operation: "append", chain: "PREROUTING", protocol: "tcp", matchPort: "1010", target: "REDIRECT", toPort: "1000", dynamic: false },
    ]);
  });

  test("DNAT with ip6tables, iptables-nft, and filter-table rules ignored", () => {
    const events = eventsOf(
      "ip6tables -t nat -I OUTPUT -d fd00::8 -p tcp --dport 1020 -j DNAT --to-destination [fd00::8]:1000",
      "iptables-nft -w -t nat -A PREROUTING -d 172.16.1.8 -p tcp --dport 1020 -j DNAT --to-destination 172.16.1.8:1000",
      "iptables -A INPUT -p tcp --dport 22 -j ACCEPT",
    );
    expect(brief(events)).toEqual([
      { kind: "nat", tool: "ip6tables", family: "ipv6", operation: "insert", chain: "OUTPUT", protocol: "tcp", matchPort: "1020", matchAddress: "fd00::8", target: "DNAT", toPort: "1000", toAddress: "fd00::8", dynamic: false },
      { kind: "nat", tool: "iptables", family: "ipv4", operation: "append", chain: "PREROUTING", protocol: "tcp", matchPort: "1020", matchAddress: "172.16.1.8", target: "DNAT", toPort: "1000", toAddress: "172.16.1.8", dynamic: false },
    ]);
  });

  test("iptables-restore reads only the *nat section of its input", () => {
    const events = eventsOf("iptables-restore --noflush <<EOF\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-ports 1000\nCOMMIT\nEOF");
    expect(brief(events)).toEqual([{ kind: "nat", tool: "iptables-restore", family: "ipv4", operation: "append", chain: "PREROUTING", protocol: "tcp", matchPort: "1010", target: "REDIRECT", toPort: "1000", dynamic: false }]);
  });

  test("nft rules as arguments and from an nft -f - here-document (best effort)", () => {
    const events = eventsOf(
      "nft add rule ip nat prerouting tcp dport 1010 redirect to :1000",
      "nft 'insert rule nat prerouting ip daddr 172.16.1.8 tcp dport 1020 dnat to 172.16.1.8:1000'",
      "nft -f - <<EOF\ntable inet lb {\n  chain pre {\n    type nat hook prerouting priority dstnat;\n    tcp dport 1030 redirect to :1000\n  }\n}\nEOF",
    );
    expect(brief(events)).toEqual([
      { kind: "nat", tool: "nft", family: "ipv4", operation: "append", chain: "prerouting", protocol: "tcp", matchPort: "1010", target: "REDIRECT", toPort: "1000", dynamic: false },
      { kind: "nat", tool: "nft", family: "ipv4", operation: "insert", chain: "prerouting", protocol: "tcp", matchPort: "1020", matchAddress: "172.16.1.8", target: "DNAT", toAddress: "172.16.1.8", toPort: "1000", dynamic: false },
      { kind: "nat", tool: "nft", family: "inet", operation: "append", chain: "pre", protocol: "tcp", matchPort: "1030", target: "REDIRECT", toPort: "1000", dynamic: false },
    ]);
  });
});

describe("sysctl", () => {
  test("set with sysctl -w, plain sysctl k=v, and several at once", () => {
    expect(eventsOf("sysctl -w net.ipv4.vs.conntrack=1", "sudo sysctl -q net.ipv4.ip_forward=1 net/ipv4/vs/expire_nodest_conn=1")).toEqual([
      { kind: "sysctl-set", key: "net.ipv4.vs.conntrack", value: "1", dynamic: false, via: "sysctl" },
      { kind: "sysctl-set", key: "net.ipv4.ip_forward", value: "1", dynamic: false, via: "sysctl" },
      { kind: "sysctl-set", key: "net.ipv4.vs.expire_nodest_conn", value: "1", dynamic: false, via: "sysctl" },
    ]);
  });

  test("writes to /proc/sys with echo, printf, tee and inside sh -c", () => {
    const conntrack = { kind: "sysctl-set", key: "net.ipv4.vs.conntrack", value: "1", dynamic: false, via: "proc" };
    expect(
      eventsOf(
        "echo 1 > /proc/sys/net/ipv4/vs/conntrack",
        "printf '1\\n' >/proc/sys/net/ipv4/vs/conntrack",
        "echo 1 | sudo tee /proc/sys/net/ipv4/vs/conntrack >/dev/null",
        "sudo sh -c 'echo 1 > /proc/sys/net/ipv4/vs/conntrack'",
      ),
    ).toEqual([conntrack, conntrack, conntrack, conntrack]);
    expect(eventsOf('echo "$V" > /proc/sys/net/ipv4/vs/conntrack')).toEqual([{ ...conntrack, value: "$V", dynamic: true }]);
  });

  test("loads: sysctl -p FILE with the entries of a file written before, -p alone, --system, systemctl restart systemd-sysctl", () => {
    const events = eventsOf(
      "cat <<'EOF' > /etc/sysctl.d/90-lb.conf",
      "# for the aliases",
      "net.ipv4.vs.conntrack = 1",
      "EOF",
      "sysctl -p /etc/sysctl.d/90-lb.conf",
      "sysctl -p",
      "sysctl --system",
      "systemctl restart systemd-sysctl",
    );
    expect(brief(events)).toEqual([
      { kind: "file-write", path: "/etc/sysctl.d/90-lb.conf", category: "sysctl.d", via: "redirect", append: false, sysctlEntries: [{ key: "net.ipv4.vs.conntrack", value: "1" }] },
      { kind: "sysctl-load", files: ["/etc/sysctl.d/90-lb.conf"], entries: [{ key: "net.ipv4.vs.conntrack", value: "1", file: "/etc/sysctl.d/90-lb.conf" }], unknownFiles: [] },
      { kind: "sysctl-load", files: ["/etc/sysctl.conf"], entries: [], unknownFiles: ["/etc/sysctl.conf"] },
      { kind: "sysctl-load", files: "system", entries: [], unknownFiles: [] },
      { kind: "sysctl-load", files: "system", entries: [], unknownFiles: [] },
    ]);
  });
});

describe("files and modules", () => {
  test("module-load files by echo >>, tee -a and the file provisioner, with their module names", () => {
    const events = eventsOfProvisioners([
      { "remote-exec": { inline: ["echo ip_vs >> /etc/modules", "printf 'ip_vs\\nip_vs_rr\\n' | sudo tee -a /etc/modules-load.d/ipvs.conf"] } },
      { file: { content: "net.ipv4.vs.conntrack=1\n", destination: "/etc/sysctl.d/90-ipvs.conf" } },
    ]);
    expect(brief(events)).toEqual([
      { kind: "file-write", path: "/etc/modules", category: "modules", via: "redirect", append: true, modules: ["ip_vs"] },
      { kind: "file-write", path: "/etc/modules-load.d/ipvs.conf", category: "modules-load.d", via: "tee", append: true, modules: ["ip_vs", "ip_vs_rr"] },
      { kind: "file-write", path: "/etc/sysctl.d/90-ipvs.conf", category: "sysctl.d", via: "file-provisioner", append: false, sysctlEntries: [{ key: "net.ipv4.vs.conntrack", value: "1" }] },
    ]);
  });

  test("a here-document with $ in it is dynamic unless its delimiter was quoted", () => {
    const written = (delimiter: string) => eventsOf(`cat <<${delimiter} > /etc/sysctl.d/90-lb.conf\nnet.ipv4.vs.conntrack = $V\nEOF`)[0];
    expect(written("'EOF'")).toMatchObject({ kind: "file-write", content: { text: "net.ipv4.vs.conntrack = $V\n", dynamic: false } });
    expect(written("EOF")).toMatchObject({ kind: "file-write", content: { dynamic: true } });
  });

  test("modprobe: one module with parameters, -a for several, -r to remove", () => {
    expect(eventsOf("modprobe ip_vs conn_tab_bits=12", "modprobe -a ip_vs ip_vs_rr", "modprobe -r ip_vs_wrr", 'modprobe "$m"')).toEqual([
      { kind: "modprobe", modules: ["ip_vs"], remove: false, dynamic: false },
      { kind: "modprobe", modules: ["ip_vs", "ip_vs_rr"], remove: false, dynamic: false },
      { kind: "modprobe", modules: ["ip_vs_wrr"], remove: true, dynamic: false },
      { kind: "modprobe", modules: ["$m"], remove: false, dynamic: true },
    ]);
  });

  test("file parsers and categories", () => {
    expect(parseSysctlConf("# c\n; c\n-net.ipv4.vs.conntrack=1\n net/ipv4/ip_forward =  1 \nbogus\n")).toEqual([
      { key: "net.ipv4.vs.conntrack", value: "1" },
      { key: "net.ipv4.ip_forward", value: "1" },
    ]);
    expect(parseModulesFile("# c\nip_vs\n\nnf_conntrack hashsize=1\n")).toEqual(["ip_vs", "nf_conntrack"]);
    expect(["/etc/sysctl.d/a.conf", "/usr/lib/sysctl.d/a.conf", "/etc/sysctl.conf", "/etc/modules-load.d/a.conf", "/etc/modules", "/etc/sysctl.d/x/y"].map(fileCategory)).toEqual([
      "sysctl.d",
      "sysctl.d",
      "sysctl.conf",
      "modules-load.d",
      "modules",
      "other",
    ]);
  });
});
