import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostSpec, buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { ipvsRealServerRule, ipvsServiceRule, renderHost } from "../../lib/render";
import { seedHost, seedService } from "../fixtures";

const GOLDEN = path.join(__dirname, "golden", "seed");
const render = (spec: HostSpec = seedHost()) => renderHost(planHost(buildDesiredHost(spec)));

const VARIED: Record<string, HostSpec> = {
  seed: seedHost(),
  none: { name: "empty" },
  mixed: {
    name: "lb-mixed",
    sysctls: { "net.ipv4.vs.expire_nodest_conn": 1 },
    virtualServices: [
      seedService(),
      { name: "dns", protocol: "udp", address: "172.16.1.8", port: 53, scheduler: "wrr", persistence: { timeout: 300, netmask: "255.255.255.0" }, realServers: [{ address: "10.9.9.9", forwarding: "gatewaying", weight: 3 }] },
      { name: "v6", address: "fd00:16::8", port: 1000, scheduler: "lc", realServers: [{ address: "fd00:16::8", port: 1001, forwarding: "masquerade" }], aliases: [{ port: 1010, method: "dnat", localClients: true }] },
      { name: "mark", fwmark: 7, scheduler: "mh", schedulerFlags: ["mh-port"], realServers: [{ address: "10.0.0.2", forwarding: "gatewaying", upperThreshold: 100, lowerThreshold: 10 }] },
    ],
  },
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-render-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeScript(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe("rendered scripts are valid POSIX sh", () => {
  const shellcheck = spawnSync("shellcheck", ["--version"]);
  test("shellcheck is installed (apt-get install shellcheck)", () => {
    expect(shellcheck.status).toBe(0);
  });

  for (const [name, spec] of Object.entries(VARIED)) {
    for (const script of ["apply.sh", "verify.sh", "destroy.sh"] as const) {
      test(`${name}/${script} passes sh -n and shellcheck`, () => {
        const file = writeScript(`${name}-${script}`, render(spec).scripts[script]);
        expect(spawnSync("sh", ["-n", file]).status).toBe(0);
        const result = spawnSync("shellcheck", ["-s", "sh", "-S", "style", file], { encoding: "utf8" });
        expect(result.stdout + result.stderr).toBe("");
        expect(result.status).toBe(0);
      });
    }
  }
});

describe("golden files for the seed's scenario", () => {
  const rendered = render();
  for (const script of ["apply.sh", "verify.sh", "destroy.sh"] as const) {
    test(`${script} matches test/render/golden/seed/${script} (UPDATE_GOLDEN=1 to refresh after a deliberate change)`, () => {
      const file = path.join(GOLDEN, script);
      if (process.env.UPDATE_GOLDEN === "1") {
        fs.mkdirSync(GOLDEN, { recursive: true });
        fs.writeFileSync(file, rendered.scripts[script]);
      }
      expect(rendered.scripts[script]).toBe(fs.readFileSync(file, "utf8"));
    });
  }
});

describe("apply.sh", () => {
  const apply = render().scripts["apply.sh"];

  test("runs the steps in plan order by default", () => {
    expect(apply).toContain('STEPS="modules sysctls ipvs aliases boot"');
  });

  test("takes a lock so two runs cannot interleave", () => {
    expect(apply).toMatch(/flock -w 300 9/);
    expect(apply.indexOf("take_lock\n  make_tmp")).toBeGreaterThan(apply.indexOf("main() {"));
  });

  test("carries the seed's IPVS rules in ipvsadm -Sn form", () => {
    expect(apply).toContain("-A -t 172.16.1.8:1000 -s rr\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1\n");
  });

  test("puts alias rules in our own chain, with our comment, never in a built-in chain", () => {
    expect(apply).toContain("-d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment cdktf-ipvs:app -j REDIRECT --to-ports 1000");
    expect(apply).toContain("-d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000");
    expect(apply).toContain(`printf '*nat\\n:%s - [0:0]\\n' "$2"`);
    expect(apply).toContain("--noflush");
  });

  test("never clears the IPVS table, and flushes or deletes only our own chains", () => {
    for (const script of Object.values(render(VARIED.mixed).scripts)) {
      expect(script).not.toMatch(/ipvsadm (-C|--clear)/);
      // Every -F / -X names a chain variable that only ever holds CDKTF-IPVS-PRE or -OUT.
      const flushes = [...script.matchAll(/ -t nat -([FX]) (\S+)/g)].map((m) => m[2]);
      expect(flushes.length).toBeGreaterThan(0);
      for (const chain of flushes) expect(chain).toBe('"$2"');
      // iptables-restore is only ever used with --noflush, so other chains survive.
      const restores = [...script.matchAll(/-restore" ([^<\n]*)</g)].map((m) => m[1].trim());
      for (const args of restores) expect(args).toBe("-w --noflush");
    }
    expect(render(VARIED.mixed).scripts["apply.sh"]).toContain(
      "CHAINS='iptables:CDKTF-IPVS-PRE:PREROUTING iptables:CDKTF-IPVS-OUT:OUTPUT ip6tables:CDKTF-IPVS-PRE:PREROUTING ip6tables:CDKTF-IPVS-OUT:OUTPUT'",
    );
  });

  test("refuses to add alias rules unless conntrack is 1", () => {
    expect(apply).toContain("REQUIRES_CONNTRACK=1");
    expect(apply).toMatch(/refusing to install alias rules/);
  });

  test("quotes user-derived values in variable assignments", () => {
    expect(apply).toContain("HOST_NAME='lb1'");
  });
});

describe("ipvsadm rule text", () => {
  const host = buildDesiredHost(VARIED.mixed);
  const byName = (n: string) => host.services.find((s) => s.name === n)!;

  test("persistence and netmask", () => {
    expect(ipvsServiceRule(byName("dns"))).toBe("-A -u 172.16.1.8:53 -s wrr -p 300 -M 255.255.255.0");
  });
  test("IPv6 in brackets", () => {
    const v6 = byName("v6");
    expect(ipvsServiceRule(v6)).toBe("-A -t [fd00:16::8]:1000 -s lc");
    expect(ipvsRealServerRule(v6, v6.realServers[0])).toBe("-a -t [fd00:16::8]:1000 -r [fd00:16::8]:1001 -m -w 1");
  });
  test("firewall mark, scheduler flags, thresholds, gatewaying", () => {
    const mark = byName("mark");
    expect(ipvsServiceRule(mark)).toBe("-A -f 7 -s mh -b mh-port");
    expect(ipvsRealServerRule(mark, mark.realServers[0])).toBe("-a -f 7 -r 10.0.0.2:0 -g -w 1 -x 100 -y 10");
  });
});

/** The script's functions without running main, to exercise them with real sh and awk. */
function scriptLibrary(script: string): string {
  const lines = script.split("\n");
  const idx = lines.lastIndexOf('main "$@"');
  return writeScript(`lib-${Math.random().toString(36).slice(2)}.sh`, lines.slice(0, idx).join("\n"));
}

function ipvsDiff(live: string, owned: string, spec: HostSpec = seedHost(), thresholds = ""): string[] {
  const lib = scriptLibrary(render(spec).scripts["apply.sh"]);
  const dir = fs.mkdtempSync(path.join(tmp, "diff-"));
  fs.writeFileSync(path.join(dir, "live"), live);
  fs.writeFileSync(path.join(dir, "owned"), owned);
  fs.writeFileSync(path.join(dir, "thresholds"), thresholds);
  const out = execFileSync("sh", ["-c", `. "${lib}"; desired_ipvs_rules >"$1/desired"; ipvs_diff "$1/desired" "$1/thresholds" "$1/live" "$1/owned"`, "sh", dir], {
    encoding: "utf8",
  });
  return out.split("\n").filter(Boolean);
}

describe("the IPVS diff in the host scripts (desired vs live, like kube-proxy)", () => {
  const SEED_LIVE = "-A -t 172.16.1.8:1000 -s rr\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 1\n-a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 1\n";
  const OWNED = "-t 172.16.1.8:1000\n";

  test("an empty host gets the service, then its real servers", () => {
    expect(ipvsDiff("", "")).toEqual([
      "ADD_SERVICE\t-t 172.16.1.8:1000\t-\t-s rr\t-",
      "ADD_REAL\t-t 172.16.1.8:1000\t172.16.1.8:1001\t-m -w 1\t-",
      "ADD_REAL\t-t 172.16.1.8:1000\t172.16.1.8:1002\t-m -w 1\t-",
    ]);
  });

  test("a host in sync needs nothing", () => {
    expect(ipvsDiff(SEED_LIVE, OWNED)).toEqual([]);
  });

  test("a changed weight is edited in place, not re-added", () => {
    const live = SEED_LIVE.replace("1002 -m -w 1", "1002 -m -w 9");
    expect(ipvsDiff(live, OWNED)).toEqual(["EDIT_REAL\t-t 172.16.1.8:1000\t172.16.1.8:1002\t-m -w 1\t-m -w 9"]);
  });

  describe("thresholds, which ipvsadm -Sn leaves out, come from ipvsadm -Ln --thresholds", () => {
    const spec = seedHost({
      virtualServices: [
        seedService({
          aliases: [],
          realServers: [
            { address: "172.16.1.8", port: 1001, forwarding: "masquerade", upperThreshold: 100, lowerThreshold: 10 },
            { address: "172.16.1.8", port: 1002, forwarding: "masquerade" },
          ],
        }),
      ],
    });
    const listing = (u: number, l: number) =>
      [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn",
        "  -> RemoteAddress:Port",
        "TCP  172.16.1.8:1000 rr",
        `  -> 172.16.1.8:1001               ${u}        ${l}         0          0`,
        "  -> 172.16.1.8:1002               0          0          0          0",
        "",
      ].join("\n");

    test("equal thresholds need nothing", () => {
      expect(ipvsDiff(SEED_LIVE, OWNED, spec, listing(100, 10))).toEqual([]);
    });
    test("a changed threshold is edited with the full option set", () => {
      expect(ipvsDiff(SEED_LIVE, OWNED, spec, listing(50, 10))).toEqual([
        "EDIT_REAL\t-t 172.16.1.8:1000\t172.16.1.8:1001\t-m -w 1 -x 100 -y 10\t-m -w 1 -x 50 -y 10",
      ]);
    });
  });

  test("a changed scheduler is edited in place", () => {
    const live = SEED_LIVE.replace("-s rr", "-s wlc");
    expect(ipvsDiff(live, OWNED)).toEqual(["EDIT_SERVICE\t-t 172.16.1.8:1000\t-\t-s rr\t-s wlc"]);
  });

  test("an extra real server in our service is deleted, before anything is added", () => {
    const live = SEED_LIVE.replace("1001 -m -w 1", "1003 -m -w 1");
    expect(ipvsDiff(live, OWNED)).toEqual([
      "DEL_REAL\t-t 172.16.1.8:1000\t172.16.1.8:1003\t-\t-m -w 1",
      "ADD_REAL\t-t 172.16.1.8:1000\t172.16.1.8:1001\t-m -w 1\t-",
    ]);
  });

  test("a service we owned and no longer declare is deleted", () => {
    const live = `${SEED_LIVE}-A -t 172.16.1.8:2000 -s rr\n`;
    expect(ipvsDiff(live, `${OWNED}-t 172.16.1.8:2000\n`)).toEqual(["DEL_SERVICE\t-t 172.16.1.8:2000\t-\t-\t-s rr"]);
  });

  test("foreign services are never touched", () => {
    const live = `${SEED_LIVE}-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -g -w 1\n`;
    expect(ipvsDiff(live, OWNED)).toEqual([]);
  });

  test("a desired service that exists but is not ours is reported as FOREIGN, not edited", () => {
    const live = "-A -t 172.16.1.8:1000 -s wlc\n-a -t 172.16.1.8:1000 -r 10.0.0.9:1000 -g -w 1\n";
    const diff = ipvsDiff(live, "");
    expect(diff).toContain("FOREIGN\t-t 172.16.1.8:1000\t-\t-s rr\t-s wlc");
    expect(diff.filter((d) => d.startsWith("DEL_") || d.startsWith("EDIT_"))).toEqual([]);
  });
});

describe("the boot-time restore", () => {
  const rendered = render();
  test("runs after the early units that set up what it needs, before the network comes up", () => {
    const unit = rendered.persistenceFiles["/etc/systemd/system/cdktf-ipvs.service"];
    const after = /^After=(.*)$/m.exec(unit)![1].split(" ");
    expect(after).toEqual(expect.arrayContaining(["systemd-modules-load.service", "systemd-sysctl.service", "systemd-tmpfiles-setup.service", "netfilter-persistent.service"]));
    expect(unit).toMatch(/^Before=network-pre.target/m);
    expect(unit).toContain("ExecStart=/bin/sh /var/lib/cdktf-ipvs/apply.sh --boot");
  });
  test("keeps its scratch files out of /tmp, which systemd-tmpfiles empties at boot", () => {
    for (const script of Object.values(rendered.scripts)) {
      expect(script).toContain('TMP=$(mktemp -d "$tmp_parent/cdktf-ipvs.XXXXXX")');
      expect(script).toContain("tmp_parent=/run");
    }
  });
});

describe("destroy.sh", () => {
  const destroy = render().scripts["destroy.sh"];
  test("undoes boot, aliases, ipvs, sysctls, modules in that order by default", () => {
    expect(destroy).toContain("STEPS='boot aliases ipvs sysctls modules'");
  });
  test("skips a step whose generation was superseded (create-before-destroy replacement)", () => {
    expect(destroy).toMatch(/superseded by generation \$current; nothing to undo/);
  });
  test("deletes only owned IPVS services and leaves modules loaded", () => {
    // The services to delete are the diff of nothing against the live table, over the owned ones only.
    expect(destroy).toContain('ipvs_diff /dev/null "$TMP/thresholds.ipvs" "$TMP/live.ipvs" "$OWNED_SERVICES" reals');
    expect(destroy).not.toMatch(/modprobe -r|rmmod/);
  });
});

describe("verify.sh", () => {
  const verify = render().scripts["verify.sh"];
  test("names the conntrack pairing when conntrack is not 1", () => {
    expect(verify).toContain("net.ipv4.vs.conntrack is $have but aliases exist");
  });
  test("checks every persistence file", () => {
    expect(verify).toContain('verify_file "$MODULES_FILE" content_modules_conf');
    expect(verify).toContain('verify_file "$SYSCTL_FILE" content_sysctl_conf');
    expect(verify).toContain('verify_file "$UNIT_FILE" content_boot_unit');
  });
});

describe("split_chain_entry", () => {
  test("splits COMMAND:CHAIN:PARENT", () => {
    const lib = scriptLibrary(render().scripts["apply.sh"]);
    const out = execFileSync("sh", ["-c", `. "${lib}"; split_chain_entry ip6tables:CDKTF-IPVS-OUT:OUTPUT; echo "$cmd|$chain|$parent"`], { encoding: "utf8" });
    expect(out.trim()).toBe("ip6tables|CDKTF-IPVS-OUT|OUTPUT");
  });
});

describe("text no validator saw (construct paths) cannot escape its comment", () => {
  test("a newline in a stack id stays inside the comment lines", () => {
    const hostile = "evil\ntouch /tmp/pwned\n";
    const host = buildDesiredHost(
      seedHost({ virtualServices: [seedService({ aliases: [], realServers: [{ address: "10.9.9.9", port: 1001, forwarding: "masquerade" }] })] }),
      {
        host: `${hostile}/lb1`,
        service: () => `${hostile}/lb1/app`,
        realServer: (svc, i) => `${svc}/realServer[${i}]`,
        alias: (svc, i) => `${svc}/alias[${i}]`,
      },
    );
    const rendered = renderHost(planHost(host));
    for (const text of [...Object.values(rendered.scripts), ...Object.values(rendered.persistenceFiles)]) {
      expect(text.split("\n")).not.toContain("touch /tmp/pwned");
    }
    const file = writeScript("hostile-apply.sh", rendered.scripts["apply.sh"]);
    expect(spawnSync("sh", ["-n", file]).status).toBe(0);
  });
});

describe("alias chain comparison (fake iptables; the real one is exercised in test/e2e)", () => {
  /** A fake `iptables`: -S prints $FAKE_LISTING, -C succeeds for lines in $FAKE_KNOWN; calls are logged. */
  function fakeIptables(dir: string): void {
    const fake = `#!/bin/sh
echo "$*" >>"$FAKE_LOG"
[ "$1" = -w ] && shift
[ "$1" = -t ] && shift 2
op=$1; chain=$2; shift 2
case $op in
  -S) printf -- '-N %s\\n' "$chain"; cat "$FAKE_LISTING" ;;
  -C) grep -qxF -e "-A $chain $*" "$FAKE_KNOWN" ;;
  *) exit 2 ;;
esac
`;
    fs.writeFileSync(path.join(dir, "iptables"), fake, { mode: 0o755 });
  }

  function rulesMatch(listing: string[], known: string[]): { code: number; calls: string[] } {
    const dir = fs.mkdtempSync(path.join(tmp, "ipt-"));
    fakeIptables(dir);
    fs.writeFileSync(path.join(dir, "listing"), listing.map((l) => `${l}\n`).join(""));
    fs.writeFileSync(path.join(dir, "known"), known.map((l) => `${l}\n`).join(""));
    const lib = scriptLibrary(render().scripts["apply.sh"]);
    const r = spawnSync("sh", ["-c", `. "${lib}"; PATH="${dir}:$PATH"; make_tmp; ipt_rules_match iptables CDKTF-IPVS-PRE`], {
      encoding: "utf8",
      env: { ...process.env, FAKE_LOG: path.join(dir, "log"), FAKE_LISTING: path.join(dir, "listing"), FAKE_KNOWN: path.join(dir, "known") },
    });
    const calls = fs.existsSync(path.join(dir, "log")) ? fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n") : [];
    return { code: r.status ?? -1, calls };
  }

  const R1010 = "-A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment cdktf-ipvs:app -j REDIRECT --to-ports 1000";
  const R1020 = "-A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment cdktf-ipvs:app -j DNAT --to-destination 172.16.1.8:1000";

  test("the chain as iptables 1.8 lists it matches with one listing, no per-rule calls", () => {
    const r = rulesMatch([R1010, R1020], []);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual(["-w -t nat -S CDKTF-IPVS-PRE"]);
  });

  test("iptables quoting our comment (it quotes anything with ':') still matches with one listing", () => {
    const quoted = [R1010, R1020].map((r) => r.replace("cdktf-ipvs:app", '"cdktf-ipvs:app"'));
    const r = rulesMatch(quoted, []);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual(["-w -t nat -S CDKTF-IPVS-PRE"]);
  });

  test("a listing in another format falls back to -C per rule", () => {
    const otherFormat = [R1010.replace(" -m tcp", ""), R1020.replace(" -m tcp", "")];
    const r = rulesMatch(otherFormat, [R1010, R1020]);
    expect(r.code).toBe(0);
    expect(r.calls.filter((c) => c.includes(" -C "))).toHaveLength(2);
  });

  test("a missing rule does not match", () => {
    expect(rulesMatch([R1010], [R1010]).code).toBe(1);
  });

  test("a changed rule does not match", () => {
    const changed = R1020.replace("--dport 1020", "--dport 1021");
    expect(rulesMatch([R1010, changed], [R1010, changed]).code).toBe(1);
  });
});
