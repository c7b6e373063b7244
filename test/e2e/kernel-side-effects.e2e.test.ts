/**
 * Kernel side effects of net.ipv4.vs.conntrack=1 (issue 8, part 3), on the lab's real kernel
 * (Debian 12, 6.1), in one boot. The host runs the apply.sh, verify.sh and destroy.sh a render of
 * the spec produces, uploaded to /var/lib/cdktf-ipvs as Terraform's provisioners do.
 *
 *   (a) conn_reuse_mode by kernel version: on 6.1 apply logs "left alone" and the kernel default
 *       stays; with a 5.4 release string (a uname on PATH that says so) it is set to 0, checked by
 *       verify and restored by destroy. expire_nodest_conn and expire_quiescent_template are 1
 *       after apply and back to the kernel defaults after destroy.
 *   (b) expire_nodest_conn=1 (the default now) resets a connection whose real server was removed;
 *       with 0 the connection hangs.
 *   (c) the preflight: a kernel without net.ipv4.vs.conntrack (built without CONFIG_IP_VS_NFCT),
 *       simulated by a tmpfs over /proc/sys/net/ipv4/vs that holds every IPVS sysctl but conntrack
 *       (copies), stops apply before any change; without the tmpfs the same apply succeeds.
 *   (d) with conntrack=1 every IPVS connection holds a conntrack entry (none with 0); verify warns
 *       above 80% of nf_conntrack_max and still passes, and is silent with a large table.
 */
import { HostSpec, buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { HostScripts, renderHost } from "../../lib/render";
import { LabGuest, TOPOLOGY } from "./lab";
import { connectN, isRoundRobin } from "./traffic";
import { V1 } from "./seed-specs";

const VIP = TOPOLOGY.lbIPv4;
const VS = "/proc/sys/net/ipv4/vs";
const NF = "/proc/sys/net/netfilter";
const STATE = "/var/lib/cdktf-ipvs";

/** The seed plus an "echo" service whose backends keep the connection open (for (b)). */
const SPEC: HostSpec = {
  name: "lb1",
  virtualServices: [
    V1.virtualServices![0],
    {
      name: "echo",
      protocol: "tcp",
      address: VIP,
      port: 1100,
      scheduler: "rr",
      realServers: [
        { address: VIP, port: 1101, forwarding: "masquerade" },
        { address: VIP, port: 1102, forwarding: "masquerade" },
      ],
    },
  ],
};

const scripts: HostScripts = renderHost(planHost(buildDesiredHost(SPEC))).scripts;

let guest: LabGuest;
let release: string;
/** The kernel's own values, read right after ip_vs was loaded on the fresh guest. */
let defaults: Record<string, string>;

function upload(): void {
  guest.sshOk(`mkdir -p ${STATE} && chmod 700 ${STATE}`);
  for (const [name, text] of Object.entries(scripts)) guest.sshOk(`cat > ${STATE}/${name}`, { input: text });
}

/** Runs a script from /var/lib/cdktf-ipvs: exit code, stdout and stderr apart. */
const run = (script: string, args = "") => guest.ssh(`sh ${STATE}/${script} ${args}`, { timeoutMs: 300_000 });

function runOk(script: string, args = ""): string {
  const r = run(script, args);
  if (r.code !== 0) throw new Error(`${script} ${args} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

const IPVS_KEYS = ["conn_reuse_mode", "conntrack", "expire_nodest_conn", "expire_quiescent_template"];

function vsSysctls(): Record<string, string> {
  const out = guest.sshOk(IPVS_KEYS.map((k) => `printf '%s=' ${k}; cat ${VS}/${k} 2>/dev/null || echo absent`).join("; "));
  return Object.fromEntries(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

/** Everything apply could change, as text (connection counters and packet counters left out). */
function hostSnapshot(): string {
  return guest.sshOk(
    [
      "echo '## ipvs'; ipvsadm -Sn; ipvsadm -Ln --thresholds | awk '{ print $1, $2, $3, $4 }'",
      "echo '## nat'; iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## nat6'; ip6tables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## modules'; for m in ip_vs ip_vs_rr nf_conntrack; do [ -d /sys/module/$m ] && echo \"$m loaded\" || echo \"$m not loaded\"; done",
      // Under the simulation these are the tmpfs copies: apply must not write them either.
      `echo '## sysctls'; for f in ${VS}/* /proc/sys/net/ipv4/ip_forward; do printf '%s=' $f; cat $f; done`,
      "echo '## files'; ls -la --time-style=full-iso /var/lib/cdktf-ipvs /etc/sysctl.d /etc/modules-load.d /etc/systemd/system/cdktf-ipvs.service 2>&1 | grep -v ' \\.\\.$'",
      "find /var/lib/cdktf-ipvs /etc/sysctl.d /etc/modules-load.d /etc/systemd/system/cdktf-ipvs.service -type f -exec sha256sum {} + 2>/dev/null | sort",
      "echo '## unit'; systemctl is-enabled cdktf-ipvs.service 2>&1 || true",
    ].join("; "),
  );
}

/**
 * One connection from the client netns to the echo service; once its backend answered, that real
 * server is deleted by hand (ipvsadm -d) and the client sends again. "reset" when the read fails
 * with ECONNRESET, "hang" when nothing comes back within 8 s; with the time it took.
 */
function connectionToRemovedServer(): { outcome: "reset" | "hang" | string; ms: number; removed: string } {
  const out = guest.sshOk(
    `rm -f /run/kse-port /run/kse-go
ip netns exec ${TOPOLOGY.clientNetns} bash -c '
  exec 3<>/dev/tcp/${VIP}/1100 || exit 9
  read -t 5 hello <&3
  echo "\${hello#hello-}" >/run/kse-port
  while [ ! -e /run/kse-go ]; do sleep 0.1; done
  start=$(date +%s%N)
  echo ping >&3
  read -t 8 reply <&3 2>/run/kse-err; rc=$?
  end=$(date +%s%N)
  echo "rc=$rc reply=[$reply] ms=$(( (end - start) / 1000000 )) err=$(cat /run/kse-err)"
' & client=$!
while [ ! -s /run/kse-port ]; do sleep 0.1; done
port=$(cat /run/kse-port)
ipvsadm -d -t ${VIP}:1100 -r ${VIP}:$port
echo "removed=$port"
touch /run/kse-go
wait $client`,
    { timeoutMs: 60_000 },
  );
  const removed = /removed=(\d+)/.exec(out)?.[1] ?? "?";
  const m = /rc=(\d+) reply=\[(.*)\] ms=(\d+) err=(.*)/.exec(out);
  if (!m) throw new Error(`no result from the client:\n${out}`);
  const outcome = m[1] === "1" && /Connection reset by peer/.test(m[4]) ? "reset" : Number(m[1]) > 128 && m[2] === "" ? "hang" : `rc=${m[1]} reply=${m[2]} ${m[4]}`;
  return { outcome, ms: Number(m[3]), removed };
}

beforeAll(async () => {
  guest = await LabGuest.boot("kernel-side-effects");
  release = guest.sshOk("uname -r").trim();
  // Backends that say who they are, then echo: the connection stays open until the client closes it.
  for (const port of [1101, 1102]) {
    guest.sshOk(`setsid -f socat TCP4-LISTEN:${port},fork,reuseaddr SYSTEM:'echo hello-${port}; cat' </dev/null >/dev/null 2>&1`);
  }
  guest.sshOk("modprobe ip_vs");
  defaults = vsSysctls();
}, 30 * 60 * 1000);

afterAll(() => guest?.stop());

describe("(a) conn_reuse_mode by kernel version; the expire_* defaults, restored by destroy", () => {
  test("the lab kernel is 6.1, whose defaults are conn_reuse_mode 1, conntrack 0, expire_* 0", () => {
    expect(release).toMatch(/^6\.1\./);
    expect(defaults).toEqual({ conn_reuse_mode: "1", conntrack: "0", expire_nodest_conn: "0", expire_quiescent_template: "0" });
  });

  test("on 6.1 apply logs once that conn_reuse_mode is left alone, and it keeps the kernel default; expire_* are 1; verify passes", () => {
    upload();
    const out = runOk("apply.sh");
    const decisions = out.split("\n").filter((l) => l.includes("conn_reuse_mode"));
    expect(decisions).toEqual([`cdktf-ipvs lb1 [sysctls] kernel ${release}: net.ipv4.vs.conn_reuse_mode left alone (fixed from 5.9 on (kubernetes#93297); left alone as kube-proxy does)`]);
    expect(out).toContain("[sysctls] net.ipv4.vs.expire_nodest_conn: 0 -> 1");
    expect(out).toContain("[sysctls] net.ipv4.vs.expire_quiescent_template: 0 -> 1");
    expect(vsSysctls()).toEqual({ conn_reuse_mode: defaults.conn_reuse_mode, conntrack: "1", expire_nodest_conn: "1", expire_quiescent_template: "1" });
    expect(guest.sshOk(`cat ${STATE}/sysctl.orig`)).not.toContain("conn_reuse_mode");
    expect(runOk("verify.sh")).toContain("OK: host matches the desired state");
    expect(isRoundRobin(connectN(guest, VIP, 1010, 4))).toBe(true);
  });

  test("destroy puts expire_nodest_conn and expire_quiescent_template back to the kernel defaults; conn_reuse_mode untouched", () => {
    const out = runOk("destroy.sh");
    expect(out).toContain("net.ipv4.vs.expire_nodest_conn restored to 0");
    expect(out).toContain("net.ipv4.vs.expire_quiescent_template restored to 0");
    expect(out).not.toContain("conn_reuse_mode");
    expect(vsSysctls()).toEqual(defaults);
  });

  test("with a 5.4 release string (a uname on the scripts' PATH says so): set to 0, remembered, checked by verify, restored by destroy", () => {
    // The scripts put /usr/local/sbin first on PATH; only `uname -r` is faked.
    guest.sshOk(`printf '%s\\n' '#!/bin/sh' '[ "$1" = -r ] && { echo 5.4.0-150-generic; exit 0; }' 'exec /usr/bin/uname "$@"' >/usr/local/sbin/uname && chmod 755 /usr/local/sbin/uname`);
    try {
      upload();
      const out = runOk("apply.sh");
      expect(out.split("\n").filter((l) => l.includes("conn_reuse_mode"))).toEqual([
        expect.stringMatching(/^cdktf-ipvs lb1 \[sysctls\] kernel 5\.4\.0-150-generic: net\.ipv4\.vs\.conn_reuse_mode set to 0 \(kernels from 4\.1 up to 5\.9 .*kubernetes#70747.*\)$/),
        "cdktf-ipvs lb1 [sysctls] net.ipv4.vs.conn_reuse_mode: 1 -> 0",
      ]);
      expect(vsSysctls().conn_reuse_mode).toBe("0");
      expect(guest.sshOk(`cat ${STATE}/sysctl.orig`)).toContain("net.ipv4.vs.conn_reuse_mode 1\n");
      expect(runOk("verify.sh")).toContain("OK: host matches the desired state");
      // Put back by hand: verify sees it.
      guest.sshOk(`echo 1 > ${VS}/conn_reuse_mode`);
      const drift = run("verify.sh");
      expect(drift.code).toBe(1);
      expect(drift.stdout).toContain("DRIFT: sysctl net.ipv4.vs.conn_reuse_mode is 1, want 0");
      runOk("apply.sh");
      expect(vsSysctls().conn_reuse_mode).toBe("0");
      expect(runOk("destroy.sh")).toContain("net.ipv4.vs.conn_reuse_mode restored to 1");
      expect(vsSysctls()).toEqual(defaults);
    } finally {
      guest.sshOk("rm -f /usr/local/sbin/uname");
    }
    expect(guest.sshOk("uname -r").trim()).toBe(release);
  });
});

describe("(b) expire_nodest_conn: a connection to a removed real server", () => {
  test("with 1 (the default now) the client is reset at once; with 0 (the kernel default) it hangs", () => {
    upload();
    runOk("apply.sh");
    expect(vsSysctls().expire_nodest_conn).toBe("1");
    const withOne = connectionToRemovedServer();
    runOk("apply.sh"); // puts the removed real server back
    guest.sshOk(`echo 0 > ${VS}/expire_nodest_conn`);
    const withZero = connectionToRemovedServer();
    runOk("apply.sh"); // the real server and expire_nodest_conn=1 back
    expect(vsSysctls().expire_nodest_conn).toBe("1");
    expect(withOne.outcome).toBe("reset");
    expect(withOne.ms).toBeLessThan(3000);
    expect(withZero.outcome).toBe("hang");
    expect(withZero.ms).toBeGreaterThanOrEqual(7900);
    runOk("destroy.sh");
    expect(vsSysctls()).toEqual(defaults);
  });
});

describe("(c) preflight: a kernel without net.ipv4.vs.conntrack (CONFIG_IP_VS_NFCT off), simulated", () => {
  /**
   * Every IPVS sysctl of this kernel but conntrack, as plain files on a tmpfs mounted over
   * /proc/sys/net/ipv4/vs: what such a kernel shows once ip_vs is loaded.
   */
  const simulate = () =>
    guest.sshOk(
      `rm -rf /run/kse-vs && mkdir /run/kse-vs && for f in ${VS}/*; do [ "\${f##*/}" = conntrack ] || cat "$f" >"/run/kse-vs/\${f##*/}"; done
mount -t tmpfs -o size=1m,mode=0555 kse-novs ${VS} && cp -p /run/kse-vs/* ${VS}/ && chmod 0644 ${VS}/*`,
    );
  const unsimulate = () => guest.sshOk(`umount ${VS}`);

  test("the simulation: ip_vs is loaded, every other IPVS sysctl is there, conntrack is not", () => {
    simulate();
    try {
      const listed = guest.sshOk(`[ -d /sys/module/ip_vs ] && ls ${VS}`).trim().split("\n");
      expect(listed).not.toContain("conntrack");
      expect(listed).toEqual(expect.arrayContaining(["conn_reuse_mode", "expire_nodest_conn", "expire_quiescent_template", "am_droprate"]));
      expect(guest.sshOk(`findmnt -n -o FSTYPE ${VS}`).trim()).toBe("tmpfs");
    } finally {
      unsimulate();
    }
    expect(guest.sshOk(`cat ${VS}/conntrack`).trim()).toBe("0");
  });

  test("apply (and its preview) stop with the clear error before any change: IPVS, nat, sysctls and our files are as before", () => {
    upload();
    const realBefore = vsSysctls();
    simulate();
    let apply: ReturnType<typeof run>;
    let preview: ReturnType<typeof run>;
    try {
      const before = hostSnapshot();
      preview = run("apply.sh", "--dry-run");
      apply = run("apply.sh");
      expect(hostSnapshot()).toBe(before);
    } finally {
      unsimulate();
    }
    expect(vsSysctls()).toEqual(realBefore);
    for (const r of [apply, preview]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`ERROR: net.ipv4.vs.conntrack does not exist although ip_vs is loaded (/proc/sys/net/ipv4/vs/conntrack is missing): kernel ${release} was built without CONFIG_IP_VS_NFCT`);
      expect(r.stderr).toContain("this host's aliases need it");
      expect(r.stderr).toContain("Fix: use a kernel built with CONFIG_IP_VS_NFCT=y");
    }
    expect(apply.stderr).toContain("cdktf-ipvs lb1 [preflight] ERROR:");
    expect(apply.stderr).toContain("Stopped before any change.");
    expect(apply.stdout).not.toContain("[modules] begin");
    expect(guest.sshOk("ipvsadm -Sn")).toBe("");
  });

  test("the control: the same apply with the real /proc/sys succeeds, and verify passes", () => {
    expect(runOk("apply.sh")).toContain("[aliases] done");
    expect(vsSysctls().conntrack).toBe("1");
    expect(runOk("verify.sh")).toContain("OK: host matches the desired state");
  });
});

describe("(d) the conntrack table: one entry per IPVS connection with conntrack=1; verify's 80% warning", () => {
  /** Conntrack entries of connections to the service port 1000 (the conntrack tool). */
  const entriesTo1000 = () => Number(guest.sshOk(`conntrack -L -p tcp --orig-dst ${VIP} --dport 1000 2>/dev/null | wc -l`).trim());

  test("20 connections to the service: 20 entries with conntrack=1, none with conntrack=0", () => {
    guest.sshOk(`conntrack -D -p tcp --orig-dst ${VIP} --dport 1000 >/dev/null 2>&1 || true`);
    expect(connectN(guest, VIP, 1000, 20).every((r) => /^port-100[12]$/.test(r))).toBe(true);
    expect(entriesTo1000()).toBe(20);
    guest.sshOk(`conntrack -D -p tcp --orig-dst ${VIP} --dport 1000 >/dev/null 2>&1 || true; echo 0 > ${VS}/conntrack`);
    try {
      expect(connectN(guest, VIP, 1000, 20).every((r) => /^port-100[12]$/.test(r))).toBe(true);
      expect(entriesTo1000()).toBe(0);
    } finally {
      guest.sshOk(`echo 1 > ${VS}/conntrack`);
    }
  });

  test("nf_conntrack_max just above the count: verify prints the WARNING and still exits 0; a large max: no warning", () => {
    // Fresh entries (TIME_WAIT keeps them 120 s): the table holds at least these 30.
    expect(connectN(guest, VIP, 1000, 30).every((r) => /^port-100[12]$/.test(r))).toBe(true);
    // In one SSH session: lower the max to about 85% full (room left for a few new entries),
    // run verify, put the max back.
    const out = guest.sshOk(
      `orig=$(cat ${NF}/nf_conntrack_max); count=$(cat ${NF}/nf_conntrack_count)
max=$((count * 100 / 85)); [ "$max" -gt "$count" ] || max=$((count + 1))
echo "$max" > ${NF}/nf_conntrack_max
sh ${STATE}/verify.sh >/run/kse-verify.out 2>&1; rc=$?
echo "$orig" > ${NF}/nf_conntrack_max
cat /run/kse-verify.out; echo "count=$count max=$max rc=$rc orig=$orig"`,
    );
    const m = /count=(\d+) max=(\d+) rc=(\d+) orig=(\d+)/.exec(out)!;
    expect(Number(m[1])).toBeGreaterThanOrEqual(30);
    expect(m[3]).toBe("0");
    const warning = out.split("\n").filter((l) => l.includes("WARNING"));
    expect(warning).toHaveLength(1);
    const w = /^cdktf-ipvs lb1 \[verify\] WARNING: conntrack table (\d+)% full \((\d+)\/(\d+)\): .*raise net\.netfilter\.nf_conntrack_max in the host's sysctls \(conntrackMaxFor\(\) in cdktf-ipvs sizes it\)$/.exec(warning[0])!;
    expect(w).not.toBeNull();
    expect(Number(w[3])).toBe(Number(m[2]));
    expect(Number(w[2]) * 100).toBeGreaterThan(Number(w[3]) * 80);
    expect(out).toContain("OK: host matches the desired state");
    expect(guest.sshOk(`cat ${NF}/nf_conntrack_max`).trim()).toBe(m[4]);

    const large = guest.sshOk(`orig=$(cat ${NF}/nf_conntrack_max); echo 262144 > ${NF}/nf_conntrack_max; sh ${STATE}/verify.sh; rc=$?; echo "$orig" > ${NF}/nf_conntrack_max; echo "rc=$rc"`);
    expect(large).not.toContain("WARNING");
    expect(large).toContain("OK: host matches the desired state");
    expect(large).toContain("rc=0");
  });

  test("destroy leaves the kernel's own values", () => {
    runOk("destroy.sh");
    expect(vsSysctls()).toEqual(defaults);
  });
});
