#!/bin/bash
# Runs inside the lab guest (bench/apply-at-scale.sh uploads and calls it), as root, once per
# userland. Times the rendered host scripts in /root/v1 (the spec) and /root/v2 (one weight
# changed) against the bare kernel work of the same state, and prints one line per figure:
#   USERLAND TAB NAME TAB MILLISECONDS
#
#   bash guest-userland.sh dash|busybox SERVICES REAL_SERVERS_PER_SERVICE main|baseline
#
# main: the scripts and the bare reads and batches; baseline: one ipvsadm / iptables call per rule
# (minutes; apply-at-scale.sh runs it after every userland's main figures).
# dash: /bin/sh (dash on Debian) with the Debian tools (GNU awk is not installed in the lab
# image: Debian's awk is mawk). busybox: /root/busybox's applets linked into /usr/local/bin, which
# comes first in the PATH the scripts set, and the scripts run by busybox sh; removed again at the
# end. The harness itself uses bash and absolute paths, so it measures the same way under both.
set -euo pipefail
USERLAND=$1 SERVICES=$2 PER=$3 MODE=$4
# Every tool the scripts call that busybox has (not modprobe, sysctl, ip: those stay the host's).
APPLETS="sh awk sed grep egrep fgrep sort cut tr wc head tail cat cmp mktemp date cp mv rm rmdir mkdir chmod find sleep id dirname basename uniq tee sha256sum readlink uname xargs ln touch stat printf expr tac"
CHAIN=CDKTF-IPVS-PRE

unlink_applets() {
  for a in $APPLETS; do
    if [ -L "/usr/local/bin/$a" ]; then /bin/rm -f "/usr/local/bin/$a"; fi
  done
}
trap unlink_applets EXIT

unlink_applets
if [ "$USERLAND" = busybox ]; then
  /bin/cp /root/busybox /usr/local/bin/busybox
  /bin/chmod 755 /usr/local/bin/busybox
  for a in $APPLETS; do /bin/ln -sf busybox "/usr/local/bin/$a"; done
  SH=/usr/local/bin/sh
else
  SH=/bin/sh
fi
hash -r
# What the scripts will run, with the PATH they set.
# shellcheck disable=SC2016 # expanded by that shell
resolved=$("$SH" -c 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; for c in sh awk sed sort grep; do printf "%s=%s " "$c" "$(/bin/readlink -f "$(command -v "$c")")"; done')
printf '%s\tinfo\tshell %s (%s); %s\n' "$USERLAND" "$SH" "$(/bin/readlink -f "$SH")" "$resolved"

# t NAME COMMAND...: runs COMMAND (which must succeed), prints its wall time.
t() {
  local name=$1 s e
  shift
  s=$(/bin/date +%s%N)
  if ! "$@" >/tmp/bench.out 2>&1; then
    echo "bench: '$name' failed ($*):" >&2
    /usr/bin/tail -n 20 /tmp/bench.out >&2
    exit 1
  fi
  e=$(/bin/date +%s%N)
  printf '%s\t%s\t%s\n' "$USERLAND" "$name" $(((e - s) / 1000000))
}

# ipvs_lines: how many IPVS rules (services + real servers) are live.
ipvs_lines() { /usr/sbin/ipvsadm -Sn | /usr/bin/grep -c '^-[Aa] ' || true; }
chain_rules() { /usr/sbin/iptables -w -t nat -S "$CHAIN" 2>/dev/null | /usr/bin/grep -c '^-A ' || true; }
want=$((SERVICES * (PER + 1)))

if [ "$MODE" = baseline ]; then
  /usr/sbin/ipvsadm -C
  cat >/root/naive.sh <<NAIVE
set -e
iptables -w -t nat -N $CHAIN
i=0
while [ \$i -lt $SERVICES ]; do
  ipvsadm -A -t 172.16.1.8:\$((10000 + i)) -s rr
  r=0; while [ \$r -lt $PER ]; do ipvsadm -a -t 172.16.1.8:\$((10000 + i)) -r 172.16.1.8:\$((1001 + r)) -m -w 1; r=\$((r + 1)); done
  iptables -w -t nat -A $CHAIN -d 172.16.1.8/32 -p tcp -m tcp --dport \$((30000 + i)) -j DNAT --to-destination 172.16.1.8:\$((10000 + i))
  i=\$((i + 1))
done
NAIVE
  t "per-rule baseline (one ipvsadm/iptables call per rule)" "$SH" /root/naive.sh
  if ! { [ "$(ipvs_lines)" = "$want" ] && [ "$(chain_rules)" = "$SERVICES" ]; }; then echo "bench: the baseline did not load the state" >&2; exit 1; fi
  /usr/sbin/ipvsadm -C
  /usr/sbin/iptables -w -t nat -F "$CHAIN"
  /usr/sbin/iptables -w -t nat -X "$CHAIN"
  exit 0
fi

# A clean host: nothing of ours left from an earlier run.
if [ -d /var/lib/cdktf-ipvs ]; then /bin/sh /root/v1/destroy.sh >/dev/null 2>&1 || true; fi
[ "$(ipvs_lines)" = 0 ] || { echo "bench: IPVS table not empty before the run" >&2; exit 1; }

t "first apply" "$SH" /root/v1/apply.sh
[ "$(ipvs_lines)" = "$want" ] || { echo "bench: first apply left $(ipvs_lines) IPVS rules, want $want" >&2; exit 1; }
[ "$(chain_rules)" = "$SERVICES" ] || { echo "bench: first apply left $(chain_rules) alias rules, want $SERVICES" >&2; exit 1; }
t "no-op apply" "$SH" /root/v1/apply.sh
/usr/bin/grep -q 'IPVS services unchanged' /tmp/bench.out || { echo "bench: the no-op apply changed IPVS" >&2; /usr/bin/tail -n 20 /tmp/bench.out >&2; exit 1; }
t "verify" "$SH" /root/v1/verify.sh
t "one weight changed" "$SH" /root/v2/apply.sh
changed=$(/usr/sbin/ipvsadm -Sn | /usr/bin/grep -c -- '-r 172.16.1.8:1001 -m -w 5' || true)
[ "$changed" = 1 ] || { echo "bench: $changed weights changed on the host, want 1" >&2; exit 1; }
/usr/bin/grep -q 'applied 1 IPVS change' /tmp/bench.out || { echo "bench: the change was not one ipvsadm line" >&2; /usr/bin/tail -n 20 /tmp/bench.out >&2; exit 1; }

# The final state as the kernel has it, for the bare batches below.
/usr/sbin/ipvsadm -Sn >/root/state.ipvs
/usr/sbin/iptables-save -t nat >/root/state.nat
# -D lines for every service (its real servers go with it).
/usr/bin/awk '$1 == "-A" { print "-D", $2, $3 }' /root/state.ipvs >/root/delete.ipvs
# Every real server to weight 0 (what a drain does first).
/usr/bin/awk '$1 == "-a" { $1 = "-e"; for (i = 2; i < NF; i++) if ($i == "-w") $(i + 1) = 0; print }' /root/state.ipvs >/root/drain.ipvs
# The nat table without our chain and jumps.
/usr/bin/grep -v -- "$CHAIN" /root/state.nat >/root/clean.nat

t "read the tables once" /bin/sh -c '/usr/sbin/ipvsadm -Sn >/dev/null && /usr/sbin/ipvsadm -Ln --thresholds >/dev/null && /usr/sbin/iptables-save >/dev/null'
t "destroy" "$SH" /root/v2/destroy.sh
if ! { [ "$(ipvs_lines)" = 0 ] && [ "$(chain_rules)" = 0 ]; }; then echo "bench: destroy left rules behind" >&2; exit 1; fi

t "bare batch (ipvsadm -R + iptables-restore)" /bin/sh -c '/usr/sbin/ipvsadm -R </root/state.ipvs && /usr/sbin/iptables-restore -w </root/state.nat'
if ! { [ "$(ipvs_lines)" = "$want" ] && [ "$(chain_rules)" = "$SERVICES" ]; }; then echo "bench: the bare batch did not load the state" >&2; exit 1; fi
# A graceful delete done bare: every real server to weight 0, one poll of the connections, then the
# -D batch: the least a destroy that drains (drainTimeoutSeconds > 0, the default) can do.
t "bare drain and delete (weight-0 batch, ipvsadm -Ln, -D batch, iptables-restore)" /bin/sh -c '/usr/sbin/ipvsadm -R </root/drain.ipvs && /usr/sbin/ipvsadm -Ln >/dev/null && /usr/sbin/ipvsadm -R </root/delete.ipvs && /usr/sbin/iptables-restore -w </root/clean.nat'
if ! { [ "$(ipvs_lines)" = 0 ] && [ "$(chain_rules)" = 0 ]; }; then echo "bench: the bare drain and delete left rules behind" >&2; exit 1; fi
# A second sample of the bare batch (the table keeps the faster), then the bare delete batch.
t "bare batch (ipvsadm -R + iptables-restore)" /bin/sh -c '/usr/sbin/ipvsadm -R </root/state.ipvs && /usr/sbin/iptables-restore -w </root/state.nat'
if ! { [ "$(ipvs_lines)" = "$want" ] && [ "$(chain_rules)" = "$SERVICES" ]; }; then echo "bench: the bare batch did not load the state" >&2; exit 1; fi
t "bare delete batch (ipvsadm -R of -D + iptables-restore)" /bin/sh -c '/usr/sbin/ipvsadm -R </root/delete.ipvs && /usr/sbin/iptables-restore -w </root/clean.nat'
if ! { [ "$(ipvs_lines)" = 0 ] && [ "$(chain_rules)" = 0 ]; }; then echo "bench: the bare delete batch left rules behind" >&2; exit 1; fi

