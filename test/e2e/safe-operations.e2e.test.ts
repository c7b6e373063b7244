/**
 * Safe operations on a real Debian 12 kernel (qemu, iptables-nft), one boot:
 * - drain: a real server that a deploy removes gets weight 0 and is deleted only when its last
 *   active connection has ended, so long-lived TCP connections (to the service, and through an
 *   alias) keep working while new connections go to the other server; with drainTimeoutSeconds 0
 *   the connection to the service is cut (the control), while the one through the alias lives on
 *   in conntrack (a kernel fact the control proves);
 * - all-or-nothing steps: a fault injected in the middle of the ipvs step (an ipvsadm earlier in
 *   PATH that applies half the batch, then fails) and of the aliases step (an iptables-restore
 *   that fails for the second chain) leaves the IPVS table, the nat table, sysctls and our files
 *   byte-identical to before; the error names the step; the next deploy succeeds;
 * - interrupted applies: SIGTERM during a drain rolls the step back; SIGKILL leaves a host that
 *   the next apply converges, with the lock free.
 *
 * Deploys run the apply.sh a render of the spec gives, over SSH, as Terraform's remote-exec runs
 * it (`sh /var/lib/cdktf-ipvs/apply.sh`); deploy.e2e.test.ts runs the same scripts through cdktf.
 */
import { HostSpec, VirtualServiceSpec, buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { renderHost } from "../../lib/render";
import { LabGuest, TOPOLOGY } from "./lab";
import { connectN } from "./traffic";

const VIP = TOPOLOGY.lbIPv4;
const RUN = "/run/safe-ops";

interface EchoOptions {
  /** Ports of the echo service's real servers (backends answer "port-N", then echo each line). */
  readonly reals: readonly number[];
  readonly drainTimeoutSeconds?: number;
  /** Weight of the first real server. */
  readonly firstWeight?: number;
  /** A second service, 172.16.1.8:3000. */
  readonly secondService?: boolean;
  /** A local-clients alias too (a second nat chain, CDKTF-IPVS-OUT). */
  readonly localAlias?: boolean;
}

function echoSpec(o: EchoOptions): HostSpec {
  const echo: VirtualServiceSpec = {
    name: "echo",
    address: VIP,
    port: 2000,
    scheduler: "rr",
    realServers: o.reals.map((port, i) => ({ address: VIP, port, forwarding: "masquerade", ...(i === 0 && o.firstWeight !== undefined ? { weight: o.firstWeight } : {}) })),
    aliases: [{ port: 2010, method: "redirect" }, ...(o.localAlias ? [{ port: 2020, method: "dnat" as const, localClients: true }] : [])],
    ...(o.drainTimeoutSeconds !== undefined ? { drainTimeoutSeconds: o.drainTimeoutSeconds } : {}),
  };
  const second: VirtualServiceSpec[] = o.secondService
    ? [{ name: "second", address: VIP, port: 3000, scheduler: "rr", realServers: [{ address: VIP, port: 3001, forwarding: "masquerade" }] }]
    : [];
  return { name: "lb1", virtualServices: [echo, ...second] };
}

const scriptsOf = (spec: HostSpec) => renderHost(planHost(buildDesiredHost(spec))).scripts;

describe("safe operations on a real IPVS host: drain, rollback, interrupted applies", () => {
  let guest: LabGuest;

  beforeAll(async () => {
    guest = await LabGuest.boot("safe-ops");
    guest.sshOk("update-alternatives --set iptables /usr/sbin/iptables-nft && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft");
    // Echo backends on the LB: "port-N" first, then every line back.
    guest.sshOk(
      `mkdir -p ${RUN} && for p in 2001 2002 2003 3001; do ` +
        `nohup socat TCP4-LISTEN:$p,fork,reuseaddr SYSTEM:"echo port-$p; cat" >/dev/null 2>&1 & done; sleep 1`,
    );
  }, 30 * 60 * 1000);

  afterAll(() => guest?.stop());

  /** Puts the scripts where the upload step puts them. */
  function upload(spec: HostSpec): void {
    guest.sshOk("mkdir -p /var/lib/cdktf-ipvs && chmod 700 /var/lib/cdktf-ipvs");
    for (const [name, text] of Object.entries(scriptsOf(spec))) guest.sshOk(`cat > /var/lib/cdktf-ipvs/${name}`, { input: text });
  }

  /** Uploads and runs apply.sh in the foreground; returns its exit code and output. */
  function deploy(spec: HostSpec): { code: number; out: string } {
    upload(spec);
    const r = guest.ssh("sh /var/lib/cdktf-ipvs/apply.sh 2>&1", { timeoutMs: 300_000 });
    return { code: r.code, out: r.stdout };
  }

  function deployOk(spec: HostSpec): string {
    const r = deploy(spec);
    if (r.code !== 0) throw new Error(`apply failed (${r.code}):\n${r.out}`);
    expect(guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh").code).toBe(0);
    return r.out;
  }

  /** Uploads and starts apply.sh in the background; its output goes to RUN/apply.log, its exit code to RUN/apply.rc. */
  function deployInBackground(spec: HostSpec): void {
    upload(spec);
    guest.sshOk(
      `rm -f ${RUN}/apply.rc ${RUN}/apply.log; ` +
        `nohup sh -c 'sh /var/lib/cdktf-ipvs/apply.sh >${RUN}/apply.log 2>&1 & echo $! >${RUN}/apply.pid; wait $!; echo $? >${RUN}/apply.rc' >/dev/null 2>&1 &`,
    );
    waitFor(`test -s ${RUN}/apply.pid`, 10);
  }

  /** Polls CHECK in the guest for up to SECONDS (guest clock); on time-out shows the apply log. */
  function waitFor(check: string, seconds: number): void {
    const r = guest.ssh(`end=$(($(date +%s) + ${seconds})); until ${check}; do [ $(date +%s) -lt $end ] || exit 1; sleep 0.25; done`, {
      timeoutMs: (seconds * 2 + 120) * 1000,
    });
    if (r.code !== 0) {
      const log = guest.ssh(`cat ${RUN}/apply.log 2>/dev/null; ipvsadm -Ln`).stdout;
      throw new Error(`timed out (${r.code}) after ${seconds} s waiting for: ${check}\n${r.stderr}\napply.log and IPVS table:\n${log}`);
    }
  }

  /**
   * A long-lived connection from the client netns to PORT (2000: the service itself; 2010: the
   * alias): "start", then one "ping-N" a second until RUN/NAME.stop exists, each echoed back by the
   * backend into RUN/NAME.out, which ends with "done"; RUN/NAME.sent counts the pings sent (kept
   * up to date, as a reset connection ends the sender with SIGPIPE). The test decides when it ends, so a slow guest cannot end it early. Returns the backend.
   */
  function startLongConnection(port: 2000 | 2010, name = "long"): string {
    guest.sshOk(
      `rm -f ${RUN}/${name}.out ${RUN}/${name}.stop ${RUN}/${name}.sent; nohup sh -c '(echo start; i=0; while [ ! -e ${RUN}/${name}.stop ]; do sleep 1; i=$((i+1)); echo $i >${RUN}/${name}.sent; echo ping-$i; done) | ` +
        `ip netns exec ${TOPOLOGY.clientNetns} socat -t 3 -T 30 - TCP4:${VIP}:${port} >${RUN}/${name}.out 2>&1; echo done >>${RUN}/${name}.out' >/dev/null 2>&1 &`,
    );
    waitFor(`grep -q '^start$' ${RUN}/${name}.out 2>/dev/null`, 60);
    const first = guest.sshOk(`head -n 1 ${RUN}/${name}.out`).trim();
    expect(first).toMatch(/^port-200[12]$/);
    return first.replace("port-", "");
  }

  /** Ends long connections by themselves (the client stops sending and closes) and waits for them. */
  function endLongConnections(...names: string[]): void {
    guest.sshOk(names.map((n) => `touch ${RUN}/${n}.stop`).join("; "));
    waitFor(names.map((n) => `grep -q '^done$' ${RUN}/${n}.out`).join(" && "), 90);
  }

  /** [pings sent, pings echoed back] of an ended long connection. */
  const pings = (name: string): [number, number] => [
    Number(guest.sshOk(`cat ${RUN}/${name}.sent`).trim()),
    guest.sshOk(`cat ${RUN}/${name}.out`).split("\n").filter((l) => /^ping-[0-9]+$/.test(l)).length,
  ];

  const activeOf = (port: string) =>
    guest.sshOk(`ipvsadm -Ln -t ${VIP}:2000 | awk '$2 == "${VIP}:${port}" { print $4, $5 }'`).trim();

  /** What a rollback must leave exactly as it was. */
  function hostSnapshot(): string {
    return guest.sshOk(
      [
        "echo '## ipvs'; ipvsadm -Sn; ipvsadm -Ln --thresholds | awk '{ print $1, $2, $3, $4, $5 }'",
        "echo '## nat'; iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
        "echo '## sysctls'; for k in conntrack expire_nodest_conn expire_quiescent_template conn_reuse_mode; do printf '%s=' $k; cat /proc/sys/net/ipv4/vs/$k; done",
        "echo '## files'; find /var/lib/cdktf-ipvs /etc/sysctl.d /etc/modules-load.d /etc/systemd/system/cdktf-ipvs.service -type f -exec sha256sum {} + | sort",
        "find /var/lib/cdktf-ipvs /etc/sysctl.d /etc/modules-load.d /etc/systemd/system/cdktf-ipvs.service -exec stat -c '%a %U %n' {} + | sort",
        "echo '## unit'; systemctl is-enabled cdktf-ipvs.service 2>&1 || true",
      ].join("; "),
    );
  }

  test("drain: the removed real server keeps its long-lived connections (to the service and through an alias) until they end, new connections go to the other; then it is deleted", () => {
    deployOk(echoSpec({ reals: [2001, 2002], drainTimeoutSeconds: 60 }));
    // rr: the direct connection and the second alias connection land on the same server.
    const busy = startLongConnection(2000, "direct");
    const other = busy === "2001" ? "2002" : "2001";
    expect(startLongConnection(2010, "alias-other")).toBe(other);
    expect(startLongConnection(2010, "alias")).toBe(busy);
    expect(activeOf(busy)).toBe("1 2"); // weight 1, two active connections

    deployInBackground(echoSpec({ reals: [Number(other)], drainTimeoutSeconds: 60 }));
    waitFor(`grep -q 'draining -t ${VIP}:2000 -r ${VIP}:${busy}: [12] active connection' ${RUN}/apply.log`, 120);
    // Draining: weight 0, still there; new connections all go to the other server.
    expect(activeOf(busy)).toMatch(/^0 [12]$/);
    expect(connectN(guest, VIP, 2010, 4)).toEqual(Array(4).fill(`port-${other}`));

    // Still draining a few seconds later: the connections hold the server.
    guest.sshOk("sleep 3");
    expect(guest.ssh(`test -e ${RUN}/apply.rc`).code).not.toBe(0);
    expect(activeOf(busy)).toMatch(/^0 [12]$/);
    // The connections end by themselves; the drain sees it and the server goes.
    endLongConnections("direct", "alias", "alias-other");
    waitFor(`test -s ${RUN}/apply.rc`, 120);
    const log = guest.sshOk(`cat ${RUN}/apply.log`);
    expect(guest.sshOk(`cat ${RUN}/apply.rc`).trim()).toBe("0");
    // Both lived to their natural end: every ping came back.
    const [sentDirect, echoedDirect] = pings("direct");
    const [sentAlias, echoedAlias] = pings("alias");
    expect(sentDirect).toBeGreaterThanOrEqual(3);
    expect(echoedDirect).toBe(sentDirect);
    expect(echoedAlias).toBe(sentAlias);
    // The log says which server, how many connections, how long it waited.
    expect(log).toContain(`DRAIN_REAL -t ${VIP}:2000 -r ${VIP}:${busy} (weight 0 now; deleted when its active connections end, at most 60 s)`);
    const waited = new RegExp(`drained -t [0-9.:]+ -r [0-9.]+:${busy}: no active connection left after ([0-9]+) s`).exec(log);
    expect(waited).not.toBeNull();
    expect(Number(waited![1])).toBeGreaterThanOrEqual(5);
    expect(Number(waited![1])).toBeLessThan(60);
    expect(activeOf(busy)).toBe("");
    expect(guest.ssh("sh /var/lib/cdktf-ipvs/verify.sh").code).toBe(0);
  }, 15 * 60 * 1000);

  test("control: with drainTimeoutSeconds 0 the removal cuts the connection to the service at once; one through an alias lives on in conntrack", () => {
    deployOk(echoSpec({ reals: [2001, 2002], drainTimeoutSeconds: 0 }));
    const busy = startLongConnection(2000, "direct");
    const other = busy === "2001" ? "2002" : "2001";
    expect(startLongConnection(2010, "alias-other")).toBe(other);
    expect(startLongConnection(2010, "alias")).toBe(busy);
    const out = deployOk(echoSpec({ reals: [Number(other)], drainTimeoutSeconds: 0 }));
    expect(out).not.toContain("draining");
    expect(activeOf(busy)).toBe("");
    guest.sshOk("sleep 3"); // a few more pings after the delete
    endLongConnections("direct", "alias", "alias-other");
    // Every packet to the service port goes through IPVS, which no longer has the server: cut.
    const [sentDirect, echoedDirect] = pings("direct");
    expect(echoedDirect).toBeLessThan(sentDirect);
    // Kernel fact: with conntrack=1 IPVS writes the real server into the alias connection's
    // conntrack entry, so after the first packet the nat table alone carries it to the server.
    const [sentAlias, echoedAlias] = pings("alias");
    expect(sentAlias).toBeGreaterThan(3);
    expect(echoedAlias).toBe(sentAlias);
  }, 15 * 60 * 1000);

  test("a fault in the middle of the ipvs step: half the batch ran, then everything is put back; the error names the step; the next deploy succeeds", () => {
    const before = echoSpec({ reals: [2001, 2002] });
    deployOk(before);
    const after = echoSpec({ reals: [2001, 2002, 2003], firstWeight: 5, secondService: true });
    upload(after);
    // An ipvsadm earlier in PATH that applies the first half of a restore batch once, then fails.
    guest.sshOk(
      "cat > /usr/local/sbin/ipvsadm <<'EOF'\n" +
        "#!/bin/sh\n" +
        `if [ "$1" = -R ] && [ -f ${RUN}/fault-ipvs ]; then\n` +
        `  rm -f ${RUN}/fault-ipvs\n` +
        `  cat >${RUN}/batch\n` +
        `  n=$(( ($(wc -l <${RUN}/batch) + 1) / 2 ))\n` +
        `  head -n "$n" ${RUN}/batch | /usr/sbin/ipvsadm -R\n` +
        `  echo "injected fault after $n of $(wc -l <${RUN}/batch) line(s)" >&2\n` +
        "  exit 1\n" +
        "fi\n" +
        'exec /usr/sbin/ipvsadm "$@"\n' +
        "EOF\n" +
        `chmod 755 /usr/local/sbin/ipvsadm && touch ${RUN}/fault-ipvs`,
    );
    try {
      const snapshot = hostSnapshot();
      const r = guest.ssh("sh /var/lib/cdktf-ipvs/apply.sh", { timeoutMs: 300_000 });
      expect(r.code).not.toBe(0);
      // Half of the batch really ran before the fault.
      expect(guest.sshOk(`wc -l <${RUN}/batch`).trim()).toBe("4");
      expect(r.stderr).toMatch(/\[ipvs\] ERROR: ipvsadm -R failed \(injected fault after 2 of 4 line\(s\)\) applying 4 IPVS change\(s\)/);
      expect(r.stderr).toContain("step ipvs failed and was rolled back; the host is as it was before the step");
      expect(r.stdout).toMatch(/\[ipvs\] rollback: /);
      expect(hostSnapshot()).toBe(snapshot);
    } finally {
      guest.sshOk(`rm -f /usr/local/sbin/ipvsadm ${RUN}/fault-ipvs`);
    }
    // The cause is gone: the same deploy succeeds.
    deployOk(after);
    expect(guest.sshOk("ipvsadm -Sn")).toContain(`-a -t ${VIP}:3000 -r ${VIP}:3001 -m -w 1`);
  }, 10 * 60 * 1000);

  test("a fault in the middle of the aliases step: the first chain had changed, the second failed; both chains are put back", () => {
    const before = echoSpec({ reals: [2001, 2002] });
    deployOk(before);
    const after = echoSpec({ reals: [2001, 2002], localAlias: true });
    upload(after);
    guest.sshOk(
      "cat > /usr/local/sbin/iptables-restore <<'EOF'\n" +
        "#!/bin/sh\n" +
        `cat >${RUN}/restore.in\n` +
        `if [ -f ${RUN}/fault-nat ] && grep -q CDKTF-IPVS-OUT ${RUN}/restore.in; then\n` +
        `  rm -f ${RUN}/fault-nat\n` +
        '  echo "injected fault in the OUTPUT chain" >&2\n' +
        "  exit 1\n" +
        "fi\n" +
        `exec /usr/sbin/iptables-restore "$@" <${RUN}/restore.in\n` +
        "EOF\n" +
        `chmod 755 /usr/local/sbin/iptables-restore && touch ${RUN}/fault-nat`,
    );
    try {
      const snapshot = hostSnapshot();
      const r = guest.ssh("sh /var/lib/cdktf-ipvs/apply.sh", { timeoutMs: 300_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/\[aliases\] ERROR: iptables-restore failed for chain CDKTF-IPVS-OUT/);
      expect(r.stderr).toContain("step aliases failed and was rolled back");
      // The first chain really had changed before the fault, and was put back.
      expect(r.stdout).toMatch(/iptables nat CDKTF-IPVS-PRE: .*--dport 2020/);
      expect(r.stdout).toContain("rollback: iptables nat CDKTF-IPVS-PRE back to its 1 rule(s)");
      expect(hostSnapshot()).toBe(snapshot);
    } finally {
      guest.sshOk(`rm -f /usr/local/sbin/iptables-restore ${RUN}/fault-nat`);
    }
    deployOk(after);
    expect(guest.sshOk("iptables -t nat -S CDKTF-IPVS-OUT")).toContain("--dport 2020");
  }, 10 * 60 * 1000);

  test("SIGTERM during a drain rolls the ipvs step back: the server keeps its weight and its connection", () => {
    const before = echoSpec({ reals: [2001, 2002], drainTimeoutSeconds: 60 });
    deployOk(before);
    const busy = startLongConnection(2000);
    const other = busy === "2001" ? "2002" : "2001";
    upload(echoSpec({ reals: [Number(other)], drainTimeoutSeconds: 60 }));
    const snapshot = hostSnapshot();
    deployInBackground(echoSpec({ reals: [Number(other)], drainTimeoutSeconds: 60 }));
    waitFor(`grep -q 'draining -t ${VIP}:2000 -r ${VIP}:${busy}' ${RUN}/apply.log`, 120);
    expect(activeOf(busy)).toBe("0 1");
    guest.sshOk(`kill -TERM $(cat ${RUN}/apply.pid)`);
    waitFor(`test -s ${RUN}/apply.rc`, 60);
    expect(guest.sshOk(`cat ${RUN}/apply.rc`).trim()).toBe("143");
    expect(guest.sshOk(`cat ${RUN}/apply.log`)).toContain("step ipvs failed and was rolled back");
    expect(activeOf(busy)).toBe("1 1");
    expect(hostSnapshot()).toBe(snapshot);
    endLongConnections("long");
    const [sent, echoed] = pings("long");
    expect(echoed).toBe(sent);
  }, 10 * 60 * 1000);

  test("SIGKILL during an apply: the lock is free, and the next apply converges", () => {
    deployOk(echoSpec({ reals: [2001, 2002], drainTimeoutSeconds: 60 }));
    const busy = startLongConnection(2000);
    const other = busy === "2001" ? "2002" : "2001";
    const target = echoSpec({ reals: [Number(other)], drainTimeoutSeconds: 60 });
    deployInBackground(target);
    waitFor(`grep -q 'draining -t ${VIP}:2000 -r ${VIP}:${busy}' ${RUN}/apply.log`, 120);
    guest.sshOk(`kill -KILL $(cat ${RUN}/apply.pid)`);
    waitFor(`test -s ${RUN}/apply.rc`, 60);
    expect(guest.sshOk(`cat ${RUN}/apply.rc`).trim()).toBe("137");
    // Killed halfway: the server is at weight 0, not deleted; nothing could put it back.
    expect(activeOf(busy)).toMatch(/^0 /);
    waitFor("flock -n /run/cdktf-ipvs.lock true", 30);
    endLongConnections("long");
    const out = deployOk(target);
    expect(out).toMatch(new RegExp(`drained -t [0-9.:]+ -r [0-9.]+:${busy}`));
    expect(activeOf(busy)).toBe("");
  }, 10 * 60 * 1000);
});
