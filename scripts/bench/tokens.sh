#!/usr/bin/env bash
# Token counting speed: Tally's engine (release build) and Python tiktoken on the same texts, in
# the same run. Installs tiktoken 0.14.0 into a venv under target/ the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=target/bench-tokens
mkdir -p "$dir"

cargo run -q --release -p tally-engine --example bench_tokens -- "$dir"

# The rank files, offline: bpe-openai ships tiktoken's own files (gzipped) in its crate.
manifest=$(cargo metadata --format-version 1 --locked | python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "bpe-openai"))')
for name in o200k_base cl100k_base; do
  gunzip -c "$(dirname "$manifest")/data/$name.tiktoken.gz" > "$dir/$name.tiktoken"
done

if [ ! -x "$dir/venv/bin/python" ] || ! "$dir/venv/bin/python" -c 'import tiktoken; assert tiktoken.__version__ == "0.14.0"' 2>/dev/null; then
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install -q tiktoken==0.14.0
fi
"$dir/venv/bin/python" scripts/bench/tokens_tiktoken.py "$dir"
