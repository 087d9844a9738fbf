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
# If the keyring daemon ever goes away mid-run, the next keyring call makes D-Bus start one again.
# The stock service file starts it locked, and under Xvfb its unlock prompt waits for a password
# nobody types: the test hangs. $XDG_DATA_HOME/dbus-1/services comes first in the session bus's
# service dirs, so this one wins and every daemon D-Bus starts is unlocked with the test password.
mkdir -p "$tmp/data/dbus-1/services"
cat > "$tmp/data/dbus-1/services/org.freedesktop.secrets.service" <<'SERVICE'
[D-BUS Service]
Name=org.freedesktop.secrets
Exec=/bin/sh -c "printf tally-test | exec gnome-keyring-daemon --foreground --unlock --components=secrets"
SERVICE

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
