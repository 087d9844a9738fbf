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
# Wait until the daemon owns the Secret Service name: a first keyring call before that makes D-Bus
# start a second daemon with no unlocked keyring, which prompts (and, headless, hangs).
wait_for_keyring='for _ in $(seq 100); do dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break; sleep 0.1; done'
run_in_session="printf tally-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && $wait_for_keyring && exec $inner"
if [ -n "${DISPLAY:-}" ] && [ -z "${CI:-}" ]; then
  exec dbus-run-session -- bash -c "$run_in_session" 2> >(grep -v 'Failed to set fd limit' >&2)
fi
# Xvfb outside, so the services D-Bus starts can see the display.
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash -c "$run_in_session" 2> >(grep -v 'Failed to set fd limit' >&2)
