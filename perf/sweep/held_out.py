#!/usr/bin/env python3
"""Targets 1 and 2 with the best fixed setting chosen on the other runs (held out), not on the run it is judged in.

    python3 perf/sweep/held_out.py docs/results/policy-sweep-v10-run1{0,1,2}.csv ranker=4500:120 moderation=5000:80

Why: analyze.py compares `adaptive` in a run with the best of six fixed settings *in that same run*. Each setting's
point is a draw (docs/PERF.md: at the knee a policy holds a rate in some runs and not in others), and the best of six
draws is biased upward against any single policy, `adaptive` or a fixed one: a user who tunes a fixed delay picks one
setting from past measurements and then lives with its next draw. So for each run k, the fixed setting is chosen
from the median points of the other runs, exactly as analyze.py chooses it (target 1: highest rate within budget,
then lowest p95; target 2: at each rate, the lowest p95 among those within budget), and `adaptive` is judged
against that setting's point in run k. The same test, for scale, is applied to every fixed setting as the candidate,
against the fixed setting chosen among the others: if a fixed setting passes it no more often than `adaptive`, the
target measures draws more than policy.

Needs two or more runs over the same rates and policies (the CSVs of one sweep command with different seeds).
"""
import sys

from analyze import (FIXED, against_best, best_at_rate, best_fixed_by_rate, by_policy, highest_rate_within, load,
                     median_run, points_by_key)


def chosen_settings(rows, pool, budget):
    """The fixed setting target 1 would pick from these points, and target 2's per-rate pick: analyze.py's rules."""
    by = by_policy(rows)
    rates = sorted({r["offered_rps"] for r in rows})
    present = [p for p in pool if p in by]
    best_rate = {p: highest_rate_within(by, p, rates, budget) for p in present}
    overall = best_fixed_by_rate(by, present, rates, best_rate)
    per_rate = {}
    for x in rates:
        best = best_at_rate(by, present, x, budget)
        if best is not None:
            per_rate[x] = best["policy"]
    return overall, per_rate


def held_out_medians(run_rows, budget):
    """For each run k, the median points of the other runs (analyze.py's median_run)."""
    return [[median_run(points, budget) for points in
             points_by_key(r for j, rows in enumerate(run_rows) if j != k for r in rows).values()]
            for k in range(len(run_rows))]


def judge(run_rows, others_medians, k, cand, pool, budget):
    """Candidate `cand` in run k against the settings of `pool` chosen on the other runs' median points (only among
    the settings run k measured: a run may have left some out)."""
    by = by_policy(run_rows[k])
    overall, per_rate = chosen_settings(others_medians[k], [p for p in pool if p in by], budget)
    rates = sorted(x for x in by.get(cand, {}))
    mine = highest_rate_within(by, cand, rates, budget)
    theirs = highest_rate_within(by, overall, rates, budget)
    rate_results = []
    for x in rates:
        setting = per_rate.get(x)
        if setting is None or x not in by.get(setting, {}):
            continue
        e = against_best(by, cand, [setting], x, budget)
        rate_results.append((x, setting, e["ratio"], e["met"]))
    return {"setting": overall, "cand_rate": mine, "setting_rate": theirs, "t1": mine >= theirs,
            "rates": rate_results}


def main(argv):
    paths = [a for a in argv if "=" not in a]
    models = [a for a in argv if "=" in a]
    if len(paths) < 2 or not models:
        sys.exit(__doc__)
    runs = [load(p) for p in paths]
    for spec in models:
        name, rest = spec.split("=", 1)
        capacity, budget = (float(v) for v in rest.split(":")[:2])
        # A CSV without this model (a one-model run) is left out of this model's runs.
        kept = [(path, [r for r in rows if r["model"] == name]) for path, rows in zip(paths, runs)]
        kept = [(path, rows) for path, rows in kept if rows]
        if len(kept) < 2:
            print(f"\n{name}: in fewer than two of the runs; skipped")
            continue
        run_paths = [path for path, _ in kept]
        run_rows = [rows for _, rows in kept]
        if not any(r["policy"] == "adaptive" for r in run_rows[0]) or not any(r["policy"] in FIXED for r in run_rows[0]):
            print(f"\n{name}: the runs need adaptive and at least one fixed setting; skipped")
            continue
        medians = held_out_medians(run_rows, budget)
        print(f"\n{name} (capacity {capacity:.0f} req/s, budget {budget:.0f} ms), {len(run_rows)} runs, each judged"
              " against the fixed setting chosen on the others:")
        for k in range(len(run_rows)):
            j = judge(run_rows, medians, k, "adaptive", FIXED, budget)
            met = sum(m for _, _, _, m in j["rates"])
            print(f"  run {k + 1} ({run_paths[k]}): target 1 {j['t1']} (adaptive {j['cand_rate']:.0f} vs {j['setting']}"
                  f" {j['setting_rate']:.0f}); target 2 {met}/{len(j['rates'])} rates within 10% ("
                  + ", ".join(f"{100 * x / capacity:.0f}% {s} {r:.2f}x" for x, s, r, _ in j["rates"]) + ")")
        print("  for scale, every policy judged the same way (against the fixed setting chosen among the others on"
              " the other runs): target 1 held in runs, target 2 rates within 10% over all runs")
        for cand in FIXED + ["adaptive"]:
            if not all(any(r["policy"] == cand for r in rows) for rows in run_rows):
                continue
            pool = [p for p in FIXED if p != cand]
            results = [judge(run_rows, medians, k, cand, pool, budget) for k in range(len(run_rows))]
            t1 = sum(j["t1"] for j in results)
            met = sum(m for j in results for _, _, _, m in j["rates"])
            total = sum(len(j["rates"]) for j in results)
            print(f"    {cand:12s} target 1 in {t1}/{len(results)} runs; target 2 {met}/{total} rates")


if __name__ == "__main__":
    main(sys.argv[1:])
