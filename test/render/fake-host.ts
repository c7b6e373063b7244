/**
 * A fake host for running the generated scripts with real sh: a fake root tree (/proc/sys,
 * /sys/module, /run/systemd/system, /var/lib/cdktf-ipvs, /etc) and fake ipvsadm, iptables,
 * ip6tables, *-restore, modprobe, systemctl and id on PATH. The fakes keep state (ipvsadm -R
 * changes the table, iptables-restore the chain, modprobe the module list), and every call is
 * logged. The real kernel is exercised in test/e2e.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostSpec, buildDesiredHost } from "../../lib/model";
import { planHost } from "../../lib/plan";
import { renderHost } from "../../lib/render";
import { seedHost } from "../fixtures";

export const render = (spec: HostSpec = seedHost()) => renderHost(planHost(buildDesiredHost(spec)));

let tmpDir: string | undefined;
/** Scratch for fake hosts and scripts; removed by removeFakeHosts(). */
function tmp(): string {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "cdktf-ipvs-preview-"));
  return tmpDir;
}

/** Removes every fake host made so far (call from afterAll). */
export function removeFakeHosts(): void {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}

export const FAKES: Record<string, string> = {
  id: `#!/bin/sh
echo 0
`,
  modprobe: `#!/bin/sh
echo "modprobe $*" >>"$FAKE_LOG"
mkdir -p "$FAKE_ROOT/sys/module/$1"
if [ "$1" = ip_vs ]; then
  mkdir -p "$FAKE_ROOT/proc/sys/net/ipv4/vs"
  # The kernel's defaults (Debian 12, 6.1: lab/FINDINGS.md).
  for kv in conntrack=0 expire_nodest_conn=0 expire_quiescent_template=0 conn_reuse_mode=1; do
    [ -f "$FAKE_ROOT/proc/sys/net/ipv4/vs/\${kv%=*}" ] || echo "\${kv#*=}" >"$FAKE_ROOT/proc/sys/net/ipv4/vs/\${kv%=*}"
  done
fi
`,
  // A kernel from 5.9 on: conn_reuse_mode is left alone (lib/render/host/kernel.sh).
  uname: `#!/bin/sh
echo 6.1.0-28-amd64
`,
  // -Sn prints the table; -R applies a batch of -A/-E/-D/-a/-e/-d lines to it (edits in place, as
  // the kernel keeps the order). -Ln lists it with active connection counts from fake/active
  // ("-t VIP:PORT RS:PORT N" lines); each listing ends one connection per real server, unless
  // fake/active.stays exists. With fake/fail-restore present, the next -R applies the first half of
  // its batch, then fails (and removes the flag). With fake/fail-ln present, -Ln fails, printing nothing.
  ipvsadm: `#!/bin/sh
echo "ipvsadm $*" >>"$FAKE_LOG"
T="$FAKE_ROOT/fake/ipvs"
A="$FAKE_ROOT/fake/active"
case "$*" in
  -Sn) cat "$T" 2>/dev/null || true ;;
  "-Ln --thresholds") : ;;
  -Ln)
    if [ -f "$FAKE_ROOT/fake/fail-ln" ]; then echo "ipvsadm: injected fault" >&2; exit 1; fi
    touch "$T" "$A"
    awk '
      FILENAME == ARGV[1] { split($0, f, " "); N[f[1] " " f[2] " " f[3]] = f[4]; next }
      $1 == "-A" { svc[++n] = $2 " " $3; head[$2 " " $3] = ($2 == "-t" ? "TCP" : ($2 == "-u" ? "UDP" : "FWM")) "  " $3 " " $5; next }
      $1 == "-a" {
        k = $2 " " $3; w = 1
        for (i = 6; i <= NF; i++) if ($i == "-w") w = $(i + 1)
        c = (k " " $5) in N ? N[k " " $5] : 0
        reals[k] = reals[k] "  -> " $5 "      Masq    " w "      " c "          0\\n"
      }
      END {
        print "Prot LocalAddress:Port Scheduler Flags"
        print "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"
        for (i = 1; i <= n; i++) { print head[svc[i]]; printf "%s", reals[svc[i]] }
      }' "$A" "$T"
    if [ ! -f "$A.stays" ]; then awk '{ if ($4 > 0) $4 = $4 - 1; print }' "$A" >"$A.new" && mv "$A.new" "$A"; fi ;;
  -R)
    touch "$T"
    cat >"$T.batch"
    { cat "$T.batch"; echo "--"; } >>"$FAKE_ROOT/fake/batches"
    fail=0
    if [ -f "$FAKE_ROOT/fake/fail-restore" ]; then
      rm -f "$FAKE_ROOT/fake/fail-restore"
      fail=1
      half=$(( ($(wc -l <"$T.batch") + 1) / 2 ))
      head -n "$half" "$T.batch" >"$T.half" && mv "$T.half" "$T.batch"
    fi
    awk '
      FILENAME == ARGV[1] { rule[++n] = $0; next }
      function put(prefix, line,   i) {
        for (i = 1; i <= n; i++) if (index(rule[i], prefix) == 1) { rule[i] = line; return }
        rule[++n] = line
      }
      {
        op = $1; rest = substr($0, 4); split(rest, t, " ")
        key = t[1] " " t[2]
        if (op == "-A" || op == "-E") put("-A " key " ", "-A " rest)
        else if (op == "-D") { for (i = 1; i <= n; i++) if (index(rule[i], "-A " key " ") == 1 || index(rule[i], "-a " key " ") == 1) rule[i] = "" }
        else if (op == "-a" || op == "-e") put("-a " key " -r " t[4] " ", "-a " rest)
        else if (op == "-d") { for (i = 1; i <= n; i++) if (index(rule[i], "-a " key " -r " t[4] " ") == 1) rule[i] = "" }
      }
      END { for (i = 1; i <= n; i++) if (rule[i] != "") print rule[i] }
    ' "$T" "$T.batch" >"$T.new"
    mv "$T.new" "$T"
    if [ "$fail" = 1 ]; then echo "ipvsadm: injected fault" >&2; exit 1; fi ;;
  *) exit 99 ;;
esac
`,
  // -S CHAIN lists fake/<cmd>.<chain> (absent: no such chain); jumps live in fake/<cmd>.jumps.
  iptables: `#!/bin/sh
cmd=$(basename "$0")
echo "$cmd $*" >>"$FAKE_LOG"
D="$FAKE_ROOT/fake"
[ "$1" = -w ] && shift
[ "$1" = -t ] && shift 2
op=$1; chain=$2; shift 2
case $op in
  -S) [ -f "$D/$cmd.$chain" ] || exit 1; printf -- '-N %s\\n' "$chain"; cat "$D/$cmd.$chain" ;;
  -C)
    if [ -f "$D/$cmd.$chain" ]; then grep -qxF -e "-A $chain $*" "$D/$cmd.$chain"; exit; fi
    [ -f "$D/$cmd.jumps" ] && grep -qxF -e "$chain $*" "$D/$cmd.jumps" ;;
  -I) [ "$1" = 1 ] && shift; echo "$chain $*" >>"$D/$cmd.jumps" ;;
  -D) grep -vxF -e "$chain $*" "$D/$cmd.jumps" >"$D/$cmd.jumps.new" || true; mv "$D/$cmd.jumps.new" "$D/$cmd.jumps" ;;
  -F) : >"$D/$cmd.$chain" ;;
  -X) rm -f "$D/$cmd.$chain" ;;
  *) exit 99 ;;
esac
`,
  // With fake/fail-restore.<cmd>.<chain> present, restoring that chain fails once, changing nothing.
  "iptables-restore": `#!/bin/sh
cmd=$(basename "$0" -restore)
echo "$cmd-restore $*" >>"$FAKE_LOG"
D="$FAKE_ROOT/fake"
cat >"$D/restore.in"
for flag in "$D"/fail-restore."$cmd".*; do
  [ -f "$flag" ] || continue
  if grep -q "^:\${flag##*.} " "$D/restore.in"; then rm -f "$flag"; echo "$cmd-restore: injected fault" >&2; exit 1; fi
done
awk -v d="$D" -v cmd="$cmd" '
  /^:/ { chain = substr($1, 2); file = d "/" cmd "." chain; printf "" >file; next }
  /^-A / { print >>file }
' "$D/restore.in"
`,
  systemctl: `#!/bin/sh
echo "systemctl $*" >>"$FAKE_LOG"
case $1 in
  is-enabled) [ -f "$FAKE_ROOT/fake/enabled" ] ;;
  enable) touch "$FAKE_ROOT/fake/enabled" ;;
  disable) rm -f "$FAKE_ROOT/fake/enabled" ;;
  daemon-reload) : ;;
  *) exit 99 ;;
esac
`,
};

export interface FakeHost {
  root: string;
  bin: string;
  log: string;
}

/** A fresh Debian-like host: systemd running, iptables installed, no IPVS module loaded. */
export function fakeHost(): FakeHost {
  const root = fs.mkdtempSync(path.join(tmp(), "host-"));
  const bin = path.join(root, "bin");
  for (const d of ["bin", "fake", "proc/sys/net/ipv4", "sys/module/nf_nat", "run/systemd/system", "etc/sysctl.d", "etc/modules-load.d", "etc/systemd/system", "var/lib"]) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.writeFileSync(path.join(root, "proc/sys/net/ipv4/ip_forward"), "0\n");
  for (const [name, text] of Object.entries(FAKES)) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
  fs.copyFileSync(path.join(bin, "iptables"), path.join(bin, "ip6tables"));
  fs.chmodSync(path.join(bin, "ip6tables"), 0o755);
  fs.copyFileSync(path.join(bin, "iptables-restore"), path.join(bin, "ip6tables-restore"));
  fs.chmodSync(path.join(bin, "ip6tables-restore"), 0o755);
  return { root, bin, log: path.join(root, "calls.log") };
}

/**
 * The script's functions without its last line (`main "$@"`), with every absolute path it
 * assigns moved under the fake root: the lines `NAME='/…'` or `NAME=/…` and the ones derived
 * from $STATE_DIR are repeated with the root in front, so a path added later is covered too.
 */
export function underRoot(script: string): string {
  const lines = script.split("\n");
  const body = lines.slice(0, lines.lastIndexOf('main "$@"'));
  const overrides = body
    .filter((l) => /^[A-Z_]+=('\/[^']*'|\/[^ ]*|"\$STATE_DIR\/[^"]*")$/.test(l) && !l.startsWith("PATH="))
    .map((l) => (l.includes("$STATE_DIR") ? l : l.replace(/^([A-Z_]+)=/, '$1="$FAKE_ROOT"')));
  expect(overrides.length).toBeGreaterThanOrEqual(12);
  return [...body, ...overrides, 'PATH="$FAKE_BIN:$PATH"', 'main "$@"', ""].join("\n");
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: string[];
}

/**
 * Runs the script under the fake root. Without SELF as the CLI's preview runs it over SSH
 * (`sh -s -- --dry-run`: $0 is "sh", no file to compare apply.sh with); with SELF ($0) as
 * Terraform's remote-exec runs it (`sh /var/lib/cdktf-ipvs/apply.sh`).
 */
export function runScript(host: FakeHost, script: string, args: string[], self?: string): Run {
  fs.rmSync(host.log, { force: true });
  const file = path.join(tmp(), `script-${crypto.randomBytes(6).toString("hex")}.sh`);
  fs.writeFileSync(file, underRoot(script));
  const env = { ...process.env, FAKE_ROOT: host.root, FAKE_BIN: host.bin, FAKE_LOG: host.log, FAKE_SCRIPT: file };
  const r = self
    ? spawnSync("sh", ["-c", '. "$FAKE_SCRIPT"', self, ...args], { encoding: "utf8", env })
    : spawnSync("sh", ["-s", "--", ...args], { input: fs.readFileSync(file, "utf8"), encoding: "utf8", env });
  const calls = fs.existsSync(host.log) ? fs.readFileSync(host.log, "utf8").trim().split("\n").filter(Boolean) : [];
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, calls };
}


/** A real apply: runs from the installed file path, as Terraform's remote-exec does. */
export function apply(host: FakeHost, spec: HostSpec = seedHost()): Run {
  const r = applyRun(host, spec);
  if (r.code !== 0) throw new Error(`apply failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Like apply(), but returns a failed run instead of throwing. */
export function applyRun(host: FakeHost, spec: HostSpec = seedHost()): Run {
  const script = render(spec).scripts["apply.sh"];
  // Terraform's file provisioner uploads apply.sh first (into the fake root's state dir).
  fs.mkdirSync(path.join(host.root, "var/lib/cdktf-ipvs"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(host.root, "var/lib/cdktf-ipvs/apply.sh"), script);
  return runScript(host, script, [], path.join(host.root, "var/lib/cdktf-ipvs/apply.sh"));
}

/** Every file and directory under the fake root (but the call log) with mode, size, mtime and sha256. */
export function snapshot(host: FakeHost): string {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (p === host.log) continue;
      const st = fs.lstatSync(p);
      const rel = path.relative(host.root, p);
      if (st.isDirectory()) {
        out.push(`${rel}/ ${st.mode.toString(8)} ${st.mtimeMs}`);
        walk(p);
      } else {
        out.push(`${rel} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex")}`);
      }
    }
  };
  walk(host.root);
  return out.join("\n");
}

