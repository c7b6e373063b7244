#!/bin/bash
# `npm run lab`: an interactive IPVS lab for a person.
# Installs the host tools if missing, builds the guest image if needed (cached), boots guest "dev",
# prints how to get in, and stays in the foreground: Ctrl-C (or lab/stop.sh dev) stops it cleanly.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=${LAB_NAME:-dev}

stopping=0
on_signal() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo
  # stop.sh is harmless when nothing runs (e.g. Ctrl-C during the build)
  "$HERE/stop.sh" "$NAME"
  exit 0
}
trap on_signal INT TERM HUP

"$HERE/install-deps.sh"
"$HERE/build-image.sh"
"$HERE/boot.sh" "$NAME"

cat <<MSG

The lab guest '$NAME' is up: Debian 12, kernel $(cat "$HERE/../.lab/image/kernel-version" 2>/dev/null || echo '?'), with IPVS.
  Log in:      lab/ssh.sh $NAME
  Run:         lab/ssh.sh $NAME ipvsadm -Ln
  Topology:    LB 172.16.1.8 / fd00:16::8 on veth-lb; client 172.16.1.2 / fd00:16::2 in netns 'client'
               backends answer "port-1001"/"port-1002" on TCP+UDP 1001/1002 (IPv4 and IPv6)
               e.g. lab/ssh.sh $NAME 'ip netns exec client socat - TCP4:172.16.1.8:1001'
  Console log: .lab/run/$NAME/console.log
  Stop:        Ctrl-C here, or lab/stop.sh $NAME from another terminal

MSG


PIDF="$HERE/../.lab/run/$NAME/qemu.pid"
while [ -s "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; do
  sleep 2 &
  wait $! || true
done
echo "lab: guest '$NAME' has stopped."
