#!/bin/sh
# shellcheck shell=sh
# owners.sh: other owners of IPVS on this host, looked for before apply.sh changes anything.
#   kube-proxy in IPVS mode      refused: it deletes every IPVS service it does not own
#   keepalived virtual_server    refused when it is one of our services, or with lvs_flush /
#                                lvs_flush_onstop (a full flush); other services: a note
#   ipvsadm.service and the like refused when enabled or active (it clears the table when it
#                                stops, clears it and loads a saved one when it starts);
#                                installed but disabled: a warning; masked: a note
# It only reads: /proc, /sys, unit and config files, `systemctl is-enabled|is-active`, `ipset
# list -n`, `iptables -S`. A missing tool is said, never fatal.
# Uses from the prelude: log, die, TAB, TMP, UNIT_NAME, desired_ipvs_keys, and the host paths
# ETC_DIR, USR_DIR, LIB_DIR, PROC_DIR, SYS_CLASS_NET, SYS_MODULE, SYSTEMD_DIR (a fake tree in the
# tests; none may contain spaces).

# The systemd unit folders, highest priority first (as systemd reads them; /lib is /usr/lib on
# merged-/usr systems, a folder of its own on older ones).
# owners_note TEXT: something found that is fine, for the apply log. A preview lists changes, so
# it leaves these out (warnings and refusals it shows like the apply).
owners_note() {
  [ "${DRY_RUN:-0}" = 1 ] || log "note: $*"
}

owners_unit_dirs() {
  printf '%s\n' "$ETC_DIR/systemd/system $SYSTEMD_DIR $USR_DIR/local/lib/systemd/system $USR_DIR/lib/systemd/system $LIB_DIR/systemd/system"
}

# check_other_owners: refuses (die) or warns (log) before any change.
check_other_owners() {
  OWNERS_REFUSALS=0
  OWNERS_WHO=""
  OWNERS_UNIT_DIRS=$(owners_unit_dirs)
  : >"$TMP/owners.refused"
  owners_kube_proxy
  owners_keepalived
  owners_ipvsadm_units
  if [ "$OWNERS_REFUSALS" = 1 ]; then
    die "$(cat "$TMP/owners.refused"); nothing was changed"
  elif [ "$OWNERS_REFUSALS" -gt 1 ]; then
    die "$OWNERS_REFUSALS other owners of IPVS on this host would remove or overwrite our services ($OWNERS_WHO); the REFUSED lines above say why and how to fix each; nothing was changed"
  fi
}

# owners_refuse WHO TEXT: one reason to refuse, logged now; check_other_owners stops after all checks.
owners_refuse() {
  OWNERS_REFUSALS=$((OWNERS_REFUSALS + 1))
  OWNERS_WHO="${OWNERS_WHO:+$OWNERS_WHO; }$1"
  printf '%s\n' "$2" >"$TMP/owners.refused"
  log "REFUSED: $2"
}

# owners_glob PATTERN: the existing paths PATTERN matches, one a line (the prelude runs set -f).
owners_glob() {
  case $- in *f*) ow_noglob=1 ;; *) ow_noglob=0 ;; esac
  set +f
  # shellcheck disable=SC2086 # PATTERN is globbed on purpose
  for ow_path in $1; do
    if [ -e "$ow_path" ] || [ -L "$ow_path" ]; then printf '%s\n' "$ow_path"; fi
  done
  if [ "$ow_noglob" = 1 ]; then set -f; fi
}

# owners_pids NAME: pids whose command name (/proc/PID/comm) is NAME, one a line.
owners_pids() {
  case $- in *f*) ow_noglob=1 ;; *) ow_noglob=0 ;; esac
  set +f
  # One grep for all processes; one that ends meanwhile is only a read error.
  ow_found=$(grep -lx -- "$1" "$PROC_DIR"/[0-9]*/comm 2>/dev/null || true)
  if [ "$ow_noglob" = 1 ]; then set -f; fi
  printf '%s\n' "$ow_found" | sed -n 's|/comm$||; s|.*/||p'
}

# owners_cmdline PID: the process's arguments, separated by spaces.
owners_cmdline() { tr '\0' ' ' <"$PROC_DIR/$1/cmdline" 2>/dev/null || true; }

# owners_option_value CMDLINE OPTION: the value of --OPTION=V or --OPTION V (or -O V / -OV when
# OPTION is one letter) in CMDLINE; empty when absent.
owners_option_value() {
  printf '%s\n' "$1" | awk -v opt="$2" '{
    for (i = 1; i <= NF; i++) {
      if (length(opt) == 1) {
        if ($i == "-" opt && i < NF) { print $(i + 1); exit }
        if (substr($i, 1, 2) == "-" opt && length($i) > 2 && substr($i, 2, 1) != "-") { print substr($i, 3); exit }
      } else {
        if ($i == "--" opt && i < NF) { print $(i + 1); exit }
        if (index($i, "--" opt "=") == 1) { print substr($i, length(opt) + 4); exit }
      }
    }
  }'
}

# owners_proc_file PID PATH: PATH as the process sees it (it may run in a container), when readable.
owners_proc_file() {
  case $2 in
    /*) if [ -r "$PROC_DIR/$1/root$2" ]; then printf '%s\n' "$PROC_DIR/$1/root$2"; elif [ -r "$2" ]; then printf '%s\n' "$2"; fi ;;
    *) if [ -r "$PROC_DIR/$1/cwd/$2" ]; then printf '%s\n' "$PROC_DIR/$1/cwd/$2"; fi ;;
  esac
}

# --- kube-proxy -----------------------------------------------------------------------------
# In IPVS mode kube-proxy binds its service addresses to the dummy interface kube-ipvs0 and keeps
# its sets in KUBE-* ipsets; at every sync it deletes each IPVS virtual service of its address
# family that it did not create (outside --ipvs-exclude-cidrs), and `kube-proxy --cleanup`
# flushes the whole table. Its iptables and nftables modes leave IPVS alone.
owners_kube_proxy() {
  ow_signs=""
  if [ -e "$SYS_CLASS_NET/kube-ipvs0" ] || [ -L "$SYS_CLASS_NET/kube-ipvs0" ]; then
    ow_signs="interface kube-ipvs0, to which kube-proxy's IPVS mode binds its service addresses"
  fi
  if [ -d "$SYS_MODULE/ip_set" ]; then
    if command -v ipset >/dev/null 2>&1; then
      ow_sets=$({ ipset list -n 2>/dev/null || true; } | grep '^KUBE-' | head -n 3 | tr '\n' ' ' || true)
      if [ -n "$ow_sets" ]; then ow_signs="${ow_signs:+$ow_signs; }ipsets ${ow_sets% }"; fi
    else
      owners_note "ipset is not installed, so kube-proxy's KUBE-* ipsets were not looked for"
    fi
  fi
  ow_running=""
  for ow_pid in $(owners_pids kube-proxy); do
    ow_cmd=$(owners_cmdline "$ow_pid")
    ow_mode=$(owners_option_value "$ow_cmd" proxy-mode)
    ow_config=$(owners_option_value "$ow_cmd" config)
    if [ -z "$ow_mode" ] && [ -n "$ow_config" ]; then
      ow_file=$(owners_proc_file "$ow_pid" "$ow_config")
      if [ -n "$ow_file" ]; then
        ow_mode=$(sed -n 's/^mode:[[:space:]]*["'\'']\{0,1\}\([A-Za-z]*\).*/\1/p' "$ow_file" | head -n 1)
      fi
    fi
    if [ "$ow_mode" = ipvs ]; then
      ow_signs="${ow_signs:+$ow_signs; }kube-proxy process $ow_pid in mode ipvs"
    else
      ow_running="${ow_running:+$ow_running, }$ow_pid (mode ${ow_mode:-not given on its command line})"
    fi
  done
  if [ -z "$ow_signs" ]; then
    if [ -n "$ow_running" ]; then
      log "WARNING: kube-proxy is running (pid $ow_running) but not in IPVS mode (no kube-ipvs0 interface, no KUBE-* ipsets): it leaves IPVS alone; switched to IPVS mode, or run as 'kube-proxy --cleanup', it would delete our IPVS services"
    fi
    return 0
  fi
  # KUBE-SERVICES exists in every kube-proxy mode: it backs the finding up but is no sign alone.
  # Only looked at when nf_nat is loaded already (listing the nat table could load it).
  if [ -d "$SYS_MODULE/nf_nat" ] && command -v iptables >/dev/null 2>&1 && iptables -w -t nat -S KUBE-SERVICES >/dev/null 2>&1; then
    ow_signs="$ow_signs; nat chain KUBE-SERVICES"
  fi
  if [ -n "$ow_running" ]; then ow_signs="$ow_signs; kube-proxy process $ow_running"; fi
  owners_refuse "kube-proxy in IPVS mode" "kube-proxy runs in IPVS mode on this host. Found: $ow_signs. kube-proxy deletes, at every sync, each IPVS virtual service it did not create, ours included, and 'kube-proxy --cleanup' flushes the whole table. Run the load balancer on a host without kube-proxy in IPVS mode (kube-proxy in iptables or nftables mode leaves IPVS alone; after switching, reboot or delete kube-ipvs0 and the KUBE-* ipsets)"
}

# --- keepalived -----------------------------------------------------------------------------
# owners_keepalived_flat FILE DEPTH: FILE as "FILE<TAB>LINE<TAB>TEXT" lines, each `include GLOB`
# replaced by the files it names (relative to FILE's folder; keepalived's own rule). Notes about
# includes go to $TMP/owners.notes.
owners_keepalived_flat() {
  ow_n=0
  while IFS= read -r ow_line || [ -n "$ow_line" ]; do
    ow_n=$((ow_n + 1))
    ow_text=${ow_line#"${ow_line%%[![:space:]]*}"}
    case $ow_text in
      include[[:space:]]*)
        ow_pat=${ow_text#include}
        ow_pat=${ow_pat%%[#!]*}
        ow_pat=$(printf '%s' "$ow_pat" | tr -d '"' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
        case $ow_pat in /*) ;; *) ow_pat="${1%/*}/$ow_pat" ;; esac
        if [ "$2" -ge 8 ]; then
          echo "keepalived include $ow_pat ($1:$ow_n) is nested more than 8 deep; not followed" >>"$TMP/owners.notes"
          continue
        fi
        owners_glob "$ow_pat" >"$TMP/owners.inc.$2"
        if [ ! -s "$TMP/owners.inc.$2" ]; then
          echo "keepalived include $ow_pat ($1:$ow_n) matches no file" >>"$TMP/owners.notes"
        fi
        while IFS= read -r ow_inc; do
          if [ -f "$ow_inc" ] && [ -r "$ow_inc" ]; then
            (owners_keepalived_flat "$ow_inc" $(($2 + 1)))
          fi
        done <"$TMP/owners.inc.$2"
        ;;
      *) printf '%s\t%s\t%s\n' "$1" "$ow_n" "$ow_line" ;;
    esac
  done <"$1"
}

# Parses flattened keepalived configuration (FILE TAB LINE TAB TEXT) against our service keys
# (first file). Prints, TAB-separated:
#   CONFLICT  WHERE  KEY  WHAT   a keepalived virtual_server (or group entry) that is our service
#   OTHER     WHERE  KEY         a keepalived service that is not ours
#   FLUSH     WHERE  WHEN        lvs_flush (start) / lvs_flush_onstop without VS (stop)
# Blocks are {...}; comments start with # or !; a block's name may end the line before its `{`.
owners_keepalived_parse() {
  awk '
function canon6(a,   k, left, right, nl, nr, L, R, g, n, i, bs, bl, cs, cl, out) {
  a = tolower(a)
  if (a ~ /\./) return a
  k = index(a, "::")
  if (k > 0) { left = substr(a, 1, k - 1); right = substr(a, k + 2) } else { left = a; right = "" }
  nl = (left == "") ? 0 : split(left, L, ":")
  nr = (right == "") ? 0 : split(right, R, ":")
  if (k == 0 && nl != 8) return a
  n = 0
  for (i = 1; i <= nl; i++) g[++n] = L[i]
  if (k > 0) for (i = 1; i <= 8 - nl - nr; i++) g[++n] = "0"
  for (i = 1; i <= nr; i++) g[++n] = R[i]
  if (n != 8) return a
  bs = 0; bl = 0; cl = 0
  for (i = 1; i <= 8; i++) {
    sub(/^0+/, "", g[i]); if (g[i] == "") g[i] = "0"
    if (g[i] == "0") { if (cl == 0) cs = i; cl++; if (cl > bl) { bl = cl; bs = cs } } else cl = 0
  }
  if (bl < 2) bs = 0
  out = ""
  for (i = 1; i <= 8; i++) {
    if (bs > 0 && i == bs) { out = out "::"; i += bl - 1; continue }
    if (out != "" && substr(out, length(out)) != ":") out = out ":"
    out = out g[i]
  }
  return out
}
function flag(p) { p = toupper(p); return p == "UDP" ? "-u" : (p == "SCTP" ? "--sctp-service" : "-t") }
function hostport(a, p) { return (a ~ /:/) ? "[" canon6(a) "]:" p : a ":" p }
# An address entry: ADDR or FIRST-LAST (IPv4, last octet), with PORT; WHAT says where it came from.
function entry(where, f, a, p, what,   dash, base, last, b, k, o, ka, kp, x) {
  dash = index(a, "-")
  if (dash == 0 || a ~ /:/) { emit(where, f " " hostport(a, p), what); return }
  base = substr(a, 1, dash - 1); last = substr(a, dash + 1)
  if (split(base, b, ".") != 4) { emit(where, f " " a ":" p, what); return }
  for (k in ours) {
    split(k, o, " ")
    if (o[1] != f) continue
    ka = o[2]; sub(/:[^:]*$/, "", ka); kp = o[2]; sub(/^.*:/, "", kp)
    if (kp != p "" || split(ka, x, ".") != 4) continue
    if (x[1] == b[1] && x[2] == b[2] && x[3] == b[3] && x[4] + 0 >= b[4] + 0 && x[4] + 0 <= last + 0) emit(where, k, what)
  }
  if (!hit[where]) print "OTHER\t" where "\t" f " " a ":" p
}
function fwmark(where, m, what) {
  if (("-f " m) in ours) emit(where, "-f " m, what)
  else if (("-f " m " -6") in ours) emit(where, "-f " m " -6", what)
  else print "OTHER\t" where "\t-f " m
}
function emit(where, key, what) {
  if (key in ours) { print "CONFLICT\t" where "\t" key "\t" what; hit[where] = 1 }
  else print "OTHER\t" where "\t" key
}
function open_block(hdr, where,   h) {
  depth++
  split(hdr, h, " ")
  kind[depth] = h[1]
  if (h[1] == "virtual_server") {
    nvs++; vs = nvs; vsdepth = depth; vwhere[vs] = where; vhdr[vs] = hdr; vproto[vs] = "TCP"
    if (h[2] == "fwmark") { vkind[vs] = "fwmark"; va[vs] = h[3] }
    else if (h[2] == "group") { vkind[vs] = "group"; va[vs] = h[3] }
    else { vkind[vs] = "addr"; va[vs] = h[2]; vp[vs] = h[3] }
  } else if (h[1] == "virtual_server_group") { grp = h[2]; grpdepth = depth }
}
function close_block() {
  if (depth == vsdepth) { vs = 0; vsdepth = -1 }
  if (depth == grpdepth) { grp = ""; grpdepth = -1 }
  if (depth > 0) depth--
}
function statement(s, where,   a) {
  split(s, a, " ")
  if (vs && depth == vsdepth && a[1] == "protocol") vproto[vs] = a[2]
  if (grp != "" && depth == grpdepth) {
    ng++; gname[ng] = grp; gwhere[ng] = where; gtext[ng] = s
    if (a[1] == "fwmark") { gkind[ng] = "fwmark"; ga[ng] = a[2] } else { gkind[ng] = "addr"; ga[ng] = a[1]; gp[ng] = a[2] }
  }
  if (depth == 1 && kind[1] == "global_defs") {
    if (a[1] == "lvs_flush") print "FLUSH\t" where "\tstart"
    if ((a[1] == "lvs_flush_onstop" || a[1] == "lvs_flush_on_stop") && a[2] != "VS") print "FLUSH\t" where "\tstop"
  }
}
BEGIN { FS = "\t"; depth = 0; vsdepth = -1; grpdepth = -1; vs = 0; grp = "" }
FILENAME == ARGV[1] { if ($0 != "") ours[$0] = 1; next }
{
  where = $1 ":" $2
  t = $0; sub(/^[^\t]*\t[^\t]*\t/, "", t)
  sub(/[#!].*/, "", t); gsub(/[{}]/, " & ", t)
  n = split(t, w, " ")
  cur = ""
  for (i = 1; i <= n; i++) {
    if (w[i] == "{") {
      if (cur != "") open_block(cur, where); else open_block(last, lastwhere)
      cur = ""
    } else if (w[i] == "}") {
      if (cur != "") { statement(cur, where); last = cur; lastwhere = where; cur = "" }
      close_block()
    } else cur = (cur == "" ? w[i] : cur " " w[i])
  }
  if (cur != "") { statement(cur, where); last = cur; lastwhere = where }
}
END {
  for (v = 1; v <= nvs; v++) {
    f = flag(vproto[v])
    if (vkind[v] == "addr") entry(vwhere[v], f, va[v], vp[v], vhdr[v])
    else if (vkind[v] == "fwmark") fwmark(vwhere[v], va[v], vhdr[v])
    else for (e = 1; e <= ng; e++) if (gname[e] == va[v]) {
      what = vhdr[v] " at " vwhere[v] ", group entry \"" gtext[e] "\""
      if (gkind[e] == "fwmark") fwmark(gwhere[e], ga[e], what); else entry(gwhere[e], f, ga[e], gp[e], what)
    }
  }
}' "$1" "$2"
}

# keepalived's checker creates and edits the IPVS services of its virtual_server blocks (adds,
# removes and reweighs real servers as its health checks go), so a service both it and we own is
# rewritten by whichever ran last; lvs_flush empties the whole table when keepalived starts, and
# lvs_flush_onstop (without VS) when it stops.
owners_keepalived() {
  ow_conf="$ETC_DIR/keepalived/keepalived.conf"
  ow_seen=""
  for ow_pid in $(owners_pids keepalived); do
    ow_seen="running (pid $ow_pid)"
    ow_cmd=$(owners_cmdline "$ow_pid")
    ow_use=$(owners_option_value "$ow_cmd" use-file)
    [ -n "$ow_use" ] || ow_use=$(owners_option_value "$ow_cmd" f)
    if [ -n "$ow_use" ]; then
      ow_file=$(owners_proc_file "$ow_pid" "$ow_use")
      if [ -n "$ow_file" ]; then ow_conf=$ow_file; else ow_conf=$ow_use; fi
    fi
    break
  done
  if [ -z "$ow_seen" ] && command -v keepalived >/dev/null 2>&1; then ow_seen="installed"; fi
  if [ ! -f "$ow_conf" ]; then
    if [ -n "$ow_seen" ]; then owners_note "keepalived is $ow_seen but $ow_conf does not exist: no virtual_server to compare with ours"; fi
    return 0
  fi
  if [ ! -r "$ow_conf" ]; then
    log "WARNING: keepalived configuration $ow_conf cannot be read: its virtual_server blocks were not compared with our services"
    return 0
  fi
  : >"$TMP/owners.notes"
  (owners_keepalived_flat "$ow_conf" 0) >"$TMP/owners.keepalived"
  while IFS= read -r ow_note; do owners_note "$ow_note"; done <"$TMP/owners.notes"
  desired_ipvs_keys >"$TMP/owners.keys"
  owners_keepalived_parse "$TMP/owners.keys" "$TMP/owners.keepalived" >"$TMP/owners.found"
  ow_others=0
  ow_list=""
  ow_ours=0
  while IFS="$TAB" read -r ow_kind ow_where ow_key ow_what; do
    case $ow_kind in
      CONFLICT)
        ow_ours=$((ow_ours + 1))
        owners_refuse "keepalived virtual_server for $ow_key" "keepalived ($ow_conf) manages our IPVS service $ow_key: '$ow_what' at $ow_where. keepalived and cdktf-ipvs would each rewrite that service's real servers and weights. Remove the virtual_server from keepalived's configuration (and reload keepalived), or remove the service from this stack"
        ;;
      FLUSH)
        if [ "$ow_key" = start ]; then ow_when="every time keepalived starts (lvs_flush)"; else ow_when="every time keepalived stops (lvs_flush_onstop; 'lvs_flush_onstop VS' removes only its own)"; fi
        owners_refuse "keepalived flush ($ow_where)" "keepalived ($ow_where) empties the whole IPVS table, our services included, $ow_when. Remove that line from global_defs"
        ;;
      OTHER)
        ow_others=$((ow_others + 1))
        if [ "$ow_others" -le 5 ]; then ow_list="${ow_list:+$ow_list, }$ow_key ($ow_where)"; fi
        ;;
    esac
  done <"$TMP/owners.found"
  if [ "$ow_others" -gt 5 ]; then ow_list="$ow_list, ..."; fi
  if [ "$ow_others" -gt 0 ]; then
    owners_note "keepalived ($ow_conf) manages $ow_others other IPVS service(s): $ow_list; not ours, left alone"
  elif [ "$ow_ours" = 0 ]; then
    owners_note "keepalived configuration $ow_conf has no virtual_server of ours"
  fi
}

# --- ipvsadm.service and the like ---------------------------------------------------------------
# RHEL/Fedora's ipvsadm.service: ExecStart runs ipvsadm-restore </etc/sysconfig/ipvsadm, which
# clears the table first and loads the one saved at the last stop (at boot, possibly after ours:
# ours gone, a stale table back); ExecStop saves then runs
# ipvsadm's -C (every service gone at shutdown, or whenever it is stopped). Debian's
# /etc/init.d/ipvsadm does the same when AUTO="true" in /etc/default/ipvsadm: start and reload
# clear the table and load /etc/ipvsadm.rules, stop clears it; with AUTO="false" (the default)
# it only starts or stops the connection sync daemon (DAEMON=).

# owners_unit_state NAME: sets ow_enabled (systemctl is-enabled words) and ow_active.
owners_unit_state() {
  ow_enabled="" ow_active=unknown
  if [ -d "$SYSTEMD_DIR" ] && command -v systemctl >/dev/null 2>&1; then
    ow_enabled=$(systemctl is-enabled "$1" </dev/null 2>/dev/null | head -n 1 || true)
    ow_active=$(systemctl is-active "$1" </dev/null 2>/dev/null | head -n 1 || true)
  fi
  [ -z "$ow_enabled" ] || return 0
  # From the unit files: a mask is an empty file or a link to /dev/null in the first folder that
  # has the unit; enabled is a link in some *.wants or *.requires folder of $ETC_DIR/systemd/system.
  for ow_dir in $OWNERS_UNIT_DIRS; do
    if [ -L "$ow_dir/$1" ] || [ -e "$ow_dir/$1" ]; then
      if [ "$(readlink "$ow_dir/$1" 2>/dev/null || true)" = /dev/null ] || { [ ! -L "$ow_dir/$1" ] && [ -f "$ow_dir/$1" ] && [ ! -s "$ow_dir/$1" ]; }; then
        ow_enabled=masked
        return 0
      fi
      break
    fi
  done
  if [ -n "$(owners_glob "$ETC_DIR/systemd/system/*.wants/$1")$(owners_glob "$ETC_DIR/systemd/system/*.requires/$1")" ]; then
    ow_enabled=enabled
  else
    ow_enabled=disabled
  fi
}

# owners_unit_risk NAME FILE: what the unit does to the IPVS table, in words; empty for nothing.
owners_unit_risk() {
  ow_exec=$(grep -E '^[[:space:]]*Exec[A-Za-z]*=' "$2" 2>/dev/null || true)
  ow_risk=""
  if printf '%s\n' "$ow_exec" | grep -Eq '^[[:space:]]*Exec(Stop|StopPost)=.*ipvsadm.*[[:space:]](-C|--clear)([[:space:]"'\'';]|$)'; then
    ow_risk="its ExecStop clears the whole IPVS table (ipvsadm's -C): every service, ours included, goes at shutdown or whenever it is stopped"
  elif printf '%s\n' "$ow_exec" | grep -Eq 'ipvsadm.*[[:space:]](-C|--clear)([[:space:]"'\'';]|$)'; then
    ow_risk="it clears the whole IPVS table (ipvsadm's -C), ours included"
  fi
  if printf '%s\n' "$ow_exec" | grep -Eq 'ipvsadm-restore'; then
    ow_risk="${ow_risk:+$ow_risk, and }its ExecStart runs ipvsadm-restore, which clears the whole table and loads a saved one (at boot, possibly after ours: our services gone, a stale table back)"
  elif printf '%s\n' "$ow_exec" | grep -Eq 'ipvsadm[^;|&]*[[:space:]](-R|--restore)'; then
    ow_risk="${ow_risk:+$ow_risk, and }it restores a saved IPVS table (at boot, possibly over ours)"
  fi
  case $1 in
    ipvsadm*) [ -n "$ow_risk" ] || ow_risk="it is the distribution's IPVS table service (save/clear at stop, restore at start)" ;;
  esac
  printf '%s' "$ow_risk"
}

owners_ipvsadm_units() {
  ow_systemd=0
  if [ -d "$SYSTEMD_DIR" ]; then
    ow_systemd=1
    if ! command -v systemctl >/dev/null 2>&1; then
      owners_note "systemd runs but systemctl is not installed: unit states are judged from the unit files in $OWNERS_UNIT_DIRS"
    fi
  fi
  # Candidates: ipvsadm*.service, and any service whose Exec lines mention ipvsadm; the first
  # unit folder that has a name wins, as in systemd.
  ow_dirs=""
  for ow_dir in $OWNERS_UNIT_DIRS; do
    if [ -d "$ow_dir" ]; then ow_dirs="$ow_dirs $ow_dir"; fi
  done
  : >"$TMP/owners.units"
  if [ -n "$ow_dirs" ]; then
    # shellcheck disable=SC2086 # folder list, split on spaces (no globbing in the prelude)
    {
      find $ow_dirs -maxdepth 1 -name 'ipvsadm*.service' 2>/dev/null || true
      find $ow_dirs -maxdepth 1 -name '*.service' -exec grep -lE '^[[:space:]]*Exec[A-Za-z]*=.*ipvsadm' {} + 2>/dev/null || true
    } | sed 's|.*/||' | grep -vxF -- "$UNIT_NAME" | sort -u >"$TMP/owners.units" || true
  fi
  ow_native_ipvsadm=0
  while IFS= read -r ow_name; do
    [ "$ow_name" != ipvsadm.service ] || ow_native_ipvsadm=1
    # The unit's text: the first real file (not a mask) in folder order.
    ow_text=""
    for ow_dir in $OWNERS_UNIT_DIRS; do
      if [ -s "$ow_dir/$ow_name" ] && [ "$(readlink "$ow_dir/$ow_name" 2>/dev/null || true)" != /dev/null ]; then ow_text="$ow_dir/$ow_name"; break; fi
    done
    ow_risk=""
    if [ -n "$ow_text" ]; then ow_risk=$(owners_unit_risk "$ow_name" "$ow_text"); fi
    owners_unit_state "$ow_name"
    case $ow_enabled in
      masked*)
        owners_note "$ow_name is masked: it runs neither at boot nor at shutdown (fine)"
        continue
        ;;
    esac
    if [ -z "$ow_risk" ]; then continue; fi
    case "$ow_enabled $ow_active" in
      enabled* | linked* | alias* | *" active" | *" activating" | *" reloading" | *" deactivating")
        owners_refuse "$ow_name" "$ow_name ($ow_text) is $ow_enabled and $ow_active: $ow_risk. Fix: 'systemctl mask $ow_name' (a masked unit runs nothing, not even its ExecStop; do not stop or 'disable --now' it first: stopping it clears the table). If it restored services you still need, declare them in the stack"
        ;;
      *)
        log "WARNING: $ow_name ($ow_text) is installed and $ow_enabled (${ow_active}): $ow_risk. Nothing runs it now; rule it out with 'systemctl mask $ow_name'"
        ;;
    esac
  done <"$TMP/owners.units"
  owners_debian_ipvsadm "$ow_systemd" "$ow_native_ipvsadm"
}

# owners_debian_ipvsadm SYSTEMD NATIVE: Debian's /etc/init.d/ipvsadm (under systemd a native
# ipvsadm.service hides it).
owners_debian_ipvsadm() {
  ow_init="$ETC_DIR/init.d/ipvsadm"
  [ -f "$ow_init" ] || return 0
  if [ "$1" = 1 ] && [ "$2" = 1 ]; then return 0; fi
  ow_default="$ETC_DIR/default/ipvsadm"
  ow_auto=false ow_auto_at="the script's default"
  if [ -r "$ow_default" ]; then
    ow_line=$(grep -n '^[[:space:]]*AUTO=' "$ow_default" | tail -n 1 || true)
    if [ -n "$ow_line" ]; then
      ow_auto=$(printf '%s\n' "${ow_line#*AUTO=}" | sed 's/[[:space:]]*#.*$//; s/^["'\'']//; s/["'\'']*[[:space:]]*$//')
      ow_auto_at="$ow_default:${ow_line%%:*}"
    fi
  fi
  if [ "$1" = 1 ]; then
    owners_unit_state ipvsadm.service
  else
    # No systemd: the sysv rc links decide.
    ow_active=unknown
    if [ -n "$(owners_glob "$ETC_DIR/rc[2345].d/S*ipvsadm")" ]; then ow_enabled=enabled; else ow_enabled=disabled; fi
  fi
  case $ow_enabled in
    masked*)
      owners_note "ipvsadm.service ($ow_init) is masked: it runs neither at boot nor at shutdown (fine)"
      return 0
      ;;
  esac
  if [ "$ow_auto" != true ]; then
    owners_note "$ow_init is $ow_enabled with AUTO=$ow_auto ($ow_auto_at): it neither restores nor clears the IPVS table (fine)"
    return 0
  fi
  ow_risk="with AUTO=true ($ow_auto_at) it clears the whole IPVS table (ipvsadm's -C) and loads /etc/ipvsadm.rules when it starts or reloads, and clears it again when it stops (at shutdown)"
  case "$ow_enabled $ow_active" in
    enabled* | *" active" | *" activating" | *" reloading")
      owners_refuse "$ow_init with AUTO=true" "$ow_init (ipvsadm.service) is $ow_enabled and $ow_active: $ow_risk. Fix: set AUTO=\"false\" in $ow_default (read at every start and stop, so it is safe while it runs), or 'systemctl mask ipvsadm.service'"
      ;;
    *)
      log "WARNING: $ow_init is installed and $ow_enabled: $ow_risk. Nothing runs it now; set AUTO=\"false\" in $ow_default to rule it out"
      ;;
  esac
}
