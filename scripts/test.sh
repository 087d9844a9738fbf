#!/usr/bin/env bash
# Sets everything up, then runs every test: engine and shell (cargo test, with the real keyring),
# UI (svelte-check, Vitest), and end to end (the real window through tauri-driver under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
start=$(date +%s)
step() { printf '\n\033[1m== %s (%ss)\033[0m\n' "$*" "$(( $(date +%s) - start ))"; }

step "setup"
scripts/setup.sh

step "Rust tests: engine, CLI, fake provider, app shell (real keyring in a D-Bus session)"
# ui/dist must exist for the app crate to compile; the real UI is built below.
[ -f ui/dist/index.html ] || { mkdir -p ui/dist && echo '<!doctype html><title>Tally</title>' > ui/dist/index.html; }
scripts/with-desktop.sh cargo test --workspace --exclude tally-e2e

step "generated TypeScript bindings are committed"
# cargo test just regenerated ui/src/bindings from the Rust types (ts-rs).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && ! git diff --quiet -- ui/src/bindings; then
  git --no-pager diff --stat -- ui/src/bindings
  echo "The Rust IPC types changed: commit the regenerated ui/src/bindings." >&2
  exit 1
fi

step "UI: type check and unit tests"
npm run --silent check
npm test --silent

step "UI build and app build"
npm run --silent build
cargo build -p tally

step "end to end: the real window through tauri-driver and WebKitWebDriver"
TALLY_E2E_ISOLATED=1 scripts/with-desktop.sh cargo test -p tally-e2e

step "all tests passed"
