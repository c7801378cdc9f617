#!/usr/bin/env python3
"""What ended a gateway's batches: the mix of `weir_batcher_flushes_total{policy,reason}` in a file of /metrics
scrapes, each scrape headed by a line `# t=<epoch seconds>` (the last scrape is used; counters are cumulative).

    while sleep 10; do echo "# t=$(date +%s)"; curl -s http://127.0.0.1:8080/metrics \
        | grep -E '^weir_batcher_(flushes|flushed_requests)_total'; done >> flushes.prom
    python3 perf/sweep/flush_reasons.py flushes.prom [adaptive]

Prints per policy (or the one named) each reason's share of the batches and the mean requests per batch it ended
(`weir_batcher_flushed_requests_total` over `weir_batcher_flushes_total`), summed over model versions.
"""
import re
import sys

SAMPLE = re.compile(r'(\w+)\{(.*)\} (\S+)')
TAG = re.compile(r'(\w+)="([^"]*)"')


def last_scrape(path):
    scrapes = []
    with open(path) as f:
        for line in f:
            if line.startswith("# t="):
                scrapes.append({})
                continue
            m = SAMPLE.match(line)
            if m and scrapes:
                name, tags, value = m.groups()
                t = dict(TAG.findall(tags))
                if "policy" in t and "reason" in t:
                    key = (name, t["policy"], t["reason"])
                    scrapes[-1][key] = scrapes[-1].get(key, 0.0) + float(value)
    filled = [s for s in scrapes if s]
    return filled[-1] if filled else {}


def main(argv):
    if not argv:
        sys.exit(__doc__)
    scrape = last_scrape(argv[0])
    wanted = argv[1] if len(argv) > 1 else None
    policies = sorted({p for _, p, _ in scrape if wanted in (None, p)})
    if not policies:
        sys.exit(f"no weir_batcher_flushes_total samples{' for ' + wanted if wanted else ''} in {argv[0]}")
    for policy in policies:
        batches = {r: v for (n, p, r), v in scrape.items() if n == "weir_batcher_flushes_total" and p == policy}
        total = sum(batches.values())
        print(f"{policy}: {total:.0f} batches")
        for reason, n in sorted(batches.items(), key=lambda kv: -kv[1]):
            requests = scrape.get(("weir_batcher_flushed_requests_total", policy, reason), 0.0)
            print(f"  {reason:15s} {100 * n / total:5.1f}% of batches, {requests / n if n else 0:.2f} requests each")


if __name__ == "__main__":
    main(sys.argv[1:])
