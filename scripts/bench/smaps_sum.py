#!/usr/bin/env python3
"""Sums /proc/PID/smaps copies by kind of mapping, to see which kind of memory a process grew.

    scripts/bench/smaps_sum.py A.smaps [B.smaps ...]

One column per file (PSS MiB), one row per kind: glibc malloc's main heap ([heap]), anonymous
mappings by size (under 4 MiB: mostly WebKit's allocator and the JavaScript heap's blocks in a
web process; 4 MiB to 1 GiB: glibc's other arenas, a thread's used part each, and large
buffers), shared memory (memfd, /dev/shm), libraries and other files. With two files or more, a last
column gives the change from the first to the last. `memory_turns` writes these copies with
MEMORY_SMAPS=DIR.
"""
import re
import sys

HEADER = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")


def kind(start: int, end: int, name: str) -> str:
    size = end - start
    if name == "[heap]":
        return "malloc main heap [heap]"
    if name.startswith("[stack"):
        return "stacks"
    if name.startswith("/memfd:") or name.startswith("/dev/shm"):
        return "shared memory (" + name.split(" ")[0].split(":")[0] + ")"
    if name.endswith(".so") or ".so." in name:
        return "libraries"
    if name.startswith("/"):
        return "other files"
    if name.startswith("["):
        return name
    mib = size / (1 << 20)
    if mib >= 1024:
        return "anon, reservation >= 1 GiB"
    if mib >= 4:
        return "anon, 4 MiB - 1 GiB"
    return "anon, < 4 MiB"


def summed(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    current = None
    with open(path) as f:
        for line in f:
            m = HEADER.match(line)
            if m:
                current = kind(int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip())
                continue
            if line.startswith("Pss:") and current is not None:
                out[current] = out.get(current, 0) + int(line.split()[1])
    return out


def main() -> None:
    files = sys.argv[1:]
    if not files:
        sys.exit(__doc__)
    sums = [summed(p) for p in files]
    kinds = sorted({k for s in sums for k in s}, key=lambda k: -max(s.get(k, 0) for s in sums))
    head = ["PSS MiB"] + [p.rsplit("/", 1)[-1].removesuffix(".smaps") for p in files] + (["change"] if len(files) > 1 else [])
    print("| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    for k in kinds + ["total"]:
        row = [sum(s.values()) if k == "total" else s.get(k, 0) for s in sums]
        cells = [f"{v / 1024:.1f}" for v in row] + ([f"{(row[-1] - row[0]) / 1024:+.1f}"] if len(row) > 1 else [])
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
