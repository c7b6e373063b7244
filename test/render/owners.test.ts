/**
 * check_other_owners (lib/render/host/owners.sh) against a fake host tree: the function is sourced
 * by a small sh harness (stub log/die/desired_ipvs_keys, as the prelude defines them) with its
 * host paths (ETC_DIR, USR_DIR, LIB_DIR, PROC_DIR, SYS_CLASS_NET, SYS_MODULE, SYSTEMD_DIR) pointed into
 * a temp folder, and PATH limited to the plain tools it needs plus fake systemctl/ipset. Every
 * case has a compliant and a non-compliant variant; every run proves the tree unchanged and
 * systemctl asked only is-enabled / is-active.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { renderHost } from "../../lib/render";
import { seedHost } from "../fixtures";

const OWNERS_SH = path.resolve(__dirname, "../../lib/render/host/owners.sh");
const SEED_KEYS = ["-t 172.16.1.8:1000"];
const TOOLS = ["awk", "grep", "sed", "tr", "find", "sort", "head", "tail", "cat", "readlink", "mktemp", "rm", "sh"];

const HARNESS = `set -euf
TAB=$(printf '\\t')
HOST_NAME=lb1
STEP=preflight
DRY_RUN=0
UNIT_NAME=cdktf-ipvs.service
log() { printf 'cdktf-ipvs %s [%s] %s\\n' "$HOST_NAME" "$STEP" "$*"; }
die() { printf 'cdktf-ipvs %s [%s] ERROR: %s\\n' "$HOST_NAME" "$STEP" "$*" >&2; exit 1; }
desired_ipvs_keys() { cat "$FAKE_ROOT/keys"; }
TMP=$(mktemp -d "$FAKE_ROOT/scratch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
. "$OWNERS_SH"
check_other_owners
echo CHECKED-OK
`;

// Fake systemctl: states from $FAKE_ROOT/systemctl/UNIT.is-enabled / UNIT.is-active; every call logged.
const FAKE_SYSTEMCTL = `#!/bin/sh
echo "$*" >>"$FAKE_ROOT/systemctl.calls"
f="$FAKE_ROOT/systemctl/$2.$1"
if [ -f "$f" ]; then cat "$f"; else case $1 in is-active) echo inactive ;; *) echo "Failed to get unit file state for $2" >&2 ;; esac; fi
case $(cat "$f" 2>/dev/null) in enabled | active) exit 0 ;; *) exit 1 ;; esac
`;

const RHEL_UNIT = `[Unit]
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

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
  systemctlCalls: string[];
}

class FakeHost {
  readonly root: string;
  constructor(parent: string, name: string) {
    this.root = path.join(parent, name);
    for (const d of ["bin", "tools", "etc/systemd/system", "run", "usr/lib/systemd/system", "proc", "sys/class/net/lo", "sys/module"]) {
      fs.mkdirSync(path.join(this.root, d), { recursive: true });
    }
    for (const tool of TOOLS) {
      const real = ["/usr/bin", "/bin"].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
      if (!real) throw new Error(`test host lacks ${tool}`);
      fs.symlinkSync(real, path.join(this.root, "tools", tool));
    }
    this.keys(SEED_KEYS);
  }
  p(rel: string): string {
    return path.join(this.root, rel);
  }
  write(rel: string, text: string, mode = 0o644): this {
    fs.mkdirSync(path.dirname(this.p(rel)), { recursive: true });
    fs.writeFileSync(this.p(rel), text, { mode });
    return this;
  }
  mkdir(rel: string): this {
    fs.mkdirSync(this.p(rel), { recursive: true });
    return this;
  }
  symlink(target: string, rel: string): this {
    fs.mkdirSync(path.dirname(this.p(rel)), { recursive: true });
    fs.symlinkSync(target, this.p(rel));
    return this;
  }
  keys(keys: string[]): this {
    return this.write("keys", keys.map((k) => `${k}\n`).join(""));
  }
  /** systemd runs (SYSTEMD_DIR exists); with systemctl unless told otherwise. */
  systemd(withSystemctl = true): this {
    this.mkdir("run/systemd/system");
    if (withSystemctl) this.write("bin/systemctl", FAKE_SYSTEMCTL, 0o755);
    return this;
  }
  unitState(unit: string, enabled: string, active = "inactive"): this {
    this.write(`systemctl/${unit}.is-enabled`, `${enabled}\n`);
    return this.write(`systemctl/${unit}.is-active`, `${active}\n`);
  }
  process(pid: number, comm: string, argv: string[]): this {
    this.write(`proc/${pid}/comm`, `${comm}\n`);
    return this.write(`proc/${pid}/cmdline`, argv.map((a) => `${a}\0`).join(""));
  }
  /** Every path with its content (links as their target): must not change across a check. */
  snapshot(): string {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const full = path.join(dir, e.name);
        const rel = path.relative(this.root, full);
        if (rel === "systemctl.calls") continue;
        if (e.isSymbolicLink()) out.push(`${rel} -> ${fs.readlinkSync(full)}`);
        else if (e.isDirectory()) {
          out.push(`${rel}/`);
          walk(full);
        } else out.push(`${rel}: ${fs.readFileSync(full, "utf8")}`);
      }
    };
    walk(this.root);
    return out.join("\n");
  }
  run(): Run {
    const before = this.snapshot();
    const r = spawnSync("sh", ["-c", HARNESS], {
      encoding: "utf8",
      env: {
        FAKE_ROOT: this.root,
        OWNERS_SH,
        PATH: `${this.p("bin")}:${this.p("tools")}`,
        ETC_DIR: this.p("etc"),
        PROC_DIR: this.p("proc"),
        SYS_CLASS_NET: this.p("sys/class/net"),
        SYS_MODULE: this.p("sys/module"),
        SYSTEMD_DIR: this.p("run/systemd/system"),
        USR_DIR: this.p("usr"),
        LIB_DIR: this.p("lib"),
      },
    });
    expect(this.snapshot()).toBe(before);
    let calls: string[] = [];
    try {
      calls = fs.readFileSync(this.p("systemctl.calls"), "utf8").trim().split("\n");
      fs.rmSync(this.p("systemctl.calls"));
    } catch {
      /* not called */
    }
    for (const c of calls) expect(c).toMatch(/^is-(enabled|active) [^ ]+$/);
    const stdout = r.stdout ?? "";
    const stderr = r.stderr ?? "";
    return { code: r.status ?? -1, stdout, stderr, out: stdout + stderr, systemctlCalls: calls };
  }
}

function passes(r: Run): void {
  if (r.code !== 0) throw new Error(`expected the check to pass, got exit ${r.code}:\n${r.out}`);
  expect(r.stdout).toContain("CHECKED-OK");
  expect(r.out).not.toContain("REFUSED");
  expect(r.out).not.toContain("ERROR");
}

function refused(r: Run, ...words: string[]): void {
  if (r.code !== 1) throw new Error(`expected a refusal (exit 1), got exit ${r.code}:\n${r.out}`);
  expect(r.stdout).not.toContain("CHECKED-OK");
  expect(r.stderr).toMatch(/^cdktf-ipvs lb1 \[preflight\] ERROR: .*nothing was changed$/m);
  expect(r.stdout).toContain("REFUSED: ");
  for (const w of words) expect(r.out).toContain(w);
}

let tmp: string;
let n = 0;
const host = () => new FakeHost(tmp, `h${++n}`);
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-owners-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("owners.sh is valid POSIX sh", () => {
  test("sh -n and shellcheck -s sh -S style", () => {
    expect(spawnSync("sh", ["-n", OWNERS_SH]).status).toBe(0);
    const r = spawnSync("shellcheck", ["-s", "sh", "-S", "style", OWNERS_SH], { encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("the prelude gives owners.sh what it uses", () => {
  test("every host path variable is set in apply.sh, and apply and its preview call the check", () => {
    const apply = renderHost(planHost(buildDesiredHost(seedHost()))).scripts["apply.sh"];
    const text = fs.readFileSync(OWNERS_SH, "utf8");
    const used = [...new Set([...text.matchAll(/\$\{?([A-Z][A-Z_]*[A-Z])\b/g)].map((m) => m[1]))].filter((v) => !v.startsWith("OWNERS_"));
    expect(used).toEqual(expect.arrayContaining(["ETC_DIR", "USR_DIR", "LIB_DIR", "PROC_DIR", "SYS_CLASS_NET", "SYS_MODULE", "SYSTEMD_DIR", "TMP", "TAB", "UNIT_NAME"]));
    for (const v of used.filter((v) => v !== "TMP")) expect(apply).toMatch(new RegExp(`^${v}=`, "m"));
    expect(apply).toMatch(/^ETC_DIR=\/etc$/m);
    expect(apply).toMatch(/^PROC_DIR=\/proc$/m);
    expect(apply).toMatch(/^SYS_CLASS_NET=\/sys\/class\/net$/m);
    expect(apply).toContain("  owners_check_due && check_other_owners\n");
    expect(apply).toContain("  if owners_check_due; then check_other_owners; fi\n");
  });
});

describe("a host with no other owner", () => {
  test("passes silently (no warning), with or without systemd", () => {
    const r1 = host().run();
    passes(r1);
    expect(r1.out).not.toContain("WARNING");
    const r2 = host().systemd().run();
    passes(r2);
    expect(r2.out).not.toContain("WARNING");
  });
  test("without systemctl while systemd runs, it says it judged from unit files", () => {
    const r = host().systemd(false).run();
    passes(r);
    expect(r.out).toContain("systemctl is not installed");
  });
});

describe("kube-proxy in IPVS mode", () => {
  test("kube-ipvs0 present: refused, naming the interface and why", () => {
    const r = host().mkdir("sys/class/net/kube-ipvs0").run();
    refused(r, "kube-proxy runs in IPVS mode", "interface kube-ipvs0", "did not create");
  });
  test("kube-ipvs0 absent (other interfaces only): passes", () => {
    passes(host().mkdir("sys/class/net/eth0").mkdir("sys/class/net/docker0").run());
  });
  test("KUBE-* ipsets: refused; other ipsets: passes", () => {
    const ipset = (names: string[]) => `#!/bin/sh\n[ "$1 $2" = "list -n" ] || exit 9\nprintf '%s\\n' ${names.map((s) => `'${s}'`).join(" ")}\n`;
    refused(host().mkdir("sys/module/ip_set").write("bin/ipset", ipset(["KUBE-CLUSTER-IP", "KUBE-LOOP-BACK"]), 0o755).run(), "ipsets KUBE-CLUSTER-IP KUBE-LOOP-BACK");
    passes(host().mkdir("sys/module/ip_set").write("bin/ipset", ipset(["blocklist"]), 0o755).run());
  });
  test("ip_set loaded but no ipset tool: passes and says what was not checked", () => {
    const r = host().mkdir("sys/module/ip_set").run();
    passes(r);
    expect(r.out).toContain("ipset is not installed");
  });
  test("a kube-proxy process with --proxy-mode=ipvs, or mode: ipvs in its --config (seen through its root): refused", () => {
    refused(host().process(4242, "kube-proxy", ["/usr/local/bin/kube-proxy", "--proxy-mode=ipvs"]).run(), "kube-proxy process 4242 in mode ipvs");
    refused(
      host()
        .process(77, "kube-proxy", ["kube-proxy", "--config", "/var/lib/kube-proxy/config.conf"])
        .write("proc/77/root/var/lib/kube-proxy/config.conf", 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: "ipvs"\n')
        .run(),
      "kube-proxy process 77 in mode ipvs",
    );
  });
  test("a kube-proxy process in iptables mode: passes with a warning", () => {
    const r = host()
      .process(77, "kube-proxy", ["kube-proxy", "--config=/var/lib/kube-proxy/config.conf"])
      .write("proc/77/root/var/lib/kube-proxy/config.conf", "kind: KubeProxyConfiguration\nmode: iptables\n")
      .process(78, "sshd", ["sshd"])
      .run();
    passes(r);
    expect(r.out).toMatch(/WARNING: kube-proxy is running \(pid 77 \(mode iptables\)\) but not in IPVS mode/);
  });
});

describe("keepalived", () => {
  const conf = (body: string) => `! Configuration File for keepalived\nglobal_defs {\n  router_id LVS_A\n}\n${body}`;
  const vs = (addr: string, port: number, proto?: string) =>
    `virtual_server ${addr} ${port} {\n  delay_loop 6\n  lb_algo rr\n  lb_kind NAT\n${proto ? `  protocol ${proto}\n` : ""}  real_server 10.0.0.5 ${port} {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n}\n`;

  test("a virtual_server for our service: refused naming file, line and service; another address: passes with a note", () => {
    const h = host().write("etc/keepalived/keepalived.conf", conf(vs("10.0.0.99", 80, "TCP") + vs("172.16.1.8", 1000)));
    const no = h.run();
    refused(no, `${h.p("etc/keepalived/keepalived.conf")}:17`, "our IPVS service -t 172.16.1.8:1000", "virtual_server 172.16.1.8 1000");
    expect(no.out).not.toContain("no virtual_server of ours");
    expect(no.out).toContain("manages 1 other IPVS service(s): -t 10.0.0.99:80");
    const ok = host().write("etc/keepalived/keepalived.conf", conf(vs("172.16.1.9", 1000) + vs("10.0.0.99", 80, "TCP")));
    const r = ok.run();
    passes(r);
    expect(r.out).toMatch(/note: keepalived .* manages 2 other IPVS service\(s\): -t 172\.16\.1\.9:1000 .*-t 10\.0\.0\.99:80/);
  });
  test("same address and port, other protocol: passes; protocol UDP against our UDP service: refused", () => {
    passes(host().write("etc/keepalived/keepalived.conf", conf(vs("172.16.1.8", 1000, "UDP"))).run());
    refused(host().keys(["-u 172.16.1.8:1000"]).write("etc/keepalived/keepalived.conf", conf(vs("172.16.1.8", 1000, "udp"))).run(), "-u 172.16.1.8:1000");
  });
  test("the block found through include (glob, relative to the file), with `{` on its own line", () => {
    const h = host()
      .write("etc/keepalived/keepalived.conf", conf("include conf.d/*.conf   # services\n"))
      .write("etc/keepalived/conf.d/a.conf", "# none here\n")
      .write("etc/keepalived/conf.d/b.conf", "virtual_server 172.16.1.8 1000\n{\n  protocol TCP\n}\n");
    refused(h.run(), `${h.p("etc/keepalived/conf.d/b.conf")}:1`);
    const ok = host()
      .write("etc/keepalived/keepalived.conf", conf("include conf.d/*.conf\ninclude /nowhere/*.conf\n"))
      .write("etc/keepalived/conf.d/b.conf", "virtual_server 172.16.1.8 1001\n{\n  protocol TCP\n}\n");
    const r = ok.run();
    passes(r);
    expect(r.out).toContain("include /nowhere/*.conf");
    expect(r.out).toContain("matches no file");
  });
  test("commented-out block: passes", () => {
    passes(host().write("etc/keepalived/keepalived.conf", conf("# virtual_server 172.16.1.8 1000 {\n!  protocol TCP\n# }\n")).run());
  });
  test("virtual_server_group with a range covering our address: refused; range not covering it: passes", () => {
    const group = (range: string) => conf(`virtual_server_group G1 {\n  ${range} 1000\n}\nvirtual_server group G1 {\n  protocol TCP\n}\n`);
    refused(host().write("etc/keepalived/keepalived.conf", group("172.16.1.5-10")).run(), "virtual_server group G1", "group entry");
    passes(host().write("etc/keepalived/keepalived.conf", group("172.16.1.20-30")).run());
  });
  test("IPv6 written differently and fwmark: refused; other mark: passes", () => {
    refused(host().keys(["-u [fd00::8]:53"]).write("etc/keepalived/keepalived.conf", conf(vs("FD00:0:0::0008", 53, "UDP"))).run(), "-u [fd00::8]:53");
    refused(host().keys(["-f 7"]).write("etc/keepalived/keepalived.conf", conf("virtual_server fwmark 7 {\n  lb_algo rr\n}\n")).run(), "-f 7");
    passes(host().keys(["-f 7"]).write("etc/keepalived/keepalived.conf", conf("virtual_server fwmark 8 {\n  lb_algo rr\n}\n")).run());
  });
  test("lvs_flush / lvs_flush_onstop in global_defs: refused; lvs_flush_onstop VS: passes", () => {
    const g = (line: string) => `global_defs {\n  router_id A\n  ${line}\n}\n`;
    refused(host().write("etc/keepalived/keepalived.conf", g("lvs_flush")).run(), "keepalived starts (lvs_flush)");
    refused(host().write("etc/keepalived/keepalived.conf", g("lvs_flush_onstop")).run(), "keepalived stops");
    passes(host().write("etc/keepalived/keepalived.conf", g("lvs_flush_onstop VS")).run());
  });
  test("a running keepalived with -f: its file is the one read", () => {
    const h = host()
      .process(900, "keepalived", ["/usr/sbin/keepalived", "--dont-fork", "-f", "/srv/lb.conf"])
      .write("proc/900/root/srv/lb.conf", conf(vs("172.16.1.8", 1000)))
      .write("etc/keepalived/keepalived.conf", conf(vs("10.1.1.1", 80)));
    refused(h.run(), "/proc/900/root/srv/lb.conf:");
    const r = host().process(900, "keepalived", ["/usr/sbin/keepalived"]).run();
    passes(r);
    expect(r.out).toContain("keepalived is running (pid 900) but");
  });
});

describe("ipvsadm.service (RHEL/Fedora style: ExecStop runs ipvsadm -C)", () => {
  const rhel = () => host().systemd().write("usr/lib/systemd/system/ipvsadm.service", RHEL_UNIT);

  test("enabled: refused with the fix; active alone also refuses", () => {
    const r = rhel().unitState("ipvsadm.service", "enabled", "active").run();
    refused(r, "ipvsadm.service", "is enabled and active", "ExecStop clears the whole IPVS table", "its ExecStart runs ipvsadm-restore, which clears the whole table", "systemctl mask ipvsadm.service");
    expect(r.systemctlCalls).toEqual(["is-enabled ipvsadm.service", "is-active ipvsadm.service"]);
    refused(rhel().unitState("ipvsadm.service", "disabled", "active").run(), "is disabled and active");
  });
  test("found in /lib/systemd/system too (Debian's unit folder)", () => {
    const h = host().systemd().write("lib/systemd/system/ipvsadm.service", RHEL_UNIT).unitState("ipvsadm.service", "enabled", "inactive");
    refused(h.run(), h.p("lib/systemd/system/ipvsadm.service"));
  });
  test("installed but disabled: passes with a WARNING", () => {
    const r = rhel().unitState("ipvsadm.service", "disabled", "inactive").run();
    passes(r);
    expect(r.out).toMatch(/WARNING: ipvsadm\.service .* is installed and disabled .*systemctl mask ipvsadm\.service/);
  });
  test("masked: passes with a note", () => {
    const r = rhel().symlink("/dev/null", "etc/systemd/system/ipvsadm.service").unitState("ipvsadm.service", "masked", "inactive").run();
    passes(r);
    expect(r.out).toContain("ipvsadm.service is masked");
    expect(r.out).not.toContain("WARNING");
  });
  test("any unit whose ExecStop clears the table counts; one that only lists does not", () => {
    const clear = host().systemd().write("etc/systemd/system/lvs-save.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=/usr/sbin/ipvsadm --clear\n");
    refused(clear.unitState("lvs-save.service", "enabled", "active").run(), "lvs-save.service");
    const list = host().systemd().write("etc/systemd/system/lvs-report.service", "[Service]\nExecStart=/usr/sbin/ipvsadm -Ln\n");
    const r = list.unitState("lvs-report.service", "enabled", "active").run();
    passes(r);
    expect(r.out).not.toContain("lvs-report");
  });
  test("no systemctl: judged from the unit files (wants link: refused; mask link or empty file: passes; neither: warning)", () => {
    const noctl = () => host().systemd(false).write("usr/lib/systemd/system/ipvsadm.service", RHEL_UNIT);
    refused(noctl().symlink("/usr/lib/systemd/system/ipvsadm.service", "etc/systemd/system/multi-user.target.wants/ipvsadm.service").run(), "is enabled and unknown");
    passes(noctl().symlink("/dev/null", "etc/systemd/system/ipvsadm.service").run());
    passes(noctl().write("etc/systemd/system/ipvsadm.service", "").run()); // an empty file masks too
    const r = noctl().run();
    passes(r);
    expect(r.out).toContain("WARNING: ipvsadm.service");
  });
});

describe("Debian's /etc/init.d/ipvsadm with /etc/default/ipvsadm", () => {
  const INIT = "#!/bin/sh\n# ipvsadm init script (stand-in; never run by the check)\nexit 0\n";
  const debian = (auto: string) =>
    host()
      .write("etc/init.d/ipvsadm", INIT, 0o755)
      .write("etc/default/ipvsadm", `# ipvsadm\n\n# if you want to start ipvsadm on boot set this to true\nAUTO="${auto}"\n\n# daemon method (none|master|backup)\nDAEMON="none"\n`);

  test("AUTO=false (Debian's default), enabled and active: passes with a note", () => {
    const r = debian("false").systemd().unitState("ipvsadm.service", "enabled", "active").run();
    passes(r);
    expect(r.out).toMatch(/note: .*init\.d\/ipvsadm is enabled with AUTO=false/);
  });
  test("AUTO=true and enabled: refused, the fix names the AUTO line", () => {
    const h = debian("true").systemd().unitState("ipvsadm.service", "enabled", "active");
    refused(h.run(), "AUTO=true", `${h.p("etc/default/ipvsadm")}:4`, 'set AUTO="false"');
  });
  test("AUTO=true but disabled: passes with a WARNING; masked: passes", () => {
    const r = debian("true").systemd().unitState("ipvsadm.service", "disabled", "inactive").run();
    passes(r);
    expect(r.out).toContain("WARNING: ");
    expect(r.out).toContain("AUTO=true");
    passes(debian("true").systemd().unitState("ipvsadm.service", "masked", "inactive").run());
  });
  test("without systemd the rc links decide", () => {
    refused(debian("true").symlink("../init.d/ipvsadm", "etc/rc2.d/S01ipvsadm").run(), "is enabled");
    const r = debian("true").symlink("../init.d/ipvsadm", "etc/rc0.d/K01ipvsadm").run();
    passes(r);
    expect(r.out).toContain("WARNING: ");
  });
});

describe("several findings", () => {
  test("all are reported before the refusal", () => {
    const r = host()
      .mkdir("sys/class/net/kube-ipvs0")
      .systemd()
      .write("usr/lib/systemd/system/ipvsadm.service", RHEL_UNIT)
      .unitState("ipvsadm.service", "enabled", "inactive")
      .run();
    refused(r, "2 other owners of IPVS on this host would remove or overwrite our services (kube-proxy in IPVS mode; ipvsadm.service)");
    expect(r.stdout.match(/REFUSED: /g)).toHaveLength(2);
  });
});
