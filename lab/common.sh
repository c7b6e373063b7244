# Shared helpers for the lab scripts (sourced, not executed).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB="$ROOT/.lab"
IMG="$LAB/image"
KEY="$LAB/keys/id_ed25519"

lab_name_check() {
  case "${1:-}" in
    ''|*[!A-Za-z0-9_.-]*) echo "lab: guest NAME must match [A-Za-z0-9_.-]+ (got '${1:-}')" >&2; exit 2 ;;
  esac
}

# PID of the guest's qemu if it is running, else empty.
lab_qemu_pid() {
  _pf="$LAB/run/$1/qemu.pid"
  [ -s "$_pf" ] || return 0
  _pid=$(cat "$_pf")
  if kill -0 "$_pid" 2>/dev/null && grep -q qemu "/proc/$_pid/cmdline" 2>/dev/null; then
    echo "$_pid"
  fi
}

lab_ssh_opts() {
  echo "-i $KEY -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
-o IdentitiesOnly=yes -o LogLevel=ERROR -o ConnectTimeout=${LAB_SSH_CONNECT_TIMEOUT:-10} \
-o ServerAliveInterval=5 -o ServerAliveCountMax=6"
}
