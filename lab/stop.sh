#!/bin/sh
# Stop a lab guest: clean poweroff over SSH (up to 30 s), then kill qemu; removes the overlay.
# Usage: lab/stop.sh NAME [--kill]   (--kill: skip the clean poweroff)
set -eu
. "$(dirname "$0")/common.sh"
NAME=${1:-}; lab_name_check "$NAME"
RUN="$LAB/run/$NAME"
pid=$(lab_qemu_pid "$NAME")
if [ -n "$pid" ]; then
  if [ "${2:-}" != "--kill" ]; then
    LAB_SSH_CONNECT_TIMEOUT=5 timeout 15 "$ROOT/lab/ssh.sh" "$NAME" \
      'systemctl poweroff >/dev/null 2>&1 || poweroff' </dev/null >/dev/null 2>&1 || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 10 ]; do sleep 1; i=$((i+1)); done
    kill -9 "$pid" 2>/dev/null || true
  fi
  echo "lab: guest '$NAME' stopped"
else
  echo "lab: guest '$NAME' was not running"
fi
rm -f "$RUN/overlay.qcow2" "$RUN/qemu.pid" "$RUN/port" "$RUN/qemu.err"
