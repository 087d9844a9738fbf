#!/usr/bin/env bash
# Memory of an app 12 s after it starts, with a throwaway HOME: PSS (shared pages split between
# the processes that map them) of the process and every process it started, from /proc. Quicker
# than footprint.sh (no bundles); run nothing else meanwhile, as other WebKit apps lower PSS.
#
#   scripts/with-desktop.sh scripts/bench/idle_memory.sh target/release/tally
#   WEBKIT_DISABLE_COMPOSITING_MODE=1 scripts/with-desktop.sh scripts/bench/idle_memory.sh target/release/tally-bare-window
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: idle_memory.sh BINARY" >&2; exit 2; }
HOME=$(mktemp -d)
export HOME
"$1" >/dev/null 2>&1 &
root=$!
sleep 12
total=0
for p in $(ps -e -o pid=,ppid= | awk -v r="$root" '{ parent[$1] = $2 } END { tree[r] = 1; grew = 1; while (grew) { grew = 0; for (p in parent) if (!(p in tree) && (parent[p] in tree)) { tree[p] = 1; grew = 1 } } for (p in tree) print p }'); do
  kib=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
  echo "  $(cat "/proc/$p/comm" 2>/dev/null) $((${kib:-0} / 1024)) MiB"
  total=$((total + ${kib:-0}))
done
echo "$(basename "$1"): $((total / 1024)) MiB PSS"
kill "$root"
wait 2>/dev/null || true
rm -rf "$HOME"
