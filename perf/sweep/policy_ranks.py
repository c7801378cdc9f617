#!/usr/bin/env python3
"""Where `adaptive` ranks among the batching policies, point by point, over many sweep runs (round-robin CSVs).

    python3 perf/sweep/policy_ranks.py docs/results/policy-sweep-v8-run*.csv \
        docs/results/policy-sweep-v9-gap15-run*.csv ranker=4500 moderation=5000

At each (run, model, rate) that has all of them, the policies that batch (every fixed delay of 0.5 ms or more, and
adaptive) are ranked by p95 (1 = lowest; a point without answers ranks last). If adaptive were just another draw of
the same behaviour, its mean rank would be 3.5 of 6. Printed per model and load band (below capacity, 100-130%,
140% and up): each policy's mean rank, adaptive's rank histogram, and each policy's gateway CPU per request and mean
requests per batch, the CPU relative to the mean of the six at the same point (so that slow spells of the machine,
which raise every policy's CPU alike, cancel).
"""
import math
import statistics
import sys

from analyze import FIXED, by_policy, load

GROUP = [p for p in FIXED if p != "fixed-0ms"] + ["adaptive"]
BANDS = [("below 100%", 0.0, 0.99), ("100-130%", 1.0, 1.3), ("140% and up", 1.4, math.inf)]


def p95_or_last(r):
    v = r["fine_ok_p95_ms"]
    return math.inf if math.isnan(v) else v


def main(argv):
    paths = [a for a in argv if "=" not in a]
    capacities = {k: float(v) for k, v in (a.split("=", 1) for a in argv if "=" in a)}
    if not paths or not capacities:
        sys.exit(__doc__)
    runs = [load(p) for p in paths]
    for model, capacity in capacities.items():
        for band, lo, hi in BANDS:
            ranks = {p: [] for p in GROUP}
            cpu = {p: [] for p in GROUP}
            batch = {p: [] for p in GROUP}
            for rows in runs:
                by = by_policy(r for r in rows if r["model"] == model)
                for rate in sorted({x for rates in by.values() for x in rates}):
                    points = {p: by[p][rate] for p in GROUP if rate in by.get(p, {})}
                    if not (lo * capacity <= rate <= hi * capacity) or len(points) < len(GROUP):
                        continue
                    order = sorted(GROUP, key=lambda p: p95_or_last(points[p]))
                    costs = [points[p]["server_cpu_ms_per_req"] for p in GROUP]
                    mean_cost = statistics.mean(costs) if not any(math.isnan(c) for c in costs) else math.nan
                    for p in GROUP:
                        ranks[p].append(order.index(p) + 1)
                        if not math.isnan(mean_cost):
                            cpu[p].append(points[p]["server_cpu_ms_per_req"] / mean_cost)
                        if not math.isnan(points[p]["mean_batch_requests"]):
                            batch[p].append(points[p]["mean_batch_requests"])
            n = len(ranks["adaptive"])
            if n == 0:
                continue
            hist = [ranks["adaptive"].count(k) for k in range(1, len(GROUP) + 1)]
            print(f"{model} {band}: {n} points; adaptive's ranks 1..{len(GROUP)}: {hist}")
            for p in GROUP:
                rel = f"{statistics.mean(cpu[p]):.3f}" if cpu[p] else "-"
                req = f"{statistics.mean(batch[p]):.2f}" if batch[p] else "-"
                print(f"  {p:12s} mean rank {statistics.mean(ranks[p]):.2f}  CPU/request vs the six {rel}"
                      f"  requests/batch {req}")


if __name__ == "__main__":
    main(sys.argv[1:])
