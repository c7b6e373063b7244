/**
 * Import on a real Debian 12 kernel (qemu, iptables-nft): a seed-like load balancer set up by hand
 * (ipvsadm, iptables, sysctl; no cdktf-ipvs), imported over SSH with `cdktf-ipvs import`, then the
 * imported spec deployed with the apply.sh it renders (uploaded and run as the provisioners do).
 * Proven: the import reports the one hand-made rule it cannot express; the deploy changes no IPVS
 * service, real server (thresholds included) or sysctl; the aliased ports answer throughout the
 * deploy (a client loop runs during it) and after; verify.sh is clean; the hand-made alias rules,
 * now shadowed by ours, are removed with the commands the import printed, clients connecting
 * throughout; a second apply changes nothing, nat tables included; then a change to the imported
 * spec deploys normally.
 *
 * The hand-made real server's upper threshold is well above the suite's own traffic: IPVS counts
 * inactive (TIME_WAIT) connections against it, so a lower one (an earlier -x 100) overloads the
 * server during the suite and every later connection goes to the other one (the last case proves it).
 */
import * as fs from "fs";
import * as path from "path";
import { runCli } from "../../lib/cli";
import { HostSpec, buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { HostScripts, renderHost } from "../../lib/render";
import { LabGuest, REPO_ROOT, TOPOLOGY } from "./lab";
import { connectN, isRoundRobin } from "./traffic";

const WORK = path.join(REPO_ROOT, ".lab", "e2e", "import");
const VIP = TOPOLOGY.lbIPv4;

describe("import a hand-made IPVS host, deploy it unchanged, then change it", () => {
  let guest: LabGuest;

  /**
   * 4 connections to PORT round-robin over both backends; one retry, for a lab backend too slow to
   * answer (before both sides of socat waited with -t, about 2 in 120 got no answer, idle or not).
   */
  function roundRobins(port: number): boolean {
    return isRoundRobin(connectN(guest, VIP, port, 4)) || isRoundRobin(connectN(guest, VIP, port, 4));
  }

  beforeAll(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    fs.mkdirSync(WORK, { recursive: true });
    guest = await LabGuest.boot("import");
    guest.sshOk("update-alternatives --set iptables /usr/sbin/iptables-nft && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft");
  }, 30 * 60 * 1000);

  afterAll(() => guest?.stop());

  /** The IPVS table (thresholds included, counters left out) and every net.ipv4.vs / forwarding sysctl. */
  const ipvsAndSysctls = () =>
    guest.sshOk(
      "ipvsadm -Sn; ipvsadm -Ln --thresholds | awk '{ print $1, $2, $3, $4 }'; sysctl -a 2>/dev/null | grep -E '^net\\.ipv4\\.vs\\.|^net\\.ipv4\\.ip_forward |^net\\.ipv6\\.conf\\.all\\.forwarding ' | grep -v sync_qlen_max",
    );
  const natTables = () => guest.sshOk("iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'; ip6tables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'");

  function deploy(scripts: HostScripts): string {
    guest.sshOk("mkdir -p /var/lib/cdktf-ipvs && chmod 700 /var/lib/cdktf-ipvs");
    for (const [name, text] of Object.entries(scripts)) guest.sshOk(`cat > /var/lib/cdktf-ipvs/${name}`, { input: text });
    // Each line timestamped, to place client failures (if any) within the steps.
    const log = guest.sshOk("{ sh /var/lib/cdktf-ipvs/apply.sh 2>&1; echo \"apply.sh exit $?\"; } | while IFS= read -r l; do echo \"$(date +%s.%N) $l\"; done", { timeoutMs: 300_000 });
    expect(log.trimEnd().split("\n").pop()).toMatch(/ apply\.sh exit 0$/);
    return log;
  }
  const scriptsOf = (spec: HostSpec) => renderHost(planHost(buildDesiredHost(spec))).scripts;

  /**
   * Starts a client loop in the background (netns client): ROUNDS times one connection to each alias
   * port, each line "SECONDS PORT rc=STATUS ANSWER SOCAT-ERROR". What an alias must do is accept the
   * connection (NAT, then IPVS to a real server): socat's status 0 says the handshake completed; a
   * port that does not answer (refused), a reset or a misrouted SYN-ACK (timeout) gives a non-zero
   * status with socat's words. The backend's answer itself is recorded but not required: on this
   * loaded, emulated 1-vCPU guest the lab backend sometimes closes without answering, also with
   * nothing changing on the host (seen in the idle control below).
   */
  function startTraffic(log: string, rounds = 60): void {
    const loop = `for i in $(seq ${rounds}); do for p in 1010 1020; do t=$(date +%s.%N); r=$(socat -T30 -t5 - TCP4:${VIP}:$p,connect-timeout=10 </dev/null 2>/tmp/socat.err); rc=$?; echo "$t $p rc=$rc \${r:-(no data)} $(tr "\\n" " " </tmp/socat.err)"; done; done`;
    guest.sshOk(`rm -f ${log}; nohup ip netns exec ${TOPOLOGY.clientNetns} sh -c '${loop}' >${log} 2>&1 </dev/null & echo $! >${log}.pid`);
  }
  /** Waits for the loop of startTraffic and returns its lines. */
  function trafficLines(log: string, name: string): string[] {
    guest.sshOk(`while kill -0 $(cat ${log}.pid) 2>/dev/null; do sleep 1; done`, { timeoutMs: 600_000 });
    const lines = guest.sshOk(`cat ${log}`).trim().split("\n");
    fs.writeFileSync(path.join(WORK, name), `${lines.join("\n")}\n`);
    return lines;
  }
  const failures = (lines: string[]) => lines.filter((l) => !/^\d+\.\d+ 10[12]0 rc=0 (port-100[12]|\(no data\)) ?$/.test(l));

  let before: string;
  let spec: HostSpec;
  let removals: string[] = [];
  let firstApplied = false;

  test("the hand-made host works: direct port and both aliases round-robin", () => {
    guest.sshOk(
      [
        "ipvsadm -C",
        `ipvsadm -A -t ${VIP}:1000 -s rr`,
        `ipvsadm -a -t ${VIP}:1000 -r ${VIP}:1001 -m`,
        `ipvsadm -a -t ${VIP}:1000 -r ${VIP}:1002 -m -w 1 -x 5000 -y 1000`,
        "sysctl -qw net.ipv4.vs.conntrack=1",
        `iptables -t nat -A PREROUTING -d ${VIP}/32 -p tcp --dport 1010 -j REDIRECT --to-ports 1000`,
        `iptables -t nat -A PREROUTING -d ${VIP}/32 -p tcp --dport 1020 -m comment --comment "hand made" -j DNAT --to-destination ${VIP}:1000`,
        `iptables -t nat -A PREROUTING -s ${TOPOLOGY.clientIPv4}/32 -d ${VIP}/32 -p tcp --dport 1030 -j DNAT --to-destination ${VIP}:1000`,
      ].join(" && "),
    );
    for (const port of [1000, 1010, 1020]) expect({ port, ok: roundRobins(port) }).toEqual({ port, ok: true });
    before = ipvsAndSysctls();
    // The control for the loop below: the same client loop with nothing changing on the host.
    startTraffic("/root/traffic-idle.log");
    const idle = trafficLines("/root/traffic-idle.log", "traffic-idle.txt");
    expect(idle).toHaveLength(120);
    expect(failures(idle)).toEqual([]);
    expect(idle.filter((l) => / port-100[12] ?$/.test(l)).length).toBeGreaterThan(100);
    expect(before).toContain(`-a -t ${VIP}:1000 -r ${VIP}:1002 -m -w 1`);
  });

  test("cdktf-ipvs import --ssh: the services, the two expressible aliases, the sysctls; the -s rule is reported (exit 1)", () => {
    const out: string[] = [];
    const err: string[] = [];
    const specFile = path.join(WORK, "spec.json");
    const code = runCli(
      ["import", "--ssh", `root@127.0.0.1:${guest.sshPort}`, "--identity", guest.privateKeyPath, "--no-host-key-check", "--host", "lb1", "--out", specFile, "--ts", path.join(WORK, "lb1.ts")],
      { out: (t) => out.push(t), err: (t) => err.push(t) },
    );
    fs.writeFileSync(path.join(WORK, "import-output.txt"), [...out, ...err].join("\n"));
    expect(err[0]).toMatch(new RegExp(`^not imported: iptables-save -t nat:\\d+: -A PREROUTING -s ${TOPOLOGY.clientIPv4.replace(/\./g, "\\.")}/32 .*--dport 1030 .*: has matches or options a model alias cannot express: -s ${TOPOLOGY.clientIPv4.replace(/\./g, "\\.")}/32$`));
    expect(err).toHaveLength(2);
    expect(code).toBe(1);
    // The two hand-made alias rules, each with the command that removes it after the first apply
    // (a line to paste into a root shell as it is: the rest is a # comment naming the dump line).
    removals = out.filter((l) => l.startsWith("  ")).map((l) => l.trim());
    expect(removals).toEqual([
      `iptables -w -t nat -D PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 1010 -j REDIRECT --to-ports 1000    # iptables-save -t nat:7`,
      `iptables -w -t nat -D PREROUTING -d ${VIP}/32 -p tcp -m tcp --dport 1020 -m comment --comment 'hand made' -j DNAT --to-destination ${VIP}:1000    # iptables-save -t nat:8`,
    ]);
    spec = JSON.parse(fs.readFileSync(specFile, "utf8")).hosts[0];
    expect(spec.virtualServices).toEqual([
      {
        name: `tcp-${VIP}-1000`,
        address: VIP,
        protocol: "tcp",
        port: 1000,
        scheduler: "rr",
        adopt: true,
        realServers: [
          { address: VIP, port: 1001, forwarding: "masquerade", weight: 1 },
          { address: VIP, port: 1002, forwarding: "masquerade", weight: 1, upperThreshold: 5000, lowerThreshold: 1000 },
        ],
        aliases: [
          { port: 1010, method: "redirect" },
          { port: 1020, method: "dnat" },
        ],
      },
    ]);
    expect(spec.conntrack).toBe(true);
    // The import read the host and changed nothing.
    expect(ipvsAndSysctls()).toBe(before);
  });

  test("the first apply changes no IPVS service, real server or sysctl, and the aliased ports answer throughout", () => {
    // A client loop on the alias ports while the deploy runs (the apply log timestamped alike).
    startTraffic("/root/traffic.log");
    const log = deploy(scriptsOf(spec));
    fs.writeFileSync(path.join(WORK, "first-apply.txt"), log);
    expect(log).toContain("IPVS services unchanged");
    expect(log).not.toMatch(/applied \d+ IPVS change/);
    const traffic = trafficLines("/root/traffic.log", "traffic-during-apply.txt");
    expect(traffic).toHaveLength(120);
    expect(failures(traffic)).toEqual([]);
    expect(traffic.filter((l) => / port-100[12] ?$/.test(l)).length).toBeGreaterThan(100);
    expect(ipvsAndSysctls()).toBe(before);
    expect(guest.sshOk("sh /var/lib/cdktf-ipvs/verify.sh")).toContain("OK: host matches the desired state");
    for (const port of [1000, 1010, 1020]) expect({ port, ok: roundRobins(port) }).toEqual({ port, ok: true });
    expect(guest.sshOk("cat /var/lib/cdktf-ipvs/owned-services")).toBe(`-t ${VIP}:1000\n`);
    firstApplied = true;
  });

  test("the hand-made rules the import listed are removed with its commands while clients connect: every connection accepted", () => {
    // Only once our chains are in place (else removing the rules would take the aliases down).
    expect({ firstApplied, removals: removals.length }).toEqual({ firstApplied: true, removals: 2 });
    startTraffic("/root/traffic-removal.log", 20);
    // Mid-loop, the two printed lines as they are (ours are jumped to first, so the aliases never miss a beat).
    guest.sshOk(`sleep 4\n${removals.join("\n")}`);
    const traffic = trafficLines("/root/traffic-removal.log", "traffic-during-removal.txt");
    expect(traffic).toHaveLength(40);
    expect(failures(traffic)).toEqual([]);
    const prerouting = guest.sshOk("iptables -t nat -S PREROUTING").trim().split("\n");
    expect(prerouting).toEqual([
      "-P PREROUTING ACCEPT",
      "-A PREROUTING -m comment --comment cdktf-ipvs -j CDKTF-IPVS-PRE",
      `-A PREROUTING -s ${TOPOLOGY.clientIPv4}/32 -d ${VIP}/32 -p tcp -m tcp --dport 1030 -j DNAT --to-destination ${VIP}:1000`,
    ]);
    for (const port of [1010, 1020]) expect({ port, ok: roundRobins(port) }).toEqual({ port, ok: true });
    expect(guest.sshOk("sh /var/lib/cdktf-ipvs/verify.sh")).toContain("OK: host matches the desired state");
  });

  test("a second apply changes nothing (IPVS, sysctls, nat tables)", () => {
    const nat = natTables();
    const log = guest.sshOk("sh /var/lib/cdktf-ipvs/apply.sh 2>&1", { timeoutMs: 300_000 });
    expect(log).toContain("IPVS services unchanged");
    expect(ipvsAndSysctls()).toBe(before);
    expect(natTables()).toBe(nat);
  });

  test("then a change deploys normally: one weight, in place", () => {
    const changed: HostSpec = {
      ...spec,
      virtualServices: spec.virtualServices!.map((s) => ({ ...s, realServers: s.realServers!.map((r) => (r.port === 1002 ? { ...r, weight: 3 } : r)) })),
    };
    const log = deploy(scriptsOf(changed));
    expect(log).toContain("applied 1 IPVS change(s)");
    expect(guest.sshOk(`ipvsadm -Sn | grep -F -- '-r ${VIP}:1002'`).trim()).toBe(`-a -t ${VIP}:1000 -r ${VIP}:1002 -m -w 3`);
    expect(guest.sshOk(`ipvsadm -Ln --thresholds -t ${VIP}:1000`)).toMatch(new RegExp(`-> ${VIP.replace(/\./g, "\\.")}:1002\\s+5000\\s+1000\\s`));
    expect(guest.sshOk("sh /var/lib/cdktf-ipvs/verify.sh")).toContain("OK: host matches the desired state");
    // rr ignores weights other than 0: the alias still round-robins over both real servers.
    expect(roundRobins(1010)).toBe(true);
  });

  test("kernel fact: an upper threshold counts inactive (TIME_WAIT) connections, so a burst of short ones overloads the server", () => {
    // A new service (1100), so the real servers' counts start at 0 (the suite's earlier traffic
    // is still in TIME_WAIT on 1000's): 1002 with thresholds 20/5, 1001 without.
    const withBurstService: HostSpec = {
      ...spec,
      virtualServices: [
        ...spec.virtualServices!,
        {
          name: "burst",
          address: VIP,
          port: 1100,
          scheduler: "rr",
          realServers: [
            { address: VIP, port: 1001, forwarding: "masquerade" },
            { address: VIP, port: 1002, forwarding: "masquerade", upperThreshold: 20, lowerThreshold: 5 },
          ],
        },
      ],
    };
    expect(deploy(scriptsOf(withBurstService))).toMatch(/applied \d+ IPVS change\(s\)/);
    expect(guest.sshOk(`ipvsadm -Ln --thresholds -t ${VIP}:1100`)).toMatch(new RegExp(`-> ${VIP.replace(/\./g, "\\.")}:1002\\s+20\\s+5\\s`));
    // 60 short connections, each closed at once: round-robin until 1002 holds 20, none of them
    // active, then 1001 only, because 20 inactive ones reach the upper threshold.
    const answers = connectN(guest, VIP, 1100, 60);
    expect(answers.filter((a) => !/^port-100[12]$/.test(a))).toEqual([]);
    expect(answers.filter((a) => a === "port-1002")).toHaveLength(20);
    expect(answers.slice(-20)).toEqual(Array(20).fill("port-1001"));
    const counts = guest.sshOk(`ipvsadm -Ln -t ${VIP}:1100 | awk '$1 == "->" && $2 ~ /:100[12]$/ { print $2, $5, $6 }'`).trim().split("\n");
    expect(counts).toEqual([`${VIP}:1001 0 40`, `${VIP}:1002 0 20`]);
    // The control, same moment: service 1000's 1002 (upper threshold 5000) still takes its turn.
    expect(roundRobins(1000)).toBe(true);
    // Back to the imported spec: the burst service goes (nothing active to drain), verify is clean.
    expect(deploy(scriptsOf(spec))).toContain(`DEL_SERVICE -t ${VIP}:1100`);
    expect(guest.sshOk("sh /var/lib/cdktf-ipvs/verify.sh")).toContain("OK: host matches the desired state");
  });
});
