#!/bin/sh
# Run a command (or an interactive shell) as root in a running lab guest.
# Usage: lab/ssh.sh NAME [command...]
set -eu
. "$(dirname "$0")/common.sh"
NAME=${1:-}; lab_name_check "$NAME"; shift
PORTF="$LAB/run/$NAME/port"
[ -s "$PORTF" ] || { echo "lab: guest '$NAME' is not running (no $PORTF); start it with lab/boot.sh $NAME" >&2; exit 255; }
# shellcheck disable=SC2046
exec ssh $(lab_ssh_opts) -p "$(cat "$PORTF")" root@127.0.0.1 "$@"
