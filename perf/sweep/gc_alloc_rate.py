#!/usr/bin/env python3
"""Allocation per request from a gateway's -Xlog:gc log (run-sweep.sh keeps one per gateway in its work dir's logs):
the heap freed between consecutive young collections over the last SPAN seconds of collections, divided by the
offered RATE. Coarse (G1 resizes the young generation as it goes), but needs no profiler.

    python3 perf/sweep/gc_alloc_rate.py <gc.log> <rate req/s> <span s>
"""
import re, sys
f, rate, span = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ev = []
for l in open(f):
    m = re.search(r'\[([\d.]+)s\].*Pause Young.* (\d+)M->(\d+)M\((\d+)M\)', l)
    if m: ev.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
if not ev:
    sys.exit(f"{f}: no young collections in the log (was the gateway started with -Xlog:gc?)")
end = ev[-1][0]; w = [e for e in ev if e[0] >= end - span]
if len(w) < 2 or w[-1][0] == w[0][0]:
    sys.exit(f"{f}: fewer than two young collections in the last {span:g} s; give a longer span")
alloc = sum(b[1] - a[2] for a, b in zip(w, w[1:])); secs = w[-1][0] - w[0][0]
print(f"{f.split('/')[-1]}: {len(w)} young GCs in {secs:.1f} s, {alloc / secs:.0f} MB/s, {alloc / secs / rate * 1024:.1f} KB per request")
