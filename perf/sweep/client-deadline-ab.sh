#!/usr/bin/env bash
# Deadline propagation A/B (docs/PERF.md, "A client that propagates its deadline"): the bounded generator (256
# connections) against `adaptive`, without and with run-sweep.sh --client-deadline, alternating the order each round,
# both models at 100, 150 and 200% of the development VM's capacities. About 3.7 minutes a round.
#   perf/sweep/client-deadline-ab.sh <out dir> [rounds (3)] [reserve=<R> | gatling-reserve=<R>]
# With reserve=<R> both arms propagate the deadline and the gateway's http.deadline.lag.reserve is 0 ("off") against
# R ("on") instead; with gatling-reserve=<R> the same reserve A/B under the sweeps' own generator (Gatling's open
# load, no client deadline: the reserve then shortens the model's budget).
# Writes <out dir>/{off,on}-round<i>.csv and ab.log (each run's batcher refusals, edge sheds, G1 pauses and the
# generator's count of requests that expired in its queue). Load goes to 127.0.0.1 only; needs an installed build.
set -uo pipefail
out=${1:?usage: client-deadline-ab.sh <out dir> [rounds]}
rounds=${2:-3}
mode=${3:-client}
[[ $mode == client || $mode =~ ^(gatling-)?reserve=[0-9.]+$ ]] \
  || { echo "mode must be client, reserve=<R> or gatling-reserve=<R>" >&2; exit 2; }
generator=(--generator bounded --connections 256)
[[ $mode == gatling-* ]] && generator=(--generator gatling --idle-timeout-ms 60000)
root="$(cd "$(dirname "$0")/../.." && pwd)"
mkdir -p "$out"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
exec > >(tee "$out/ab.log") 2>&1
for round in $(seq 1 "$rounds"); do
  if (( round % 2 )); then order="off on"; else order="on off"; fi
  for arm in $order; do
    if [[ $mode == client ]]; then
      flag=(); [[ $arm == on ]] && flag=(--client-deadline)
      reserve=0
    else
      flag=(--client-deadline); [[ $mode == gatling-* ]] && flag=()
      reserve=0; [[ $arm == on ]] && reserve=${mode#*reserve=}
    fi
    echo "== round $round arm $arm (${flag[*]:-no deadline}, lag reserve $reserve) $(date -u +%T)"
    before=$(ls -d /tmp/weir-sweep.* 2>/dev/null | sort)
    WEIR_HTTP_DEADLINE_LAG_RESERVE=$reserve timeout 400 "$root/perf/sweep/run-sweep.sh" --models "moderation ranker" --policies adaptive \
      --capacity-moderation 6400 --capacity-ranker 4500 --rates-moderation 6400,9600,12800 --rates-ranker 4500,6750,9000 \
      --warmup 2 --measure 6 --prime-seconds 25 "${generator[@]}" "${flag[@]}" \
      --out "$out/$arm-round$round.csv" 2>&1 | tail -4
    work=$(comm -13 <(echo "$before") <(ls -d /tmp/weir-sweep.* 2>/dev/null | sort) | tail -1)
    [[ -n $work ]] && { cat "$work"/logs/rejections.txt "$work"/logs/gc.txt; grep -h "expired\|client deadline" "$work"/logs/*.log; } 2>/dev/null
  done
done
echo "== done $(date -u +%T)"
