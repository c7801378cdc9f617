#!/usr/bin/env python3
"""Evaluates the batching-policy sweep (docs/results/policy-sweep.csv) against the targets of docs/PERF.md,
"## Batching policies under load", and writes the tables and verdicts there use (standard library only).

    python3 perf/sweep/analyze.py docs/results/policy-sweep.csv ranker=3500:120:50 moderation=5000:80:1 \
        --json docs/results/policy-sweep-summary.json > docs/results/policy-sweep-summary.md

Each model argument is name=capacity_rps:budget_ms:rows_per_request. Several CSVs (repeat runs of the same sweep) may
be given: each point (model, policy, rate) is then the run's point of median rank when the runs' points are ordered
by (not within budget, p95), i.e. a measured point, not an average; every policy is treated the same way. The
verdicts are also given per run.

--goodput-from-sent takes each point's counting span as sent / offered rate (goodput ok x offered / sent, CPU per
request scaled to match): a correction for round-robin CSVs written before the simulation summed its slices' real
counting spans into measure_s (span_from_sent says why it holds and where it does not).

--twin FIRST=SECOND (repeatable) adds an A/A check for a sweep that ran one policy twice under two names (run-sweep.sh
accepts adaptive-k5 for adaptive's defaults and fixed-1.0ms for fixed-1ms): how often the twins' p95s are within 10% of
each other, and whether their within-budget verdicts agree, is the resolution targets 1 and 2 are measured with.

Definitions (stated again in PERF.md):
  * latency: the simulation's fine timing, from the virtual user's start to the response. Not from the scheduled
    arrival: Gatling does not expose it, so when Gatling itself falls behind its schedule under overload, that lag is
    not counted (coordinated omission) and the latencies of such points are low by an unknown amount.
    BoundedPoolLoad's CSVs (run-sweep.sh --generator bounded) time from the scheduled arrival ("due");
  * target 2 is met at a rate when adaptive's p95 is within 10% of the best fixed setting's and adaptive is within
    budget wherever that setting is (or when adaptive alone is within budget there);
  * target 3's p99 of admitted requests (200, 504 and other failures; 429s are shed, not admitted) is within budget
    when 504s and other failures are at most 1% of the admitted and the p99 of the 200s is within budget;
  * a rate is *within budget* for a policy when at least 99% of the offered requests were answered 200 and the p95
    of those answers is at most the budget;
  * the best fixed setting at a rate is the fixed-* policy with the lowest p95 among those within budget there (or,
    when none is, the lowest p95 of any fixed-* run);
  * the batching ceiling is (cores - background cores) / (HTTP/JSON CPU per request + generator CPU per request +
    rows x per-row compute at the largest batches reached); per-request CPU and background are the slope and the
    intercept of a line fitted over the points within budget (which must span at least 1.5x in goodput, or the
    ceiling is not computed); the server-alone ceiling leaves the generator out.
"""
import argparse
import csv
import json
import math
import os
import sys

FIXED = ["fixed-0ms", "fixed-0.5ms", "fixed-1ms", "fixed-2ms", "fixed-5ms", "fixed-10ms"]
ORDER = ["none"] + FIXED + ["adaptive"]


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return math.nan


def load(path, goodput_from_sent=False):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r.get("closed_users", "0") not in ("0", ""):
                continue
            r = {k: (v if k in ("model", "policy") else num(v)) for k, v in r.items()}
            if goodput_from_sent:
                span_from_sent(r)
            rows.append(r)
    return rows


def span_from_sent(r):
    """--goodput-from-sent, for round-robin CSVs written before PolicySweepSimulation summed each slice's real
    counting span: their measure_s is the nominal rounds x (slice - guard - tail), but a slice counts from its switch's
    acknowledgement plus the guard, so every slice after a run's first lost the acknowledgement's time (about 1% at
    half load, up to 25% for one slice at 2x), and goodput (ok / measure_s) read low and CPU per request (ticks over
    the nominal windows / requests counted) high by that factor. The generator's arrivals are Poisson at the offered
    rate, so sent / offered rate estimates the seconds in which requests were really counted: goodput becomes
    ok x offered / sent, and both CPUs per request are scaled by that span over measure_s (cores x span / sent).
    Where Gatling itself fell behind its schedule through a slice, it started fewer users than the offered rate in the
    span, and this credits the gateway with the unsent ones at the same share answered 200."""
    if not (r["sent"] > 0 and r["offered_rps"] > 0 and r["measure_s"] > 0):
        return
    span = r["sent"] / r["offered_rps"]
    scale = span / r["measure_s"]
    r["goodput_rps"] = r["ok"] / span
    for k in ("server_cpu_ms_per_req", "generator_cpu_ms_per_req"):
        r[k] = r[k] * scale
    r["measure_s"] = span


def within(r, budget):
    return r["sent"] > 0 and r["ok"] >= 0.99 * r["sent"] and r["fine_ok_p95_ms"] <= budget


def by_policy(rows):
    """{policy: {offered rate: row}} of one run's (or one set of median) points."""
    by = {}
    for r in rows:
        by.setdefault(r["policy"], {})[r["offered_rps"]] = r
    return by


def highest_rate_within(by, policy, rates, budget):
    """The highest offered rate at which `policy` was within budget (0 if none)."""
    return max((x for x in rates if x in by[policy] and within(by[policy][x], budget)), default=0.0)


def slow_windows(run_rows, factor=1.1):
    """(run number, row) of the windows whose machine canary (canary_ms, CSVs after v7) read at least `factor` times
    the median of all of them: measured while the VM itself ran slower (docs/PERF.md, "Slow spells of the machine")."""
    readings = [r["canary_ms"] for rows in run_rows for r in rows if not math.isnan(r.get("canary_ms", math.nan))]
    if not readings:
        return []
    limit = factor * median(readings)
    return [(k, r) for k, rows in enumerate(run_rows, 1) for r in rows if r.get("canary_ms", math.nan) >= limit]


def admitted_failed_share(r):
    """Share of the admitted requests (not shed with 429) that ended in a 504, a timeout or a connection error."""
    admitted = r["ok"] + r["ko_504"] + r["ko_other"]
    return (r["ko_504"] + r["ko_other"]) / admitted if admitted > 0 else math.nan


def admitted_p99_within(r, budget):
    """Whether the p99 of the requests a point admitted was within budget. The CSV has the p99 of its 200 answers
    only; a 504 ends at the request's deadline and a timeout or connection error later, none of them within budget,
    so when they are more than 1% of the admitted the admitted p99 is past the budget whatever the 200s' p99."""
    return admitted_failed_share(r) <= 0.01 and r["fine_ok_p99_ms"] <= budget


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else math.nan


def fit(points):
    """Least-squares line y = a + b x; returns (a, b)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx > 0 else 0.0
    return my - b * mx, b


def fmt(v, digits=1):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}"


def table(out, policies, rates, by, heading, cell):
    """One Markdown table: a row per policy, a column per offered rate, empty where a point is missing."""
    out.write("| policy | " + " | ".join(heading(x) for x in rates) + " |\n")
    out.write("|---|" + "---|" * len(rates) + "\n")
    for p in policies:
        cells = ["" if by[p].get(x) is None else cell(by[p][x]) for x in rates]
        out.write(f"| {p} | " + " | ".join(cells) + " |\n")


def p95_key(r):
    """A point's p95 for ordering: a point with no 200 answers has none (NaN), and NaN compares false with
    everything, so sorted() and min() would leave it wherever the input order put it; it ranks last instead."""
    v = r["fine_ok_p95_ms"]
    return math.inf if math.isnan(v) else v


def median_run(points, budget):
    """The point of median rank among repeat runs, ordered by (not within budget, p95)."""
    ranked = sorted(points, key=lambda r: (not within(r, budget), p95_key(r)))
    return ranked[len(ranked) // 2]


def points_by_key(rows):
    """{(policy, offered rate): [the runs' points]} of the rows of several runs."""
    groups = {}
    for r in rows:
        groups.setdefault((r["policy"], r["offered_rps"]), []).append(r)
    return groups


def best_at_rate(by, settings, x, budget):
    """The best of the given settings' points at rate x: the lowest p95 among those within budget, or of all when none
    is (None when none has a point there)."""
    pool = [by[p][x] for p in settings if x in by[p]]
    if not pool:
        return None
    return min([r for r in pool if within(r, budget)] or pool, key=p95_key)


def best_fixed_by_rate(by, fixed_present, rates, best_rate):
    """Target 1's best fixed setting: the highest rate within budget, then the lowest p95 at any rate."""
    return max(fixed_present, key=lambda p: (best_rate[p], -min(
        (p95_key(by[p][x]) for x in rates if x in by[p]), default=math.inf)))


def against_best(by, cand, settings, x, budget):
    """Policy cand's p95 at rate x against the best of the given settings there (best_at_rate); met when within
    10% and cand is within budget wherever the best is (a point that failed the 99% rule, its p95 taken over the
    few it answered, does not match one that held it), or when cand alone is within budget. Where no setting is
    within budget, the p95s alone are compared, as the best is then the lowest p95 of any. None if a side is
    missing."""
    best = best_at_rate(by, settings, x, budget)
    if best is None or cand not in by or x not in by[cand]:
        return None
    in_budget = within(best, budget)
    c = by[cand][x]
    ratio = c["fine_ok_p95_ms"] / best["fine_ok_p95_ms"] if best["fine_ok_p95_ms"] > 0 else math.nan
    cand_within = within(c, budget)
    return {"best": best, "p95": c["fine_ok_p95_ms"], "ratio": ratio, "within": cand_within,
            "met": (ratio <= 1.10 and (cand_within or not in_budget)) or (cand_within and not in_budget)}


def twin_check(by, rates, first, second, budget):
    """An A/A check: `second` runs the same settings as `first` under another name (e.g. adaptive-k5 is adaptive,
    fixed-1.0ms is fixed-1ms), so whatever separates them is measurement noise. Per rate: p95 second/first and
    whether each was within budget; and each one's highest rate within budget. Target 2's 10% and target 1's
    highest-rate comparison mean something only where the twins agree to within them."""
    if first not in by or second not in by:
        return None
    per_rate = []
    for x in rates:
        if x in by[first] and x in by[second]:
            a, b = by[first][x], by[second][x]
            ratio = b["fine_ok_p95_ms"] / a["fine_ok_p95_ms"] if a["fine_ok_p95_ms"] > 0 else math.nan
            per_rate.append({"offered_rps": x, "ratio": ratio, "within_10pct": abs(ratio - 1) <= 0.10,
                             "first_within_budget": within(a, budget), "second_within_budget": within(b, budget)})
    highest = {p: highest_rate_within(by, p, rates, budget) for p in (first, second)}
    return {"first": first, "second": second, "per_rate": per_rate,
            "rates_within_10pct": sum(e["within_10pct"] for e in per_rate), "rates": len(per_rate),
            "budget_verdicts_differ": [e["offered_rps"] for e in per_rate
                                       if e["first_within_budget"] != e["second_within_budget"]],
            "highest_rate_within_budget": highest}


def write_twin(out, t, capacity, label):
    out.write(f"A/A check{label}: {t['second']} (the settings of {t['first']}) within 10% of {t['first']}'s p95 at"
              f" {t['rates_within_10pct']} of {t['rates']} rates ("
              + "; ".join(f"{100 * e['offered_rps'] / capacity:.0f}%: {e['ratio']:.2f}x" for e in t["per_rate"])
              + f"); highest rate within budget {t['highest_rate_within_budget'][t['first']]:.0f} against"
              f" {t['highest_rate_within_budget'][t['second']]:.0f}"
              + (f"; within-budget verdicts differ at {', '.join(f'{100 * x / capacity:.0f}%' for x in t['budget_verdicts_differ'])}"
                 if t["budget_verdicts_differ"] else "") + ".\n")


def nan_none(v):
    """None for a missing or NaN reading (JSON has no NaN)."""
    return None if v is None or math.isnan(v) else v


def evaluate(mrows, capacity, budget):
    """Targets 1-3 on one set of points (one run, or the median points of several)."""
    by = by_policy(mrows)
    rates = sorted({r["offered_rps"] for r in mrows})
    policies = [p for p in ORDER if p in by] + sorted(p for p in by if p not in ORDER)
    ms = {}
    # Target 1: highest rate within budget.
    best_rate = {p: highest_rate_within(by, p, rates, budget) for p in policies}
    # Also the sustained rate: the highest rate such that it and every lower rate were within budget.
    sustained = {}
    for p in policies:
        sustained[p] = 0.0
        for x in rates:
            if x in by[p] and within(by[p][x], budget):
                sustained[p] = x
            else:
                break
    ms["highest_sustained_rate_within_budget"] = sustained
    # Throughput served: the highest goodput at any offered rate while the p99 of the requests it admitted stayed
    # within budget (shed requests are not served, and not counted against it; 504s and other failures are).
    ms["highest_goodput_admitted_p99_within_budget"] = {
        p: max((by[p][x]["goodput_rps"] for x in rates if x in by[p] and admitted_p99_within(by[p][x], budget)),
               default=0.0) for p in policies}
    fixed_present = [p for p in FIXED if p in by]
    best_fixed_setting = best_fixed_by_rate(by, fixed_present, rates, best_rate) if fixed_present else None
    ms["highest_rate_within_budget"] = best_rate
    ms["best_fixed_setting"] = best_fixed_setting
    t1 = None
    if best_fixed_setting and "adaptive" in by:
        t1 = best_rate["adaptive"] >= best_rate[best_fixed_setting]
    ms["target_highest_rate"] = t1
    best_fixed_sustained = max(fixed_present, key=lambda p: sustained[p]) if fixed_present else None
    t1s = sustained["adaptive"] >= sustained[best_fixed_sustained] if best_fixed_sustained and "adaptive" in by else None
    ms["best_fixed_setting_sustained"] = best_fixed_sustained
    ms["target_highest_rate_sustained"] = t1s

    # Target 2: adaptive's p95 within 10% of the best fixed setting at each rate.
    per_rate = []
    for x in rates:
        e = against_best(by, "adaptive", fixed_present, x, budget)
        if e is None:
            continue
        per_rate.append({"offered_rps": x, "load_pct": 100 * x / capacity, "best_fixed": e["best"]["policy"],
                         "best_fixed_p95_ms": e["best"]["fine_ok_p95_ms"], "adaptive_p95_ms": e["p95"],
                         "ratio": e["ratio"], "adaptive_within_budget": e["within"], "met": e["met"],
                         # the batcher's own queue-wait p95 of each (CSVs from run 130 on): the part a policy decides
                         "adaptive_queue_p95_ms": nan_none(by["adaptive"][x].get("server_queue_p95_ms", math.nan)),
                         "best_fixed_queue_p95_ms": nan_none(e["best"].get("server_queue_p95_ms", math.nan))})
    ms["p95_vs_best_fixed"] = per_rate
    ms["target_p95_within_10pct"] = all(e["met"] for e in per_rate) if per_rate else None
    # For scale: the same test applied to every policy against the best of the fixed settings other than itself.
    # If no fixed setting passes it against the others, the target is measuring run-to-run noise as much as policy.
    scale = {}
    for cand in policies:
        others = [p for p in fixed_present if p != cand]
        found = [e for e in (against_best(by, cand, others, x, budget) for x in rates) if e is not None]
        scale[cand] = {"rates_within_10pct": sum(e["met"] for e in found), "rates": len(found),
                       "ratios": [e["ratio"] for e in found]}
    ms["p95_vs_best_other_fixed"] = scale

    # Target 3: at 2x capacity (a run without a rate near it, e.g. one that repeated 100-125% only, has no verdict).
    x2 = min(rates, key=lambda x: abs(x - 2 * capacity)) if rates else None
    if x2 is not None and abs(x2 - 2 * capacity) > 0.1 * 2 * capacity:
        x2 = None
    if x2 is not None and "adaptive" in by and x2 in by["adaptive"]:
        a = by["adaptive"][x2]
        ms["at_2x"] = {"offered_rps": x2, "goodput_rps": a["goodput_rps"],
                       "goodput_pct_of_capacity": 100 * a["goodput_rps"] / capacity,
                       "ok_p99_ms": a["fine_ok_p99_ms"], "ko_429": a["ko_429"], "ko_504": a["ko_504"],
                       "ko_other": a["ko_other"], "admitted_failed_share": admitted_failed_share(a),
                       "goodput_met": a["goodput_rps"] >= 0.9 * capacity,
                       "p99_met": admitted_p99_within(a, budget),
                       # the gateway's own p99 of the same answers (CSVs after run 121): the rest is time it never saw
                       "server_ok_p99_ms": None if math.isnan(a.get("server_ok_p99_ms", math.nan))
                       else a["server_ok_p99_ms"]}
    return by, rates, policies, ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inputs", nargs="+", help="one or more CSVs (repeat runs), then name=capacity:budget_ms:rows_per_request per model")
    ap.add_argument("--json")
    ap.add_argument("--median-csv", help="also write the chosen (median-run) points as a CSV, e.g. for PlotSweep")
    ap.add_argument("--cores", type=float, default=os.cpu_count())
    ap.add_argument("--generator-apart", action="store_true",
                    help="the load generator ran on other CPUs than the gateway's --cores (device-sweep.sh): judge"
                         " against the server-alone ceiling instead of the one shared with the generator")
    ap.add_argument("--goodput-from-sent", action="store_true",
                    help="estimate each point's counting span as sent / offered rate (goodput = ok x offered / sent,"
                         " CPU per request scaled to match): for round-robin CSVs written before the simulation"
                         " summed its slices' real spans (see span_from_sent)")
    ap.add_argument("--twin", action="append", default=[], metavar="FIRST=SECOND",
                    help="an A/A check: SECOND is FIRST's settings under another name (e.g. adaptive=adaptive-k5)")
    args = ap.parse_args()
    twins = []
    for t in args.twin:
        first, sep, second = t.partition("=")
        if not sep or not first or not second or first == second:
            ap.error(f"--twin takes FIRST=SECOND, two different policy names: {t}")
        twins.append((first, second))
    csvs = [x for x in args.inputs if "=" not in x]
    models = [x for x in args.inputs if "=" in x]
    if not csvs or not models:
        ap.error("give at least one CSV and one model")
    runs = [load(path, args.goodput_from_sent) for path in csvs]
    out = sys.stdout
    summary = {"cores": args.cores, "runs": csvs, "goodput_from_sent": args.goodput_from_sent, "models": {}}
    if args.goodput_from_sent:
        out.write("Goodput is ok x offered rate / sent, and CPU per request is scaled to the same span"
                  " (--goodput-from-sent): the measure_s of these CSVs left out the time each slice's policy switch"
                  " took to be acknowledged.\n")
    chosen = []

    for spec in models:
        name, rest = spec.split("=")
        capacity, budget, rows_per_req = (float(x) for x in rest.split(":"))
        run_rows = [[r for r in rows if r["model"] == name] for rows in runs]
        all_rows = [r for rows in run_rows for r in rows]
        groups = points_by_key(all_rows)
        mrows = [median_run(points, budget) for points in groups.values()]
        chosen.extend(sorted(mrows, key=lambda r: (ORDER.index(r["policy"]) if r["policy"] in ORDER else 99, r["offered_rps"])))
        by, rates, policies, ms = evaluate(mrows, capacity, budget)
        ms.update({"capacity_rps": capacity, "budget_ms": budget, "rows_per_request": rows_per_req})
        best_rate = ms["highest_rate_within_budget"]
        sustained = ms["highest_sustained_rate_within_budget"]
        per_rate = ms["p95_vs_best_fixed"]
        best_fixed_setting, t1 = ms["best_fixed_setting"], ms["target_highest_rate"]
        best_fixed_sustained, t1s = ms["best_fixed_setting_sustained"], ms["target_highest_rate_sustained"]

        out.write(f"\n### {name} (capacity {capacity:.0f} req/s, budget {budget:.0f} ms)\n\n")
        if len(runs) > 1:
            out.write(f"Median of {len(runs)} runs: each point is the run whose point ranks in the middle by"
                      " (not within budget, p95).\n\n")
        out.write("p95 / p99 of OK responses in ms, goodput in req/s, per offered rate (% of capacity);"
                  " `*` marks a point not within budget (fewer than 99% answered 200, or p95 over budget).\n\n")
        table(out, policies, rates, by, lambda x: f"{100 * x / capacity:.0f}% ({x:.0f}/s)",
              lambda r: f"{fmt(r['fine_ok_p95_ms'])} / {fmt(r['fine_ok_p99_ms'])} / {r['goodput_rps']:.0f}"
                        + ("" if within(r, budget) else "*"))

        out.write("\nFailures per point (429 / 504 / other) and mean batch (rows, requests):\n\n")
        table(out, policies, rates, by, lambda x: f"{100 * x / capacity:.0f}%",
              lambda r: f"{r['ko_429']:.0f}/{r['ko_504']:.0f}/{r['ko_other']:.0f}; "
                        f"{fmt(r['mean_batch_rows'])}, {fmt(r['mean_batch_requests'], 2)}")

        if len(runs) > 1:
            out.write("\np95 (ms) of every run, in run order (`*`: not within budget):\n\n")
            spread = {p: {x: None for x in rates} for p in policies}
            for (p, x), points in groups.items():
                spread[p][x] = points
            table(out, policies, rates, spread, lambda x: f"{100 * x / capacity:.0f}%",
                  lambda pts: " · ".join(fmt(r["fine_ok_p95_ms"]) + ("" if within(r, budget) else "*") for r in pts))
        # Ceiling. Marginal CPU per request of the HTTP/JSON path: least-squares slope of the server's cores outside
        # compute against goodput over every point within budget (the path does not depend on the policy), so fixed
        # background work (timers, JIT, metrics) does not inflate it; the same for the load generator against the
        # sent rate. Per-row compute: mean compute per batch / mean rows per batch at each point.
        healthy = [r for r in all_rows if within(r, budget) and not math.isnan(r["server_cpu_ms_per_req"])
                   and not math.isnan(r["generator_cpu_ms_per_req"]) and r["mean_batch_requests"] > 0]
        # Only points within budget: under overload, compute's wall time also counts preemption by the event loops.
        row_costs = sorted((r["mean_batch_rows"], r["mean_compute_ms"] / r["mean_batch_rows"])
                           for r in healthy if r["mean_batch_rows"] > 0 and not math.isnan(r["mean_compute_ms"]))
        # The slope separates per-request cost from background only over a spread of load: points all at one rate
        # (moderation on the clean rig is within budget at 50% alone) give a slope made of noise.
        lo = min((r["goodput_rps"] for r in healthy), default=0.0)
        hi = max((r["goodput_rps"] for r in healthy), default=0.0)
        spread_ok = bool(healthy) and hi >= 1.5 * lo
        if len(healthy) >= 3 and row_costs and not spread_ok:
            ms["ceiling"] = {"not_computed": "points within budget span too little load", "points_used": len(healthy),
                             "goodput_rps_range": [lo, hi]}
            out.write(f"\nCeiling: not computed: the {len(healthy)} points within budget served {lo:.0f}-{hi:.0f} req/s,"
                      " too narrow a spread (under 1.5x) to tell the per-request cost from the background.\n")
        if len(healthy) >= 3 and row_costs and spread_ok:
            pts_http, pts_gen = [], []
            for r in healthy:
                sent_rate = r["sent"] / r["measure_s"]
                compute_cores = r["goodput_rps"] * r["mean_compute_ms"] / r["mean_batch_requests"] / 1000
                pts_http.append((r["goodput_rps"], r["server_cpu_ms_per_req"] * sent_rate / 1000 - compute_cores))
                pts_gen.append((sent_rate, r["generator_cpu_ms_per_req"] * sent_rate / 1000))
            fixed_http, h = fit(pts_http)
            fixed_gen, gcost = fit(pts_gen)
            h *= 1000
            gcost *= 1000
            n_small = row_costs[0][0]
            n_large = row_costs[-1][0]
            c_small = median([c for n, c in row_costs if n <= 1.5 * n_small])
            c_large = median([c for n, c in row_costs if n >= 0.8 * n_large])
            # Cores left for requests once both processes' background is paid, over the cost of one request.
            shared = args.cores - max(0.0, fixed_http) - max(0.0, fixed_gen)
            alone = args.cores - max(0.0, fixed_http)
            ceiling = shared / (h + gcost + rows_per_req * c_large) * 1000
            no_batch = shared / (h + gcost + rows_per_req * c_small) * 1000
            server_only = alone / (h + rows_per_req * c_large) * 1000
            server_only_no_batch = alone / (h + rows_per_req * c_small) * 1000
            adaptive_best = best_rate.get("adaptive", 0.0)
            judged = server_only if args.generator_apart else ceiling
            judged_name = "server alone" if args.generator_apart else "with the generator"
            ms["ceiling"] = {
                "http_json_cpu_ms_per_request": h, "server_background_cores": fixed_http,
                "generator_cpu_ms_per_request": gcost, "generator_background_cores": fixed_gen,
                "smallest_batch_rows": n_small, "compute_ms_per_row_small_batches": c_small,
                "largest_batch_rows": n_large, "compute_ms_per_row_large_batches": c_large,
                "ceiling_rps_with_generator": ceiling, "ceiling_rps_with_generator_without_batching": no_batch,
                "ceiling_rps_server_alone": server_only, "ceiling_rps_server_alone_without_batching": server_only_no_batch,
                "adaptive_highest_rate_within_budget": adaptive_best,
                "judged_against": judged_name,
                "adaptive_pct_of_ceiling": 100 * adaptive_best / judged,
                "goodput_pct_of_ceiling": {p: 100 * g / judged for p, g in
                                           ms["highest_goodput_admitted_p99_within_budget"].items()},
                "points_used": len(healthy)}
            c = ms["ceiling"]
            out.write(f"\nCeiling: HTTP/JSON path {h * 1000:.0f} us CPU/request (marginal, fitted over {len(healthy)}"
                      f" points within budget; {fixed_http:.2f} cores of background), generator {gcost * 1000:.0f}"
                      f" us/request ({fixed_gen:.2f} cores of background); compute {c_small * 1000:.1f} us/row at ~{n_small:.0f}-row batches,"
                      f" {c_large * 1000:.1f} us/row at ~{n_large:.0f}-row batches. Ceiling on {args.cores:.0f}"
                      f" cores with the generator: {ceiling:.0f} req/s (without batching {no_batch:.0f}); server alone"
                      f" {server_only:.0f} (without batching {server_only_no_batch:.0f}). Adaptive's highest rate"
                      f" within budget: {adaptive_best:.0f} req/s = {c['adaptive_pct_of_ceiling']:.0f}% of the"
                      f" ceiling {judged_name}.\n")
            served = ms["highest_goodput_admitted_p99_within_budget"]
            out.write("Highest goodput served with the p99 of admitted requests within budget, at any offered rate"
                      f" (req/s, % of the ceiling {judged_name}): " + ", ".join(
                          f"{p} {served[p]:.0f} ({c['goodput_pct_of_ceiling'][p]:.0f}%)" for p in policies) + ".\n")

        out.write(f"\nHighest offered rate within budget (and sustained: every lower rate within budget too): "
                  + ", ".join(f"{p} {best_rate[p]:.0f} ({sustained[p]:.0f})" for p in policies)
                  + f". Best fixed setting: {best_fixed_setting}.\n")
        out.write(f"Target 1 (adaptive's highest rate within budget >= best fixed's): {t1} (best fixed"
                  f" {best_fixed_setting}); on sustained rates: {t1s} (best fixed {best_fixed_sustained}).\n")
        out.write(f"Target 2 (adaptive p95 within 10% of the best fixed at every rate): {ms['target_p95_within_10pct']}"
                  " - " + "; ".join(f"{e['load_pct']:.0f}%: {e['adaptive_p95_ms']:.2f} vs {e['best_fixed']} "
                                    f"{e['best_fixed_p95_ms']:.2f} ms ({e['ratio']:.2f}x)" for e in per_rate) + "\n")
        queue = [e for e in per_rate if e["adaptive_queue_p95_ms"] is not None and e["best_fixed_queue_p95_ms"] is not None]
        if queue:
            out.write("Of which in the batcher (its queue-wait p95, enqueue to compute start: what the policy decides;"
                      " the rest of the p95 is the HTTP path, GC and the loops' backlog): " + "; ".join(
                          f"{e['load_pct']:.0f}%: {e['adaptive_queue_p95_ms']:.2f} vs {e['best_fixed']}"
                          f" {e['best_fixed_queue_p95_ms']:.2f} ms" for e in queue) + "\n")
        out.write("For scale, the target 2 test applied to every policy against the best fixed setting other than"
                  " itself (rates within 10%): " + ", ".join(
                      f"{p} {v['rates_within_10pct']}/{v['rates']}" for p, v in ms["p95_vs_best_other_fixed"].items()) + ".\n")
        if "at_2x" in ms:
            a = ms["at_2x"]
            out.write(f"Target 3 (at 2x: goodput >= 90% of capacity, p99 of admitted within budget): goodput"
                      f" {a['goodput_rps']:.0f} req/s = {a['goodput_pct_of_capacity']:.0f}% ({a['goodput_met']}),"
                      f" p99 of 200s {a['ok_p99_ms']:.1f} ms"
                      + ("" if a["server_ok_p99_ms"] is None else
                         f" (the gateway's own {a['server_ok_p99_ms']:.1f} ms)")
                      + ", 504s and other failures"
                      f" {100 * a['admitted_failed_share']:.2f}% of admitted ({a['p99_met']}); failures 429/504/other"
                      f" {a['ko_429']:.0f}/{a['ko_504']:.0f}/{a['ko_other']:.0f}.\n")
        others = [r["other_processes_cores"] for r in all_rows if not math.isnan(r["other_processes_cores"])]
        if others:
            others.sort()
            out.write(f"Other processes on the machine during the measured windows: median"
                      f" {others[len(others) // 2]:.2f} cores, max {others[-1]:.2f} cores.\n")
            ms["other_processes_cores_median"] = others[len(others) // 2]
            ms["other_processes_cores_max"] = others[-1]
        slow = slow_windows(run_rows)
        if slow:
            out.write("Windows measured on a slower machine (canary at least 10% above the median window's): "
                      + ", ".join(f"run {k} {r['policy']} {r['offered_rps']:.0f}/s ({r['canary_ms']:.1f} ms)" for k, r in slow)
                      + ".\n")
            ms["slow_windows"] = [{"run": k, "policy": r["policy"], "offered_rps": r["offered_rps"],
                                   "canary_ms": r["canary_ms"]} for k, r in slow]
        ms["twins"] = []
        for first, second in twins:
            t = twin_check(by, rates, first, second, budget)
            if t is None:
                out.write(f"A/A check: {first} or {second} is not in the {name} data.\n")
                continue
            write_twin(out, t, capacity, "" if len(runs) == 1 else " (median points)")
            if len(runs) > 1:
                t["runs"] = []
                for k, rows in enumerate(run_rows, 1):
                    tk = twin_check(by_policy(rows), rates, first, second, budget)
                    if tk is not None:
                        t["runs"].append(tk)
                        write_twin(out, tk, capacity, f", run {k}")
            ms["twins"].append(t)
        if len(runs) > 1:
            ms["runs"] = []
            paired = {}
            for k, rows in enumerate(run_rows, 1):
                _, _, _, rk = evaluate(rows, capacity, budget)
                for e in rk["p95_vs_best_fixed"]:
                    paired.setdefault(e["offered_rps"], []).append(e["ratio"])
                a2 = rk.get("at_2x", {})
                ms["runs"].append({"run": csvs[k - 1], "target_highest_rate": rk["target_highest_rate"],
                                   "target_p95_within_10pct": rk["target_p95_within_10pct"],
                                   "at_2x": a2})
                worst = max(rk["p95_vs_best_fixed"], key=lambda e: e["ratio"], default=None)
                out.write(f"Run {k} ({os.path.basename(csvs[k - 1])}): target 1 {rk['target_highest_rate']}"
                          f" (adaptive {rk['highest_rate_within_budget'].get('adaptive', 0):.0f} vs"
                          f" {rk['best_fixed_setting']} {rk['highest_rate_within_budget'].get(rk['best_fixed_setting'], 0):.0f});"
                          f" target 2 {rk['target_p95_within_10pct']}"
                          + (f" (worst {worst['ratio']:.2f}x at {worst['load_pct']:.0f}%)" if worst else "")
                          + (f"; at 2x goodput {a2['goodput_rps']:.0f} req/s, p99 {a2['ok_p99_ms']:.1f} ms" if a2 else "")
                          + ".\n")
            # Within one run the policies' windows at a rate are comparable as a ratio (in an interleaved run they
            # were measured minutes apart on the same warm server); the median of those ratios over the runs.
            ms["paired_p95_ratio_median"] = {x: median(v) for x, v in sorted(paired.items())}
            out.write("Paired view (adaptive's p95 over the best fixed setting's in the same run, median over runs): "
                      + "; ".join(f"{100 * x / capacity:.0f}%: {median(v):.2f}x ({' · '.join(f'{r:.2f}' for r in v)})"
                                  for x, v in sorted(paired.items()))
                      + f". Within 10% at {sum(median(v) <= 1.10 for v in paired.values())} of {len(paired)} rates.\n")
        summary["models"][name] = ms

    if args.median_csv and chosen:
        with open(args.median_csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(chosen[0].keys()))
            w.writeheader()
            for r in chosen:
                w.writerow({k: ("" if isinstance(v, float) and math.isnan(v)
                                else int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in r.items()})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2, default=lambda o: None)
            f.write("\n")




if __name__ == "__main__":
    main()
