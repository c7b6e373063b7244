#!/bin/sh
# Install the host tools the IPVS test lab needs (Debian/Ubuntu host, run as root).
# Idempotent: does nothing when every tool is already present.
set -eu

# command -> Debian package
need() {
  cmd=$1 pkg=$2
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]; then
    MISSING="${MISSING:-} $pkg"
  fi
}
MISSING=""
need qemu-system-x86_64 qemu-system-x86
need qemu-img qemu-utils
need debootstrap debootstrap
need mkfs.ext4 e2fsprogs
need ssh openssh-client
need ssh-keygen openssh-client
need cpio cpio
need sha256sum coreutils
need flock util-linux
# debootstrap needs the archive keyring to verify the mirror
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || MISSING="$MISSING debian-archive-keyring"

if [ -z "$MISSING" ]; then
  echo "lab deps: all present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "lab deps: installing$MISSING"
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only once (or when they are missing/empty).
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ] \
   || ! $SUDO apt-get install -y --no-install-recommends $MISSING; then
  $SUDO apt-get update
  # shellcheck disable=SC2086
  $SUDO apt-get install -y --no-install-recommends $MISSING
fi
