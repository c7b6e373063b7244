#!/bin/sh
# shellcheck shell=sh
# drain.sh: graceful removal of real servers. A TCP/SCTP real server that a deploy removes first
# gets weight 0 (no new connections; its established ones keep flowing), then it is deleted once
# its active connections have ended or its service's drain timeout has passed. UDP real servers
# are deleted at once: IPVS counts no UDP connection as active, so there is nothing to wait for.
# Uses from the prelude: log, HOST_NAME, STEP, TAB, TMP, desired_drain_timeouts, DRAIN_TIMEOUT_DEFAULT.

# How often a drain looks at the connection counts, and how often it says how it goes (seconds).
DRAIN_POLL_SECONDS=1
DRAIN_REPORT_SECONDS=5

# drain_split CHANGES BATCH AFTER DRAIN NAMES: turns the IPVS diff (ipvs_diff lines, with the live
# real servers of deleted services as DEL_SERVICE_REAL) into
#   BATCH  the ipvsadm -R lines to run now (every change, except that a real server to drain is
#          set to weight 0 instead of deleted, and a service with such servers stays for now),
#   AFTER  the ipvsadm -R lines to run once the drain is over (-d / -D),
#   DRAIN  SERVICE-KEY TAB REAL-SERVER TAB TIMEOUT, one real server to wait for a line,
#   NAMES  one line per change, in operator words.
# One awk pass: no process per change. DRAIN_OFF=1 deletes at once (a rollback removes what it added).
drain_split() {
  desired_drain_timeouts >"$TMP/drain.timeouts"
  : >"$2"
  : >"$3"
  : >"$4"
  : >"$5"
  awk -F "$TAB" -v batch="$2" -v after="$3" -v drain="$4" -v names="$5" -v default_timeout="$DRAIN_TIMEOUT_DEFAULT" -v off="${DRAIN_OFF:-0}" '
    FILENAME == ARGV[1] { T[$1] = $2; next }
    function timeout_of(k) { return off == 1 ? 0 : ((k in T) ? T[k] + 0 : default_timeout + 0) }
    # UDP services drain nothing: ipvsadm shows no active UDP connections.
    function drains(k) { return timeout_of(k) > 0 && k !~ /^-u / }
    function weight0(opts) {
      if (opts ~ /(^| )-w [0-9]+( |$)/) sub(/-w [0-9]+/, "-w 0", opts)
      else opts = opts " -w 0"
      return opts
    }
    {
      a = $1; k = $2; r = $3; w = $4; h = $5
      if (a == "DEL_REAL" || a == "DEL_SERVICE_REAL") {
        if (!drains(k)) {
          if (a == "DEL_REAL") { print "-d " k " -r " r >>batch; t = "DEL_REAL " k " -r " r }
          else next
        } else {
          if (h !~ /(^| )-w 0( |$)/) print "-e " k " -r " r " " weight0(h) >>batch
          print k "\t" r "\t" timeout_of(k) >>drain
          if (a == "DEL_REAL") print "-d " k " -r " r >>after
          else draining[k] = 1
          t = "DRAIN_REAL " k " -r " r " (weight 0 now; deleted when its active connections end, at most " timeout_of(k) " s)"
        }
      }
      else if (a == "DEL_SERVICE") {
        if (k in draining) { print "-D " k >>after; t = "DEL_SERVICE " k " (after its real servers drain)" }
        else { print "-D " k >>batch; t = "DEL_SERVICE " k }
      }
      else if (a == "ADD_SERVICE") { print "-A " k " " w >>batch; t = a " " k " " w }
      else if (a == "EDIT_SERVICE") { print "-E " k " " w >>batch; t = a " " k " " w }
      else if (a == "ADD_REAL") { print "-a " k " -r " r " " w >>batch; t = a " " k " -r " r " " w }
      else if (a == "EDIT_REAL") { print "-e " k " -r " r " " w >>batch; t = a " " k " -r " r " " w }
      else { print "unknown IPVS change " a; exit 2 }
      if (h != "-") t = t " (was: " h ")"
      print t >>names
    }' "$TMP/drain.timeouts" "$1"
}

# ipvs_active_connections: "SERVICE-KEY TAB REAL-SERVER TAB ACTIVE" for every real server, from one
# `ipvsadm -Ln` (keys in the -Sn form the diff uses: -t 172.16.1.8:1000, -f 7 -6...). Fails when
# ipvsadm does: through a pipe its status would be lost, and an empty listing reads as "drained".
ipvs_active_connections() {
  ipvsadm -Ln >"$TMP/ipvs.listing" || return 1
  awk -v OFS="$TAB" '
    $1 == "TCP" { svc = "-t " $2; next }
    $1 == "UDP" { svc = "-u " $2; next }
    $1 == "SCTP" { svc = "--sctp-service " $2; next }
    $1 == "FWM" { svc = "-f " $2 ($3 == "IPv6" ? " -6" : ""); next }
    $1 == "->" && svc != "" && $5 ~ /^[0-9]+$/ { print svc, $2, $5 }' "$TMP/ipvs.listing"
}

# drain_log wait|over WAITED: one log line per real server of $TMP/drain.state (wait: those still
# waiting; over: how each one ended), from one awk, as log writes them: no shell loop over
# thousands of real servers.
drain_log() {
  awk -F "$TAB" -v p="cdktf-ipvs $HOST_NAME [$STEP] " -v what="$1" -v waited="$2" '
    what == "wait" { if ($1 == "wait") print p "draining " $2 " -r " $3 ": " $4 " active connection(s), waited " waited " s of at most " $5 " s"; next }
    $1 == "timeout" { print p "drain of " $2 " -r " $3 " timed out after " waited " s (limit " $5 " s) with " $4 " active connection(s); deleting it now"; next }
    { print p "drained " $2 " -r " $3 ": no active connection left after " waited " s" }' "$TMP/drain.state"
}

# drain_wait DRAIN: waits until every real server listed in DRAIN (drain_split's format) has no
# active connection, is gone, or has used up its timeout. One `ipvsadm -Ln` a poll, for all of them.
drain_wait() {
  [ -s "$1" ] || return 0
  drain_started=$(date +%s)
  # As if the last report was one period ago: the first poll reports, even when it comes a second late.
  drain_reported=$((-DRAIN_REPORT_SECONDS))
  drain_total=$(grep -c . "$1")
  while :; do
    drain_waited=$(($(date +%s) - drain_started))
    ipvs_active_connections >"$TMP/drain.active" || die "ipvsadm -Ln failed while draining"
    # Each line: STATE KEY RS ACTIVE TIMEOUT, STATE one of wait, drained, timeout.
    awk -F "$TAB" -v OFS="$TAB" -v waited="$drain_waited" '
      FILENAME == ARGV[1] { A[$1 SUBSEP $2] = $3; next }
      {
        n = ($1 SUBSEP $2) in A ? A[$1 SUBSEP $2] + 0 : 0
        state = n == 0 ? "drained" : (waited >= $3 + 0 ? "timeout" : "wait")
        print state, $1, $2, n, $3
      }' "$TMP/drain.active" "$1" >"$TMP/drain.state"
    if ! grep -q '^wait' "$TMP/drain.state"; then break; fi
    if [ $((drain_waited - drain_reported)) -ge "$DRAIN_REPORT_SECONDS" ]; then
      drain_reported=$drain_waited
      drain_log wait "$drain_waited"
    fi
    sleep "$DRAIN_POLL_SECONDS"
  done
  drain_log over "$drain_waited"
  log "drain of $drain_total real server(s) over after $drain_waited s"
}
