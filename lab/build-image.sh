#!/bin/sh
# Build the cdktf-ipvs lab guest: a Debian 12 (bookworm) server with the stock 6.1 kernel
# (IPVS with every scheduler, CONFIG_IP_VS_NFCT), systemd, sshd, ipvsadm, iptables (nft + legacy).
#
# Outputs (all under <repo>/.lab, never committed):
#   .lab/image/base.raw        ext4 root filesystem (made with mkfs.ext4 -d, no loop mounts)
#   .lab/image/vmlinuz         the guest kernel
#   .lab/image/initrd.img      its initramfs
#   .lab/image/inputs.sha256   hash of the build inputs; the build is skipped while it matches
#   .lab/keys/id_ed25519(.pub) client key allowed to log in as root (generated here)
#
# Usage: lab/build-image.sh [--force]
# Env:   LAB_MIRROR (default: first Debian URI in /etc/apt/sources.list.d/debian.sources)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB="$ROOT/.lab"
IMG="$LAB/image"
KEYS="$LAB/keys"
GUEST="$ROOT/lab/guest"
BUILD="$LAB/build"
RFS="$BUILD/rootfs"
SUITE=bookworm
DISK_SIZE=2G
PACKAGES=systemd-sysv,udev,sudo,openssh-server,openssh-sftp-server,openssh-client,ipvsadm,iptables,iproute2,kmod,socat,tcpdump,procps,conntrack,iputils-ping,linux-image-amd64

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

mkdir -p "$IMG" "$KEYS" "$BUILD"

# One build at a time (parallel test runners share .lab).
exec 9>"$LAB/build.lock"
flock 9

for t in debootstrap mkfs.ext4 ssh-keygen sha256sum chroot; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || {
    echo "build-image: '$t' is missing; run lab/install-deps.sh first" >&2; exit 1; }
done

# --- client key (the image embeds its public half, so it is a build input) ---
if [ ! -s "$KEYS/id_ed25519" ] || [ ! -s "$KEYS/id_ed25519.pub" ]; then
  rm -f "$KEYS/id_ed25519" "$KEYS/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N "" -C "cdktf-ipvs-lab" -f "$KEYS/id_ed25519"
fi
chmod 600 "$KEYS/id_ed25519"

# --- cache check: this script + every guest file + the client public key ---
inputs_hash() {
  ( cd "$ROOT" && {
      sha256sum lab/build-image.sh
      find lab/guest -type f | LC_ALL=C sort | xargs sha256sum
      sha256sum .lab/keys/id_ed25519.pub
    } ) | sha256sum | cut -d' ' -f1
}
HASH=$(inputs_hash)
if [ "$FORCE" = 0 ] && [ -s "$IMG/inputs.sha256" ] && [ "$(cat "$IMG/inputs.sha256")" = "$HASH" ] \
   && [ -s "$IMG/base.raw" ] && [ -s "$IMG/vmlinuz" ] && [ -s "$IMG/initrd.img" ]; then
  echo "build-image: up to date ($HASH)"
  exit 0
fi
echo "build-image: building ($HASH)"
START=$(date +%s)

if [ -z "${LAB_MIRROR:-}" ]; then
  LAB_MIRROR=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
               /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1 || true)
  [ -n "$LAB_MIRROR" ] || LAB_MIRROR=http://deb.debian.org/debian
fi

cleanup() {
  umount "$RFS/proc" 2>/dev/null || true
  umount "$RFS/sys" 2>/dev/null || true
  umount "$RFS/dev/pts" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# --- debootstrap (downloaded .debs are kept in .lab/cache for faster rebuilds) ---
cleanup
rm -rf "$RFS"
mkdir -p "$RFS" "$LAB/cache/debootstrap"
debootstrap --variant=minbase --include="$PACKAGES" \
  --cache-dir="$LAB/cache/debootstrap" "$SUITE" "$RFS" "$LAB_MIRROR" >"$BUILD/debootstrap.log" 2>&1 || {
  tail -n 40 "$BUILD/debootstrap.log" >&2; echo "build-image: debootstrap failed (log: $BUILD/debootstrap.log)" >&2; exit 1; }
echo "build-image: debootstrap done ($(( $(date +%s) - START )) s)"

# --- configuration ---
echo ipvs-lab >"$RFS/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tipvs-lab\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$RFS/etc/hosts"
echo '/dev/vda / ext4 defaults,errors=remount-ro 0 1' >"$RFS/etc/fstab"

install -d -m 700 "$RFS/root/.ssh"
install -m 600 "$KEYS/id_ed25519.pub" "$RFS/root/.ssh/authorized_keys"
install -d "$RFS/etc/ssh/sshd_config.d"
install -m 644 "$GUEST/sshd-lab.conf" "$RFS/etc/ssh/sshd_config.d/lab.conf"
# Host keys: fresh per build (openssh-server's postinst made them inside debootstrap; make sure).
chroot "$RFS" ssh-keygen -A >/dev/null

install -d "$RFS/etc/systemd/network"
install -m 644 "$GUEST/20-wired.network" "$RFS/etc/systemd/network/20-wired.network"

install -m 755 "$GUEST/lab-topology.sh" "$RFS/usr/local/sbin/lab-topology.sh"
install -m 755 "$GUEST/lab-backends.sh" "$RFS/usr/local/sbin/lab-backends.sh"
install -m 644 "$GUEST/lab-topology.service" "$RFS/etc/systemd/system/lab-topology.service"
install -m 644 "$GUEST/lab-backends.service" "$RFS/etc/systemd/system/lab-backends.service"

chroot "$RFS" systemctl enable systemd-networkd.service lab-topology.service lab-backends.service ssh.service >/dev/null 2>&1
# Nothing periodic or waiting in the background of a test guest.
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
         e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service; do
  chroot "$RFS" systemctl mask "$u" >/dev/null 2>&1 || true
done

# initramfs: the postinst inside debootstrap ran without /proc; redo it properly.
mount --bind /proc "$RFS/proc"
chroot "$RFS" update-initramfs -c -k all >"$BUILD/initramfs.log" 2>&1 \
  || chroot "$RFS" update-initramfs -u -k all >>"$BUILD/initramfs.log" 2>&1 || {
  tail -n 40 "$BUILD/initramfs.log" >&2; echo "build-image: update-initramfs failed" >&2; exit 1; }
umount "$RFS/proc"

rm -rf "$RFS/var/cache/apt/archives" "$RFS/var/lib/apt/lists"/*_* "$RFS/var/log/bootstrap.log"
mkdir -p "$RFS/var/cache/apt/archives/partial"

# --- outputs ---
KVER=$(ls "$RFS/lib/modules" | sort -V | tail -n1)
[ -s "$RFS/boot/vmlinuz-$KVER" ] && [ -s "$RFS/boot/initrd.img-$KVER" ] || {
  echo "build-image: kernel/initrd for $KVER not found in the rootfs" >&2; exit 1; }
cp "$RFS/boot/vmlinuz-$KVER" "$BUILD/vmlinuz"
cp "$RFS/boot/initrd.img-$KVER" "$BUILD/initrd.img"
rm -f "$BUILD/base.raw"
mkfs.ext4 -q -F -L lab-root -d "$RFS" "$BUILD/base.raw" "$DISK_SIZE"

mv -f "$BUILD/vmlinuz" "$IMG/vmlinuz"
mv -f "$BUILD/initrd.img" "$IMG/initrd.img"
mv -f "$BUILD/base.raw" "$IMG/base.raw"
echo "$KVER" >"$IMG/kernel-version"
echo "$HASH" >"$IMG/inputs.sha256"
rm -rf "$RFS"
echo "build-image: done in $(( $(date +%s) - START )) s: kernel $KVER, $IMG/base.raw"
