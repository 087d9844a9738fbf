#!/usr/bin/env bash
# Sets everything up, builds the UI and the app, and starts Tally.
# With no display (a server, CI), it starts one with Xvfb and a throwaway keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh
npm run --silent build
cargo build -p tally
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "[run] no display: starting Tally under Xvfb with a throwaway keyring (nothing will be visible)."
  exec scripts/with-desktop.sh target/debug/tally
fi
exec target/debug/tally
