"""Counts the benchmark texts with Python tiktoken, offline: the rank files are the ones shipped in
the bpe-openai crate (checked against tiktoken's own expected SHA-256), and the encodings'
patterns and special tokens come from tiktoken itself. Prints lines in the Rust example's format.

Usage: tokens_tiktoken.py DIR   (DIR holds mixed.txt, spaces.txt and the *.tiktoken rank files)
"""

import statistics
import sys
import time
from pathlib import Path

import tiktoken
import tiktoken.load
import tiktoken_ext.openai_public as public

ROUNDS = 7
DIR = Path(sys.argv[1])


def encoding(name):
    local = str(DIR / f"{name}.tiktoken")
    public.load_tiktoken_bpe = lambda _url, expected_hash=None: tiktoken.load.load_tiktoken_bpe(local, expected_hash)
    return tiktoken.Encoding(**getattr(public, name)())


def bench(enc, case, text):
    times, tokens = [], 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        tokens = len(enc.encode_ordinary(text))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    median = statistics.median(times)
    print(f"python-tiktoken-{tiktoken.__version__} {enc.name} {case} tokens={tokens} best_ms={times[0]:.2f} median_ms={median:.2f} tokens_per_s={tokens / (median / 1000):.0f}")


for name in ["o200k_base", "cl100k_base"]:
    start = time.perf_counter()
    enc = encoding(name)
    enc.encode_ordinary("load")
    print(f"python-tiktoken-{tiktoken.__version__} {name} load ms={(time.perf_counter() - start) * 1000:.1f}")
    for case in ["mixed", "spaces"]:
        bench(enc, case, (DIR / f"{case}.txt").read_text(encoding="utf-8"))
