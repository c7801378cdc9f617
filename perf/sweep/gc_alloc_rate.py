#!/usr/bin/env python3
"""Allocation per request from a gateway's -Xlog:gc log (run-sweep.sh keeps one per gateway in its work dir's logs):
the heap freed between consecutive young collections, over the complete inter-collection intervals that lie in the
last SPAN seconds of the load, divided by the offered RATE. Coarse (G1 resizes the young generation as it goes), but
needs no profiler.

    python3 perf/sweep/gc_alloc_rate.py <gc.log> <rate req/s> <span s> [--load-end <uptime s>]

The log does not say when the load stopped. Without --load-end the span is the SPAN seconds up to the last young
collection, as it always was, but the interval that ends at that collection is left out: once the load stops the
gateway allocates almost nothing, so the last collection is about where the load ended, and its interval can hold the
load's end, or a lull, and read low (batch-join-gc-ab-new-r1: 2.32 s against a median of 1.61 s, which made 13.4 KB
a request out of 13.9). With --load-end (the gateway's uptime when the measured load stopped) the window is the
intervals that end by then and start within SPAN seconds before it.
"""
import argparse
import re
import statistics
import sys

ap = argparse.ArgumentParser(description="allocation per request from a gateway's GC log")
ap.add_argument("log")
ap.add_argument("rate", type=float, help="offered rate, requests/s")
ap.add_argument("span", type=float, help="seconds of the measured load to use, back from its end")
ap.add_argument("--load-end", type=float, help="the gateway's uptime (s) when the measured load stopped")
args = ap.parse_args()

ev = []   # (uptime s, heap before MB, heap after MB) of each young collection
for line in open(args.log):
    m = re.search(r'\[([\d.]+)s\].*Pause Young.* (\d+)M->(\d+)M\((\d+)M\)', line)
    if m:
        ev.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
if not ev:
    sys.exit(f"{args.log}: no young collections in the log (was the gateway started with -Xlog:gc?)")
if args.load_end is not None:
    end, start = args.load_end, args.load_end - args.span
    w = [e for e in ev if start <= e[0] <= end]
    left_out = ""
else:
    end, start = ev[-1][0], ev[-1][0] - args.span
    w = [e for e in ev if e[0] >= start][:-1]   # the last interval may hold the load's end
    gaps = [b[0] - a[0] for a, b in zip(ev, ev[1:]) if a[0] >= start]
    left_out = (f"; left out the last interval, {gaps[-1]:.2f} s (median {statistics.median(gaps):.2f} s)"
                if len(gaps) >= 2 else "")
if len(w) < 2 or w[-1][0] == w[0][0]:
    sys.exit(f"{args.log}: fewer than two complete intervals between young collections in the window; give a longer span")
alloc = sum(b[1] - a[2] for a, b in zip(w, w[1:]))
secs = w[-1][0] - w[0][0]
print(f"{args.log.split('/')[-1]}: {len(w)} young GCs in {secs:.1f} s, {alloc / secs:.0f} MB/s,"
      f" {alloc / secs / args.rate * 1024:.1f} KB per request{left_out}")
