/**
 * lib/render/host/kernel.sh, run with real sh inside the rendered scripts' own prelude (the
 * desired state, log, die, paths), against a fake /proc/sys and /sys/module tree and a fake
 * `uname -r`. The real kernel is exercised in test/e2e/kernel-side-effects.e2e.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostSpec, buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { CONN_REUSE_MODE_RULE, renderHost } from "../../lib/render";
import { seedHost, seedService } from "../fixtures";

const KERNEL_SH = path.join(__dirname, "../../lib/render/host/kernel.sh");
const render = (spec: HostSpec) => renderHost(planHost(buildDesiredHost(spec)));

/** The seed (aliases: conntrack wanted). */
const WITH_ALIASES = seedHost();
/** No alias, conntrack not asked for. */
const NO_CONNTRACK = seedHost({ virtualServices: [seedService({ aliases: [] })] });
/** conntrack asked for without an alias. */
const CONNTRACK_PROP = seedHost({ conntrack: true, virtualServices: [seedService({ aliases: [] })] });
/** The user decides conn_reuse_mode. */
const DECLARED = seedHost({ sysctls: { "net.ipv4.vs.conn_reuse_mode": 1 } });

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-kernel-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs COMMANDS after the functions of SCRIPT (a rendered apply.sh or verify.sh without its
 * `main "$@"`), with PROC_SYS and SYS_MODULE under ROOT and `uname -r` printing RELEASE.
 */
function runIn(script: string, commands: string, opts: { root?: string; release?: string } = {}): Run {
  const lines = script.split("\n");
  const body = lines.slice(0, lines.lastIndexOf('main "$@"')).join("\n");
  const root = opts.root ?? fs.mkdtempSync(path.join(tmp, "root-"));
  const file = path.join(tmp, `run-${process.hrtime.bigint()}.sh`);
  fs.writeFileSync(
    file,
    `${body}
PROC_SYS="$FAKE_ROOT/proc/sys"
SYS_MODULE="$FAKE_ROOT/sys/module"
uname() { [ "$1" = -r ] && printf '%s\\n' "$FAKE_RELEASE"; }
${commands}
`,
  );
  const r = spawnSync("sh", [file], { encoding: "utf8", env: { ...process.env, FAKE_ROOT: root, FAKE_RELEASE: opts.release ?? "6.1.0-28-amd64" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fake tree: ip_vs loaded or not, with or without net.ipv4.vs.conntrack, conntrack counters. */
function fakeTree(opts: { ipVs?: boolean; conntrackSysctl?: boolean; nfConntrack?: { count: number; max: number } } = {}): string {
  const root = fs.mkdtempSync(path.join(tmp, "root-"));
  fs.mkdirSync(path.join(root, "proc/sys/net/ipv4"), { recursive: true });
  fs.mkdirSync(path.join(root, "sys/module"), { recursive: true });
  if (opts.ipVs) {
    fs.mkdirSync(path.join(root, "sys/module/ip_vs"));
    fs.mkdirSync(path.join(root, "proc/sys/net/ipv4/vs"));
    fs.writeFileSync(path.join(root, "proc/sys/net/ipv4/vs/expire_nodest_conn"), "0\n");
    fs.writeFileSync(path.join(root, "proc/sys/net/ipv4/vs/conn_reuse_mode"), "1\n");
    if (opts.conntrackSysctl) fs.writeFileSync(path.join(root, "proc/sys/net/ipv4/vs/conntrack"), "0\n");
  }
  if (opts.nfConntrack) {
    fs.mkdirSync(path.join(root, "sys/module/nf_conntrack"));
    fs.mkdirSync(path.join(root, "proc/sys/net/netfilter"), { recursive: true });
    fs.writeFileSync(path.join(root, "proc/sys/net/netfilter/nf_conntrack_count"), `${opts.nfConntrack.count}\n`);
    fs.writeFileSync(path.join(root, "proc/sys/net/netfilter/nf_conntrack_max"), `${opts.nfConntrack.max}\n`);
  }
  return root;
}

describe("kernel.sh is valid POSIX sh", () => {
  test("sh -n and shellcheck -s sh -S style pass on the file itself", () => {
    expect(spawnSync("sh", ["-n", KERNEL_SH]).status).toBe(0);
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "style", KERNEL_SH], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("the rendered scripts carry it verbatim", () => {
    const body = fs.readFileSync(KERNEL_SH, "utf8").split("\n").filter((l) => !l.startsWith("#!") && !l.startsWith("# shellcheck shell=")).join("\n").trim();
    for (const script of Object.values(render(WITH_ALIASES).scripts)) expect(script).toContain(body);
  });
});

describe("conn_reuse_mode_for_kernel RELEASE (pure: the version string decides)", () => {
  const apply = () => render(WITH_ALIASES).scripts["apply.sh"];
  const CASES: [string, "0" | "-"][] = [
    // 4.1 up to, not including, 5.9: set to 0 (kubernetes#70747).
    ["4.1.0", "0"],
    ["4.1", "0"],
    ["4.4.0-210-generic", "0"],
    ["4.15.0-213-generic", "0"],
    ["4.18.0-553.el8_10.x86_64", "0"],
    ["4.19.0-27-amd64", "0"],
    ["5.4.0-150-generic", "0"],
    ["5.8.18-100.fc31.x86_64", "0"],
    ["5.8", "0"],
    // From 5.9 on: fixed, left alone (kubernetes#93297).
    ["5.9", "-"],
    ["5.9.0", "-"],
    ["5.10.0+", "-"],
    ["5.10.0-30-amd64", "-"],
    ["5.15.0-119-generic", "-"],
    ["6.1.0-28-amd64", "-"],
    ["6.18.44-fc-v669", "-"],
    ["10.0.0", "-"],
    // Before 4.1: left alone as kube-proxy does (RHEL/CentOS 7 declare it in sysctls).
    ["4.0.9", "-"],
    ["3.10.0-1160.el7.x86_64", "-"],
    ["2.6.32-754.el6.x86_64", "-"],
    // Not MAJOR.MINOR: unknown, left alone.
    ["", "-"],
    ["5", "-"],
    ["linux", "-"],
    ["v5.4.0", "-"],
    ["5.x", "-"],
    ["99999.1", "-"],
  ];
  test.each(CASES)("%j -> %s", (release, value) => {
    const r = runIn(apply(), `conn_reuse_mode_for_kernel '${release}'`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split(" ")[0]).toBe(value);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
  });

  test("leading zeros are read as decimal, not octal (4.08 is 4.8, 05.04 is 5.4)", () => {
    expect(runIn(apply(), 'conn_reuse_mode_for_kernel 4.08.1; conn_reuse_mode_for_kernel 05.04.0; conn_reuse_mode_for_kernel 5.09').stdout.split("\n").map((l) => l.split(" ")[0])).toEqual(["0", "0", "-", ""]);
  });

  test("each answer says why: the issue it follows, or that the version is unknown", () => {
    const why = (rel: string) => runIn(apply(), `conn_reuse_mode_for_kernel '${rel}'`).stdout.trim();
    expect(why("5.4.0-150-generic")).toMatch(/^0 .*kubernetes#70747.*set to 0/);
    expect(why("6.1.0-28-amd64")).toMatch(/^- fixed from 5\.9 on \(kubernetes#93297\); left alone/);
    expect(why("3.10.0-1160.el7.x86_64")).toMatch(/^- kernel older than 4\.1.*RHEL\/CentOS 7.*declare net\.ipv4\.vs\.conn_reuse_mode in the host's sysctls/);
    expect(why("linux")).toMatch(/^- .*unknown; left alone/);
  });
});

describe("host_sysctls: the desired sysctls, plus conn_reuse_mode 0 where the kernel needs it", () => {
  const lines = (spec: HostSpec, release: string, script: "apply.sh" | "verify.sh" = "apply.sh") => {
    const r = runIn(render(spec).scripts[script], "host_sysctls", { release });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return r.stdout.trim().split("\n");
  };
  const desired = (spec: HostSpec) => buildDesiredHost(spec).sysctls.map((s) => `${s.key} ${s.value}`);

  test("conntrack wanted (aliases) on 5.4: conn_reuse_mode 0 is added, after the desired ones; the same in verify.sh", () => {
    expect(lines(WITH_ALIASES, "5.4.0-150-generic")).toEqual([...desired(WITH_ALIASES), "net.ipv4.vs.conn_reuse_mode 0"]);
    expect(lines(WITH_ALIASES, "4.19.0-27-amd64", "verify.sh")).toEqual([...desired(WITH_ALIASES), "net.ipv4.vs.conn_reuse_mode 0"]);
  });

  test("conntrack wanted by the conntrack prop (no alias) on 4.19: added too", () => {
    expect(lines(CONNTRACK_PROP, "4.19.0-27-amd64")).toContain("net.ipv4.vs.conn_reuse_mode 0");
  });

  test("conntrack wanted on 6.1, 5.10 and 3.10: only the desired ones", () => {
    for (const release of ["6.1.0-28-amd64", "5.10.0+", "3.10.0-1160.el7.x86_64"]) expect(lines(WITH_ALIASES, release)).toEqual(desired(WITH_ALIASES));
  });

  test("conntrack not wanted on 5.4: only the desired ones (conn_reuse_mode matters only with conntrack=1)", () => {
    expect(desired(NO_CONNTRACK).some((l) => l.startsWith("net.ipv4.vs.conntrack "))).toBe(false);
    expect(lines(NO_CONNTRACK, "5.4.0-150-generic")).toEqual(desired(NO_CONNTRACK));
  });

  test("conn_reuse_mode declared by the user on 5.4: the user's value, once", () => {
    expect(lines(DECLARED, "5.4.0-150-generic")).toEqual(desired(DECLARED));
    expect(lines(DECLARED, "5.4.0-150-generic").filter((l) => l.startsWith("net.ipv4.vs.conn_reuse_mode "))).toEqual(["net.ipv4.vs.conn_reuse_mode 1"]);
  });

  test("a 4.19 kernel whose loaded ip_vs has no conn_reuse_mode: nothing to set (before ip_vs is loaded, e.g. in a preview: added)", () => {
    const withoutKnob = fakeTree({ ipVs: true, conntrackSysctl: true });
    fs.rmSync(path.join(withoutKnob, "proc/sys/net/ipv4/vs/conn_reuse_mode"));
    expect(runIn(render(WITH_ALIASES).scripts["apply.sh"], "host_sysctls", { root: withoutKnob, release: "4.19.0-27-amd64" }).stdout.trim().split("\n")).toEqual(desired(WITH_ALIASES));
    fs.writeFileSync(path.join(withoutKnob, "proc/sys/net/ipv4/vs/conn_reuse_mode"), "1\n");
    expect(runIn(render(WITH_ALIASES).scripts["apply.sh"], "host_sysctls", { root: withoutKnob, release: "4.19.0-27-amd64" }).stdout).toContain("net.ipv4.vs.conn_reuse_mode 0\n");
    expect(runIn(render(WITH_ALIASES).scripts["apply.sh"], "host_sysctls", { root: fakeTree({ ipVs: false }), release: "4.19.0-27-amd64" }).stdout).toContain("net.ipv4.vs.conn_reuse_mode 0\n");
  });

  test("host_sysctls prints only KEY VALUE lines (no log on its stdout)", () => {
    for (const l of lines(WITH_ALIASES, "5.4.0-150-generic")) expect(l).toMatch(/^[a-z0-9_.]+ [0-9]+$/);
  });
});

describe("the decision is logged once per apply, before the sysctls step", () => {
  const apply = (spec: HostSpec = WITH_ALIASES) => render(spec).scripts["apply.sh"];
  const steps = 'for STEP in modules sysctls ipvs aliases boot; do preflight_before_step; done; STEP=sysctls; preflight_before_step';

  test("6.1: left alone, with the reason, once", () => {
    const r = runIn(apply(), steps, { root: fakeTree({ ipVs: true, conntrackSysctl: true }), release: "6.1.0-28-amd64" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("cdktf-ipvs lb1 [sysctls] kernel 6.1.0-28-amd64: net.ipv4.vs.conn_reuse_mode left alone (fixed from 5.9 on (kubernetes#93297); left alone as kube-proxy does)\n");
  });

  test("5.4: set to 0, with the reason, once", () => {
    const r = runIn(apply(), steps, { root: fakeTree({ ipVs: true, conntrackSysctl: true }), release: "5.4.0-150-generic" });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toMatch(/^cdktf-ipvs lb1 \[sysctls\] kernel 5\.4\.0-150-generic: net\.ipv4\.vs\.conn_reuse_mode set to 0 \(kernels from 4\.1 up to 5\.9 .*kubernetes#70747.*\)\n$/);
  });

  test("user-declared: says the sysctls decide", () => {
    const r = runIn(apply(DECLARED), steps, { root: fakeTree({ ipVs: true, conntrackSysctl: true }), release: "5.4.0-150-generic" });
    expect(r.stdout).toBe("cdktf-ipvs lb1 [sysctls] kernel 5.4.0-150-generic: net.ipv4.vs.conn_reuse_mode left alone (declared in the host's sysctls, which decide)\n");
  });

  test("a preview (DRY_RUN=1) does not log it; its CHANGE lines show what the sysctls step would set", () => {
    const r = runIn(apply(), `DRY_RUN=1; ${steps}`, { root: fakeTree({ ipVs: true, conntrackSysctl: true }), release: "5.4.0-150-generic" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
  });
});

describe("preflight_before_step: a kernel without net.ipv4.vs.conntrack stops the run before any change", () => {
  const apply = (spec: HostSpec = WITH_ALIASES) => render(spec).scripts["apply.sh"];

  test("ip_vs loaded, conntrack sysctl missing, aliases: dies naming CONFIG_IP_VS_NFCT, the aliases and what to do", () => {
    const r = runIn(apply(), "STEP=modules; preflight_before_step; echo survived", { root: fakeTree({ ipVs: true, conntrackSysctl: false }) });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("survived");
    expect(r.stderr).toContain("cdktf-ipvs lb1 [modules] ERROR: net.ipv4.vs.conntrack does not exist although ip_vs is loaded");
    expect(r.stderr).toContain("/proc/sys/net/ipv4/vs/conntrack is missing");
    expect(r.stderr).toContain("built without CONFIG_IP_VS_NFCT");
    expect(r.stderr).toContain("this host's aliases need it");
    expect(r.stderr).toContain("Stopped before the modules step; nothing in sysctls, IPVS or iptables was changed. Fix: use a kernel built with CONFIG_IP_VS_NFCT=y");
  });

  test("apply's preflight (ip_vs loaded before the run): stops before any change", () => {
    const r = runIn(apply(), "STEP=preflight; preflight_before_step; echo survived", { root: fakeTree({ ipVs: true }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cdktf-ipvs lb1 [preflight] ERROR: net.ipv4.vs.conntrack does not exist although ip_vs is loaded");
    expect(r.stderr).toContain("Stopped before any change. Fix: ");
  });

  test("apply.sh runs the check in its preflight, before state_apply writes anything, and before each step", () => {
    const text = apply();
    const main = text.slice(text.lastIndexOf("main() {"));
    expect(main).toMatch(/STEP=preflight\n  if owners_check_due; then check_other_owners; fi\n  preflight_before_step\n  state_apply\n  for STEP in \$STEPS; do\n    preflight_before_step\n/);
  });

  test("conntrack: true without aliases: the same stop, naming the prop instead", () => {
    const r = runIn(apply(CONNTRACK_PROP), "STEP=sysctls; preflight_before_step; echo survived", { root: fakeTree({ ipVs: true }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("this host asks for net.ipv4.vs.conntrack=1 (conntrack: true or its sysctls)");
  });

  test("ip_vs not yet loaded before the modules step: no verdict yet; once the modules step loaded it, the check runs", () => {
    const root = fakeTree({ ipVs: false });
    const r = runIn(apply(), `STEP=modules; preflight_before_step; echo after-modules; mkdir -p "$SYS_MODULE/ip_vs"; STEP=sysctls; preflight_before_step; echo survived`, { root });
    expect(r.stdout).toContain("after-modules");
    expect(r.stdout).not.toContain("survived");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("[sysctls] ERROR: net.ipv4.vs.conntrack does not exist");
    expect(r.stderr).toContain("Stopped before the sysctls step");
  });

  test("the sysctl present: passes, and checks only once per run", () => {
    const root = fakeTree({ ipVs: true, conntrackSysctl: true });
    const r = runIn(apply(), `STEP=modules; preflight_before_step; rm "$PROC_SYS/net/ipv4/vs/conntrack"; STEP=ipvs; preflight_before_step; echo survived`, { root });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("survived");
  });

  test("a preview without ip_vs loaded cannot know: skips silently", () => {
    const r = runIn(apply(), "DRY_RUN=1; for STEP in modules sysctls ipvs aliases boot; do preflight_before_step; done; echo survived", { root: fakeTree({ ipVs: false }) });
    expect(r).toEqual({ code: 0, stdout: "survived\n", stderr: "" });
  });

  test("a preview with ip_vs loaded and the sysctl missing stops with the same error", () => {
    const r = runIn(apply(), "DRY_RUN=1; STEP=modules; preflight_before_step; echo survived", { root: fakeTree({ ipVs: true }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("built without CONFIG_IP_VS_NFCT");
  });

  test("a host that does not want conntrack=1 never needs the sysctl", () => {
    const r = runIn(apply(NO_CONNTRACK), "for STEP in modules sysctls ipvs aliases boot; do preflight_before_step; done; echo survived", { root: fakeTree({ ipVs: true }) });
    expect(r).toEqual({ code: 0, stdout: "survived\n", stderr: "" });
  });
});

describe("conntrack_table_check: verify warns above 80% full, never changes the verdict", () => {
  const verify = () => render(WITH_ALIASES).scripts["verify.sh"];
  const check = (count: number, max: number) => runIn(verify(), "conntrack_table_check; echo rc=$?", { root: fakeTree({ nfConntrack: { count, max } }) });

  test("81% (81/100): one WARNING line naming the numbers and the fix; exit status 0", () => {
    const r = check(81, 100);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      "cdktf-ipvs lb1 [verify] WARNING: conntrack table 81% full (81/100): with net.ipv4.vs.conntrack=1 every IPVS connection takes an entry and a full table drops new connections; raise net.netfilter.nf_conntrack_max in the host's sysctls (conntrackMaxFor() in cdktf-ipvs sizes it)\nrc=0\n",
    );
  });

  test("79% (790/1000) and exactly 80% (80/100): nothing", () => {
    expect(check(790, 1000).stdout).toBe("rc=0\n");
    expect(check(80, 100).stdout).toBe("rc=0\n");
  });

  test("just over 80% of a large table (209716/262144): warns, no overflow", () => {
    expect(check(209716, 262144).stdout).toContain("WARNING: conntrack table 80% full (209716/262144)");
    expect(check(209715, 262144).stdout).toBe("rc=0\n");
  });

  test("nf_conntrack not loaded, or unreadable counters: nothing", () => {
    expect(runIn(verify(), "conntrack_table_check; echo rc=$?", { root: fakeTree() }).stdout).toBe("rc=0\n");
    const root = fakeTree({ nfConntrack: { count: 90, max: 100 } });
    fs.writeFileSync(path.join(root, "proc/sys/net/netfilter/nf_conntrack_max"), "0\n");
    expect(runIn(verify(), "conntrack_table_check; echo rc=$?", { root }).stdout).toBe("rc=0\n");
  });

  test("verify.sh calls it after every check, before the verdict", () => {
    const text = verify();
    const main = text.slice(text.lastIndexOf("main() {"));
    expect(main.indexOf("conntrack_table_check")).toBeGreaterThan(main.indexOf("verify_persistence"));
    expect(main.indexOf("conntrack_table_check")).toBeLessThan(main.indexOf('if [ "$PROBLEMS" -gt 0 ]'));
  });
});

describe("the manifest states the conn_reuse_mode rule", () => {
  test("a host that wants conntrack=1 lists net.ipv4.vs.conn_reuse_mode with the rule", () => {
    expect(render(WITH_ALIASES).manifest.kernelDecidedSysctls).toEqual({ "net.ipv4.vs.conn_reuse_mode": CONN_REUSE_MODE_RULE });
    expect(CONN_REUSE_MODE_RULE).toMatch(/4\.1 or later and before 5\.9.*kubernetes#70747.*left alone from 5\.9 on.*kubernetes#93297/);
  });
  test("without conntrack=1, or with conn_reuse_mode declared, nothing is decided on the host", () => {
    expect(render(NO_CONNTRACK).manifest.kernelDecidedSysctls).toEqual({});
    expect(render(DECLARED).manifest.kernelDecidedSysctls).toEqual({});
  });
});
