#!/bin/sh
# Backends on the LB (real servers of the seed scenario): each answers with its port.
#   TCP  (IPv4 and IPv6) on 1001 and 1002: sends "port-100x\n" and closes.
#   UDP  (IPv4 and IPv6) on 1001 and 1002: answers every datagram with "port-100x\n".
# Runs in the foreground under lab-backends.service (systemd kills the whole group on stop).
set -eu
# -t5: a client that sends nothing half-closes at once; socat then gives the echo at most -t
# seconds (default 0.5) before it ends the connection, which a loaded 1-vCPU guest can exceed
# (the client gets no answer). The echo ends the connection as soon as it has answered.
for p in 1001 1002; do
  socat -t5 TCP4-LISTEN:$p,fork,reuseaddr SYSTEM:"echo port-$p" &
  socat -t5 TCP6-LISTEN:$p,fork,reuseaddr,ipv6only=1 SYSTEM:"echo port-$p" &
  socat UDP4-RECVFROM:$p,fork,reuseaddr SYSTEM:"echo port-$p" &
  socat UDP6-RECVFROM:$p,fork,reuseaddr,ipv6only=1 SYSTEM:"echo port-$p" &
done
mkdir -p /run/lab
touch /run/lab/backends.started
wait
