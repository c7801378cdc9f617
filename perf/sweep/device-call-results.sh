#!/usr/bin/env bash
# Files what perf/sweep/device-call.sh brought back under docs/results, named for the run, and writes the summaries
# docs/PERF.md quotes, so that a loan's results are read the same way every time:
#   clean-rig-run<N>-sweep-<model>.csv, -slices.csv, -flushes.prom   the round-robin sweep (and probe-<model>.csv)
#   clean-rig-run<N>.log                                              device-call.log, the sweep's log, GC and sheds
#   clean-rig-run<N>-summary-<model>.md/.json, -median.csv            analyze.py at the capacity the sweep used
#   clean-rig-run<N>-slices.txt, -slices-wf1.txt                      slices.py: adaptive, then adaptive-wf1, as candidate
#   clean-rig-run<N>-pair<k>-<arm>-<model>.csv, clean-rig-run<N>-pairs.txt   the A/B pairs at 2x, and a table by pair
#                                                                     (the order within a pair is in the call's log)
#   clean-rig-run<N>-shed-cost.csv, -shed-cost.txt                    shed-cost.sh's rows and ratios, when the call ran it
# Usage (repository root): perf/sweep/device-call-results.sh <runs.tar.gz> <device-call.log> <run number>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
[[ $# -eq 3 ]] || { echo "usage: $0 <runs.tar.gz> <device-call.log> <run number>" >&2; exit 2; }
archive=$1 call_log=$2 n=$3
results=${WEIR_RESULTS_DIR:-docs/results}   # another folder for a trial
prefix="$results/clean-rig-run$n"
if compgen -G "$prefix[-.]*" >/dev/null; then
  echo "$prefix-* exists already: pick another run number" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$archive"
[[ -d "$work/sweep" ]] || { echo "$archive has no sweep/ directory" >&2; exit 1; }

declare -A budget=([ranker]=120 [moderation]=80) rows=([ranker]=50 [moderation]=1)
{
  cat "$call_log"
  echo "== sweep/device-sweep.log"
  cat "$work/sweep/device-sweep.log"
} >"$prefix.log"
mkdir -p "$work/logs"
tar -C "$work/logs" -xzf "$work/sweep/logs.tar.gz"
for f in "$work"/logs/*/logs/gc.txt "$work"/logs/*/logs/rejections.txt; do
  [[ -f $f ]] && cat "$f" >>"$prefix.log"
done

for model in ranker moderation; do
  sweep=$(ls "$work"/sweep/sweep-"$model"-seed*.csv 2>/dev/null | grep -v slices | head -1 || true)
  if [[ -z "$sweep" ]]; then
    echo "no sweep CSV for $model" >&2
    continue
  fi
  cp "$sweep" "$prefix-sweep-$model.csv"
  cp "${sweep%.csv}-slices.csv" "$prefix-sweep-$model-slices.csv"
  [[ -f "$work/sweep/probe-$model.csv" ]] && cp "$work/sweep/probe-$model.csv" "$prefix-probe-$model.csv"
  prom=$(ls "$work"/logs/*/logs/flushes-interleaved-"$model".prom 2>/dev/null | head -1 || true)
  [[ -n "$prom" ]] && cp "$prom" "$prefix-sweep-$model-flushes.prom"
  capacity=$(cat "$work/sweep/capacity-$model.txt" 2>/dev/null || true)
  [[ -n "$capacity" ]] || { echo "no sweep/capacity-$model.txt in the archive" >&2; exit 1; }
  python3 perf/sweep/analyze.py "$prefix-sweep-$model.csv" "$model=$capacity:${budget[$model]}:${rows[$model]}" \
    --generator-apart --cores 2 --json "$prefix-summary-$model.json" --median-csv "$prefix-median-$model.csv" \
    >"$prefix-summary-$model.md"
done
slices=("$prefix"-sweep-*-slices.csv)
python3 perf/sweep/slices.py "${slices[@]}" --candidate adaptive >"$prefix-slices.txt"
if grep -q ',adaptive-wf1,' "${slices[@]}"; then
  python3 perf/sweep/slices.py "${slices[@]}" --candidate adaptive-wf1 >"$prefix-slices-wf1.txt"
fi

if [[ -f "$work/shedcost/shed-cost.csv" ]]; then
  cp "$work/shedcost/shed-cost.csv" "$prefix-shed-cost.csv"
  grep -E '^(rank|moderate):' "$work/shedcost/stdout.txt" >"$prefix-shed-cost.txt" || true
fi

# The A/B pairs: one CSV per run and model, and a table of them by pair.
pairs=()
for dir in "$work"/pair*; do
  [[ -d $dir ]] || continue
  name=$(basename "$dir")
  for csv in "$dir"/sweep-*.csv; do
    [[ -f $csv && $csv != *-slices.csv ]] || continue   # a run cut short before its first rate wrote none
    model=$(head -2 "$csv" | tail -1 | cut -d, -f1)
    cp "$csv" "$prefix-$name-$model.csv"
    pairs+=("$prefix-$name-$model.csv")
  done
done
if (( ${#pairs[@]} )); then
  python3 - "${pairs[@]}" >"$prefix-pairs.txt" <<'PY'
import csv, re, sys
print("run, model, offered, sent, share not 200, goodput, client p95 / p99 ms, gateway p95 / p99 ms")
def order(path):
    m = re.search(r"pair(\d+)-", path)
    return (int(m.group(1)) if m else 0, path)
for path in sorted(sys.argv[1:], key=order):
    for r in csv.DictReader(open(path)):
        sent = int(r["sent"])
        bad = int(r["ko_429"]) + int(r["ko_504"]) + int(r["ko_other"])
        name = re.sub(r".*clean-rig-run\d+-", "", path)[:-4]
        print(f"{name}, {r['model']}, {float(r['offered_rps']):.0f}, {sent}, {100 * bad / max(1, sent):.2f}%, "
              f"{r['goodput_rps']}, {r['fine_ok_p95_ms']} / {r['fine_ok_p99_ms']}, "
              f"{r.get('server_ok_p95_ms', '')} / {r.get('server_ok_p99_ms', '')}")
PY
fi
ls -la "$prefix"*
