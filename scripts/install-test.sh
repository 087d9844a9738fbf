#!/usr/bin/env bash
# Installs the .deb that scripts/package.sh made, for real, on this machine: `apt-get install`
# it, start /usr/bin/tally under Xvfb and check the window shows content (a screenshot with more
# than 16 colours), run `tally-cli --version` and one `tally-cli ask` against the fake provider,
# then remove (and purge) the package and check the user's data folder was left alone.
#
#   scripts/install-test.sh [path/to/tally.deb]      # as root (apt-get); Debian 12
#
# Runs inside scripts/with-desktop.sh (Xvfb, D-Bus, a throwaway unlocked keyring) with a
# throwaway HOME, so the user's own Tally data is never touched. Needs the fake provider built
# (`cargo build -p tally-fake-provider`; the script builds it if missing). Screenshots go to
# target/install-test/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
root=$(pwd)
say() { printf '\033[1m[install-test]\033[0m %s\n' "$*"; }
fail() { printf '[install-test] FAILED: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" != "--inside" ]; then
  deb=${1:-$(ls -t target/release/bundle/deb/Tally_*.deb 2>/dev/null | head -1)}
  [ -n "$deb" ] && [ -f "$deb" ] || fail "no .deb: run scripts/package.sh first, or give its path"
  [ "$(id -u)" -eq 0 ] || fail "run as root: apt-get installs the package"
  if dpkg-query -W -f='${Status}' tally 2>/dev/null | grep -q "ok installed"; then
    fail "a tally package is already installed on this machine; remove it first (apt-get remove tally)"
  fi
  command -v import >/dev/null && command -v identify >/dev/null || {
    say "installing imagemagick (screenshots)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends imagemagick >/dev/null
  }
  fake=target/debug/tally-fake-provider
  [ -x "$fake" ] || cargo build -q -p tally-fake-provider
  out=$root/target/install-test
  rm -rf "$out" && mkdir -p "$out"
  exec scripts/with-desktop.sh "$root/scripts/install-test.sh" --inside "$(realpath "$deb")" "$root/$fake" "$out"
fi

deb=$2 fake=$3 out=$4
home=$(mktemp -d)
# One throwaway home for the app and the CLI; its data folder must outlive the package.
export HOME=$home XDG_DATA_HOME=$home/.local/share XDG_CONFIG_HOME=$home/.config XDG_CACHE_HOME=$home/.cache
data=$XDG_DATA_HOME/dev.tally.desktop
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if dpkg-query -W -f='${Status}' tally 2>/dev/null | grep -q "ok installed"; then
    DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq tally >/dev/null 2>&1 || true
  fi
  rm -rf "$home"
}
trap cleanup EXIT

say "apt-get install $(basename "$deb")"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$out/apt-install.log" 2>&1 || { cat "$out/apt-install.log"; fail "apt-get install"; }
for f in /usr/bin/tally /usr/bin/tally-cli /usr/share/applications/Tally.desktop; do
  [ -e "$f" ] || fail "$f is not installed (dpkg -L tally: $(dpkg -L tally | tr '\n' ' '))"
done
ls /usr/share/icons/hicolor/*/apps/tally.png >/dev/null || fail "no icon under /usr/share/icons/hicolor"
grep -q '^Exec=tally' /usr/share/applications/Tally.desktop || fail "the desktop entry does not start tally"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
say "tally-cli --version"
cli_version=$(tally-cli --version)
[ "$cli_version" = "tally-cli $version" ] || fail "tally-cli --version said '$cli_version', expected 'tally-cli $version'"
[ "$(dpkg-query -W -f='${Version}' tally)" = "$version" ] || fail "the package's version is not Cargo.toml's $version"

say "start the fake provider"
"$fake" --port 0 >"$out/fake.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "OpenAI-compatible base URL" "$out/fake.log" && break; sleep 0.1; done
base=$(sed -n 's/.*OpenAI-compatible base URL: *//p' "$out/fake.log")
[ -n "$base" ] || fail "the fake provider did not start: $(cat "$out/fake.log")"

say "tally-cli ask against the fake provider"
answer=$(OPENAI_API_KEY=test-key-install-0000000000 tally-cli ask "Say hi [[fake tokens=12]]" -t openai:gpt-4o-mini --base-url "openai=$base")
echo "$answer" >"$out/ask.jsonl"
echo "$answer" | grep -q '"error":null' || fail "tally-cli ask failed: $answer"
echo "$answer" | grep -q '"output_tokens":12' || fail "tally-cli ask did not get the 12 tokens asked for: $answer"
[ -s "$data/tally.sqlite3" ] || fail "tally-cli ask wrote no database in $data"

say "start /usr/bin/tally and wait for its window"
/usr/bin/tally >"$out/tally.log" 2>&1 &
tally_pid=$!
pids+=("$tally_pid")
colours=0
for i in $(seq 240); do   # polls for up to a minute; a failure guard, not a speed check
  kill -0 "$tally_pid" 2>/dev/null || fail "tally exited: $(cat "$out/tally.log")"
  if xwininfo -root -tree 2>/dev/null | grep -q '"Tally"'; then
    import -window root "$out/window.png" 2>/dev/null || true
    colours=$(identify -format '%k' "$out/window.png" 2>/dev/null || echo 0)
    [ "$colours" -gt 16 ] && break
  fi
  sleep 0.25
done
[ "$colours" -gt 16 ] || fail "the window showed no content ($colours colours in $out/window.png)"
say "the window shows content: $colours colours ($out/window.png)"
ls "$data"/logs/tally.*.log >/dev/null 2>&1 || fail "the app wrote no log file in $data/logs"
kill "$tally_pid"
wait "$tally_pid" 2>/dev/null || true

say "remove the package; the data folder must stay"
before=$(cd "$data" && find . -type f ! -path './logs/*' ! -name '*-wal' ! -name '*-shm' -printf '%p %s\n' | sort)
# Purge (remove and forget its configuration) in one step: once removed, a package installed from
# a file is unknown to apt, so a separate `apt-get purge` would fail.
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq tally >"$out/apt-remove.log" 2>&1 || { cat "$out/apt-remove.log"; fail "apt-get purge"; }
! dpkg-query -W -f='${Status}' tally 2>/dev/null | grep -q "installed" || fail "dpkg still lists tally: $(dpkg-query -W -f='${Status}' tally)"
for f in /usr/bin/tally /usr/bin/tally-cli /usr/share/applications/Tally.desktop; do
  [ ! -e "$f" ] || fail "$f is still there after removal"
done
after=$(cd "$data" && find . -type f ! -path './logs/*' ! -name '*-wal' ! -name '*-shm' -printf '%p %s\n' | sort)
[ -n "$before" ] && [ "$before" = "$after" ] || fail "the data folder changed on removal: before [$before] after [$after]"
echo "$after" | grep -q tally.sqlite3 || fail "the database is gone"
say "passed: installed, window with content, tally-cli version and ask, removed with the data folder kept"
