#!/usr/bin/env bash
# Builds Tally for people to install: the release app and tally-cli, bundled by the Tauri CLI
# (@tauri-apps/cli, locked in package-lock.json) as a .deb and an .rpm:
#
#   scripts/package.sh                    # → target/release/bundle/{deb,rpm}/
#   TALLY_BUNDLES=appimage scripts/package.sh   # where the AppImage tools can be downloaded
#
# The .deb and .rpm bundlers work offline. The AppImage bundler downloads linuxdeploy and its
# plugins at build time, so it only works on a machine that can reach GitHub (see README,
# "Installing"). The version is Cargo.toml's; tally-cli is installed beside the app
# (/usr/bin/tally-cli). The release profile (Cargo.toml) is optimised, stripped and LTO-linked:
# expect a long build on 2 cores. Then `scripts/install-test.sh` installs the .deb for real.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
root=$(pwd)
bundles=${TALLY_BUNDLES:-deb,rpm}
say() { printf '\033[1m[package]\033[0m %s\n' "$*"; }

scripts/setup.sh

say "the UI (ui/dist, embedded in the app)"
npm run --silent build

# One cargo invocation for the app and the CLI: their shared dependencies get one feature set and
# are built once (two invocations, one per package, build the ones whose features differ twice:
# on 2 cores that is many minutes). tauri/custom-protocol is what `tauri build` would add: the app
# serves the embedded ui/dist instead of a dev server. scripts/bench/footprint.sh adds the bare
# window to this same command (same profile, same feature set).
say "the app and tally-cli (release)"
nice -n 10 cargo build --release --locked -p tally -p tally-cli --features tauri/custom-protocol ${TALLY_EXTRA_PACKAGES:-}

# `tauri bundle` packs the binaries just built (TAURI_APP_PATH: the app's Cargo.toml and
# tauri.conf.json are at the root; the bare benchmark window has its own, under src-tauri/).
say "bundles: $bundles"
TAURI_APP_PATH=$root TAURI_FRONTEND_PATH=$root nice -n 10 npx --no-install tauri bundle --ci --bundles "$bundles"

# Tauri writes the .deb with gzip; xz -9 (dpkg's default format) halves it (scripts/deb-xz.sh).
if [[ ,$bundles, == *,deb,* ]]; then
  say "recompressing the .deb with xz -9"
  scripts/deb-xz.sh target/release/bundle/deb/*.deb
fi

say "done"
for f in target/release/bundle/*/*.{deb,rpm,AppImage}; do
  [ -e "$f" ] && printf '  %s  %s\n' "$(du -h "$f" | cut -f1)" "$f"
done
exit 0
