/**
 * Other owners of IPVS on the host (lib/render/host/owners.sh, check_other_owners), on a real
 * Debian 12 guest, one boot. Before any change, apply.sh refuses when another program would remove
 * or overwrite our services, and says why:
 *   (a) an ipvsadm.service the RHEL/Fedora way (ExecStart restores a saved table, ExecStop saves
 *       it then clears the whole table with ipvsadm's -C), enabled and active: refused, also in
 *       --dry-run; masked (the documented fix): apply proceeds, and stopping the masked unit then
 *       clears nothing;
 *   (b) a kube-proxy IPVS layout (dummy interface kube-ipvs0 with a service address, a
 *       KUBE-SERVICES nat chain jumped to from PREROUTING, its IPVS service): refused; with
 *       kube-ipvs0 gone (the chain and the IPVS service stay): apply proceeds;
 *   (c) /etc/keepalived/keepalived.conf with a virtual_server for our 172.16.1.8:1000: refused
 *       naming the file and line; for another address: apply proceeds with a note.
 * A baseline run first (the control of the controls): the guest's own Debian ipvsadm init script,
 * enabled with AUTO=false, is only a note. Throughout, a foreign IPVS service made by hand, the
 * fake owner's files and every foreign nat rule stay byte-identical; a refused run changes nothing
 * at all on the host (only the lock file in /run may appear), and nothing of ours exists after it.
 *
 * apply.sh and destroy.sh are the ones rendered from the seed spec (V1), run from a folder of
 * their own as an operator would (`sh apply.sh`); every successful apply is verified with
 * verify.sh and undone with destroy.sh, so that each case starts without anything of ours. No
 * traffic is sent: all addresses are the guest's own.
 */
import { buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { HostScripts, renderHost } from "../../lib/render";
import { ExecResult, LabGuest, TOPOLOGY } from "./lab";
import { V1 } from "./seed-specs";

const VIP = TOPOLOGY.lbIPv4;
const DIR = "/root/owners-e2e";
/** Made by hand before the first run, and never touched by us. */
const FOREIGN_IPVS = [`-A -t ${VIP}:2000 -s wlc`, `-a -t ${VIP}:2000 -r ${VIP}:1001 -m -w 2`];
const OUR_KEY = `-t ${VIP}:1000`;

// RHEL/Fedora's ipvsadm.service, as their ipvsadm package ships it (paths exist on Debian too).
const IPVSADM_UNIT = `[Unit]
Description=Initialise the Linux Virtual Server
After=syslog.target network.target

[Service]
Type=oneshot
ExecStart=/bin/bash -c "exec /sbin/ipvsadm-restore < /etc/sysconfig/ipvsadm"
ExecStop=/bin/bash -c "exec /sbin/ipvsadm-save -n > /etc/sysconfig/ipvsadm"
ExecStop=/sbin/ipvsadm -C
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
`;

const KEEPALIVED = (address: string) => `! Configuration File for keepalived
global_defs {
   router_id LVS_LAB
}

virtual_server ${address} 1000 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP

    real_server ${VIP} 1001 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
`;
/** The line of "virtual_server" in KEEPALIVED(). */
const KEEPALIVED_VS_LINE = 6;

let guest: LabGuest;
let scripts: HostScripts;

beforeAll(async () => {
  scripts = renderHost(planHost(buildDesiredHost(V1))).scripts;
  guest = await LabGuest.boot("owners");
  guest.sshOk(`mkdir -p ${DIR} && chmod 700 ${DIR}`);
  for (const name of ["apply.sh", "verify.sh", "destroy.sh"] as const) guest.sshOk(`cat > ${DIR}/${name}`, { input: scripts[name] });
  guest.sshOk(FOREIGN_IPVS.map((r) => `ipvsadm ${r}`).join(" && "));
}, 30 * 60 * 1000);

afterAll(() => guest?.stop());

/** Files of the fake owners (their hashes, or "absent"). */
const OWNER_FILES = [
  "/usr/lib/systemd/system/ipvsadm.service",
  "/etc/systemd/system/ipvsadm.service",
  "/etc/systemd/system/multi-user.target.wants/ipvsadm.service",
  "/etc/sysconfig/ipvsadm",
  "/etc/keepalived/keepalived.conf",
  "/etc/init.d/ipvsadm",
  "/etc/default/ipvsadm",
];

/** Everything not ours: the IPVS table without our service, nat without our chains, the owners' files, units, links. */
function foreignState(): string {
  return guest.sshOk(
    [
      `echo '## ipvs'; ipvsadm -Sn | grep -vF -- '${OUR_KEY}' || true`,
      "echo '## nat'; iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//' | grep -v CDKTF-IPVS || true",
      `echo '## files'; for f in ${OWNER_FILES.join(" ")}; do if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; elif [ -e "$f" ]; then sha256sum "$f"; else echo "$f absent"; fi; done`,
      "echo '## units'; systemctl is-enabled ipvsadm.service 2>/dev/null; systemctl is-active ipvsadm.service 2>/dev/null || true",
      "echo '## kube-ipvs0'; ip -o link show kube-ipvs0 2>/dev/null | sed 's/^[0-9]*: //'; ip -o addr show dev kube-ipvs0 2>/dev/null | awk '{ print $2, $3, $4 }' || true",
    ].join("; "),
  );
}

/** The whole host as a refused run could touch it (the preview suite's snapshot, less the lock file). */
function hostState(): string {
  return guest.sshOk(
    [
      "echo '## ipvs'; ipvsadm -Sn; ipvsadm -Ln --thresholds | awk '{ print $1, $2, $3, $4 }'",
      "echo '## nat'; iptables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## nat6'; ip6tables-save -t nat | grep -v '^#' | sed 's/\\[[0-9]*:[0-9]*\\]//'",
      "echo '## modules'; for m in ip_vs ip_vs_rr ip_vs_wlc nf_conntrack; do [ -d /sys/module/$m ] && echo \"$m loaded\" || echo \"$m not loaded\"; done",
      "echo '## sysctls'; for k in net/ipv4/vs/conntrack net/ipv4/ip_forward net/ipv4/vs/expire_nodest_conn net/ipv4/vs/expire_quiescent_template; do printf '%s=' $k; cat /proc/sys/$k 2>/dev/null || echo absent; done",
      "echo '## files'; ls -la --time-style=full-iso /var/lib/cdktf-ipvs /etc/sysctl.d /etc/modules-load.d /etc/systemd/system /etc/systemd/system/multi-user.target.wants 2>&1 | grep -v ' \\.\\.$'",
      "echo '## unit'; systemctl is-enabled cdktf-ipvs.service 2>&1 || true",
      "echo '## scratch'; ls -d /run/cdktf-ipvs.* /tmp/cdktf-ipvs.* 2>/dev/null | grep -v '^/run/cdktf-ipvs.lock$' || echo none",
    ].join("; "),
  );
}

function expectNothingOfOurs(): void {
  expect(guest.sshOk("ipvsadm -Sn")).not.toContain(OUR_KEY);
  expect(guest.sshOk("iptables-save -t nat")).not.toContain("CDKTF-IPVS");
  for (const f of ["/var/lib/cdktf-ipvs", "/etc/systemd/system/cdktf-ipvs.service", "/etc/modules-load.d/cdktf-ipvs.conf", "/etc/sysctl.d/90-cdktf-ipvs.conf"]) {
    expect(`${f}: ${guest.ssh(`test -e ${f}`).code === 0 ? "exists" : "absent"}`).toBe(`${f}: absent`);
  }
}

function apply(args = ""): ExecResult {
  return guest.ssh(`sh ${DIR}/apply.sh ${args}`, { timeoutMs: 300_000 });
}

/** A refused apply: exit 1, the reason on stderr, the host exactly as before, nothing of ours. */
function expectRefused(args: string, ...reasons: string[]): ExecResult {
  const foreign = foreignState();
  const host = hostState();
  const r = apply(args);
  const out = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^cdktf-ipvs lb1 \[preflight\] ERROR: .*nothing was changed$/m);
  expect(r.stdout).toContain("[preflight] REFUSED: ");
  expect(r.stdout).not.toMatch(/\[(modules|sysctls|ipvs|aliases|boot)\] begin/);
  for (const reason of reasons) expect(out).toContain(reason);
  expect(hostState()).toBe(host);
  expect(foreignState()).toBe(foreign);
  expectNothingOfOurs();
  return r;
}

/** An apply that proceeds: exit 0, verify.sh agrees, the foreign state intact; then destroy.sh undoes ours. */
function expectProceeds(...notes: string[]): ExecResult {
  const foreign = foreignState();
  const r = apply();
  if (r.code !== 0) throw new Error(`apply.sh failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  expect(r.stdout).not.toContain("REFUSED");
  for (const note of notes) expect(r.stdout).toContain(note);
  expect(guest.sshOk("ipvsadm -Sn")).toContain(`-A ${OUR_KEY} -s rr`);
  expect(guest.ssh(`sh ${DIR}/verify.sh`).code).toBe(0);
  expect(foreignState()).toBe(foreign);
  return r;
}

function destroyOurs(): void {
  const foreign = foreignState();
  guest.sshOk(`sh ${DIR}/destroy.sh`, { timeoutMs: 300_000 });
  expectNothingOfOurs();
  expect(foreignState()).toBe(foreign);
}

describe("other owners of IPVS on the host: refused before any change, foreign state intact", () => {
  test("control: no other owner; Debian's own ipvsadm init script (AUTO=false) is only a note", () => {
    expectNothingOfOurs();
    expect(guest.sshOk("ipvsadm -Sn")).toBe(`${FOREIGN_IPVS.join("\n")}\n`);
    const r = expectProceeds();
    expect(r.stdout).toMatch(/\[preflight\] note: \/etc\/init\.d\/ipvsadm is \S+ with AUTO=false \(\/etc\/default\/ipvsadm:\d+\): it neither restores nor clears/);
    expect(r.stdout).not.toContain("WARNING");
    destroyOurs();
  });

  test("(a) ipvsadm.service (ExecStop clears the table) enabled and active: refused, also the preview; masked: proceeds, and its stop clears nothing", () => {
    // The Debian init script's own unit stopped first (AUTO=false: it clears nothing), then the RHEL
    // unit over it, started with the table saved as it is (its ipvsadm-restore clears the table first).
    guest.sshOk("systemctl stop ipvsadm.service && mkdir -p /etc/sysconfig && ipvsadm-save -n > /etc/sysconfig/ipvsadm");
    guest.sshOk("cat > /usr/lib/systemd/system/ipvsadm.service", { input: IPVSADM_UNIT });
    guest.sshOk("systemctl daemon-reload && systemctl enable ipvsadm.service 2>&1 && systemctl start ipvsadm.service");
    expect(guest.sshOk("systemctl is-enabled ipvsadm.service; systemctl is-active ipvsadm.service")).toBe("enabled\nactive\n");
    expect(guest.sshOk("ipvsadm -Sn")).toBe(`${FOREIGN_IPVS.join("\n")}\n`);

    const why = ["ipvsadm.service (/usr/lib/systemd/system/ipvsadm.service) is enabled and active", "ExecStop clears the whole IPVS table", "its ExecStart runs ipvsadm-restore, which clears the whole table", "Fix: 'systemctl mask ipvsadm.service'"];
    const r = expectRefused("", ...why);
    expect(r.stderr).toContain("systemctl mask ipvsadm.service");
    expectRefused("--dry-run", ...why);

    // The fix, while the unit is still active: mask (daemon-reload is implied).
    guest.sshOk("systemctl mask ipvsadm.service 2>&1");
    expect(guest.sshOk("systemctl is-enabled ipvsadm.service; systemctl is-active ipvsadm.service || true")).toBe("masked\nactive\n");
    expectProceeds("[preflight] note: ipvsadm.service is masked");
    // What masking is for: stopping the unit (as shutdown would) now runs no ExecStop.
    const table = guest.sshOk("ipvsadm -Sn");
    guest.sshOk("systemctl stop ipvsadm.service");
    expect(guest.sshOk("systemctl is-active ipvsadm.service || true")).toBe("inactive\n");
    expect(guest.sshOk("ipvsadm -Sn")).toBe(table);
    destroyOurs();

    // Back to the guest's own Debian unit.
    guest.sshOk("systemctl unmask ipvsadm.service && systemctl disable ipvsadm.service 2>&1; rm -f /usr/lib/systemd/system/ipvsadm.service /etc/sysconfig/ipvsadm && systemctl daemon-reload");
    expect(guest.sshOk("ipvsadm -Sn")).toBe(`${FOREIGN_IPVS.join("\n")}\n`);
  });

  test("(b) kube-proxy IPVS layout (kube-ipvs0, KUBE-SERVICES, its IPVS service): refused; kube-ipvs0 removed: proceeds", () => {
    guest.sshOk(
      [
        "ip link add kube-ipvs0 type dummy",
        "ip addr add 10.96.0.1/32 dev kube-ipvs0",
        "iptables -w -t nat -N KUBE-SERVICES",
        "iptables -w -t nat -A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j RETURN",
        "iptables -w -t nat -A PREROUTING -m comment --comment 'kubernetes service portals' -j KUBE-SERVICES",
        "ipvsadm -A -t 10.96.0.1:443 -s rr",
        `ipvsadm -a -t 10.96.0.1:443 -r ${VIP}:1002 -m -w 1`,
      ].join(" && "),
    );
    const r = expectRefused("", "kube-proxy runs in IPVS mode", "interface kube-ipvs0", "nat chain KUBE-SERVICES", "deletes, at every sync, each IPVS virtual service it did not create");
    expect(r.stderr).toContain("kube-ipvs0");

    // Control: kube-proxy's interface gone (its chain and IPVS service stay, as after a switch to iptables mode).
    guest.sshOk("ip link del kube-ipvs0");
    expectProceeds();
    expect(guest.sshOk("ipvsadm -Sn")).toContain("-A -t 10.96.0.1:443 -s rr");
    expect(guest.sshOk("iptables -w -t nat -S KUBE-SERVICES")).toContain("-j RETURN");
    destroyOurs();

    guest.sshOk("iptables -w -t nat -D PREROUTING -m comment --comment 'kubernetes service portals' -j KUBE-SERVICES && iptables -w -t nat -F KUBE-SERVICES && iptables -w -t nat -X KUBE-SERVICES && ipvsadm -D -t 10.96.0.1:443");
    expect(guest.sshOk("ipvsadm -Sn")).toBe(`${FOREIGN_IPVS.join("\n")}\n`);
  });

  test("(c) keepalived.conf with a virtual_server for 172.16.1.8 1000: refused naming file and line; for another address: proceeds with a note", () => {
    guest.sshOk("mkdir -p /etc/keepalived && cat > /etc/keepalived/keepalived.conf", { input: KEEPALIVED(VIP) });
    const r = expectRefused("", `/etc/keepalived/keepalived.conf:${KEEPALIVED_VS_LINE}`, `our IPVS service ${OUR_KEY}`, `'virtual_server ${VIP} 1000'`);
    expect(r.stderr).toContain("keepalived");

    guest.sshOk("cat > /etc/keepalived/keepalived.conf", { input: KEEPALIVED("172.16.1.9") });
    expectProceeds(`[preflight] note: keepalived (/etc/keepalived/keepalived.conf) manages 1 other IPVS service(s): -t 172.16.1.9:1000 (/etc/keepalived/keepalived.conf:${KEEPALIVED_VS_LINE})`);
    destroyOurs();
    guest.sshOk("rm -rf /etc/keepalived");
    expect(guest.sshOk("ipvsadm -Sn")).toBe(`${FOREIGN_IPVS.join("\n")}\n`);
  });
});
