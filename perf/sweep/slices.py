#!/usr/bin/env python3
"""The round-robin sweep's slices, one by one: policies compared inside the same round, not as whole-run points.

    python3 perf/sweep/slices.py <run label>=<gatling log>[,<the sweep's CSV>] | <slices CSV> ... [--model moderation] \
        [--min-rate 7000] [--runs v11-14,v11-17] [--budget moderation=80 --budget ranker=120] [--csv slices.csv] \
        [--candidate adaptive-pt0.6-k30]

Why: a round-robin sweep (run-sweep.sh --interleave --rounds R) switches the policy every slice of one uninterrupted
load, and PolicySweepSimulation prints one line per slice ("slice <model> <rate> <k> <policy> after <previous>:
counted N, not 200 F, p95 P ms (...), arrivals per 10 ms p99/max A/M"). A policy's point in the sweep CSV pools its
R slices, so one bad slice (a GC, a burst from the load generator) decides the point, and "the best of six fixed
settings" picks whichever drew no bad slice. Within one round every policy ran within policies·slice seconds of
the others on the same warm gateway, so comparing them slice against slice, round by round and run by run, asks the
question without the run-to-run drift: is a policy's slice worse than the others' in the same round more often than
chance would make it?

For each model and rate (at or above --min-rate), over every run given:
- per policy: slices, slices within budget (at most 1% not answered 200 and p95 within budget: analyze.py's rule,
  applied to a slice), the median p95 and the share not answered 200 over all its slices;
- `adaptive` against each other policy in the same rounds: in how many rounds its slice was within budget when the
  other's was not and the reverse, and in how many its p95 was lower (a sign test: p is the two-sided binomial
  probability of a split at least that uneven if neither policy were better);
- the same tallies pooled over every model and rate given (each round's pair of slices is one trial; a candidate
  that wins the budget at one rate and loses it at another shows as a split here, not as a win);
- target 2 asked of the slices: the candidate's median slice p95 over the best fixed setting's (the lowest median
  among the `fixed-*` policies) at each rate, with a 90% interval from resampling whole rounds (every policy's slice
  of a round stays together; the best fixed setting is chosen again in each resample, as the target chooses it), and
  a verdict: within 10% (the interval ends below 1.10), over (it starts above 1.10) or not told apart (it spans 1.10);
  the same for each fixed setting against the best of the others, for scale (what the method's noise gives a
  setting that is the best one at some rates and not others);
- how much the slice's arrivals bunched (arrivals per 10 ms, p99, over the mean per 10 ms) goes with its share not
  answered 200 (Spearman's rank correlation over all slices at the rate): the load generator shares the two cores,
  and a slice whose arrivals came in bursts sheds whatever the policy.
The policy set against the others is `adaptive` unless --candidate names another (a variant under test).

Inputs are the simulation's log (`<work dir>/logs/interleaved-<model>.gatling.log`, kept by run-sweep.sh) or a CSV
written by --csv (so committed slice tables can be analysed again). Given the sweep's own CSV after a log, the slices
are checked against it first: per model, rate and policy, the requests counted and not answered 200 must add up to
the CSV's `sent` and failures (a log from another run, or a changed line format, stops here). Standard library only.
"""
import csv
import math
import random
import re
import sys
from collections import defaultdict

import analyze

SLICE = re.compile(r"^slice (\S+) ([\d.]+) (\d+) (\S+) after (\S+): counted (\d+), not 200 (\d+), p95 ?([\d.]*|NaN|-) ms"
                   r"(?:.*?batcher queue p95 ?([\d.]*) ms)?"
                   r".*?(?:arrivals per 10 ms p99/max (\d+)/(\d+))?\s*$")
FIELDS = ["run", "model", "rate", "slice", "round", "policy", "previous", "counted", "not_200", "p95_ms",
          "arrivals_p99_per_10ms", "arrivals_max_per_10ms", "queue_p95_ms"]
CANDIDATE = "adaptive"


def parse_log(run, path):
    """Slice rows of one simulation log; the round is the slice index over the number of policies at that rate."""
    rows = []
    with open(path) as f:
        for line in f:
            m = SLICE.match(line)
            if not m:
                continue
            model, rate, k, policy, previous, counted, bad, p95, queue, ap99, amax = m.groups()
            rows.append({"run": run, "model": model, "rate": float(rate), "slice": int(k), "policy": policy,
                         "previous": previous, "counted": int(counted), "not_200": int(bad),
                         "p95_ms": float(p95) if p95 not in ("", "NaN", "-") else math.nan,   # none answered 200
                         "arrivals_p99_per_10ms": int(ap99) if ap99 else -1,
                         "arrivals_max_per_10ms": int(amax) if amax else -1,
                         # the batcher's queue-wait p95 in the slice (logs after run 131; NaN before, or unscraped)
                         "queue_p95_ms": float(queue) if queue else math.nan})
    policies = defaultdict(set)
    for r in rows:
        policies[(r["model"], r["rate"])].add(r["policy"])
    for r in rows:
        r["round"] = r["slice"] // len(policies[(r["model"], r["rate"])])
    return rows


def parse_csv(run, path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.append({"run": r["run"] if not run else run, "model": r["model"], "rate": float(r["rate"]),
                         "slice": int(r["slice"]), "round": int(r["round"]), "policy": r["policy"],
                         "previous": r["previous"], "counted": int(r["counted"]), "not_200": int(r["not_200"]),
                         "p95_ms": float(r["p95_ms"]),
                         "arrivals_p99_per_10ms": int(r["arrivals_p99_per_10ms"]),
                         "arrivals_max_per_10ms": int(r["arrivals_max_per_10ms"]),
                         "queue_p95_ms": float(r.get("queue_p95_ms") or "nan")})
    return rows


def check_against_sweep(rows, sweep_csv):
    """The slices must add up to the sweep CSV's rows (which pool the same slices): else the log is not that run's."""
    sums = defaultdict(lambda: [0, 0])
    for r in rows:
        s = sums[(r["model"], r["rate"], r["policy"])]
        s[0] += r["counted"]
        s[1] += r["not_200"]
    with open(sweep_csv, newline="") as f:
        # The simulation appends: a CSV that already held a run's rows has this run's last.
        points = {(p["model"], float(p["offered_rps"]), p["policy"]): p for p in csv.DictReader(f)}
    seen = set()
    for key, p in points.items():
        if key not in sums:
            continue
        want = [int(p["sent"]), int(p["ko_429"]) + int(p["ko_504"]) + int(p["ko_other"])]
        if sums[key] != want:
            raise SystemExit(f"{sweep_csv}: {key} has sent/failures {want}, the slices add up to {sums[key]}")
        seen.add(key)
    if seen != set(sums):
        raise SystemExit(f"{sweep_csv}: no point for the slices of {sorted(set(sums) - seen)[:3]}")


def load(spec):
    run, _, paths = spec.rpartition("=")
    path, _, sweep_csv = paths.partition(",")
    with open(path) as f:
        csv_input = f.readline().startswith("run,")
    rows = parse_csv(run, path) if csv_input else parse_log(run or path, path)
    if not rows:
        raise SystemExit(f"{path}: no slice lines (is it a round-robin sweep's gatling log, or a slices CSV?)")
    if sweep_csv:
        check_against_sweep(rows, sweep_csv)
    return rows


def not_200_share(r):
    return r["not_200"] / r["counted"] if r["counted"] else 1.0


def within(r, budget):
    """analyze.py's rule for a sweep point, applied to one slice (False for a slice with no p95)."""
    return analyze.within({"sent": r["counted"], "ok": r["counted"] - r["not_200"], "fine_ok_p95_ms": r["p95_ms"]},
                          budget)


def p95_or_inf(r):
    return math.inf if math.isnan(r["p95_ms"]) else r["p95_ms"]


def median(xs):
    xs = sorted(x for x in xs if not math.isnan(x))
    if not xs:
        return math.nan
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def sign_test(wins, losses):
    """Two-sided binomial p of a split at least as uneven as wins:losses under p = 1/2 (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = max(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k, n + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def ranks(xs):
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    out = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for t in range(i, j + 1):
            out[order[t]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs, ys):
    if len(xs) < 3:
        return math.nan
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    var = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return cov / var if var else math.nan


RESAMPLES = 2000


def ratio_to_best(rounds, policy, fixed, value=p95_or_inf):
    """policy's median slice p95 over the lowest median slice p95 among `fixed` (policy itself left out), over the
    given rounds (each a dict policy -> slice); None when a side has no slice in them. `value` reads another of a
    slice's numbers instead (NaN for none)."""
    def med(name):
        return median([value(rd[name]) for rd in rounds if name in rd])
    others = [med(f) for f in fixed if f != policy]
    mine, best = med(policy), min((x for x in others if not math.isnan(x)), default=math.nan)
    if math.isnan(mine) or math.isnan(best) or best <= 0 or math.isinf(best):
        return None
    return mine / best


def target2_interval(rounds, policy, fixed, rng, resamples=RESAMPLES, value=p95_or_inf):
    """The ratio over all rounds, and its 5th and 95th percentiles over resamples of whole rounds."""
    point = ratio_to_best(rounds, policy, fixed, value)
    if point is None:
        return None
    draws = []
    for _ in range(resamples):
        r = ratio_to_best([rounds[rng.randrange(len(rounds))] for _ in rounds], policy, fixed, value)
        if r is not None:
            draws.append(r)
    draws.sort()
    return point, draws[int(0.05 * (len(draws) - 1))], draws[int(0.95 * (len(draws) - 1))]


def verdict(interval, limit=1.10):
    _, low, high = interval
    return "within 10%" if high < limit else "over" if low > limit else "not told apart"


def report(rows, budgets, out=sys.stdout, candidate=CANDIDATE):
    pooled = defaultdict(lambda: [0, 0, 0, 0, 0])   # other -> rounds, within only mine/theirs, lower p95 mine/theirs
    groups = defaultdict(list)
    for r in rows:
        groups[(r["model"], r["rate"])].append(r)
    runs = sorted({r["run"] for r in rows})
    print(f"{len(rows)} slices from {len(runs)} runs: {' '.join(runs)}", file=out)
    rng = random.Random(2)   # the intervals repeat from run to run of this script
    target2 = defaultdict(lambda: defaultdict(int))   # policy -> verdict -> rates
    target2_queue = defaultdict(lambda: defaultdict(int))   # the same of the batcher's queue-wait p95
    for (model, rate), rs in sorted(groups.items()):
        budget = budgets.get(model)
        if budget is None:
            print(f"\n{model} at {rate:g} req/s: no budget given (--budget {model}=<ms>), not compared", file=out)
            continue
        by_policy = defaultdict(list)
        for r in rs:
            by_policy[r["policy"]].append(r)
        print(f"\n{model} at {rate:g} req/s (budget {budget:g} ms)", file=out)
        print("  policy        slices  within  median p95 ms  not 200 (all slices)", file=out)
        for policy, ps in sorted(by_policy.items(), key=lambda kv: kv[0]):
            counted = sum(p["counted"] for p in ps)
            bad = sum(p["not_200"] for p in ps)
            print(f"  {policy:<12}  {len(ps):>6}  {sum(within(p, budget) for p in ps):>6}  "
                  f"{median([p['p95_ms'] for p in ps]):>13.1f}  {100 * bad / max(1, counted):>6.2f}%", file=out)
        rounds = defaultdict(dict)
        for r in rs:
            rounds[(r["run"], r["round"])][r["policy"]] = r
        if candidate in by_policy:
            print(f"  {candidate} against each policy in the same rounds: rounds; within budget only {candidate} / "
                  f"only the other; lower p95 {candidate} / the other (sign test p); median p95 ratio", file=out)
            for other in sorted(p for p in by_policy if p != candidate):
                pairs = [(rd[candidate], rd[other]) for rd in rounds.values() if candidate in rd and other in rd]
                only_mine = sum(within(a, budget) and not within(b, budget) for a, b in pairs)
                only_theirs = sum(within(b, budget) and not within(a, budget) for a, b in pairs)
                # A slice with nothing answered 200 has no p95: it counts as the higher one.
                lower = sum(p95_or_inf(a) < p95_or_inf(b) for a, b in pairs)
                higher = sum(p95_or_inf(a) > p95_or_inf(b) for a, b in pairs)
                ratio = median([a["p95_ms"] / b["p95_ms"] for a, b in pairs if b["p95_ms"] > 0])
                for i, n in enumerate((len(pairs), only_mine, only_theirs, lower, higher)):
                    pooled[other][i] += n
                print(f"    vs {other:<12} {len(pairs):>3}; within {only_mine:>2} / {only_theirs:>2} "
                      f"(p {sign_test(only_mine, only_theirs):.2f}); lower p95 {lower:>2} / {higher:>2} "
                      f"(p {sign_test(lower, higher):.2f}); ratio {ratio:.2f}", file=out)
        fixed = sorted(p for p in by_policy if p.startswith("fixed-"))
        round_list = [rounds[k] for k in sorted(rounds)]
        if fixed and round_list:
            print(f"  target 2 from the slices: median slice p95 over the best fixed setting's, 90% interval over "
                  f"{RESAMPLES} resamples of the {len(round_list)} rounds", file=out)
            for policy in ([candidate] if candidate in by_policy else []) + [f for f in fixed if f != candidate]:
                iv = target2_interval(round_list, policy, fixed, rng)
                if iv is None or (policy != candidate and len(fixed) < 2):
                    continue
                target2[policy][verdict(iv)] += 1
                print(f"    {policy:<12} {iv[0]:.2f} ({iv[1]:.2f}-{iv[2]:.2f}): {verdict(iv)}", file=out)
            if any(not math.isnan(r["queue_p95_ms"]) for r in rs):
                # The same question of the batcher's own queue-wait p95: the part of the tail the policy decides.
                print(f"  the same in the batcher: median slice queue-wait p95 over the best fixed setting's", file=out)
                for policy in ([candidate] if candidate in by_policy else []) + [f for f in fixed if f != candidate]:
                    iv = target2_interval(round_list, policy, fixed, rng, value=lambda r: r["queue_p95_ms"])
                    if iv is None or (policy != candidate and len(fixed) < 2):
                        continue
                    target2_queue[policy][verdict(iv)] += 1
                    med = median([r["queue_p95_ms"] for r in by_policy[policy]])
                    print(f"    {policy:<12} {iv[0]:.2f} ({iv[1]:.2f}-{iv[2]:.2f}): {verdict(iv)}; median {med:.2f} ms",
                          file=out)
        bunched = [r for r in rs if r["arrivals_p99_per_10ms"] >= 0]
        if bunched:
            mean_per_10ms = rate / 100
            rho = spearman([r["arrivals_p99_per_10ms"] / mean_per_10ms for r in bunched],
                           [not_200_share(r) for r in bunched])
            print(f"  arrivals' bunching (p99 per 10 ms / mean) against share not 200, over {len(bunched)} slices: "
                  f"Spearman {rho:.2f}", file=out)
    if len(groups) > 1 and pooled:
        print(f"\npooled over every model and rate above: {candidate} against each policy; rounds; within budget only "
              f"{candidate} / only the other; lower p95 {candidate} / the other (sign test p)", file=out)
        for other, (n, mine, theirs, lower, higher) in sorted(pooled.items()):
            print(f"    vs {other:<12} {n:>3}; within {mine:>2} / {theirs:>2} (p {sign_test(mine, theirs):.3f}); "
                  f"lower p95 {lower:>2} / {higher:>2} (p {sign_test(lower, higher):.3f})", file=out)
    if target2:
        print("\ntarget 2 from the slices, rates by verdict (the candidate against the best fixed setting; each fixed "
              "setting against the best of the others)", file=out)
        for policy, counts in sorted(target2.items(), key=lambda kv: (kv[0] != candidate, kv[0])):
            print(f"    {policy:<12} within 10% {counts['within 10%']:>2}, not told apart {counts['not told apart']:>2}, "
                  f"over {counts['over']:>2}", file=out)
    if target2_queue:
        print("\nthe same in the batcher (queue-wait p95), rates by verdict", file=out)
        for policy, counts in sorted(target2_queue.items(), key=lambda kv: (kv[0] != candidate, kv[0])):
            print(f"    {policy:<12} within 10% {counts['within 10%']:>2}, not told apart {counts['not told apart']:>2}, "
                  f"over {counts['over']:>2}", file=out)


def main(argv):
    specs, budgets, model, min_rate, csv_out, runs, candidate = [], {}, None, 0.0, None, None, CANDIDATE
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--model":
            model = argv[i + 1]
            i += 2
        elif a == "--min-rate":
            min_rate = float(argv[i + 1])
            i += 2
        elif a == "--budget":
            name, _, ms = argv[i + 1].partition("=")
            budgets[name] = float(ms)
            i += 2
        elif a == "--runs":
            runs = set(argv[i + 1].split(","))
            i += 2
        elif a == "--csv":
            csv_out = argv[i + 1]
            i += 2
        elif a == "--candidate":
            candidate = argv[i + 1]
            i += 2
        elif a.startswith("--"):
            raise SystemExit(__doc__)
        else:
            specs.append(a)
            i += 1
    if not specs:
        raise SystemExit(__doc__)
    rows = [r for s in specs for r in load(s)
            if (model is None or r["model"] == model) and r["rate"] >= min_rate and (runs is None or r["run"] in runs)]
    if not rows:
        raise SystemExit("no slices left after --model, --min-rate and --runs")
    if csv_out:
        with open(csv_out, "w", newline="") as f:
            w = csv.DictWriter(f, FIELDS, lineterminator="\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{r[k]:g}" if isinstance(r[k], float) else r[k]) for k in FIELDS})
    if candidate not in {r["policy"] for r in rows}:
        raise SystemExit(f"--candidate {candidate}: no slice of that policy")
    report(rows, budgets or {"ranker": 120.0, "moderation": 80.0}, candidate=candidate)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except BrokenPipeError:   # piped into head
        sys.exit(0)
