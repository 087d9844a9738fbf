#!/usr/bin/env bash
# Recompresses .deb files in place with xz -9, dpkg's own default format:
#
#   scripts/deb-xz.sh target/release/bundle/deb/Tally_0.1.0_amd64.deb [more.deb ...]
#
# Tauri's deb bundler writes a gzip data archive. At -9, xz's 64 MiB window also spans both of
# Tally's binaries, so the engine the app and tally-cli share is stored about once: 20.1 MiB with
# gzip, 9.9 with xz -9 (xz -6, an 8 MiB window: 15.3). Same files, same control data, owned by
# root; apt and dpkg read either (BENCHMARKS.md, "Release build and bundles").
set -euo pipefail
for deb in "$@"; do
  unpacked=$(mktemp -d)
  dpkg-deb --raw-extract "$deb" "$unpacked/root"
  nice -n 10 dpkg-deb --root-owner-group -Zxz -z9 --build "$unpacked/root" "$unpacked/xz.deb" >/dev/null
  mv "$unpacked/xz.deb" "$deb"
  rm -rf "$unpacked"
done
