#!/usr/bin/env python3
"""Which published target 3 goodputs move under analyze.py --goodput-from-sent (standard library only).

    python3 perf/sweep/goodput_from_sent_check.py <sweep CSV>... ranker=4500:120 moderation=5000:80

Round-robin CSVs written before PolicySweepSimulation summed its slices' real counting spans divide each policy's
answers by the nominal rounds x (slice - guard - tail), though every slice after a rate's first counted only from its
switch's acknowledgement; analyze.py --goodput-from-sent takes the span as sent / offered rate instead. For each CSV
and model (name=capacity_rps:budget_ms), this prints adaptive's goodput at 2x capacity as a share of capacity, as
published and corrected, and marks a point whose goodput verdict (>= 90%) changes. Each CSV is judged on its own, as
analyze.py's per-run verdicts are. CSVs whose measure_s is a whole number of seconds throughout (one window per
point, not round-robin) are skipped: they have no switches to correct for.
"""
import sys

import analyze


def main(argv):
    csvs = [a for a in argv if "=" not in a]
    models = dict((a.split("=")[0], tuple(float(x) for x in a.split("=")[1].split(":"))) for a in argv if "=" in a)
    if not csvs or not models:
        sys.exit(__doc__)
    for path in csvs:
        published, corrected = analyze.load(path), analyze.load(path, goodput_from_sent=True)
        if all(r["measure_s"] == int(r["measure_s"]) for r in published):
            print(f"{path}: one window a point, skipped")
            continue
        for model, (capacity, budget) in models.items():
            a = [r for r in published if r["model"] == model]
            b = [r for r in corrected if r["model"] == model]
            if not a:
                continue
            x = analyze.evaluate(a, capacity, budget)[3].get("at_2x")
            y = analyze.evaluate(b, capacity, budget)[3].get("at_2x")
            if x is None or y is None:
                print(f"{path} {model}: no point at 2x")
                continue
            flip = "  verdict changes" if x["goodput_met"] != y["goodput_met"] else ""
            print(f"{path} {model}: {x['goodput_pct_of_capacity']:.1f}% -> {y['goodput_pct_of_capacity']:.1f}%{flip}")


if __name__ == "__main__":
    main(sys.argv[1:])
