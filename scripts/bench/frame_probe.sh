#!/usr/bin/env bash
# The frame probe (issue 12): the release app under Xvfb with the fake provider, 8 columns ×
# 2,000 tokens at 62 and at 1,000 tokens/s each, and 1 column at 2,000 tokens/s; frame gaps,
# provider's last byte → UI done, and Stop click → every answer stopped, measured in the page.
#   scripts/bench/frame_probe.sh            # build (nice) and run every scenario
#   scripts/bench/frame_probe.sh "1,000"    # only scenarios whose name contains this
#   TALLY_APP=/path/to/tally scripts/bench/frame_probe.sh   # probe another build (no build step)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
if [ -z "${TALLY_APP:-}" ]; then
  npm run --silent build
  nice -n 10 cargo build --release --bin tally
  export TALLY_APP="$PWD/target/release/tally"
fi
nice -n 10 cargo build -q -p tally-e2e --example frame_probe
TALLY_E2E_ISOLATED=1 scripts/with-desktop.sh target/debug/examples/frame_probe "$@"
