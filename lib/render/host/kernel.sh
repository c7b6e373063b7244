#!/bin/sh
# shellcheck shell=sh
# kernel.sh: what the running kernel decides. With net.ipv4.vs.conntrack=1 (the aliases need it):
# net.ipv4.vs.conn_reuse_mode by kernel version, the preflight that the kernel has the conntrack
# sysctl at all, and verify's warning when the conntrack table is nearly full. Functions only; the
# prelude defines log, die, desired_sysctls, STEP, DRY_RUN, PROC_SYS and SYS_MODULE.

# kernel_facts: reads, once a run, the desired sysctls and the kernel release into shell variables,
# so the lookups below start no process (each process costs tens of ms on a slow host). Called by
# the functions the run calls directly; in a subshell it reads them there.
kernel_facts() {
  [ "${KN_FACTS:-0}" = 0 ] || return 0
  KN_SYSCTLS=$(desired_sysctls)
  KN_RELEASE=$(uname -r 2>/dev/null || true)
  KN_FACTS=1
}

# desired_sysctl_value KEY: the value the desired state gives KEY (its first word; the last line
# for KEY wins), or nothing.
desired_sysctl_value() {
  kernel_facts
  kn_found=""
  while read -r kn_key kn_value kn_rest; do
    if [ "$kn_key" = "$1" ]; then kn_found=$kn_value; fi
  done <<KN_EOF
$KN_SYSCTLS
KN_EOF
  if [ -n "$kn_found" ]; then printf '%s\n' "$kn_found"; fi
}

# conn_reuse_mode_for_kernel RELEASE: "VALUE REASON" for net.ipv4.vs.conn_reuse_mode on a kernel
# whose `uname -r` is RELEASE, while conntrack=1: VALUE 0 (set it to 0) or - (leave it alone).
# kube-proxy's rule (pkg/proxy/ipvs): on kernels from 4.1 up to, not including, 5.9, conntrack=1
# with conn_reuse_mode=1 drops the first SYN of a reused source port and the client waits for its
# retransmission, about a second (kubernetes#70747), so it sets 0; from 5.9 on the kernel has the
# fix and kube-proxy leaves it alone (kubernetes#93297). Below 4.1 (kube-proxy's minimum for the
# knob) it is left alone too. RHEL/CentOS 7 kernels (3.10.0-*.el7) carry backports, but which
# build has which IPVS code cannot be told from the version: such hosts declare
# net.ipv4.vs.conn_reuse_mode in their sysctls, which always decide. A release that does not start
# with MAJOR.MINOR is left alone. Pure: reads only $1.
conn_reuse_mode_for_kernel() {
  kn_major=${1%%.*}
  kn_rest=${1#*.}
  kn_minor=${kn_rest%%[!0-9]*}
  case $1 in
    [0-9]*.[0-9]*) : ;;
    *) kn_major="" ;;
  esac
  case $kn_major in
    "" | *[!0-9]*) kn_major="" ;;
  esac
  # Absurdly long numbers are no kernel version (and would overflow shell arithmetic).
  if [ -z "$kn_major" ] || [ -z "$kn_minor" ] || [ "${#kn_major}" -gt 4 ] || [ "${#kn_minor}" -gt 4 ]; then
    echo "- the release does not start with MAJOR.MINOR, so the kernel version is unknown; left alone"
    return 0
  fi
  # Without leading zeros: shell arithmetic reads 08 as a bad octal number.
  kn_major=${kn_major#"${kn_major%%[!0]*}"}
  kn_minor=${kn_minor#"${kn_minor%%[!0]*}"}
  kn_version=$((${kn_major:-0} * 1000 + ${kn_minor:-0}))
  if [ "$kn_version" -lt 4001 ]; then
    echo "- kernel older than 4.1, kube-proxy's minimum for conn_reuse_mode; left alone as kube-proxy does (RHEL/CentOS 7 carry backports: declare net.ipv4.vs.conn_reuse_mode in the host's sysctls to set it)"
  elif [ "$kn_version" -lt 5009 ]; then
    echo "0 kernels from 4.1 up to 5.9 with conntrack=1 and conn_reuse_mode=1 drop the first SYN of a reused source port, a 1 s stall (kubernetes#70747); set to 0 as kube-proxy does"
  else
    echo "- fixed from 5.9 on (kubernetes#93297); left alone as kube-proxy does"
  fi
}

# conn_reuse_mode_decision: "VALUE REASON" for this host (see conn_reuse_mode_for_kernel); a
# kernel whose loaded ip_vs lacks the sysctl has nothing to set.
conn_reuse_mode_decision() {
  kernel_facts
  if [ "$(desired_sysctl_value net.ipv4.vs.conntrack)" != 1 ]; then
    echo "- net.ipv4.vs.conntrack is not set to 1 here; left alone"
  elif [ -n "$(desired_sysctl_value net.ipv4.vs.conn_reuse_mode)" ]; then
    echo "- declared in the host's sysctls, which decide"
  else
    kn_decision=$(conn_reuse_mode_for_kernel "$KN_RELEASE")
    if [ "${kn_decision%% *}" = 0 ] && [ -d "$SYS_MODULE/ip_vs" ] && [ ! -e "$PROC_SYS/net/ipv4/vs/conn_reuse_mode" ]; then
      echo "- this kernel has no net.ipv4.vs.conn_reuse_mode; nothing to set"
    else
      printf '%s\n' "$kn_decision"
    fi
  fi
}

# host_sysctls: the sysctls to set on this host, "KEY VALUE" a line: the desired ones, and
# conn_reuse_mode 0 when the running kernel needs it.
host_sysctls() {
  kernel_facts
  desired_sysctls
  kn_decision=$(conn_reuse_mode_decision)
  if [ "${kn_decision%% *}" = 0 ]; then echo "net.ipv4.vs.conn_reuse_mode 0"; fi
}

# log_conn_reuse_mode: the decision, once per run (before the sysctls step of a real run), when
# the host wants conntrack=1 (without it there is nothing to decide).
log_conn_reuse_mode() {
  [ "${CONN_REUSE_LOGGED:-0}" = 0 ] || return 0
  CONN_REUSE_LOGGED=1
  kernel_facts
  [ "$(desired_sysctl_value net.ipv4.vs.conntrack)" = 1 ] || return 0
  kn_decision=$(conn_reuse_mode_decision)
  case $kn_decision in
    "0 "*) log "kernel $KN_RELEASE: net.ipv4.vs.conn_reuse_mode set to 0 (${kn_decision#0 })" ;;
    *) log "kernel $KN_RELEASE: net.ipv4.vs.conn_reuse_mode left alone (${kn_decision#- })" ;;
  esac
}

# preflight_before_step: in apply's preflight (STEP=preflight, before anything is written) and
# before each step of apply and of the preview (STEP names it). Once ip_vs is loaded (already
# before the run, or by the modules step), a host that wants conntrack=1 must have the sysctl: a
# kernel built without CONFIG_IP_VS_NFCT has IPVS but not net.ipv4.vs.conntrack, and nothing can
# give it one. So the run stops before the sysctls, ipvs and aliases steps change anything (with
# ip_vs loaded before the run: before any change at all). Checked once per run; a preview without
# ip_vs loaded cannot know yet and says nothing.
preflight_before_step() {
  kernel_facts
  if [ "$STEP" = sysctls ] && [ "$DRY_RUN" = 0 ]; then log_conn_reuse_mode; fi
  [ "${KERNEL_PREFLIGHT_DONE:-0}" = 0 ] || return 0
  if [ "$(desired_sysctl_value net.ipv4.vs.conntrack)" != 1 ]; then
    KERNEL_PREFLIGHT_DONE=1
    return 0
  fi
  [ -d "$SYS_MODULE/ip_vs" ] || return 0
  KERNEL_PREFLIGHT_DONE=1
  [ ! -e "$PROC_SYS/net/ipv4/vs/conntrack" ] || return 0
  if [ "$REQUIRES_CONNTRACK" = 1 ]; then
    kn_why="this host's aliases need it (without it IPVS drops their conntrack entries and replies leave from the service port)"
    kn_fix="use a kernel built with CONFIG_IP_VS_NFCT=y (e.g. Debian's or Ubuntu's stock kernels), or remove the aliases from this host"
  else
    kn_why="this host asks for net.ipv4.vs.conntrack=1 (conntrack: true or its sysctls)"
    kn_fix="use a kernel built with CONFIG_IP_VS_NFCT=y, or drop conntrack: true and the sysctls entry"
  fi
  if [ "$STEP" = preflight ]; then kn_where="before any change"; else kn_where="before the $STEP step; nothing in sysctls, IPVS or iptables was changed"; fi
  die "net.ipv4.vs.conntrack does not exist although ip_vs is loaded ($PROC_SYS/net/ipv4/vs/conntrack is missing): kernel $(uname -r 2>/dev/null || true) was built without CONFIG_IP_VS_NFCT (see grep IP_VS_NFCT /boot/config-\$(uname -r)), so IPVS cannot keep conntrack entries; $kn_why. Stopped $kn_where. Fix: $kn_fix."
}

# conntrack_table_check: at the end of verify. With conntrack=1 every IPVS connection holds a
# conntrack entry; a full table drops new connections. Warns (never a difference, never the exit
# code) when the table is more than 80% full.
conntrack_table_check() {
  [ -d "$SYS_MODULE/nf_conntrack" ] || return 0
  kn_count=$(cat "$PROC_SYS/net/netfilter/nf_conntrack_count" 2>/dev/null || true)
  kn_max=$(cat "$PROC_SYS/net/netfilter/nf_conntrack_max" 2>/dev/null || true)
  case $kn_count in "" | *[!0-9]*) return 0 ;; esac
  case $kn_max in "" | *[!0-9]*) return 0 ;; esac
  [ "${#kn_count}" -le 12 ] && [ "${#kn_max}" -le 12 ] && [ "$kn_max" -gt 0 ] || return 0
  if [ $((kn_count * 100)) -gt $((kn_max * 80)) ]; then
    log "WARNING: conntrack table $((kn_count * 100 / kn_max))% full ($kn_count/$kn_max): with net.ipv4.vs.conntrack=1 every IPVS connection takes an entry and a full table drops new connections; raise net.netfilter.nf_conntrack_max in the host's sysctls (conntrackMaxFor() in cdktf-ipvs sizes it)"
  fi
  return 0
}
