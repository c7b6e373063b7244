/**
 * apply.sh, verify.sh and destroy.sh for one host. They share one prelude (settings, logging,
 * the desired state as heredocs, the IPVS diff), so apply and verify can never disagree about
 * what "in sync" means.
 *
 * Ownership rules the scripts live by:
 * - IPVS: only services listed in $STATE_DIR/owned-services (written before any change, so an
 *   interrupted run leaves nothing unowned) are ever edited or deleted. A desired service that
 *   already exists but is not ours stops apply with an error instead of being taken over.
 * - iptables: only our chains (CDKTF-IPVS-PRE/-OUT in nat) and the jumps to them, marked with our
 *   comment. Chains are replaced atomically with `iptables-restore --noflush`.
 * - Files: only the paths in HOST_LAYOUT.
 */
import { DesiredHost, MAX_DRAIN_TIMEOUT_SECONDS, hostNeedsConntrack } from "../model";
import { HostPlan, planStep, sha256 } from "../plan";
import { aliasChains } from "./iptables";
import { ipvsRules, ipvsServiceKey } from "./ipvsadm";
import { HOST_LAYOUT as L } from "./layout";
import { bootUnit, modulesLoadConf, sysctlConf } from "./persistence";
import { hostSources } from "./host-sources";
import { commentText, shQuote, textFunction } from "./shell";

/**
 * Diff of IPVS rules in `ipvsadm -Sn` form. Inputs: desired rules, `ipvsadm -Ln --thresholds`
 * (the save format has no thresholds), live rules, owned service keys. Output, one change per
 * line, TAB-separated, ordered so deletions come first:
 *   ACTION  SERVICE-KEY  REAL-SERVER|-  WANT-OPTIONS|-  LIVE-OPTIONS|-
 * FOREIGN marks a desired service that exists but is not ours. With -v reals=1, each live real
 * server of a service to delete comes as DEL_SERVICE_REAL too (the drain needs them). With
 * -v dump=1 it prints the owned services' live rules instead, thresholds included, in the form of
 * the desired rules (the snapshot a rollback returns to).
 */
const IPVS_DIFF_AWK = String.raw`
function parse(line,   n, i, t) {
  n = split(line, t, " ")
  kind = t[1]; key = ""; rs = ""; opts = ""
  for (i = 2; i <= n; i++) {
    if (t[i] == "-s" || t[i] == "-r") break
    key = key (key == "" ? "" : " ") t[i]
  }
  if (i <= n && t[i] == "-r") { rs = t[i + 1]; i += 2 }
  for (; i <= n; i++) opts = opts (opts == "" ? "" : " ") t[i]
}
FILENAME == ARGV[1] { parse($0); if (kind == "-A") D[key] = opts; else if (kind == "-a") DR[key SUBSEP rs] = opts; next }
FILENAME == ARGV[2] {
  if ($1 == "TCP") svc = "-t " $2
  else if ($1 == "UDP") svc = "-u " $2
  else if ($1 == "SCTP") svc = "--sctp-service " $2
  else if ($1 == "FWM") svc = "-f " $2 ($3 == "IPv6" ? " -6" : "")
  else if ($1 == "->" && svc != "" && $3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/) {
    th = ""
    if ($3 > 0) th = th " -x " $3
    if ($4 > 0) th = th " -y " $4
    TH[svc SUBSEP $2] = th
  }
  next
}
FILENAME == ARGV[3] { parse($0); if (kind == "-A") L[key] = opts; else if (kind == "-a") LR[key SUBSEP rs] = opts TH[key SUBSEP rs]; next }
FILENAME == ARGV[4] { if ($0 != "") O[$0] = 1; next }
END {
  if (dump) {
    for (k in L) if (k in O) print "-A " k " " L[k]
    for (kr in LR) { split(kr, p, SUBSEP); if (p[1] in O) print "-a " p[1] " -r " p[2] " " LR[kr] }
    exit
  }
  for (k in D) if ((k in L) && !(k in O)) print "0\tFOREIGN\t" k "\t-\t" D[k] "\t" L[k]
  for (kr in LR) {
    split(kr, p, SUBSEP)
    if ((p[1] in D) && (p[1] in O) && !(kr in DR)) print "1\tDEL_REAL\t" p[1] "\t" p[2] "\t-\t" LR[kr]
    else if (reals && !(p[1] in D) && (p[1] in O)) print "1\tDEL_SERVICE_REAL\t" p[1] "\t" p[2] "\t-\t" LR[kr]
  }
  for (k in L) if ((k in O) && !(k in D)) print "2\tDEL_SERVICE\t" k "\t-\t-\t" L[k]
  for (k in D) {
    if (!(k in L)) print "3\tADD_SERVICE\t" k "\t-\t" D[k] "\t-"
    else if ((k in O) && L[k] != D[k]) print "3\tEDIT_SERVICE\t" k "\t-\t" D[k] "\t" L[k]
  }
  for (kr in DR) {
    split(kr, p, SUBSEP)
    if (!(kr in LR)) print "4\tADD_REAL\t" p[1] "\t" p[2] "\t" DR[kr] "\t-"
    else if ((p[1] in O) && LR[kr] != DR[kr]) print "4\tEDIT_REAL\t" p[1] "\t" p[2] "\t" DR[kr] "\t" LR[kr]
  }
}`;

/** A drain timeout as script text: the model validated it; a desired state from elsewhere must not inject. */
function seconds(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_DRAIN_TIMEOUT_SECONDS) throw new Error(`internal: drain timeout ${String(value)} is not an integer 0–${MAX_DRAIN_TIMEOUT_SECONDS}`);
  return String(value);
}

const ROLLBACK_CALL = 'rollback_on_failure "$1"';
const NO_ROLLBACK = ': "$1" # nothing to put back';

function prelude(plan: HostPlan, kind: "apply" | "verify" | "destroy", usage: string): string {
  const host = plan.host;
  const modules = planStep(plan, "modules").modules.map((m) => m.name);
  const sysctls = planStep(plan, "sysctls").sysctls.map((s) => `${s.key} ${s.value}`);
  const services = planStep(plan, "ipvs").services;
  const chains = aliasChains(planStep(plan, "aliases").aliases);
  const aliasCases = chains
    .filter((c) => c.rules.length > 0)
    .map((c) => `  "${c.command} ${c.chain}")\n    cat <<'CDKTF_IPVS_EOF'\n${c.rules.join("\n")}\nCDKTF_IPVS_EOF\n    ;;`)
    .join("\n");
  // The number of lines desired_alias_rules prints per chain, written out (no process to count them).
  const aliasCounts = chains
    .map((c) => ({ c, n: c.rules.join("\n").split("\n").filter((l) => l.length > 0).length }))
    .filter(({ n }) => n > 0)
    .map(({ c, n }) => `  "${c.command} ${c.chain}") echo ${n} ;;`)
    .join("\n");
  return `#!/bin/sh
# cdktf-ipvs ${kind}.sh for host ${host.name} (${commentText(host.path)})
# Generated by cdktf-ipvs from plan ${plan.hash}. Do not edit: change the stack and deploy.
# Usage: ${usage}
# shellcheck disable=SC2034 # the settings below are shared by apply, verify and destroy; each uses some
set -eu
set -f # no globbing: rule token lists below are split on spaces on purpose and never globbed
umask 077
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL

HOST_NAME=${shQuote(host.name)}
STATE_DIR=${shQuote(L.stateDir)}
OWNED_SERVICES="$STATE_DIR/owned-services"
SYSCTL_ORIGINALS="$STATE_DIR/sysctl.orig"
GENERATIONS="$STATE_DIR/generation"
LOCK_FILE=${shQuote(L.lockFile)}
MODULES_FILE=${shQuote(L.modulesFile)}
SYSCTL_FILE=${shQuote(L.sysctlFile)}
UNIT_NAME=${shQuote(L.unitName)}
UNIT_FILE=${shQuote(L.unitFile)}
APPLY_SCRIPT=${shQuote(L.applyScript)}
RULE_COMMENT=${shQuote(L.ruleComment)}
# Kernel and systemd paths, named once (the unit tests point them at a fake tree).
PROC_SYS=/proc/sys
SYS_MODULE=/sys/module
SYSTEMD_DIR=/run/systemd/system
# Where other owners of IPVS show (owners.sh): configs and units under /etc, /usr, /lib; processes; interfaces.
ETC_DIR=/etc
USR_DIR=/usr
LIB_DIR=/lib
PROC_DIR=/proc
SYS_CLASS_NET=/sys/class/net
CHAINS=${shQuote(chains.map((c) => `${c.command}:${c.chain}:${c.parent}`).join(" "))}
REQUIRES_CONNTRACK=${hostNeedsConntrack(host) ? 1 : 0}
DRAIN_TIMEOUT_DEFAULT=${seconds(host.drainTimeoutSeconds)}
TAB=$(printf '\\t')
STEP=${kind}
DRY_RUN=0

log() { printf 'cdktf-ipvs %s [%s] %s\\n' "$HOST_NAME" "$STEP" "$*"; }
die() { printf 'cdktf-ipvs %s [%s] ERROR: %s\\n' "$HOST_NAME" "$STEP" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

require_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

take_lock() {
  need flock "util-linux"
  exec 9>"$LOCK_FILE"
  flock -w 300 9 || die "another cdktf-ipvs run has held $LOCK_FILE for 300 s; giving up"
}

# Scratch space in /run: at boot, systemd-tmpfiles-setup empties /tmp ("D /tmp") while early
# units such as ours run, which once pulled the files from under a boot-time apply.
make_tmp() {
  tmp_parent=/run
  [ -d /run ] && [ -w /run ] || tmp_parent=/tmp
  TMP=$(mktemp -d "$tmp_parent/cdktf-ipvs.XXXXXX")
  trap 'on_exit "$?"' EXIT
  # A lost SSH session (HUP, or PIPE on our next log line) counts as a failure like any other.
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 141' PIPE
  trap 'exit 143' TERM
}

# on_exit STATUS: ${kind === "apply" ? "a step that failed puts back what it changed (rollback.sh); " : ""}scratch goes.
on_exit() {
  ${kind === "apply" ? ROLLBACK_CALL : NO_ROLLBACK}
  rm -rf "$TMP"
}

check_generation() {
  case $1 in
    "" | *[!A-Za-z0-9-]*) die "generation must be 1-64 characters of A-Z a-z 0-9 -; got '$1'" ;;
  esac
  [ "\${#1}" -le 64 ] || die "generation is longer than 64 characters"
}

# /proc/sys path of a dotted sysctl name.
sysctl_path() { printf '%s/%s' "$PROC_SYS" "$(printf '%s' "$1" | tr . /)"; }
# sysctl_path_of KEY: the same path into $path, in the shell (no process per sysctl).
sysctl_path_of() {
  sp_rest=$1
  path=$PROC_SYS/
  while :; do
    case $sp_rest in
      *.*) path=$path\${sp_rest%%.*}/; sp_rest=\${sp_rest#*.} ;;
      *) path=$path$sp_rest; return 0 ;;
    esac
  done
}

# --- desired state (validated at synth time; quoted heredocs, nothing expands) ---
${textFunction("desired_modules", modules.join("\n"))}
${textFunction("desired_sysctls", sysctls.join("\n"))}
${textFunction("desired_ipvs_rules", ipvsRules(services).join("\n"))}
${textFunction("desired_ipvs_keys", services.map(ipvsServiceKey).join("\n"))}
# desired_adopt_keys: declared services (adopt) an apply may take over when they exist but are not ours.
${textFunction("desired_adopt_keys", services.filter((s) => s.adopt === true).map(ipvsServiceKey).join("\n"))}
# desired_drain_timeouts: SERVICE-KEY TAB SECONDS; services no longer declared drain for DRAIN_TIMEOUT_DEFAULT.
${textFunction("desired_drain_timeouts", services.map((s) => `${ipvsServiceKey(s)}\t${seconds(s.drainTimeoutSeconds)}`).join("\n"))}
# desired_alias_rules COMMAND CHAIN: rule tokens after "-A CHAIN", one rule a line
desired_alias_rules() {
  case "$1 $2" in
${aliasCases ? `${aliasCases}\n` : ""}  *) : ;;
  esac
}
${textFunction("content_modules_conf", modulesLoadConf(host))}
${textFunction("content_sysctl_conf", sysctlConf(host))}
${textFunction("content_boot_unit", bootUnit(host))}

# ipvs_diff DESIRED THRESHOLDS LIVE OWNED [reals]: changes that turn LIVE into DESIRED for owned
# services; "reals" also lists the real servers of services to delete (DEL_SERVICE_REAL).
ipvs_diff() {
  awk -v reals="$([ "\${5:-}" = reals ] && echo 1 || echo 0)" '${IPVS_DIFF_AWK.trim().replace(/'/g, "")}' "$1" "$2" "$3" "$4" | sort | cut -f2-
}

# ipvs_owned_rules THRESHOLDS LIVE OWNED: the owned services' live rules, thresholds included, in
# the form of desired rules.
ipvs_owned_rules() {
  awk -v dump=1 '${IPVS_DIFF_AWK.trim().replace(/'/g, "")}' /dev/null "$1" "$2" "$3"
}

# Reads live IPVS state into $TMP/live.ipvs and works out the changes into $TMP/changes
# (ipvs_changes OWNED [reals]; see ipvs_diff).
ipvs_changes() {
  need ipvsadm "apt-get install ipvsadm"
  desired_ipvs_rules >"$TMP/desired.ipvs"
  if [ "$DRY_RUN" = 1 ] && [ ! -d "$SYS_MODULE/ip_vs" ]; then
    # ipvsadm would load ip_vs, and a preview loads nothing; without ip_vs there is no IPVS table.
    : >"$TMP/live.ipvs"
    : >"$TMP/thresholds.ipvs"
  else
    ipvsadm -Sn >"$TMP/live.ipvs" || die "ipvsadm -Sn failed (is ip_vs loaded?)"
    ipvsadm -Ln --thresholds >"$TMP/thresholds.ipvs" 2>/dev/null || : >"$TMP/thresholds.ipvs"
  fi
  ipvs_diff "$TMP/desired.ipvs" "$TMP/thresholds.ipvs" "$TMP/live.ipvs" "$1" "\${2:-}" >"$TMP/changes"
}

# ipt_listing COMMAND CHAIN: our chain as 'COMMAND -t nat -S CHAIN' lists it, read once into
# $TMP/ipt.COMMAND.CHAIN (and $TMP/ipt.COMMAND.CHAIN.exists when the chain exists); the questions
# below about the chain all answer from that one read until ipt_forget drops it, which every
# change to the chain does first. A run holds the lock, so nothing else changes our chains.
ipt_listing() {
  [ ! -f "$TMP/ipt.$1.$2" ] || return 0
  if "$1" -w -t nat -S "$2" >"$TMP/ipt.$1.$2" 2>/dev/null; then : >"$TMP/ipt.$1.$2.exists"; elif [ -f "$TMP/ipt.$1.$2.exists" ]; then rm -f "$TMP/ipt.$1.$2.exists"; fi
}
ipt_forget() { rm -f "$TMP/ipt.$1.$2" "$TMP/ipt.$1.$2.exists"; }
ipt_chain_exists() {
  ipt_listing "$1" "$2"
  [ -f "$TMP/ipt.$1.$2.exists" ]
}
# ipt_jump OP COMMAND CHAIN PARENT [POSITION]: -C, -D or -I our jump from PARENT to CHAIN.
ipt_jump() { "$2" -w -t nat "$1" "$4" \${5:+"$5"} -m comment --comment "$RULE_COMMENT" -j "$3"; }
# A jump to a chain that does not exist cannot exist (iptables refuses it), so only then -C asks.
ipt_jump_present() { ipt_chain_exists "$1" "$2" && ipt_jump -C "$1" "$2" "$3" 2>/dev/null; }
ipt_rule_count() {
  ipt_chain_exists "$1" "$2" || { echo 0; return 0; }
  grep -c '^-A ' "$TMP/ipt.$1.$2" || true
}
# want_rule_count COMMAND CHAIN: how many rules desired_alias_rules has for the chain.
want_rule_count() {
  case "$1 $2" in
${aliasCounts ? `${aliasCounts}\n` : ""}  *) echo 0 ;;
  esac
}

# ipt_rule_lists COMMAND CHAIN: the desired rules and the chain's listed ones, as "-A CHAIN ..."
# lines, into $TMP/want.rules and $TMP/have.rules.
ipt_rule_lists() {
  desired_alias_rules "$1" "$2" | sed "s/^/-A $2 /" >"$TMP/want.rules"
  ipt_listing "$1" "$2"
  sed -n 's/ --comment "\\([^" ]*\\)"/ --comment \\1/; /^-A /p' "$TMP/ipt.$1.$2" >"$TMP/have.rules"
}

# 0 when our chain holds exactly the desired rules. One listing compared as text (iptables 1.8
# prints our rules as we write them, for both backends, but quotes a comment that has anything
# but letters, digits, _ and -; ours never hold spaces or quotes, so unquoting is lossless); only
# if the text still differs, e.g. on another iptables version, ask for each rule with -C (one call
# per rule: slow with thousands of aliases).
ipt_rules_match() {
  ipt_rule_lists "$1" "$2"
  cmp -s "$TMP/want.rules" "$TMP/have.rules" && return 0
  [ "$(wc -l <"$TMP/have.rules")" -eq "$(wc -l <"$TMP/want.rules")" ] || return 1
  desired_alias_rules "$1" "$2" >"$TMP/rules"
  while read -r rule; do
    # shellcheck disable=SC2086 # a validated token list; splitting it into arguments is the point
    "$1" -w -t nat -C "$2" $rule 2>/dev/null || return 1
  done <"$TMP/rules"
}

# 0 when our chain exists, holds exactly the desired rules and is jumped to.
ipt_chain_in_sync() {
  ipt_chain_exists "$1" "$2" && ipt_jump_present "$1" "$2" "$3" && ipt_rules_match "$1" "$2"
}

# split_chain_entry COMMAND:CHAIN:PARENT sets cmd, chain and parent.
split_chain_entry() {
  cmd=\${1%%:*}
  parent=\${1##*:}
  chain=\${1#*:}
  chain=\${chain%:*}
}

remove_alias_chain() {
  command -v "$1" >/dev/null 2>&1 || return 0
  while ipt_jump_present "$1" "$2" "$3"; do
    ipt_jump -D "$1" "$2" "$3"
    log "$1 nat: removed jump $3 -> $2"
  done
  if ipt_chain_exists "$1" "$2"; then
    ipt_forget "$1" "$2"
    "$1" -w -t nat -F "$2"
    "$1" -w -t nat -X "$2"
    log "$1 nat: removed chain $2"
  fi
}

${hostSources(kind)}
`;
}

/** Marks the line of apply.sh that carries the host's desired state, for plan-time checks. */
export const DESIRED_STATE_MARKER = "# cdktf-ipvs-desired-state: ";

/**
 * What verify.sh logs, as its last line, when the host matches the desired state:
 * `cdktf-ipvs <host> [verify] OK: host matches the desired state`. lib/drift counts a host as in
 * sync only when this line came back, so both sides use this one constant.
 */
export const VERIFY_OK_TEXT = "OK: host matches the desired state";

type Shape = (v: unknown, at: string) => string | undefined;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str: Shape = (v, at) => (typeof v === "string" ? undefined : `${at} is not a string`);
const num: Shape = (v, at) => (typeof v === "number" && Number.isFinite(v) ? undefined : `${at} is not a number`);
const bool: Shape = (v, at) => (typeof v === "boolean" ? undefined : `${at} is not a boolean`);
const optional = (s: Shape): Shape => (v, at) => (v === undefined ? undefined : s(v, at));
const oneOfShape = (...allowed: string[]): Shape => (v, at) => (typeof v === "string" && allowed.includes(v) ? undefined : `${at} is not one of ${allowed.join(", ")}`);
const either = (a: Shape, b: Shape, what: string): Shape => (v, at) => (a(v, at) === undefined || b(v, at) === undefined ? undefined : `${at} is not ${what}`);
const arrayOf = (s: Shape): Shape => (v, at) => {
  if (!Array.isArray(v)) return `${at} is not an array`;
  for (let i = 0; i < v.length; i++) {
    const problem = s(v[i], `${at}[${i}]`);
    if (problem) return problem;
  }
  return undefined;
};
const objectOf = (fields: Record<string, Shape>): Shape => (v, at) => {
  if (!isObj(v)) return `${at} is not an object`;
  for (const [key, s] of Object.entries(fields)) {
    const problem = s(v[key], `${at}.${key}`);
    if (problem) return problem;
  }
  return undefined;
};
const REAL_SERVER_SHAPE = objectOf({ address: str, port: num, forwarding: str, weight: num, upperThreshold: num, lowerThreshold: num, path: str });
const SERVICE_BASE = {
  name: str,
  family: oneOfShape("ipv4", "ipv6"),
  scheduler: str,
  schedulerFlags: arrayOf(str),
  persistence: optional(objectOf({ timeout: num, netmask: optional(either(str, num, "a string or a number")) })),
  realServers: arrayOf(REAL_SERVER_SHAPE),
  drainTimeoutSeconds: optional(num),
  path: str,
};
const SERVICE_SHAPE: Shape = (v, at) => {
  if (!isObj(v)) return `${at} is not an object`;
  if (v.kind === "address") return objectOf({ ...SERVICE_BASE, protocol: str, address: str, port: num })(v, at);
  if (v.kind === "fwmark") return objectOf({ ...SERVICE_BASE, fwmark: num })(v, at);
  return `${at}.kind is not one of address, fwmark`;
};
const DESIRED_HOST_SHAPE = objectOf({
  name: str,
  path: str,
  services: arrayOf(SERVICE_SHAPE),
  aliases: arrayOf(
    objectOf({
      service: str,
      protocol: str,
      family: oneOfShape("ipv4", "ipv6"),
      address: str,
      port: num,
      method: str,
      targetAddress: str,
      targetPort: num,
      remoteClients: bool,
      localClients: bool,
      path: str,
    }),
  ),
  // reason is only ever shown; a hand-written desired state may leave it out.
  modules: arrayOf(objectOf({ name: str, reason: optional(str) })),
  sysctls: arrayOf(objectOf({ key: str, value: str, reason: optional(str) })),
  // Newer fields; desired states read back from older scripts may lack them.
  unsafeSysctls: optional(arrayOf(str)),
  ssh: optional(objectOf({ kind: oneOfShape("address", "name", "token"), host: optional(str), port: num })),
  drainTimeoutSeconds: optional(num),
});

/**
 * The desired state apply.sh was rendered from (JSON on one comment line), or undefined when the
 * script carries no marker line. A marker that is not exactly one line of JSON in the shape of a
 * DesiredHost (hand-edited or overridden scripts) throws an Error saying what is wrong, never a
 * TypeError from deeper down.
 */
export function readDesiredState(applyScript: string): DesiredHost | undefined {
  const lines = applyScript.split("\n").filter((l) => l.startsWith(DESIRED_STATE_MARKER));
  if (lines.length === 0) return undefined;
  if (lines.length > 1) throw new Error(`the script carries ${lines.length} desired-state marker lines ("${DESIRED_STATE_MARKER.trim()}"); a rendered apply.sh has exactly one`);
  let value: unknown;
  try {
    value = JSON.parse(lines[0].slice(DESIRED_STATE_MARKER.length));
  } catch (e) {
    throw new Error(`the desired-state marker line is not valid JSON: ${(e as Error).message}`);
  }
  const problem = DESIRED_HOST_SHAPE(value, "desired state");
  if (problem) throw new Error(`the desired-state marker line does not hold a desired state: ${problem}`);
  // Scripts rendered before drains existed deleted at once.
  const host = value as DesiredHost;
  return {
    ...host,
    drainTimeoutSeconds: host.drainTimeoutSeconds ?? 0,
    services: host.services.map((s) => ({ ...s, drainTimeoutSeconds: s.drainTimeoutSeconds ?? 0 })),
  };
}

/** What an apply.sh --dry-run prints as its last line: `cdktf-ipvs <host> [preview] DONE: N change(s) pending`. */
export const PREVIEW_DONE_TEXT = "DONE: ";
/** What an apply.sh --dry-run prints before each change: `cdktf-ipvs <host> [preview] <step> CHANGE: <text>`. */
export const PREVIEW_CHANGE_TEXT = "CHANGE: ";
/** apply.sh --dry-run's exit code when changes are pending (0: nothing to change). */
export const PREVIEW_PENDING_EXIT = 3;

/** The line of apply.sh that carries its own fingerprint (see applyScript). */
const SCRIPT_ID_LINE = "SCRIPT_ID=";

/**
 * apply.sh. Each step is two functions: step_X_plan reads the live state, works out the changes
 * into $TMP and names each one with `change`; step_X_apply makes exactly those changes. A real
 * run does plan then apply per step (under the lock, in order); `--dry-run` runs only the plans
 * and prints the changes, so the preview and the apply can never disagree about what to change.
 *
 * The script carries its own fingerprint (SCRIPT_ID: sha256 of the script with that line empty),
 * so a preview read from stdin (`sh -s -- --dry-run`, which has no file to compare) can still tell
 * whether the installed /var/lib/cdktf-ipvs/apply.sh is this very script.
 */
function applyScript(plan: HostPlan): string {
  const usage = "apply.sh [--dry-run] [--generation ID] [--boot] [modules|sysctls|ipvs|aliases|boot ...]  (default: all, in order; --dry-run: print the changes and change nothing, exit 3 when any are pending)";
  const text = `${prelude(plan, "apply", usage)}
${DESIRED_STATE_MARKER}${JSON.stringify(plan.host)}
${SCRIPT_ID_LINE}
CHANGES=0
FILE_N=0

# change TEXT: one change this run makes. A preview prints it; a real run stays quiet here, as its
# step_X_apply logs what it did.
change() {
  CHANGES=$((CHANGES + 1))
  if [ "$DRY_RUN" = 1 ]; then printf 'cdktf-ipvs %s [preview] %s ${PREVIEW_CHANGE_TEXT}%s\\n' "$HOST_NAME" "$STEP" "$*"; fi
}

# plan_file PATH MODE CONTENT-FUNCTION: PATH is to be written when its content differs.
plan_file() {
  FILE_N=$((FILE_N + 1))
  "$3" >"$TMP/file.$FILE_N"
  if [ -f "$1" ] && cmp -s "$TMP/file.$FILE_N" "$1"; then
    printf '%s\\t%s\\t%s\\t0\\n' "$1" "$2" "$TMP/file.$FILE_N" >>"$TMP/files.$STEP"
  else
    printf '%s\\t%s\\t%s\\t1\\n' "$1" "$2" "$TMP/file.$FILE_N" >>"$TMP/files.$STEP"
    if [ -f "$1" ]; then change "write $1 (content differs)"; else change "write $1 (new file)"; fi
  fi
}

# 0 when FILE is this very script: compared byte for byte when we run from a file, else (a preview
# from stdin) by the fingerprint, which covers every other byte of the script.
same_as_self() {
  [ -f "$1" ] || return 1
  if [ -f "$SELF" ]; then
    cmp -s "$SELF" "$1"
    return
  fi
  need sha256sum "coreutils"
  grep -qx "SCRIPT_ID=$SCRIPT_ID" "$1" || return 1
  [ "$(sed 's/^SCRIPT_ID=.*/SCRIPT_ID=/' "$1" | sha256sum | cut -d ' ' -f 1)" = "$SCRIPT_ID" ]
}

# apply_files: writes the files this step's plan marked (atomically); the rest are unchanged.
# FILE_CHANGED tells about the last file.
apply_files() {
  [ -f "$TMP/files.$STEP" ] || return 0
  while IFS="$TAB" read -r path mode src write; do
    if [ "$write" = 1 ]; then
      remember_file "$path"
      mkdir -p "$(dirname "$path")"
      cat "$src" >"$path.cdktf-ipvs.tmp"
      chmod "$mode" "$path.cdktf-ipvs.tmp"
      mv -f "$path.cdktf-ipvs.tmp" "$path"
      log "wrote $path"
      FILE_CHANGED=1
    else
      log "$path unchanged"
      FILE_CHANGED=0
    fi
  done <"$TMP/files.$STEP"
}

# --- state: the directory apply keeps its records in ---
state_plan() {
  for dir in "$STATE_DIR" "$GENERATIONS"; do
    [ -d "$dir" ] || change "create directory $dir"
  done
  if [ -d "$STATE_DIR" ] && [ -z "$(find "$STATE_DIR" -prune -perm 0700)" ]; then change "chmod 700 $STATE_DIR"; fi
}

state_apply() {
  mkdir -p "$STATE_DIR" "$GENERATIONS"
  chmod 700 "$STATE_DIR"
}

# --- modules ---
step_modules_plan() {
  need modprobe "kmod"
  desired_modules >"$TMP/modules"
  : >"$TMP/modules.load"
  while read -r module; do
    [ ! -d "$SYS_MODULE/$module" ] || continue
    printf '%s\\n' "$module" >>"$TMP/modules.load"
    change "load kernel module $module"
  done <"$TMP/modules"
  plan_file "$MODULES_FILE" 0644 content_modules_conf
}

step_modules_apply() {
  while read -r module; do
    if grep -qxF -e "$module" "$TMP/modules.load"; then
      modprobe "$module" || die "modprobe $module failed"
      remember_module "$module"
      log "loaded module $module"
    else
      log "module $module already loaded"
    fi
  done <"$TMP/modules"
  apply_files
}

# --- sysctls ---
# The module a sysctl appears with, for one that is missing before the modules step ran.
sysctl_module() {
  case $1 in
    net.ipv4.vs.* | net.ipv6.vs.*) echo ip_vs ;;
    *) : ;;
  esac
}

# $TMP/sysctls.plan: set|keep KEY VALUE HAVE (TAB-separated; a value may hold spaces or tabs,
# HAVE is last); $TMP/sysctls.remember: values from before our first
# change, which destroy puts back.
step_sysctls_plan() {
  host_sysctls >"$TMP/sysctls"
  : >"$TMP/sysctls.plan"
  : >"$TMP/sysctls.remember"
  while read -r key value; do
    sysctl_path_of "$key"
    if [ ! -e "$path" ]; then
      module=$(sysctl_module "$key")
      if [ "$DRY_RUN" = 1 ] && [ -n "$module" ] && [ ! -d "$SYS_MODULE/$module" ]; then
        printf '%s ?\\n' "$key" >>"$TMP/sysctls.remember"
        change "$key: (not present until $module is loaded) -> $value"
        continue
      fi
      die "sysctl $key does not exist on this kernel ($path missing; is its module loaded?)"
    fi
    have=$(cat "$path")
    if ! grep -q "^$key " "$SYSCTL_ORIGINALS" 2>/dev/null; then printf '%s %s\\n' "$key" "$have" >>"$TMP/sysctls.remember"; fi
    if [ "$have" = "$value" ]; then
      printf 'keep\\t%s\\t%s\\t%s\\n' "$key" "$value" "$have" >>"$TMP/sysctls.plan"
    else
      printf 'set\\t%s\\t%s\\t%s\\n' "$key" "$value" "$have" >>"$TMP/sysctls.plan"
      change "$key: $have -> $value"
    fi
  done <"$TMP/sysctls"
  if [ -s "$TMP/sysctls.remember" ]; then
    change "write $SYSCTL_ORIGINALS (remember for destroy: $(cut -d ' ' -f 1 "$TMP/sysctls.remember" | tr '\\n' ' ' | sed 's/ $//'))"
  fi
  plan_file "$SYSCTL_FILE" 0644 content_sysctl_conf
}

step_sysctls_apply() {
  # Originals first, so an interrupted run still knows what to put back.
  if [ -s "$TMP/sysctls.remember" ]; then
    remember_file "$SYSCTL_ORIGINALS"
    cat "$TMP/sysctls.remember" >>"$SYSCTL_ORIGINALS"
  fi
  while IFS="$TAB" read -r action key value have; do
    if [ "$action" = keep ]; then
      log "$key = $value (unchanged)"
      continue
    fi
    sysctl_path_of "$key"
    remember_sysctl "$key" "$have"
    printf '%s\\n' "$value" >"$path" || die "cannot set $key to $value"
    [ "$(cat "$path")" = "$value" ] || die "$key did not take the value $value"
    log "$key: $have -> $value"
  done <"$TMP/sysctls.plan"
  apply_files
}

# --- ipvs ---
# $TMP/batch: the ipvsadm -R lines; $TMP/owned: services owned while they change (what we owned
# plus what we declare); $TMP/owned.after: what we own after.
step_ipvs_plan() {
  need ipvsadm "apt-get install ipvsadm"
  # Services declared with adopt count as ours: an existing one is taken over (the diff below then
  # changes only what differs from the declaration) instead of being refused as FOREIGN.
  { cat "$OWNED_SERVICES" 2>/dev/null || true; desired_adopt_keys; } | sort -u >"$TMP/owned.before"
  ipvs_changes "$TMP/owned.before" reals
  if grep -q '^FOREIGN' "$TMP/changes"; then
    while IFS="$TAB" read -r action key rs want have; do
      [ "$action" = FOREIGN ] || continue
      printf 'cdktf-ipvs %s [ipvs] ERROR: service %s exists on this host but was not created by cdktf-ipvs (live: %s); delete it, rename ours, or declare ours with adopt: true to take it over\\n' "$HOST_NAME" "$key" "$have" >&2
    done <"$TMP/changes"
    die "refusing to take over IPVS services cdktf-ipvs does not own"
  fi
  # One awk pass writes the ipvsadm -R batches and names each change (drain.sh): no process per
  # change, so a first apply of thousands of rules costs what the batch costs.
  drain_split "$TMP/changes" "$TMP/batch" "$TMP/batch.after" "$TMP/drain" "$TMP/ipvs.log" >"$TMP/ipvs.err" || die "internal: $(cat "$TMP/ipvs.err")"
  CHANGES=$((CHANGES + $(grep -c . "$TMP/ipvs.log" || true)))
  if [ "$DRY_RUN" = 1 ]; then
    awk -v p="cdktf-ipvs $HOST_NAME [preview] $STEP ${PREVIEW_CHANGE_TEXT}" '{ print p $0 }' "$TMP/ipvs.log"
  fi
  { cat "$TMP/owned.before"; desired_ipvs_keys; } | sort -u >"$TMP/owned"
  desired_ipvs_keys >"$TMP/owned.after"
  if [ ! -f "$OWNED_SERVICES" ] || ! cmp -s "$TMP/owned.after" "$OWNED_SERVICES"; then
    change "write $OWNED_SERVICES ($(grep -c . "$TMP/owned.after" || true) IPVS service(s) owned)"
  fi
}

# write_owned FILE: $OWNED_SERVICES gets FILE's list (untouched when it already has it).
write_owned() {
  cmp -s "$1" "$OWNED_SERVICES" 2>/dev/null && return 0
  remember_file "$OWNED_SERVICES"
  cp "$1" "$OWNED_SERVICES"
}

step_ipvs_apply() {
  # Own the desired services before changing anything, so an interrupted run leaves nothing unowned.
  write_owned "$TMP/owned"
  # Every change up to 50 by name; past that a count, so a big first apply stays readable.
  head -n 50 "$TMP/ipvs.log" >"$TMP/ipvs.head"
  while read -r text; do log "$text"; done <"$TMP/ipvs.head"
  changes=$(wc -l <"$TMP/ipvs.log")
  [ "$changes" -le 50 ] || log "... and $((changes - 50)) more IPVS change(s)"
  if [ -s "$TMP/batch" ] || [ -s "$TMP/batch.after" ]; then
    remember_ipvs
    ipvs_restore "$TMP/batch"
    drain_wait "$TMP/drain"
    ipvs_restore "$TMP/batch.after"
    log "applied $(cat "$TMP/batch" "$TMP/batch.after" | wc -l) IPVS change(s)"
  else
    log "IPVS services unchanged ($(desired_ipvs_keys | grep -c . || true) owned)"
  fi
  write_owned "$TMP/owned.after"
}

# ipvs_restore BATCH: one ipvsadm -R; on failure the error names the batch's changes and ipvsadm's words.
ipvs_restore() {
  [ -s "$1" ] || return 0
  ipvsadm -R <"$1" 2>"$TMP/ipvsadm.err" || die "ipvsadm -R failed ($(tr '\n' ' ' <"$TMP/ipvsadm.err" | sed 's/ *$//')) applying $(wc -l <"$1") IPVS change(s): $(head -n 5 "$1" | tr '\n' ';')$([ "$(wc -l <"$1")" -le 5 ] || echo ' ...')"
}

# --- aliases ---
# net.ipv4.vs.conntrack as the aliases step will find it: in a preview the sysctls step planned
# before it has not set anything, so its desired value counts.
conntrack_for_aliases() {
  if [ "$DRY_RUN" = 1 ] && [ -f "$TMP/sysctls" ] && grep -q '^net\\.ipv4\\.vs\\.conntrack ' "$TMP/sysctls"; then
    awk '$1 == "net.ipv4.vs.conntrack" { print $2 }' "$TMP/sysctls"
  else
    cat "$PROC_SYS/net/ipv4/vs/conntrack" 2>/dev/null || echo missing
  fi
}

# alias_rule_changes COMMAND CHAIN: counts the rule changes in $TMP/rule.changes (a preview prints
# each, as change does), with one awk for all of them: no shell loop over thousands of rules.
alias_rule_changes() {
  CHANGES=$((CHANGES + $(grep -c . "$TMP/rule.changes" || true)))
  if [ "$DRY_RUN" = 1 ]; then
    awk -v p="cdktf-ipvs $HOST_NAME [preview] $STEP ${PREVIEW_CHANGE_TEXT}$1 nat $2: " '{ print p $0 }' "$TMP/rule.changes"
  fi
}

# Names the changes that bring a chain that is not in sync to the desired rules.
describe_alias_changes() {
  if ! ipt_chain_exists "$1" "$2"; then
    change "$1 nat: create chain $2"
    desired_alias_rules "$1" "$2" | sed 's/^/add rule /' >"$TMP/rule.changes"
    alias_rule_changes "$1" "$2"
  else
    ipt_rule_lists "$1" "$2"
    awk -v chain="$2" '
      FILENAME == ARGV[1] { want[$0] = 1; next }
      { have[$0] = 1; if (!($0 in want)) print "delete rule " substr($0, length("-A " chain " ") + 1) }
      END { while ((getline line <ARGV[1]) > 0) if (!(line in have)) print "add rule " substr(line, length("-A " chain " ") + 1) }
    ' "$TMP/want.rules" "$TMP/have.rules" >"$TMP/rule.changes"
    if [ -s "$TMP/rule.changes" ]; then
      alias_rule_changes "$1" "$2"
    elif ! ipt_rules_match "$1" "$2"; then
      change "$1 nat $2: rewrite its $(want_rule_count "$1" "$2") rule(s) (duplicate rules, or rules in another form)"
    fi
  fi
  ipt_jump_present "$1" "$2" "$3" || change "$1 nat: insert jump $3 -> $2 first"
}

# alias_action COMMAND CHAIN: what the plan decided for the chain (keep, converge, remove, none).
alias_action() { awk -v c="$1" -v ch="$2" '$1 == c && $2 == ch { print $3 }' "$TMP/aliases.plan"; }

step_aliases_plan() {
  if [ "$REQUIRES_CONNTRACK" = 1 ]; then
    conntrack=$(conntrack_for_aliases)
    [ "$conntrack" = 1 ] || die "net.ipv4.vs.conntrack is $conntrack, not 1: refusing to install alias rules (IPVS would drop their conntrack entries and replies would leave from the service port). Run the sysctls step first."
  fi
  : >"$TMP/aliases.plan"
  for entry in $CHAINS; do
    split_chain_entry "$entry"
    want=$(want_rule_count "$cmd" "$chain")
    if [ "$want" = 0 ]; then
      action=none
      if command -v "$cmd" >/dev/null 2>&1; then
        if ipt_jump_present "$cmd" "$chain" "$parent"; then action=remove; change "$cmd nat: remove jump $parent -> $chain"; fi
        if ipt_chain_exists "$cmd" "$chain"; then action=remove; change "$cmd nat: remove chain $chain ($(ipt_rule_count "$cmd" "$chain") rule(s))"; fi
      fi
    else
      need "$cmd" "apt-get install iptables"
      need "$cmd-restore" "apt-get install iptables"
      if ipt_chain_in_sync "$cmd" "$chain" "$parent"; then
        action=keep
      else
        action=converge
        describe_alias_changes "$cmd" "$chain" "$parent"
      fi
    fi
    printf '%s %s %s\\n' "$cmd" "$chain" "$action" >>"$TMP/aliases.plan"
  done
}

converge_alias_chain() {
  want=$(want_rule_count "$1" "$2")
  {
    printf '*nat\\n:%s - [0:0]\\n' "$2"
    desired_alias_rules "$1" "$2" | sed "s/^/-A $2 /"
    printf 'COMMIT\\n'
  } >"$TMP/restore"
  ipt_forget "$1" "$2"
  "$1-restore" -w --noflush <"$TMP/restore" || die "$1-restore failed for chain $2"
  if ! ipt_jump_present "$1" "$2" "$3"; then
    ipt_jump -I "$1" "$2" "$3" 1
    log "$1 nat: jump $3 -> $2 inserted first"
  fi
  desired_alias_rules "$1" "$2" | head -n 50 | while read -r rule; do log "$1 nat $2: $rule"; done
  [ "$want" -le 50 ] || log "$1 nat $2: ... and $((want - 50)) more rule(s)"
  ipt_chain_in_sync "$1" "$2" "$3" || die "$1 nat $2 is still not as desired after restore"
}

step_aliases_apply() {
  for entry in $CHAINS; do
    split_chain_entry "$entry"
    case $(alias_action "$cmd" "$chain") in
      keep) log "$cmd nat $chain: $(want_rule_count "$cmd" "$chain") rule(s) unchanged" ;;
      converge) remember_chain "$cmd" "$chain" "$parent"; converge_alias_chain "$cmd" "$chain" "$parent" ;;
      remove) remember_chain "$cmd" "$chain" "$parent"; remove_alias_chain "$cmd" "$chain" "$parent" ;;
      *) : ;;
    esac
  done
}

# --- boot ---
step_boot_plan() {
  if [ "$SELF" != "$APPLY_SCRIPT" ]; then
    [ -f "$SELF" ] || [ "$DRY_RUN" = 1 ] || die "cannot install the boot-time restore: run apply.sh from a file, not from stdin"
    if same_as_self "$APPLY_SCRIPT"; then
      printf '%s\\t0700\\t%s\\t0\\n' "$APPLY_SCRIPT" "$SELF" >>"$TMP/files.$STEP"
    else
      printf '%s\\t0700\\t%s\\t1\\n' "$APPLY_SCRIPT" "$SELF" >>"$TMP/files.$STEP"
      if [ -f "$APPLY_SCRIPT" ]; then change "write $APPLY_SCRIPT (content differs)"; else change "write $APPLY_SCRIPT (new file)"; fi
    fi
  fi
  plan_file "$UNIT_FILE" 0644 content_boot_unit
  BOOT_ENABLE=0
  if [ -d "$SYSTEMD_DIR" ] && ! systemctl is-enabled --quiet "$UNIT_NAME" 2>/dev/null; then
    BOOT_ENABLE=1
    change "systemctl enable $UNIT_NAME"
  fi
}

step_boot_apply() {
  apply_files
  if [ -d "$SYSTEMD_DIR" ]; then
    # systemctl enable reloads systemd itself, after linking the unit: then that one reload also
    # covers a unit file just written (a reload takes seconds on a slow host).
    [ "$FILE_CHANGED" = 0 ] || [ "$BOOT_ENABLE" = 1 ] || systemctl daemon-reload
    if [ "$BOOT_ENABLE" = 0 ]; then
      log "$UNIT_NAME already enabled"
    else
      systemctl enable "$UNIT_NAME" >/dev/null 2>&1 || die "systemctl enable $UNIT_NAME failed"
      remember_enabled_unit
      log "enabled $UNIT_NAME"
    fi
  else
    log "WARNING: systemd is not running; $UNIT_FILE is installed but nothing will run it at boot"
  fi
}

# A preview must leave nothing behind, so it never creates the lock file. When the file exists (an
# apply ran since boot; /run is emptied at every boot) it waits for a shared lock on it, opened
# read-only, so it never reads a half-applied host; when it does not, no apply has run since boot.
take_read_lock() {
  [ -f "$LOCK_FILE" ] || return 0
  need flock "util-linux"
  exec 9<"$LOCK_FILE"
  flock -s -w 300 9 || die "another cdktf-ipvs run has held $LOCK_FILE for 300 s; giving up"
}

# plan_generation: the generation record a run with --generation writes after the step.
plan_generation() {
  [ -n "$GENERATION" ] || return 0
  [ "$(cat "$GENERATIONS/$STEP" 2>/dev/null || true)" = "$GENERATION" ] || change "write $GENERATIONS/$STEP (generation $GENERATION)"
}

# 0 when this run looks for other owners (owners.sh): once per deploy, at its first step
# (modules) or when IPVS changes (ipvs); never at boot, where a refusal would leave the host
# without the services it had (a conflict found since shows at the next deploy).
owners_check_due() {
  [ "$BOOT" = 0 ] || return 1
  case " $STEPS " in *" modules "* | *" ipvs "*) return 0 ;; *) return 1 ;; esac
}

# --dry-run: every step's plan, nothing applied. Its scratch folder in /run goes on exit. Last line:
# "DONE: N change(s) pending"; exit 0 when N is 0, else ${PREVIEW_PENDING_EXIT}.
preview() {
  take_read_lock
  make_tmp
  STEP=preflight
  owners_check_due && check_other_owners
  STEP=state
  state_plan
  for STEP in $STEPS; do
    preflight_before_step
    "step_\${STEP}_plan"
    plan_generation
  done
  STEP=preview
  log "${PREVIEW_DONE_TEXT}$CHANGES change(s) pending"
  [ "$CHANGES" = 0 ] || exit ${PREVIEW_PENDING_EXIT}
}

main() {
  GENERATION="" BOOT=0 STEPS=""
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) DRY_RUN=1; shift ;;
      --generation) [ $# -ge 2 ] || die "--generation needs a value"; check_generation "$2"; GENERATION=$2; shift 2 ;;
      --boot) BOOT=1; shift ;;
      modules | sysctls | ipvs | aliases | boot) STEPS="$STEPS $1"; shift ;;
      -h | --help) echo "usage: ${usage}"; exit 0 ;;
      *) die "unknown argument '$1'; usage: ${usage}" ;;
    esac
  done
  if [ -z "$STEPS" ]; then
    if [ "$BOOT" = 1 ]; then STEPS="modules sysctls ipvs aliases"; else STEPS="modules sysctls ipvs aliases boot"; fi
  fi
  SELF=$0
  FILE_CHANGED=0
  require_root
  if [ "$DRY_RUN" = 1 ]; then
    preview
    return 0
  fi
  take_lock
  make_tmp
  # Other owners of IPVS or our services are looked for before anything changes.
  STEP=preflight
  if owners_check_due; then check_other_owners; fi
  preflight_before_step
  state_apply
  for STEP in $STEPS; do
    preflight_before_step
    log "begin"
    "step_\${STEP}_plan"
    rollback_begin
    "step_\${STEP}_apply"
    if [ -n "$GENERATION" ]; then
      remember_file "$GENERATIONS/$STEP"
      printf '%s\\n' "$GENERATION" >"$GENERATIONS/$STEP"
    fi
    rollback_end
    log "done"
  done
}

main "$@"
`;
  const lines = text.split("\n");
  const at = lines.indexOf(SCRIPT_ID_LINE);
  if (at < 0 || lines.filter((l) => l.startsWith(SCRIPT_ID_LINE)).length !== 1) throw new Error("internal: apply.sh must have exactly one SCRIPT_ID line");
  lines[at] = `${SCRIPT_ID_LINE}${sha256(text)}`;
  return lines.join("\n");
}

function verifyScript(plan: HostPlan): string {
  const usage = "verify.sh   (exit 0: host matches the desired state; 1: each difference printed as DRIFT)";
  return `${prelude(plan, "verify", usage)}
PROBLEMS=0
drift() {
  PROBLEMS=$((PROBLEMS + 1))
  printf 'cdktf-ipvs %s [verify] DRIFT: %s\\n' "$HOST_NAME" "$*"
}

verify_modules() {
  desired_modules >"$TMP/modules"
  while read -r module; do
    [ -d "$SYS_MODULE/$module" ] || drift "kernel module $module is not loaded"
  done <"$TMP/modules"
}

verify_sysctls() {
  host_sysctls >"$TMP/sysctls"
  while read -r key value; do
    sysctl_path_of "$key"
    if [ ! -e "$path" ]; then
      drift "sysctl $key does not exist (want $value; is its module loaded?)"
      continue
    fi
    have=$(cat "$path")
    [ "$have" = "$value" ] && continue
    if [ "$key" = net.ipv4.vs.conntrack ] && [ "$REQUIRES_CONNTRACK" = 1 ]; then
      drift "net.ipv4.vs.conntrack is $have but aliases exist: replies to aliased ports leave from the service port and clients reset them (want 1)"
    else
      drift "sysctl $key is $have, want $value"
    fi
  done <"$TMP/sysctls"
}

verify_ipvs() {
  { cat "$OWNED_SERVICES" 2>/dev/null || true; desired_ipvs_keys; } | sort -u >"$TMP/owned"
  ipvs_changes "$TMP/owned"
  while IFS="$TAB" read -r action key rs want have; do
    case $action in
      ADD_SERVICE) drift "IPVS service $key is missing (want $want)" ;;
      DEL_SERVICE) drift "IPVS service $key is no longer declared but still present ($have)" ;;
      EDIT_SERVICE) drift "IPVS service $key differs: want '$want', live '$have'" ;;
      ADD_REAL) drift "IPVS service $key: real server $rs is missing (want $want)" ;;
      DEL_REAL) drift "IPVS service $key: extra real server $rs ($have)" ;;
      EDIT_REAL) drift "IPVS service $key: real server $rs differs: want '$want', live '$have'" ;;
      *) drift "IPVS: $action $key" ;;
    esac
  done <"$TMP/changes"
}

verify_aliases() {
  for entry in $CHAINS; do
    split_chain_entry "$entry"
    want=$(want_rule_count "$cmd" "$chain")
    if ! command -v "$cmd" >/dev/null 2>&1; then
      [ "$want" = 0 ] || drift "$cmd is not installed but $want alias rule(s) need it"
      continue
    fi
    if [ "$want" = 0 ]; then
      ! ipt_chain_exists "$cmd" "$chain" || drift "$cmd nat chain $chain exists but no alias needs it"
      continue
    fi
    if ! ipt_chain_exists "$cmd" "$chain"; then
      drift "$cmd nat chain $chain is missing ($want alias rule(s))"
      continue
    fi
    ipt_jump_present "$cmd" "$chain" "$parent" || drift "$cmd nat $parent does not jump to $chain"
    ipt_rules_match "$cmd" "$chain" && continue
    desired_alias_rules "$cmd" "$chain" >"$TMP/rules"
    while read -r rule; do
      # shellcheck disable=SC2086 # a validated token list; splitting it into arguments is the point
      "$cmd" -w -t nat -C "$chain" $rule 2>/dev/null || drift "$cmd nat $chain: alias rule missing: $rule"
    done <"$TMP/rules"
    have=$(ipt_rule_count "$cmd" "$chain")
    [ "$have" -le "$want" ] || drift "$cmd nat $chain has $have rules, want $want (extra rules)"
  done
}

verify_file() {
  if [ ! -f "$1" ]; then
    drift "persistence file $1 is missing"
  elif ! "$2" | cmp -s - "$1"; then
    drift "persistence file $1 differs from the desired content"
  fi
}

verify_persistence() {
  verify_file "$MODULES_FILE" content_modules_conf
  verify_file "$SYSCTL_FILE" content_sysctl_conf
  verify_file "$UNIT_FILE" content_boot_unit
  [ -f "$APPLY_SCRIPT" ] || drift "boot-time restore script $APPLY_SCRIPT is missing"
  if [ -d "$SYSTEMD_DIR" ]; then
    systemctl is-enabled --quiet "$UNIT_NAME" 2>/dev/null || drift "$UNIT_NAME is not enabled: nothing restores IPVS and aliases at boot"
  fi
}

main() {
  case \${1:-} in -h | --help) echo "usage: ${usage}"; exit 0 ;; esac
  require_root
  take_lock
  make_tmp
  verify_modules
  verify_sysctls
  verify_ipvs
  verify_aliases
  verify_persistence
  conntrack_table_check
  if [ "$PROBLEMS" -gt 0 ]; then
    log "$PROBLEMS difference(s) from the desired state"
    exit 1
  fi
  log "${VERIFY_OK_TEXT}"
}

main "$@"
`;
}

function destroyScript(plan: HostPlan): string {
  const order = plan.destroyOrder.join(" ");
  const usage = `destroy.sh [--generation ID] [${plan.destroyOrder.join("|")} ...]  (default: all, in the order ${order})`;
  return `${prelude(plan, "destroy", usage)}
# systemctl disable reloads systemd itself unless told not to; when the unit file goes too, the
# one reload after its removal covers both (a reload takes seconds on a slow host).
undo_boot() {
  if [ -d "$SYSTEMD_DIR" ] && systemctl is-enabled --quiet "$UNIT_NAME" 2>/dev/null; then
    if [ -f "$UNIT_FILE" ]; then
      systemctl disable --no-reload "$UNIT_NAME" >/dev/null 2>&1 || die "systemctl disable $UNIT_NAME failed"
    else
      systemctl disable "$UNIT_NAME" >/dev/null 2>&1 || die "systemctl disable $UNIT_NAME failed"
    fi
    log "disabled $UNIT_NAME"
  fi
  if [ -f "$UNIT_FILE" ]; then
    rm -f "$UNIT_FILE"
    log "removed $UNIT_FILE"
    [ ! -d "$SYSTEMD_DIR" ] || systemctl daemon-reload
  fi
}

undo_aliases() {
  for entry in $CHAINS; do
    split_chain_entry "$entry"
    remove_alias_chain "$cmd" "$chain" "$parent"
  done
}

# Our services go like removed ones in an apply: TCP/SCTP real servers drain first (drain.sh),
# then one ipvsadm -R deletes them all (no process per service).
undo_ipvs() {
  [ -f "$OWNED_SERVICES" ] || { log "no IPVS services owned"; return 0; }
  if command -v ipvsadm >/dev/null 2>&1 && [ -d "$SYS_MODULE/ip_vs" ]; then
    ipvsadm -Sn >"$TMP/live.ipvs"
    ipvsadm -Ln --thresholds >"$TMP/thresholds.ipvs" 2>/dev/null || : >"$TMP/thresholds.ipvs"
    ipvs_diff /dev/null "$TMP/thresholds.ipvs" "$TMP/live.ipvs" "$OWNED_SERVICES" reals >"$TMP/changes"
    drain_split "$TMP/changes" "$TMP/batch" "$TMP/batch.after" "$TMP/drain" "$TMP/ipvs.log" >"$TMP/ipvs.err" || die "internal: $(cat "$TMP/ipvs.err")"
    head -n 50 "$TMP/ipvs.log" >"$TMP/ipvs.head"
    while read -r text; do log "$text"; done <"$TMP/ipvs.head"
    [ "$(wc -l <"$TMP/ipvs.log")" -le 50 ] || log "... and $(($(wc -l <"$TMP/ipvs.log") - 50)) more IPVS change(s)"
    [ ! -s "$TMP/batch" ] || ipvsadm -R <"$TMP/batch" || die "ipvsadm -R failed deleting our IPVS services"
    drain_wait "$TMP/drain"
    [ ! -s "$TMP/batch.after" ] || ipvsadm -R <"$TMP/batch.after" || die "ipvsadm -R failed deleting our drained IPVS services"
    log "deleted $(grep -c '^DEL_SERVICE' "$TMP/ipvs.log" || true) IPVS service(s)"
  fi
  rm -f "$OWNED_SERVICES"
}

undo_sysctls() {
  if [ -f "$SYSCTL_ORIGINALS" ]; then
    while read -r key value; do
      sysctl_path_of "$key"
      if [ -e "$path" ] && [ "$(cat "$path")" != "$value" ]; then
        printf '%s\\n' "$value" >"$path" && log "$key restored to $value"
      fi
    done <"$SYSCTL_ORIGINALS"
    rm -f "$SYSCTL_ORIGINALS"
  fi
  if [ -f "$SYSCTL_FILE" ]; then rm -f "$SYSCTL_FILE"; log "removed $SYSCTL_FILE"; fi
}

undo_modules() {
  if [ -f "$MODULES_FILE" ]; then rm -f "$MODULES_FILE"; log "removed $MODULES_FILE"; fi
  # Modules stay loaded: unloading ip_vs would delete IPVS services that are not ours.
  log "kernel modules left loaded (other IPVS users may need them)"
  rm -f "$APPLY_SCRIPT" "$STATE_DIR/verify.sh" "$STATE_DIR/destroy.sh"
  rm -rf "$GENERATIONS"
  rmdir "$STATE_DIR" 2>/dev/null || true
}

main() {
  GENERATION="" STEPS=""
  while [ $# -gt 0 ]; do
    case $1 in
      --generation) [ $# -ge 2 ] || die "--generation needs a value"; check_generation "$2"; GENERATION=$2; shift 2 ;;
      ${plan.destroyOrder.join(" | ")}) STEPS="$STEPS $1"; shift ;;
      -h | --help) echo "usage: ${usage}"; exit 0 ;;
      *) die "unknown argument '$1'; usage: ${usage}" ;;
    esac
  done
  [ -n "$STEPS" ] || STEPS=${shQuote(order)}
  require_root
  take_lock
  make_tmp
  for STEP in $STEPS; do
    # A replaced Terraform resource runs its destroy after its successor applied: then the
    # recorded generation is the successor's and there is nothing to undo.
    if [ -n "$GENERATION" ]; then
      current=$(cat "$GENERATIONS/$STEP" 2>/dev/null || true)
      if [ -n "$current" ] && [ "$current" != "$GENERATION" ]; then
        log "superseded by generation $current; nothing to undo"
        continue
      fi
    fi
    log "begin"
    "undo_$STEP"
    rm -f "$GENERATIONS/$STEP"
    log "done"
  done
}

main "$@"
`;
}

/** The three POSIX sh scripts of a host, uploaded to /var/lib/cdktf-ipvs; file name → content. */
export interface HostScripts {
  /** Converges the host to the plan, step by step (`--dry-run` only prints the changes); also run at boot. */
  readonly "apply.sh": string;
  /** Compares the live host with the plan; exits 1 on any difference. */
  readonly "verify.sh": string;
  /** Undoes the steps in destroy order, removing only what cdktf-ipvs owns. */
  readonly "destroy.sh": string;
}

export function renderScripts(plan: HostPlan): HostScripts {
  return { "apply.sh": applyScript(plan), "verify.sh": verifyScript(plan), "destroy.sh": destroyScript(plan) };
}
