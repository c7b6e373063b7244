#!/bin/sh
# Guest-side test topology for the cdktf-ipvs lab (runs at every boot via lab-topology.service).
#
#   root namespace (the load balancer)          netns "client"
#   veth-lb 172.16.1.8/24, fd00:16::8/64  <-->  veth-cl 172.16.1.2/24, fd00:16::2/64
#
# It creates NO IPVS services and NO iptables rules: the tests do that.
set -eu
IP=/sbin/ip

# Idempotent: start from scratch if re-run.
$IP netns del client 2>/dev/null || true
$IP link del veth-lb 2>/dev/null || true

$IP netns add client
$IP link add veth-lb type veth peer name veth-cl
$IP link set veth-cl netns client

$IP addr add 172.16.1.8/24 dev veth-lb
$IP -6 addr add fd00:16::8/64 dev veth-lb nodad
$IP link set veth-lb up

$IP -n client link set lo up
$IP -n client addr add 172.16.1.2/24 dev veth-cl
$IP -n client -6 addr add fd00:16::2/64 dev veth-cl nodad
$IP -n client link set veth-cl up
# The LB is on-link; default routes make any other service address reachable too.
$IP -n client route add default via 172.16.1.8
$IP -n client -6 route add default via fd00:16::8

mkdir -p /run/lab
touch /run/lab/topology.done
echo "lab-topology: veth-lb <-> client/veth-cl up"
