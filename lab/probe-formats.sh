#!/bin/bash
# Prints the exact ipvsadm / iptables / sysctl formats of the lab guest (kernel 6.1, Debian 12).
# Run on a FRESH guest (it loads ip_vs and changes rules):  lab/ssh.sh NAME bash -s < lab/probe-formats.sh
# The output is what lab/FINDINGS.md records.
set -u
run() { echo "\$ $*"; "$@" 2>&1; echo "[exit $?]"; }
sh_run() { echo "\$ $1"; bash -c "$1" 2>&1; echo "[exit $?]"; }

echo "### versions"
run uname -r
run ipvsadm --version
run iptables --version

echo; echo "### before ip_vs is loaded"
modprobe -r ip_vs_mh ip_vs_sh ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_rr ip_vs 2>/dev/null
sh_run 'lsmod | grep -c "^ip_vs" || true'
run sysctl -n net.ipv4.vs.conntrack
sh_run 'ls /proc/sys/net/ipv4/vs 2>&1 | head -3'
run modprobe ip_vs
run sysctl -n net.ipv4.vs.conntrack
sh_run 'sysctl -a 2>/dev/null | grep "^net.ipv4.vs\."'

echo; echo "### building the table"
run ipvsadm -A -t 172.16.1.8:1000 -s rr
run ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m
run ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1002 -m -w 3 -x 100 -y 10
run ipvsadm -A -u 172.16.1.8:53 -s wrr -p 300 -M 255.255.255.0
run ipvsadm -a -u 172.16.1.8:53 -r 10.9.9.9:53 -g
run ipvsadm -A --sctp-service 172.16.1.8:2000 -s sh -b sh-fallback,sh-port
run ipvsadm -a --sctp-service 172.16.1.8:2000 -r 10.9.9.10:2000 -i
run ipvsadm -A -f 7 -s mh -b mh-port
run ipvsadm -A -t [fd00:16::8]:1000 -s lc -p 60
run ipvsadm -a -t [fd00:16::8]:1000 -r [fd00:16::8]:1001 -m -w 0
run ipvsadm -A -t 172.16.1.8:3000 -s wlc -p
run ipvsadm -A -t [fd00:16::8]:3000 -s wlc -p 120 -M 64
run ipvsadm -a -t [fd00:16::8]:3000 -r [fd00:16::8]:1002 -m
echo; echo "### listings"
run ipvsadm -Sn
run ipvsadm -S
run ipvsadm -Ln
run ipvsadm -L -n -t 172.16.1.8:1000
run ipvsadm -Ln --stats
run ipvsadm -Ln --rate
run ipvsadm -Ln --timeout
run ipvsadm -Ln --exact
echo; echo "### edits of existing entries"
run ipvsadm -E -t 172.16.1.8:1000 -s wrr
run ipvsadm -e -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m -w 5
run ipvsadm -e -t 172.16.1.8:1000 -r 172.16.1.8:1009 -m -w 5
run ipvsadm -E -t 172.16.1.8:1999 -s wrr
run ipvsadm -A -t 172.16.1.8:1000 -s rr
run ipvsadm -a -t 172.16.1.8:1000 -r 172.16.1.8:1001 -m
run ipvsadm -d -t 172.16.1.8:1000 -r 172.16.1.8:1009
run ipvsadm -D -t 172.16.1.8:1999
run ipvsadm -Sn -t 172.16.1.8:1000
echo; echo "### restore round trip (ipvsadm -C; ipvsadm -R < saved)"
ipvsadm -Sn > /tmp/ipvs.saved
run ipvsadm -C
sh_run 'ipvsadm -R < /tmp/ipvs.saved'
sh_run 'ipvsadm -Sn | diff /tmp/ipvs.saved - && echo identical'

for v in nft legacy; do
  echo; echo "################ iptables-$v"
  iptables-nft -t nat -F 2>/dev/null; iptables-nft -t nat -X 2>/dev/null
  ip6tables-nft -t nat -F 2>/dev/null; ip6tables-nft -t nat -X 2>/dev/null
  run update-alternatives --set iptables /usr/sbin/iptables-$v
  run update-alternatives --set ip6tables /usr/sbin/ip6tables-$v
  run iptables --version
  run iptables -t nat -N CDKTF-IPVS-PRE
  run iptables -t nat -A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment "cdktf-ipvs app" -j REDIRECT --to-ports 1000
  run iptables -t nat -A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1020 -m comment --comment "cdktf-ipvs app" -j DNAT --to-destination 172.16.1.8:1000
  run iptables -t nat -A PREROUTING -m comment --comment "cdktf-ipvs" -j CDKTF-IPVS-PRE
  run iptables -t nat -A PREROUTING -p tcp --dport 9999 -m comment --comment "foreign rule" -j REDIRECT --to-ports 22
  run iptables -t nat -N OTHER-CHAIN
  run iptables -t nat -A OTHER-CHAIN -p udp --dport 53 -j RETURN
  run iptables -t nat -S CDKTF-IPVS-PRE
  run iptables -t nat -C CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1010 -m comment --comment "cdktf-ipvs app" -j REDIRECT --to-ports 1000
  run iptables -t nat -C CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1011 -m comment --comment "cdktf-ipvs app" -j REDIRECT --to-ports 1000
  run iptables-save -t nat
  echo "--- iptables-restore --noflush with ':CDKTF-IPVS-PRE - [0:0]' and one new rule"
  printf '%s\n' '*nat' ':CDKTF-IPVS-PRE - [0:0]' \
    '-A CDKTF-IPVS-PRE -d 172.16.1.8/32 -p tcp -m tcp --dport 1030 -m comment --comment "cdktf-ipvs app" -j REDIRECT --to-ports 1000' \
    'COMMIT' > /tmp/r4
  sh_run 'iptables-restore --noflush < /tmp/r4'
  run iptables-save -t nat
  echo "--- same file without the chain line (appends)"
  sed '/^:CDKTF/d' /tmp/r4 > /tmp/r4b
  sh_run 'iptables-restore --noflush < /tmp/r4b'
  run iptables -t nat -S CDKTF-IPVS-PRE
  echo "--- iptables-restore --noflush --test"
  sh_run 'iptables-restore --noflush --test < /tmp/r4'

  echo; echo "--- ip6tables-$v"
  run ip6tables -t nat -N CDKTF-IPVS-PRE
  run ip6tables -t nat -A CDKTF-IPVS-PRE -d fd00:16::8/128 -p tcp -m tcp --dport 1010 -m comment --comment "cdktf-ipvs app" -j REDIRECT --to-ports 1000
  run ip6tables -t nat -A CDKTF-IPVS-PRE -d fd00:16::8/128 -p tcp -m tcp --dport 1020 -m comment --comment "cdktf-ipvs app" -j DNAT --to-destination [fd00:16::8]:1000
  run ip6tables -t nat -A PREROUTING -m comment --comment "cdktf-ipvs" -j CDKTF-IPVS-PRE
  run ip6tables -t nat -A PREROUTING -p tcp --dport 9999 -m comment --comment "foreign rule" -j REDIRECT --to-ports 22
  run ip6tables -t nat -S CDKTF-IPVS-PRE
  run ip6tables-save -t nat
  printf '%s\n' '*nat' ':CDKTF-IPVS-PRE - [0:0]' \
    '-A CDKTF-IPVS-PRE -d fd00:16::8/128 -p tcp -m tcp --dport 1030 -m comment --comment "cdktf-ipvs app" -j DNAT --to-destination [fd00:16::8]:1000' \
    'COMMIT' > /tmp/r6
  sh_run 'ip6tables-restore --noflush < /tmp/r6'
  run ip6tables-save -t nat
  # clean up for the next variant
  iptables -t nat -F; iptables -t nat -X; ip6tables -t nat -F; ip6tables -t nat -X
done
update-alternatives --set iptables /usr/sbin/iptables-nft >/dev/null
update-alternatives --set ip6tables /usr/sbin/ip6tables-nft >/dev/null
