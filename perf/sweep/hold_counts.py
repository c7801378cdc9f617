#!/usr/bin/env python3
"""How often each policy held each point across repeated runs (a ceiling probe's rounds), with analyze.py's
definition of *within budget* (at least 99% of the requests sent answered 200, and their p95 at most the
budget).

    python3 perf/sweep/hold_counts.py docs/results/ceiling-probe-after-v7-round*.csv ranker=120 moderation=80

Prints, per model, rate and policy: runs held / runs, and each run's p95 ms with the share of requests sent that
were not answered 200 (collapsed runs send fewer, so the share is over requests sent, not offered), and the window's
machine canary in ms when the CSV has one (higher = a slower machine; PolicySweepSimulation's canary_ms).
"""
import math
import sys

from analyze import load, within


def cell(r):
    canary = r.get("canary_ms", math.nan)
    extra = "" if math.isnan(canary) else f", canary {canary:.1f}"
    if not r["sent"] > 0:
        return f"nothing sent{extra}"
    return f"{r['fine_ok_p95_ms']:.1f} ({100 * (r['sent'] - r['ok']) / r['sent']:.1f}%{extra})"


def main(argv):
    paths = [a for a in argv if "=" not in a]
    budgets = {k: float(v) for k, v in (a.split("=", 1) for a in argv if "=" in a)}
    if not paths or not budgets:
        sys.exit(__doc__)
    points = {}
    for path in paths:
        for r in load(path):
            if r["model"] in budgets:
                points.setdefault((r["model"], r["offered_rps"], r["policy"]), []).append(r)
    print("| model | offered req/s | policy | held | runs: p95 ms (not answered 200) |")
    print("|---|---|---|---|---|")
    for (model, rate, policy), runs in sorted(points.items()):
        held = sum(within(r, budgets[model]) for r in runs)
        cells = ", ".join(cell(r) for r in runs)
        print(f"| {model} | {rate:.0f} | {policy} | {held} / {len(runs)} | {cells} |")


if __name__ == "__main__":
    main(sys.argv[1:])
