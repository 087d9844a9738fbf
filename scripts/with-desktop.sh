#!/usr/bin/env bash
# Runs a command with a desktop session even on a machine without one: an X display (Xvfb),
# a D-Bus session, and a fresh gnome-keyring unlocked with a throwaway password. Everything it
# starts ends with the command. Used by the tests; also handy to run the app on a server.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/with-desktop.sh COMMAND [ARGS…]" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/data" "$tmp/runtime"
chmod 700 "$tmp/runtime"
# A fresh keyring dir: an old login.keyring with another password would stay locked.
export XDG_DATA_HOME="$tmp/data" XDG_RUNTIME_DIR="$tmp/runtime" NO_AT_BRIDGE=1

inner=$(printf '%q ' "$@")
run_in_session="printf tally-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec $inner"
if [ -n "${DISPLAY:-}" ] && [ -z "${CI:-}" ]; then
  exec dbus-run-session -- bash -c "$run_in_session" 2> >(grep -v 'Failed to set fd limit' >&2)
fi
# Xvfb outside, so the services D-Bus starts can see the display.
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c "$run_in_session" 2> >(grep -v 'Failed to set fd limit' >&2)
