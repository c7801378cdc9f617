#!/usr/bin/env bash
# The next clean-rig loan's runs as one device call (docs/PERF.md, "Next device call" under runs 120-121), inside a
# time budget, so that a loan's 15 minutes go to measuring and not to composing commands on a held machine:
#   1. sweep: both models probed up device-sweep.sh's ladders, then the round-robin of WEIR_DEVICE_POLICIES
#      (default: adaptive, the old flat bound adaptive-wf1, fixed 0-2 ms) at 50-200% of the probed capacities;
#   2. with WEIR_CALL_AB set, while time is left, A/B pairs at 2x of the probed capacities, `adaptive` only, in
#      alternating order (A,B then B,A) so that neither arm is always second. WEIR_CALL_AB picks the pair:
#        none (default): no pairs, the sweep may use the whole call (run 122 closed the shed pair);
#        shed: the sweep's Gatling round-robin (3 rounds of 3-s slices) with the edge guard's
#          http.shed.budget.fraction at 0.35 (the default: moderation sheds past 28 ms of loop lag) and 0.25 (20 ms,
#          the floor): run 122's pair (the tighter guard started a connection storm);
#        reserve: the bounded client with its deadline, http.deadline.lag.reserve 0 and 1 (run 120b's pair);
#   3. with WEIR_CALL_SHED_COST=1, if about 130 s are left (WEIR_CALL_SHED_COST_SECONDS), one round of shed-cost.sh on
#      the bundle's runtime and jar (CPUs 0 and 1): what a shed request costs against a served one on the rig.
# Each run gets its own directory; everything is packed into $OUT/runs.tar.gz (the device tool brings back at most 8
# files a call), with the summary lines in $OUT/device-call.log. A run that would not fit the time left is skipped and
# said so; a run cut short by its timeout keeps the CSV rows it wrote.
# Usage, on the lent machine, carrying .gpu/sweep.tar.xz (perf/sweep/device-sweep-prepare.sh, from the jar to test):
#   bash perf/sweep/device-call.sh [seconds, default 560]   (device tool: timeout_s 595)
# WEIR_DEVICE_CAPACITY_RANKER / _MODERATION skip a model's probe, as in device-sweep.sh; the other WEIR_DEVICE_* and
# WEIR_PROBE_* settings reach device-sweep.sh too. WEIR_CALL_SWEEP_SECONDS and WEIR_CALL_PAIR_SECONDS (420 and 45)
# are the time each run is expected to take, below which it is skipped (smaller for a trial on a build machine).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out=${OUT:?OUT must name the directory to write to}
budget=${1:-560}
start=$SECONDS
mkdir -p "$out"
exec > >(tee "$out/device-call.log") 2>&1
left() { echo $(( budget - (SECONDS - start) )); }
runs=()

run() {   # name seconds-needed env-assignments...: one device-sweep.sh run, if it fits the time left
  local name=$1 need=$2; shift 2
  local l; l=$(left)
  if (( l < need || l <= 30 )); then
    echo "$(date -u +%T) skip $name: ${l} s left, it needs about ${need}"
    return 1
  fi
  mkdir -p "$out/$name"
  runs+=("$name")
  echo "$(date -u +%T) $name ($*), at most $(( l - 20 )) s"
  env OUT="$out/$name" "$@" timeout $(( l - 20 )) bash perf/sweep/device-sweep.sh >"$out/$name/stdout.txt" 2>&1
  local rc=$?
  echo "$(date -u +%T) $name: rc $rc"
  grep -h ': capacity \|FAIL' "$out/$name/device-sweep.log" 2>/dev/null | sed 's/^/    /'
  return 0
}

capacity() {   # model: the capacity run "sweep" used (probed or given)
  cat "$out/sweep/capacity-$1.txt" 2>/dev/null
}

run sweep "${WEIR_CALL_SWEEP_SECONDS:-420}" WEIR_DEVICE_POLICIES="${WEIR_DEVICE_POLICIES:-adaptive adaptive-wf1 fixed-0ms fixed-0.5ms fixed-1ms fixed-2ms}" \
  WEIR_DEVICE_FRACTIONS="${WEIR_DEVICE_FRACTIONS:-0.5,1,1.25,1.5,2}" WEIR_DEVICE_SEED="${WEIR_DEVICE_SEED:-122}"
cap_ranker=$(capacity ranker) cap_moderation=$(capacity moderation)
at2x=(WEIR_DEVICE_POLICIES=adaptive WEIR_DEVICE_FRACTIONS=2 WEIR_DEVICE_CAPACITY_RANKER="$cap_ranker"
      WEIR_DEVICE_CAPACITY_MODERATION="$cap_moderation")
case "${WEIR_CALL_AB:-none}" in
  none) arm_a=() ;;
  shed) arm_a=(shed0.35 WEIR_HTTP_SHED_BUDGET_FRACTION=0.35) arm_b=(shed0.25 WEIR_HTTP_SHED_BUDGET_FRACTION=0.25)
        setup=(WEIR_DEVICE_SEED=123) ;;
  reserve) arm_a=(reserve0 WEIR_HTTP_DEADLINE_LAG_RESERVE=0) arm_b=(reserve1 WEIR_HTTP_DEADLINE_LAG_RESERVE=1)
           setup=(WEIR_DEVICE_GENERATOR=bounded WEIR_DEVICE_CONNECTIONS=256 WEIR_DEVICE_CLIENT_DEADLINE=1) ;;
  *) echo "WEIR_CALL_AB must be none, shed or reserve"; exit 2 ;;
esac
if (( ${#arm_a[@]} == 0 )); then
  echo "$(date -u +%T) no A/B pairs (WEIR_CALL_AB=${WEIR_CALL_AB:-none})"
elif [[ -n "$cap_ranker" && -n "$cap_moderation" ]]; then
  pair=1
  pair_need=$(( 2 * ${WEIR_CALL_PAIR_SECONDS:-45} ))
  while :; do
    if (( $(left) < pair_need )); then   # half a pair compares nothing
      echo "$(date -u +%T) no pair $pair: $(left) s left, a pair needs about $pair_need"
      break
    fi
    if (( pair % 2 )); then arms=(a b); else arms=(b a); fi
    for x in "${arms[@]}"; do
      if [[ $x == a ]]; then arm=("${arm_a[@]}"); else arm=("${arm_b[@]}"); fi
      run "pair$pair-${arm[0]}" "${WEIR_CALL_PAIR_SECONDS:-45}" "${at2x[@]}" "${setup[@]}" "${arm[@]:1}" || break 2
    done
    pair=$((pair + 1))
  done
else
  echo "no capacities from the sweep (ranker '${cap_ranker}', moderation '${cap_moderation}'): no A/B pairs"
fi

if [[ ${WEIR_CALL_SHED_COST:-0} == 1 ]]; then
  l=$(left) need=${WEIR_CALL_SHED_COST_SECONDS:-130}
  b=/tmp/weir-device-sweep/sweep   # where the sweep's device-sweep.sh unpacked the bundle
  if (( l < need )); then
    echo "$(date -u +%T) skip shedcost: ${l} s left, it needs about ${need}"
  elif [[ ! -d $b ]]; then
    echo "$(date -u +%T) skip shedcost: no bundle unpacked at $b (the sweep did not run)"
  else
    mkdir -p "$out/shedcost"
    runs+=(shedcost)
    echo "$(date -u +%T) shedcost, at most $(( l - 20 )) s"
    JAVA_HOME="$b/jdk" timeout $(( l - 20 )) bash perf/sweep/shed-cost.sh --jar "$b/weir-gateway.jar" --client-classes \
      "$b/tools" --rounds 1 --out "$out/shedcost/shed-cost.csv" >"$out/shedcost/stdout.txt" 2>&1
    echo "$(date -u +%T) shedcost: rc $?"
    grep -E '^(rank|moderate):' "$out/shedcost/stdout.txt" | sed 's/^/    /'
  fi
fi

echo "$(date -u +%T) done in $(( SECONDS - start )) s; runs: ${runs[*]}"
(( ${#runs[@]} )) && tar -C "$out" -czf "$out/runs.tar.gz" "${runs[@]}" && rm -r "${runs[@]/#/$out/}"
ls -la "$out"
