#!/usr/bin/env bash
# Sets everything up, then runs every test: UI (svelte-check, Vitest), engine, CLI and shell
# (cargo test, with the real keyring in a D-Bus session), and end to end (the real window through
# tauri-driver under Xvfb). Everything is compiled once, with one feature set, then tested.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# Token tables are built once and cached (engine/src/tokens/tables.rs); every test process and
# every app the end-to-end tests start (each with its own throwaway home) share one cache.
export TALLY_CACHE_DIR="$PWD/target/tally-cache"
start=$(date +%s)
step() { printf '\n\033[1m== %s (%ss)\033[0m\n' "$*" "$(( $(date +%s) - start ))"; }

step "setup"
scripts/setup.sh

step "UI: type check, unit tests, build"
npm run --silent check
npm test --silent
npm run --silent build

step "build the app, the CLI, the fake provider and every test"
cargo build --workspace --all-targets

step "clippy, warnings as errors"
cargo clippy --workspace --all-targets -- -D warnings

step "every Rust test, end to end included (Xvfb, D-Bus, a throwaway gnome-keyring)"
TALLY_E2E_ISOLATED=1 scripts/with-desktop.sh cargo test --workspace --no-fail-fast

step "generated TypeScript bindings are committed"
# cargo test regenerates ui/src/bindings from the Rust types (ts-rs) and the command signatures
# (src-tauri/commands/bindings.rs); the UI above was built from the committed ones, so they must
# not have changed.
# A new type or command shows up as an untracked file, a changed one as a diff: both fail.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 && [ -n "$(git status --porcelain --untracked-files=all -- ui/src/bindings)" ]; then
  git --no-pager status --short --untracked-files=all -- ui/src/bindings
  echo "The Rust IPC types or commands changed: commit the regenerated ui/src/bindings." >&2
  exit 1
fi

step "all tests passed"
