#!/usr/bin/env bash
# Footprint of the release app beside a bare Tauri 2 window built with the same profile, in the
# same run: bundle sizes, installed size, time from exec to the first paint of content (cold and
# warm), and memory of the app with its WebKit processes after 10 s idle.
#
#   scripts/package.sh                 # the app's bundles (release profile)
#   scripts/bench/footprint.sh         # builds the bare window's bundles, then measures both
#
# "First paint of content": the screen (Xvfb, 1280×800, the window fills it) is captured with
# xwd every ~30 ms from just before exec; the time is that of the first capture with more than
# 16 colours (a blank or half-made window has one or two). The capture loop costs some CPU, the
# same for both apps. Cold: after dropping the page cache (`/proc/sys/vm/drop_caches`); warm: the
# median of 5 starts right after. Memory: RSS and PSS (shared pages split between processes) of
# the app process and every process it started (WebKitWebProcess, WebKitNetworkProcess), from
# /proc, 10 s after exec. Each app runs with a throwaway HOME (its data dir created by a first,
# unmeasured start). Results: target/bench-footprint/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
root=$(pwd)
out=$root/target/bench-footprint
say() { printf '\033[1m[footprint]\033[0m %s\n' "$*" >&2; }

if [ "${1:-}" != "--inside" ]; then
  ls target/release/bundle/deb/Tally_*.deb >/dev/null 2>&1 || { echo "run scripts/package.sh first" >&2; exit 1; }
  # The bare window from the same cargo command as the app (scripts/package.sh): same profile,
  # same tauri with the same features. Nothing but the bare window is rebuilt when the app is
  # fresh (TALLY_EXTRA_PACKAGES="-p tally-bare-window" scripts/package.sh builds all three).
  say "the bare window (same profile, same cargo command as the app)"
  nice -n 10 cargo build --release --locked -p tally -p tally-cli -p tally-bare-window --features tauri/custom-protocol >&2
  say "the bare window's bundles"
  TAURI_APP_PATH=$root/src-tauri/bare-window TAURI_FRONTEND_PATH=$root/src-tauri/bare-window \
    nice -n 10 npx --no-install tauri bundle --ci --bundles deb,rpm >&2
  # Compressed as Tally's is (scripts/package.sh).
  scripts/deb-xz.sh target/release/bundle/deb/Tally\ Bare\ Window_*.deb
  rm -rf "$out" && mkdir -p "$out"
  # Tally turns WebKit's compositing off where OpenGL can only be software (src-tauri/rendering.rs);
  # the bare window has no such code, so it gets the same choice here, or the two would be drawn
  # two different ways. (Tally sees the variable set and leaves it as it is.)
  if ! ls /dev/dri/renderD* >/dev/null 2>&1; then export WEBKIT_DISABLE_COMPOSITING_MODE=1; fi
  exec scripts/with-desktop.sh "$root/scripts/bench/footprint.sh" --inside
fi

size_of() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The process and everything it started, recursively.
tree_pids() {
  local p=$1
  echo "$p"
  for c in $(pgrep -P "$p" || true); do tree_pids "$c"; done
}

# "rss_kib pss_kib name" per process of the tree, then a total line.
memory_of() {
  local total_rss=0 total_pss=0
  for p in $(tree_pids "$1"); do
    [ -r "/proc/$p/smaps_rollup" ] || continue
    local name rss pss
    name=$(cat "/proc/$p/comm")
    rss=$(awk '/^Rss:/ { print $2 }' "/proc/$p/smaps_rollup")
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup")
    echo "$rss $pss $name"
    total_rss=$((total_rss + rss)) total_pss=$((total_pss + pss))
  done
  echo "$total_rss $total_pss TOTAL"
}

# Starts $1, returns "ms_to_first_content" and leaves memory figures in $2.
run_once() {
  local bin=$1 memfile=$2 frames
  frames=$(mktemp -d /dev/shm/footprint.XXXXXX)
  local t0 last="" t pid
  t0=$(now_ms)
  "$bin" >/dev/null 2>&1 &
  pid=$!
  # Capture distinct frames for 8 s.
  while :; do
    t=$(( $(now_ms) - t0 ))
    [ "$t" -lt 8000 ] || break
    xwd -root -silent >"$frames/cur" 2>/dev/null || true
    local sum
    sum=$(md5sum <"$frames/cur" | cut -c1-32)
    if [ "$sum" != "$last" ]; then
      mv "$frames/cur" "$frames/$(printf '%06d' "$t").xwd"
      last=$sum
    fi
    sleep 0.03
  done
  # Idle until 10 s after exec, then the memory of the whole tree.
  while [ $(( $(now_ms) - t0 )) -lt 10000 ]; do sleep 0.1; done
  memory_of "$pid" >"$memfile"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local first=""
  for f in "$frames"/[0-9]*.xwd; do
    local colours
    colours=$(identify -format '%k' "$f" 2>/dev/null || echo 0)
    if [ "$colours" -gt 16 ]; then
      first=$(basename "$f" .xwd)
      convert "$f" "$memfile.png" 2>/dev/null || true
      break
    fi
  done
  rm -rf "$frames"
  echo "${first:-none}" | sed 's/^0*\([0-9]\)/\1/'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

measure() {
  local label=$1 bin=$2 deb=$3 rpm=$4
  local home
  home=$(mktemp -d)
  export HOME=$home XDG_DATA_HOME=$home/share XDG_CONFIG_HOME=$home/config XDG_CACHE_HOME=$home/cache
  unset TALLY_DATA_DIR
  say "$label: first start (creates its data), unmeasured"
  run_once "$bin" "$out/$label-first.mem" >/dev/null
  local cold="n/a"
  if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
    say "$label: cold start (page cache dropped)"
    cold=$(run_once "$bin" "$out/$label-cold.mem")
  fi
  local warm=() i
  for i in 1 2 3 4 5; do
    say "$label: warm start $i"
    warm+=("$(run_once "$bin" "$out/$label-warm$i.mem")")
  done
  local warm_med
  warm_med=$(printf '%s\n' "${warm[@]}" | median)
  # The memory of the warm run whose total RSS is the median.
  local memfile
  memfile=$(for i in 1 2 3 4 5; do echo "$(tail -1 "$out/$label-warm$i.mem" | cut -d' ' -f1) $out/$label-warm$i.mem"; done | sort -n | sed -n 3p | cut -d' ' -f2-)
  local installed
  installed=$(dpkg-deb -f "$deb" Installed-Size)
  {
    echo "| $label | $(mib "$(size_of "$deb")") | $(mib "$(size_of "$rpm")") | $(mib $((installed * 1024))) | $(mib "$(size_of "$bin")") | $cold | $warm_med (${warm[*]}) | $(tail -1 "$memfile" | awk '{ printf "%.0f / %.0f", $1 / 1024, $2 / 1024 }') | $(grep -v TOTAL "$memfile" | awk '{ printf "%s %.0f/%.0f; ", $3, $1 / 1024, $2 / 1024 }') |"
  } >>"$out/rows.md"
  # Tally's start-up spans (engine/src/logs.rs writes each span's duration when it closes).
  if ls "$XDG_DATA_HOME"/*/logs/*.log >/dev/null 2>&1; then
    grep -h "startup" "$XDG_DATA_HOME"/*/logs/*.log >"$out/$label-startup-spans.log" || true
  fi
  rm -rf "$home"
}

deb_app=$(ls -t target/release/bundle/deb/Tally_*.deb | head -1)
rpm_app=$(ls -t target/release/bundle/rpm/Tally-*.rpm | head -1)
deb_bare=$(ls -t target/release/bundle/deb/Tally\ Bare\ Window_*.deb | head -1)
rpm_bare=$(ls -t target/release/bundle/rpm/Tally\ Bare\ Window-*.rpm | head -1)

measure "bare Tauri 2 window" target/release/tally-bare-window "$deb_bare" "$rpm_bare"
measure "Tally" target/release/tally "$deb_app" "$rpm_app"

{
  echo "Run on $(date -u +%Y-%m-%d) ($(nproc) cores, $(uname -r)), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| app | .deb MiB | .rpm MiB | installed MiB | binary MiB | exec → content, cold ms | warm ms, median (5 runs) | RSS / PSS MiB after 10 s, with WebKit | per process RSS/PSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|"
  cat "$out/rows.md"
} | tee "$out/results.md"
