#!/usr/bin/env bash
# The batching-policy sweep on a clean rig: a lent machine with many cores (docs/PERF.md, "The policies on a clean
# rig"). On the 2-core development VM Gatling shares the gateway's two cores and costs about as much CPU per request,
# so its bursts decide slices at the knee; here each gateway is pinned to two CPUs of its own (the development VM's
# size, on two physical cores, their SMT siblings left idle) and its load generator to other physical cores. The two
# models run at once on disjoint CPUs:
#   1. capacity probe: adaptive, open step load up a geometric ladder; capacity = 90% of the last step within budget
#      (p95 within the model's budget and 99% answered 200, the sweep's own rule), as on the development VM;
#   2. round-robin comparison (run-sweep.sh --interleave --rounds 3) at 50, 100, 125, 150 and 200% of that capacity.
# Needs .gpu/sweep.tar.xz from perf/sweep/device-sweep-prepare.sh (carry it). Writes to $OUT: device-sweep.log,
# probe-<model>.csv, capacity-<model>.txt (the capacity used), sweep-<model>-seed<seed>.csv and -slices.csv (the
# seed in the name labels the run's slices, so slices.py keeps runs apart), logs.tar.gz (the sweeps' work dirs). CSVs
# grow rate by rate, so a run cut short still returns what it measured. About 8 minutes.
# Several runs in one device call: give each its own OUT under the call's $OUT and pack them into one archive at the
# end (`tar -C "$OUT" -czf "$OUT/runs.tar.gz" <dirs> && rm -r <dirs>`): the device tool brings back only a few files
# a call, and run 104's CSVs were left behind that way (rebuilt from its Gatling logs, docs/PERF.md).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
OUT="${OUT:-$root/device-sweep-out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/device-sweep.log") 2>&1
# `none` is left out by default, and belongs only at rates below its knee: past it its backlog grows Gatling's unbounded
# pool until the generator runs out of file descriptors, and the 60-s idle timeout below (which keeps the pool warm
# across the gaps between rates) carries those connections into every later slice of the rate (run 94, docs/PERF.md).
POLICIES=${WEIR_DEVICE_POLICIES:-"adaptive fixed-0ms fixed-0.5ms fixed-1ms fixed-2ms fixed-5ms"}
# Ladders around the knees of the current jar on the lent machines' CPUs (runs 120-121, 2026-11-28: the ranker within
# budget at 12800 under every policy, its fitted ceiling 16510 req/s; moderation within to 29250, not at 35100).
PROBE_RANKER=${WEIR_PROBE_RANKER:-"8000,10000,12000,13500,15000,16500,18000,21000"}
PROBE_MODERATION=${WEIR_PROBE_MODERATION:-"14000,18000,22000,25000,28000,31000,35000,40000"}
FRACTIONS=${WEIR_DEVICE_FRACTIONS:-"0.5,1,1.25,1.5,2"}
ROUNDS=${WEIR_DEVICE_ROUNDS:-3}
# WEIR_DEVICE_CAPACITY_RANKER / _MODERATION: skip that model's probe and take this capacity; WEIR_DEVICE_SEED: the
# round-robin's shuffle seed (90).
SEED=${WEIR_DEVICE_SEED:-90}
# WEIR_DEVICE_GENERATOR=bounded: instead of Gatling's round-robin, each policy on a gateway of its own under
# BoundedPoolLoad (Poisson arrivals, at most WEIR_DEVICE_CONNECTIONS in flight, latency from the scheduled arrival;
# docs/PERF.md, "The load generator's connection pool"): what the gateway does at 2x when its clients keep their
# connections instead of opening one per waiting request. Writes sweep-<model>-bounded<N>.csv, no slices.
# WEIR_DEVICE_CLIENT_DEADLINE=1 (with bounded): the client propagates its deadline (run-sweep.sh --client-deadline);
# writes sweep-<model>-bounded<N>-deadline.csv.
GENERATOR=${WEIR_DEVICE_GENERATOR:-gatling}
CONNECTIONS=${WEIR_DEVICE_CONNECTIONS:-256}
deadline_args=() deadline_suffix=""
if [[ ${WEIR_DEVICE_CLIENT_DEADLINE:-0} == 1 ]]; then
  [[ $GENERATOR == bounded ]] || { echo "FAIL: WEIR_DEVICE_CLIENT_DEADLINE=1 needs WEIR_DEVICE_GENERATOR=bounded"; exit 2; }
  deadline_args=(--client-deadline) deadline_suffix=-deadline
fi
[[ $GENERATOR == gatling || $GENERATOR == bounded ]] || { echo "FAIL: WEIR_DEVICE_GENERATOR must be gatling or bounded"; exit 2; }

bundle=/tmp/weir-device-sweep
rm -rf "$bundle" && mkdir -p "$bundle"
tar -C "$bundle" -xJf .gpu/sweep.tar.xz || { echo "FAIL: cannot unpack .gpu/sweep.tar.xz"; exit 1; }
export JAVA_HOME="$bundle/sweep/jdk"
sed "s#\\(^\\|:\\)#\\1$bundle/sweep/#g" "$bundle/sweep/classpath.rel" >"$bundle/classpath.txt"
# CPU only, never phoning home: the comparison is of batching policies on ONNX Runtime's CPU backend.
export WEIR_GPU_ENABLED=false ORT_DISABLE_TELEMETRY=1

echo "== machine"
date -u +%FT%TZ
grep -m1 'model name' /proc/cpuinfo
echo "cpus $(nproc), memory $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)"
"$JAVA_HOME/bin/java" -version 2>&1 | head -1
if [[ -n "${WEIR_DEVICE_CPU_PLAN:-}" ]]; then   # "<ranker gateway> <ranker generator> <moderation gateway> <moderation generator>"
  read -r gw_ranker gen_ranker gw_moderation gen_moderation <<<"$WEIR_DEVICE_CPU_PLAN"
else
  # Physical cores, each as its CPUs (SMT siblings together), in order.
  mapfile -t cores < <(for c in /sys/devices/system/cpu/cpu[0-9]*; do
      [[ -f $c/topology/thread_siblings_list ]] && cat "$c/topology/thread_siblings_list"
    done | sort -t, -k1,1n -u)
  echo "physical cores: ${#cores[@]} (${cores[*]})"
  if (( ${#cores[@]} < 8 )); then
    echo "FAIL: need 8 physical cores (two gateways on two each, the rest for the generators), or WEIR_DEVICE_CPU_PLAN"
    exit 1
  fi
  first_cpu() { echo "${1%%[,-]*}"; }
  # Gateways: one CPU on each of two physical cores. Generators: the other physical cores split in two, all their CPUs.
  gw_ranker="$(first_cpu "${cores[0]}"),$(first_cpu "${cores[1]}")"
  gw_moderation="$(first_cpu "${cores[2]}"),$(first_cpu "${cores[3]}")"
  rest=("${cores[@]:4}")
  half=$(( ${#rest[@]} / 2 ))
  gen_ranker=$(IFS=,; echo "${rest[*]:0:half}")
  gen_moderation=$(IFS=,; echo "${rest[*]:half}")
fi
echo "ranker: gateway on CPUs $gw_ranker, Gatling on $gen_ranker"
echo "moderation: gateway on CPUs $gw_moderation, Gatling on $gen_moderation"

capacity_from_probe() {   # csv model budget fallback: 90% of the last ladder step within budget, in hundreds
  # The ladder ends at two failing steps in a row, or at a failing last step. One failing step with a step within
  # budget above it was a stall of the rig, not the knee: run 122's ranker shed 5% of one 4-s step at 12000 req/s,
  # held 13500-16500 with nothing shed, and its sweep then served 18000 under every policy; ending at the first
  # failure had put its capacity at 9000, so its "2x" was no overload.
  PYTHONPATH="$root/perf/sweep" python3 - "$@" <<'PY'
import math, os, sys
from analyze import load, within   # the sweep's own within-budget rule
path, model, budget, fallback = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
rows = sorted((r for r in load(path) if r["model"] == model), key=lambda r: r["offered_rps"]) if os.path.exists(path) else []
ok = [within(r, budget) for r in rows]
last = 0.0
for i, r in enumerate(rows):
    if not ok[i]:
        if i + 1 < len(rows) and ok[i + 1]:
            continue
        break
    last = r["offered_rps"]
print(int(math.floor(0.9 * last / 100)) * 100 if last > 0 else fallback)
PY
}

model_run() {   # model budget gateway-cpus generator-cpus probe-rates fallback-capacity
  local model=$1 budget=$2 gw=$3 gen=$4 ladder=$5 fallback=$6 cap rates
  local common=(--models "$model" --server-cpus "$gw" --load-cpus "$gen" --load-classpath "$bundle/classpath.txt"
                --jar "$bundle/sweep/weir-gateway.jar")
  local given_var="WEIR_DEVICE_CAPACITY_${model^^}"
  if [[ -n "${!given_var:-}" ]]; then   # a capacity probed before: no probe
    cap=${!given_var}
  else
    echo "$(date -u +%T) $model: probe $ladder"
    perf/sweep/run-sweep.sh "${common[@]}" --policies adaptive --capacity-$model "${ladder%%,*}" \
      --rates-$model "$ladder" --warmup 2 --measure 4 --prime-seconds 20 --out "$OUT/probe-$model.csv"
    cap=$(capacity_from_probe "$OUT/probe-$model.csv" "$model" "$budget" "$fallback")
  fi
  echo "$cap" >"$OUT/capacity-$model.txt"   # for what runs next (device-call.sh) and files the results
  if [[ $GENERATOR == bounded ]]; then
    echo "$(date -u +%T) $model: capacity $cap req/s; each policy at $FRACTIONS of it, at most $CONNECTIONS in flight"
    perf/sweep/run-sweep.sh "${common[@]}" --generator bounded --connections "$CONNECTIONS" --capacity-$model "$cap" \
      --fractions "$FRACTIONS" --policies "$POLICIES" --warmup 2 --measure 6 --prime-seconds 20 "${deadline_args[@]}" \
      --out "$OUT/sweep-$model-bounded$CONNECTIONS$deadline_suffix.csv"
  else
    echo "$(date -u +%T) $model: capacity $cap req/s; round-robin at $FRACTIONS of it"
    perf/sweep/run-sweep.sh "${common[@]}" --interleave --rounds "$ROUNDS" --slice-ms 3000 --seed "$SEED" --rate-gap 8 \
      --idle-timeout-ms 60000 --capacity-$model "$cap" --fractions "$FRACTIONS" --policies "$POLICIES" --warmup 2 \
      --prime-seconds 20 --out "$OUT/sweep-$model-seed$SEED.csv"
  fi
  echo "$(date -u +%T) $model: done"
}

echo "== sweeps ($(date -u +%T))"
# If even a ladder's first step fails its budget, the capacity is taken as half that step (the machine is slower than
# the ladder expects; the log's "capacity" line shows the value taken, and the run goes on).
model_run ranker 120 "$gw_ranker" "$gen_ranker" "$PROBE_RANKER" $(( ${PROBE_RANKER%%,*} / 2 )) > >(sed -u 's/^/[ranker] /') 2>&1 &
ranker_job=$!
model_run moderation 80 "$gw_moderation" "$gen_moderation" "$PROBE_MODERATION" $(( ${PROBE_MODERATION%%,*} / 2 )) \
  > >(sed -u 's/^/[moderation] /') 2>&1 &
moderation_job=$!
wait "$ranker_job" "$moderation_job"
sleep 1
work_dirs=$(grep -ho 'work dir /tmp/weir-sweep\.[A-Za-z0-9]*' "$OUT/device-sweep.log" | awk '{print $3}' | xargs -r -n1 basename | sort -u)
# shellcheck disable=SC2086
[[ -n "$work_dirs" ]] && tar -czf "$OUT/logs.tar.gz" --exclude="*.jar" --exclude="weir-sweep.*/tmp" \
  --exclude="weir-sweep.*/gatling" -C /tmp $work_dirs
echo "== done ($(date -u +%T)); files:"
ls -la "$OUT"
