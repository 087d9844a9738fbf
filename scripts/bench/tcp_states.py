#!/usr/bin/env python3
"""Watches the TCP connections on this machine while a benchmark runs: every ~2 ms, for each
port with 8 or more sockets, the states of its server side and its client side, printed (with
Unix ms) whenever they change. Used to see who closes a connection when (BENCHMARKS.md, "Stop,
hop by hop"): run it beside the frame probe, then read the lines around the Stop press.

    scripts/bench/tcp_states.py SECONDS > tcp.txt &
    TALLY_APP=$PWD/target/release/tally TALLY_E2E_ISOLATED=1 \
      scripts/with-desktop.sh target/debug/examples/frame_probe 62

States are /proc/net/tcp's hex codes: 01 established, 04 FIN-wait-1, 05 FIN-wait-2,
06 TIME-WAIT (this side closed first), 08 CLOSE-WAIT (the other side closed first), 0A listen.
"""
import collections
import sys
import time

end = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 120)
last = {}
while time.time() < end:
    server = collections.defaultdict(collections.Counter)
    client = collections.defaultdict(collections.Counter)
    for row in open('/proc/net/tcp').read().split('\n')[1:]:
        f = row.split()
        if len(f) < 4:
            continue
        local, remote, state = int(f[1].split(':')[1], 16), int(f[2].split(':')[1], 16), f[3]
        server[local][state] += 1
        client[remote][state] += 1
    now = int(time.time() * 1000)
    for port in set(server) | set(client):
        if sum(server[port].values()) + sum(client[port].values()) < 8:
            continue
        seen = (dict(server[port]), dict(client[port]))
        if last.get(port) != seen:
            last[port] = seen
            print(f"{now} port {port} server side {seen[0]} client side {seen[1]}", flush=True)
    time.sleep(0.002)
