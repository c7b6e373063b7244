#!/usr/bin/env bash
# Measures the rendered host scripts at scale on the real kernel (lab guest) and prints the figures:
# first apply, a no-op re-apply, verify, and an apply after one weight changes. First, without a
# guest: the size of the synthesized cdk.tf.json for the seed and for this many services
# (bench/config-size.js; fails when over its target).
#
#   bash bench/apply-at-scale.sh [SERVICES=1000] [REAL_SERVERS_PER_SERVICE=4] [--baseline]
#
# --baseline also times the naive way for comparison: one ipvsadm / iptables call per rule.
# Timings are taken inside the guest (qemu TCG, so emulated: compare ratios, not absolutes).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=${1:-1000}
PER=${2:-4}
BASELINE=0
for a in "$@"; do [ "$a" = --baseline ] && BASELINE=1; done
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

npm run --silent build
node bench/config-size.js "$SERVICES" "$PER"
echo
spec 1 >"$WORK/v1.json"
spec 5 >"$WORK/v2.json"
node bin/cdktf-ipvs.js render --spec "$WORK/v1.json" --out "$WORK/v1" >/dev/null
node bin/cdktf-ipvs.js render --spec "$WORK/v2.json" --out "$WORK/v2" >/dev/null

lab/build-image.sh >/dev/null
lab/boot.sh "$GUEST" >/dev/null
ssh_g() { lab/ssh.sh "$GUEST" "$@"; }
ssh_g 'cat >/root/v1.sh' <"$WORK/v1/bench/apply.sh"
ssh_g 'cat >/root/v2.sh' <"$WORK/v2/bench/apply.sh"
ssh_g 'cat >/root/verify.sh' <"$WORK/v1/bench/verify.sh"

# ms NAME CMD: runs CMD in the guest, prints "NAME<TAB>milliseconds"
ms() {
  ssh_g "s=\$(date +%s%N); $2 >/tmp/bench.out 2>&1 || { cat /tmp/bench.out; exit 1; }; e=\$(date +%s%N); printf '%s\t%s\n' '$1' \$(( (e - s) / 1000000 ))"
}

rules=$((SERVICES * (PER + 1)))
echo "cdktf-ipvs apply at scale: $SERVICES services x $PER real servers ($rules IPVS rules), $SERVICES DNAT aliases"
echo "guest: $(ssh_g 'uname -r; nproc' | tr '\n' ' ')(qemu TCG)"
{
  ms "first apply (empty host)" "sh /root/v1.sh"
  ms "re-apply, nothing changed" "sh /root/v1.sh"
  ms "verify.sh" "sh /root/verify.sh"
  ms "apply after one weight changed" "sh /root/v2.sh"
} | tee "$WORK/results.tsv"
changes=$(ssh_g "ipvsadm -Sn | grep -c -- '-r 172.16.1.8:1001 -m -w 5'")
echo "weights changed on the host: $changes (want 1)"

if [ "$BASELINE" = 1 ]; then
  ssh_g 'ipvsadm -C; iptables -t nat -F CDKTF-IPVS-PRE'
  ssh_g "cat >/root/naive.sh" <<NAIVE
set -e
i=0
while [ \$i -lt $SERVICES ]; do
  ipvsadm -A -t 172.16.1.8:\$((10000 + i)) -s rr
  r=0; while [ \$r -lt $PER ]; do ipvsadm -a -t 172.16.1.8:\$((10000 + i)) -r 172.16.1.8:\$((1001 + r)) -m; r=\$((r + 1)); done
  iptables -w -t nat -A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport \$((30000 + i)) -j DNAT --to-destination 172.16.1.8:\$((10000 + i))
  i=\$((i + 1))
done
NAIVE
  ms "baseline: one ipvsadm/iptables call per rule" "sh /root/naive.sh"
fi
