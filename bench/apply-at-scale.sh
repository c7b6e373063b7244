#!/usr/bin/env bash
# Measures the rendered host scripts at scale on the real kernel (lab guest) and prints the figures
# as one markdown table (BENCHMARKS.md). First, without a guest: the size of the synthesized
# cdk.tf.json for the seed and for this many services (bench/config-size.js; fails when over its
# target), the constructs' declare+synth time at 250-2000 services (bench/synth-at-scale.js) and a
# 50-host fleet's synth and terraform plan (bench/fleet.js). Then one guest boot measures two userlands, each in turn (bench/guest-userland.sh):
#   dash     the host's /bin/sh (dash on Debian) and Debian's tools (mawk, GNU sed/grep/sort)
#   busybox  busybox sh, and busybox's awk, sed, grep, sort, ... first in PATH (Debian's busybox
#            package, fetched with apt-get download and copied into the guest)
# For each: the time to read the tables once (ipvsadm -Sn, ipvsadm -Ln --thresholds,
# iptables-save), the bare batch of the final state (one ipvsadm -R, one iptables-restore) and the
# bare delete batch, then first apply, no-op apply, verify, an apply after one weight changed and
# destroy, each with its ratio to the read or the batch.
#
#   bash bench/apply-at-scale.sh [SERVICES=1000] [REAL_SERVERS_PER_SERVICE=4] [--baseline] [--only dash|busybox]
#
# --baseline also times the naive way for comparison: one ipvsadm / iptables call per rule (about
# 5 minutes per userland at 1000 services). Timings are taken inside the guest (qemu TCG, so
# emulated: compare ratios within one run, not absolutes).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=1000
PER=4
BASELINE=0
USERLANDS="dash busybox"
n=0
while [ $# -gt 0 ]; do
  case $1 in
    --baseline) BASELINE=1 ;;
    --only) USERLANDS=$2; shift ;;
    *) n=$((n + 1)); if [ $n = 1 ]; then SERVICES=$1; else PER=$1; fi ;;
  esac
  shift
done
GUEST=bench
WORK=$(mktemp -d)
trap 'lab/stop.sh "$GUEST" --kill >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

spec() { # $1 = weight of the first real server of the first service
  # shellcheck disable=SC2016 # the JavaScript is single-quoted on purpose
  node -e '
    const [n, per, w] = process.argv.slice(1).map(Number);
    const services = [];
    for (let i = 0; i < n; i++) {
      const realServers = [];
      for (let r = 0; r < per; r++) realServers.push({ address: "172.16.1.8", port: 1001 + r, forwarding: "masquerade", weight: i === 0 && r === 0 ? w : 1 });
      services.push({ name: `svc${i}`, protocol: "tcp", address: "172.16.1.8", port: 10000 + i, scheduler: "rr", realServers, aliases: [{ port: 30000 + i, method: "dnat" }] });
    }
    console.log(JSON.stringify({ hosts: [{ name: "bench", virtualServices: services }] }));
  ' "$SERVICES" "$PER" "$1"
}

# Debian's busybox (the same release as the guest), cached in .lab/bench.
busybox_binary() {
  local cache=.lab/bench
  if [ ! -x "$cache/busybox" ]; then
    mkdir -p "$cache/deb"
    (cd "$cache/deb" && apt-get download busybox >/dev/null 2>&1) || { echo "bench: apt-get download busybox failed" >&2; exit 1; }
    dpkg-deb -x "$cache"/deb/busybox_*.deb "$cache/deb/x"
    cp "$cache/deb/x/bin/busybox" "$cache/busybox"
    rm -rf "$cache/deb"
  fi
  echo "$cache/busybox"
}

npm run --silent build
# Over its target, config-size fails the run, but only after the guest figures are printed.
SIZE_STATUS=0
node bench/config-size.js "$SERVICES" "$PER" || SIZE_STATUS=$?
echo
# Guest-free figures of the same run: the constructs at 250/500/1000/2000 services, and a
# 50-host fleet's synth and terraform plan.
node bench/synth-at-scale.js
echo
node bench/fleet.js
echo
spec 1 >"$WORK/v1.json"
spec 5 >"$WORK/v2.json"
node bin/cdktf-ipvs.js render --spec "$WORK/v1.json" --out "$WORK/v1" >/dev/null
node bin/cdktf-ipvs.js render --spec "$WORK/v2.json" --out "$WORK/v2" >/dev/null
case " $USERLANDS " in *" busybox "*) BUSYBOX=$(busybox_binary) ;; *) BUSYBOX="" ;; esac

lab/build-image.sh >/dev/null
lab/boot.sh "$GUEST" >/dev/null
ssh_g() { lab/ssh.sh "$GUEST" "$@"; }
for v in v1 v2; do
  for s in apply verify destroy; do ssh_g "mkdir -p /root/$v && cat >/root/$v/$s.sh" <"$WORK/$v/bench/$s.sh"; done
done
ssh_g 'cat >/root/guest-userland.sh' <bench/guest-userland.sh
[ -z "$BUSYBOX" ] || ssh_g 'cat >/root/busybox' <"$BUSYBOX"
# Warm-up, untimed: load the kernel modules once, so no userland's first apply pays for it.
ssh_g 'sh /root/v1/apply.sh modules >/dev/null && sh /root/v1/destroy.sh >/dev/null && iptables-save -t nat >/dev/null'

rules=$((SERVICES * (PER + 1)))
# shellcheck disable=SC2016 # expanded in the guest
guest_info=$(ssh_g 'printf "%s, %s vCPU" "$(uname -r)" "$(nproc)"')
echo "cdktf-ipvs host scripts at scale: $SERVICES services x $PER real servers ($rules IPVS rules) + $SERVICES DNAT aliases"
echo "guest: Debian 12, kernel $guest_info, qemu TCG; host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); $(date -u +%Y-%m-%d)"
: >"$WORK/results.tsv"
for u in $USERLANDS; do
  echo "measuring $u ..." >&2
  ssh_g "bash /root/guest-userland.sh $u $SERVICES $PER main" | tee -a "$WORK/results.tsv" >&2
done
if [ "$BASELINE" = 1 ]; then
  for u in $USERLANDS; do
    echo "measuring the per-rule baseline with $u ..." >&2
    ssh_g "bash /root/guest-userland.sh $u $SERVICES $PER baseline" | tee -a "$WORK/results.tsv" >&2
  done
fi
echo
# shellcheck disable=SC2086 # the userland list, one argument each
node bench/table.js "$WORK/results.tsv" $USERLANDS
exit "$SIZE_STATUS"
