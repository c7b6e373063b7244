#!/bin/sh
# Boot a throw-away lab guest: a qcow2 overlay on .lab/image/base.raw, qemu TCG, SSH forwarded
# to a free port on 127.0.0.1 only (user networking with restrict=on: the guest reaches nothing).
# Usage: lab/boot.sh NAME        (env: LAB_BOOT_TIMEOUT seconds, default 240)
# Files: .lab/run/NAME/{overlay.qcow2,qemu.pid,port,console.log}
set -eu
. "$(dirname "$0")/common.sh"
NAME=${1:-}; lab_name_check "$NAME"
RUN="$LAB/run/$NAME"
TIMEOUT=${LAB_BOOT_TIMEOUT:-240}

command -v qemu-system-x86_64 >/dev/null 2>&1 && command -v qemu-img >/dev/null 2>&1 || {
  echo "lab: qemu-system-x86_64/qemu-img not found; run lab/install-deps.sh" >&2; exit 1; }
for f in base.raw vmlinuz initrd.img; do
  [ -s "$IMG/$f" ] || { echo "lab: $IMG/$f missing; run lab/build-image.sh" >&2; exit 1; }
done

if [ -n "$(lab_qemu_pid "$NAME")" ]; then
  echo "lab: guest '$NAME' already running (pid $(lab_qemu_pid "$NAME"), port $(cat "$RUN/port"))"
else
  mkdir -p "$RUN"
  rm -f "$RUN/overlay.qcow2" "$RUN/qemu.pid" "$RUN/port"
  : >"$RUN/console.log"
  qemu-img create -q -f qcow2 -b "$IMG/base.raw" -F raw "$RUN/overlay.qcow2"

  # A free loopback port: not listening now (qemu fails if it gets taken; then we retry).
  listening() {
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR>1 && $4=="0A" {split($2,a,":"); print a[2]}'
  }
  started=0
  for try in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + ( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ) ))
    hex=$(printf '%04X' "$port")
    listening | grep -qx "$hex" && continue
    # One vCPU by default: with -smp 2, multi-threaded TCG once hung the guest (RCU stall in
    # asm_exc_int3) while the kernel live-patched its code as netfilter hooks were registered.
    # One vCPU cannot race itself. LAB_SMP=2 boots faster if you want to try.
    if qemu-system-x86_64 -name "lab-$NAME" -accel tcg -smp "${LAB_SMP:-1}" -m 1024 \
        -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0" \
        -drive "file=$RUN/overlay.qcow2,if=virtio,format=qcow2" \
        -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" \
        -device virtio-net-pci,netdev=n0 \
        -display none -monitor none -serial "file:$RUN/console.log" \
        -daemonize -pidfile "$RUN/qemu.pid" 2>"$RUN/qemu.err"; then
      started=1; break
    fi
    grep -qi "hostfwd\|address already in use\|could not set up host forwarding" "$RUN/qemu.err" || {
      cat "$RUN/qemu.err" >&2; exit 1; }
  done
  [ "$started" = 1 ] || { echo "lab: could not start qemu (no free port?)" >&2; cat "$RUN/qemu.err" >&2; exit 1; }
  echo "$port" >"$RUN/port"
  echo "lab: guest '$NAME' started (qemu pid $(cat "$RUN/qemu.pid"), ssh port $port); waiting for SSH..."
fi

# Wait until SSH answers and the guest's topology is up.
start=$(date +%s)
while :; do
  if [ -z "$(lab_qemu_pid "$NAME")" ]; then
    echo "lab: qemu for '$NAME' died; console tail:" >&2; tail -n 30 "$RUN/console.log" >&2; exit 1
  fi
  if LAB_SSH_CONNECT_TIMEOUT=5 "$ROOT/lab/ssh.sh" "$NAME" \
       'systemctl is-active --quiet lab-topology.service lab-backends.service' </dev/null >/dev/null 2>&1; then
    break
  fi
  if [ $(( $(date +%s) - start )) -ge "$TIMEOUT" ]; then
    echo "lab: guest '$NAME' not reachable over SSH after ${TIMEOUT}s; console tail:" >&2
    tail -n 30 "$RUN/console.log" >&2; exit 1
  fi
  sleep 2
done
echo "lab: guest '$NAME' ready after $(( $(date +%s) - start ))s"
echo "  ssh:  lab/ssh.sh $NAME        (or: ssh -i $KEY -p $(cat "$RUN/port") -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1)"
echo "  stop: lab/stop.sh $NAME"
