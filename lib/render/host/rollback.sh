#!/bin/sh
# shellcheck shell=sh
# rollback.sh: all-or-nothing steps. While a step applies, everything it is about to change is
# recorded first (file copies, sysctl values, loaded modules, the IPVS table of the services we
# own, our nat chains); if the step fails, is interrupted (INT, TERM, HUP) or loses its terminal,
# on_exit puts back what the records say before the script exits non-zero. SIGKILL cannot be
# caught: then the next apply converges, because ownership and sysctl originals are always
# written before the change they cover, and the kernel releases the lock with the process.
# Uses from the prelude: log, TAB, TMP, STEP, ipvs_owned_rules, ipvs_diff, ipt_*, remove_alias_chain.

ROLLBACK_STEP=""

# rollback_begin: the step in $STEP starts changing the host.
rollback_begin() {
  ROLLBACK_STEP=$STEP
  ROLLBACK_IPVS=0
  ROLLBACK_ENABLED_UNIT=0
  for kind in files sysctls modules chains; do : >"$TMP/rollback.$kind"; done
}

# rollback_end: the step completed; nothing to put back any more.
rollback_end() { ROLLBACK_STEP=""; }

# remember_file PATH: PATH is about to be written or removed; keep it (or that it was absent).
remember_file() {
  if awk -F "$TAB" -v p="$1" '$1 == p { found = 1 } END { exit !found }' "$TMP/rollback.files"; then return 0; fi
  rollback_n=$(($(wc -l <"$TMP/rollback.files") + 1))
  if [ -f "$1" ]; then
    cp -p "$1" "$TMP/rollback.file.$rollback_n"
    printf '%s\t%s\n' "$1" "$TMP/rollback.file.$rollback_n" >>"$TMP/rollback.files"
  else
    printf '%s\t-\n' "$1" >>"$TMP/rollback.files"
  fi
}

# remember_sysctl KEY VALUE: KEY is about to change from VALUE.
remember_sysctl() { printf '%s\t%s\n' "$1" "$2" >>"$TMP/rollback.sysctls"; }

# remember_module NAME: this run loaded NAME.
remember_module() { printf '%s\n' "$1" >>"$TMP/rollback.modules"; }

# remember_ipvs: the IPVS table is about to change; $TMP/live.ipvs and $TMP/thresholds.ipvs (read
# by the plan under the lock) hold it as it was, $TMP/owned the services we may touch.
remember_ipvs() {
  ipvs_owned_rules "$TMP/thresholds.ipvs" "$TMP/live.ipvs" "$TMP/owned" >"$TMP/rollback.ipvs"
  ROLLBACK_IPVS=1
}

# remember_chain COMMAND CHAIN PARENT: our chain is about to change; keep its rules as listed
# (iptables -S quotes them as iptables-restore reads them; the plan's listing, see ipt_listing)
# and whether it and our jump existed.
remember_chain() {
  rollback_n=$(($(wc -l <"$TMP/rollback.chains") + 1))
  if ipt_chain_exists "$1" "$2"; then
    grep '^-A ' "$TMP/ipt.$1.$2" >"$TMP/rollback.chain.$rollback_n" || true
    rollback_existed=1
  else
    : >"$TMP/rollback.chain.$rollback_n"
    rollback_existed=0
  fi
  if ipt_jump_present "$1" "$2" "$3"; then rollback_jump=1; else rollback_jump=0; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$rollback_existed" "$rollback_jump" "$TMP/rollback.chain.$rollback_n" >>"$TMP/rollback.chains"
}

# remember_enabled_unit: this run enabled our boot unit.
remember_enabled_unit() { ROLLBACK_ENABLED_UNIT=1; }

rollback_files() {
  # Newest first, so a file written twice ends as it was before the first write.
  awk '{ line[NR] = $0 } END { for (i = NR; i > 0; i--) print line[i] }' "$TMP/rollback.files" >"$TMP/rollback.files.rev"
  while IFS="$TAB" read -r path copy; do
    if [ "$copy" = - ]; then
      if [ -e "$path" ]; then rm -f "$path" && log "rollback: removed $path (it did not exist before)"; fi
    elif ! cmp -s "$copy" "$path"; then
      cp -p "$copy" "$path.cdktf-ipvs.tmp" && mv -f "$path.cdktf-ipvs.tmp" "$path" && log "rollback: restored $path"
    fi
  done <"$TMP/rollback.files.rev"
}

rollback_sysctls() {
  while IFS="$TAB" read -r key value; do
    path=$(sysctl_path "$key")
    [ "$(cat "$path" 2>/dev/null)" = "$value" ] && continue
    if printf '%s\n' "$value" >"$path"; then log "rollback: $key back to $value"; else log "rollback: could not put $key back to $value"; fi
  done <"$TMP/rollback.sysctls"
}

rollback_modules() {
  awk '{ line[NR] = $0 } END { for (i = NR; i > 0; i--) print line[i] }' "$TMP/rollback.modules" >"$TMP/rollback.modules.rev"
  while read -r module; do
    if modprobe -r "$module" 2>/dev/null; then log "rollback: unloaded $module"; else log "rollback: left $module loaded (in use)"; fi
  done <"$TMP/rollback.modules.rev"
}

# The services we own, back to the rules they had: the same diff apply uses, from the live table
# to the snapshot, so whatever part of the batch ran is undone and nothing else is touched.
rollback_ipvs() {
  [ "$ROLLBACK_IPVS" = 1 ] || return 0
  ipvsadm -Sn >"$TMP/rollback.live" || { log "rollback: ipvsadm -Sn failed; IPVS left as it is"; return 1; }
  ipvsadm -Ln --thresholds >"$TMP/rollback.thresholds" 2>/dev/null || : >"$TMP/rollback.thresholds"
  ipvs_diff "$TMP/rollback.ipvs" "$TMP/rollback.thresholds" "$TMP/rollback.live" "$TMP/owned" >"$TMP/rollback.changes"
  DRAIN_OFF=1 drain_split "$TMP/rollback.changes" "$TMP/rollback.batch" "$TMP/rollback.after" "$TMP/rollback.drain" "$TMP/rollback.names" || return 1
  if [ ! -s "$TMP/rollback.batch" ]; then
    log "rollback: IPVS table of our services unchanged"
    return 0
  fi
  while read -r text; do log "rollback: $text"; done <"$TMP/rollback.names"
  if ipvsadm -R <"$TMP/rollback.batch"; then
    log "rollback: IPVS services back as they were ($(wc -l <"$TMP/rollback.batch") change(s))"
  else
    log "rollback: ipvsadm -R failed; the next apply converges the services we own"
    return 1
  fi
}

rollback_chains() {
  while IFS="$TAB" read -r cmd chain parent existed jump rules; do
    if [ "$existed" = 0 ]; then
      remove_alias_chain "$cmd" "$chain" "$parent"
      continue
    fi
    {
      printf '*nat\n:%s - [0:0]\n' "$chain"
      cat "$rules"
      printf 'COMMIT\n'
    } >"$TMP/rollback.restore"
    ipt_forget "$cmd" "$chain"
    if "$cmd-restore" -w --noflush <"$TMP/rollback.restore"; then log "rollback: $cmd nat $chain back to its $(grep -c . "$rules" || true) rule(s)"; else log "rollback: $cmd-restore of $chain failed"; fi
    if [ "$jump" = 1 ] && ! ipt_jump_present "$cmd" "$chain" "$parent"; then
      ipt_jump -I "$cmd" "$chain" "$parent" 1 && log "rollback: $cmd nat: jump $parent -> $chain put back"
    elif [ "$jump" = 0 ]; then
      while ipt_jump_present "$cmd" "$chain" "$parent"; do ipt_jump -D "$cmd" "$chain" "$parent" || break; done
    fi
  done <"$TMP/rollback.chains"
}

rollback_unit() {
  [ "$ROLLBACK_ENABLED_UNIT" = 1 ] || return 0
  systemctl disable "$UNIT_NAME" >/dev/null 2>&1 && log "rollback: disabled $UNIT_NAME"
}

# rollback_on_failure STATUS: from the EXIT trap. Puts back what the failed step changed.
rollback_on_failure() {
  [ "$1" != 0 ] && [ -n "$ROLLBACK_STEP" ] || return 0
  set +e
  STEP=$ROLLBACK_STEP
  ROLLBACK_STEP=""
  log "step $STEP failed (exit $1); putting back what it changed"
  rollback_ok=0
  rollback_chains || rollback_ok=1
  rollback_ipvs || rollback_ok=1
  rollback_sysctls || rollback_ok=1
  rollback_unit || rollback_ok=1
  rollback_files || rollback_ok=1
  [ ! -d "$SYSTEMD_DIR" ] || [ ! -s "$TMP/rollback.files" ] || systemctl daemon-reload >/dev/null 2>&1
  rollback_modules || rollback_ok=1
  if [ "$rollback_ok" = 0 ]; then
    printf 'cdktf-ipvs %s [%s] ERROR: step %s failed and was rolled back; the host is as it was before the step\n' "$HOST_NAME" "$STEP" "$STEP" >&2
  else
    printf 'cdktf-ipvs %s [%s] ERROR: step %s failed and could not be rolled back completely (see above); fix the cause and apply again\n' "$HOST_NAME" "$STEP" "$STEP" >&2
  fi
}
