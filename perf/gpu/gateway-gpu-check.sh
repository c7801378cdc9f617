#!/usr/bin/env bash
# The gateway end to end on a GPU machine: the real server with the CUDA backend, over HTTP on loopback.
#  1. which backends each model loaded on (CUDA for the MLPs, the CPU for echo's strings);
#  2. the ranker@1.1.0 and moderation golden sets replayed over HTTP, served by CUDA, against ONNX Runtime's outputs;
#  3. closed-loop load on the ranker (50 candidates a request) with the GPU, then with gpu.enabled=false, same machine;
#  4. the failing-device chaos drill (chaos/drills/failing-device.json, 40 s): every ranker batch on CUDA fails as a
#     device fault, and clients must see only 200s within the budget (the CPU reruns each batch), nothing lost.
# Needs .gpu/gw and .gpu/gwjdk.tar.xz from perf/gpu/gateway-gpu-prepare.sh. Output: stdout and $OUT/gateway-gpu-check.log.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
OUT="${OUT:-$root/gpu-check-out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gateway-gpu-check.log") 2>&1
mkdir -p /tmp/weir-gw && tar -C /tmp/weir-gw -xJf .gpu/gwjdk.tar.xz
java=/tmp/weir-gw/gwjdk/bin/java
for d in /usr/local/cuda-13.0/targets/x86_64-linux/lib /usr/local/cuda/lib64 /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do
  [[ -d "$d" ]] && LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
export LD_LIBRARY_PATH ORT_DISABLE_TELEMETRY=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null
port=18080
pid=""
stop() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=""; }
trap stop EXIT
start() {  # $1: gpu.enabled, $2: chaos.enabled (default false)
  WEIR_HTTP_PORT=$port WEIR_GPU_ENABLED=$1 WEIR_CHAOS_ENABLED=${2:-false} WEIR_CPU_THREADS=8 WEIR_AUDIT_LOG=/tmp/weir-gw/audit.jsonl \
    "$java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx8g -cp ".gpu/gw/*" \
    io.weir.gateway.Main > "/tmp/weir-gw/server-gpu-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "FAIL server exited"; tail -30 "/tmp/weir-gw/server-gpu-$1.log"; return 1; }
    sleep 0.5
  done
  echo "FAIL server not ready in 120 s"; tail -30 "/tmp/weir-gw/server-gpu-$1.log"; return 1
}

echo "== gateway with the GPU"
start true || exit 1
grep -E "CUDA backend|loaded " /tmp/weir-gw/server-gpu-true.log | sed 's/^/   /' | cut -c1-220
curl -s "http://127.0.0.1:$port/admin/models" | python3 -c '
import json,sys
d=json.load(sys.stdin)
for b in d["backends"]: print("   backend", b["name"], "available" if b["available"] else "unavailable: "+b["reason"])
for m in d["models"]: print("   ", m["model"]+"@"+m["version"], m["state"], "on", m["backends"])'
python3 perf/gpu/gateway_gpu_load.py golden "http://127.0.0.1:$port" runtime/src/main/resources/io/weir/runtime/demo/repository
rc_golden=$?
python3 perf/gpu/gateway_gpu_load.py load "http://127.0.0.1:$port" gpu "${WEIR_GPU_LOAD_SECS:-12}"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^weir_batcher_(batch_rows_(sum|count)|fallbacks_total)' | grep 'model="ranker"' | sed 's/^/   /' | head -12
stop
echo "== gateway with gpu.enabled=false (CPU only), same machine"
start false || exit 1
python3 perf/gpu/gateway_gpu_load.py load "http://127.0.0.1:$port" cpu "${WEIR_GPU_LOAD_SECS:-12}"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^weir_batcher_batch_rows_(sum|count)' | grep 'model="ranker"' | sed 's/^/   /' | head -6
stop
echo "== chaos drill on the GPU: every ranker batch on CUDA fails (device fault), the CPU reruns it"
start true true || exit 1
timeout 120 "$java" -cp ".gpu/gw/*" io.weir.chaos.drill.DrillMain --plan chaos/drills/failing-device.json \
  --base "http://127.0.0.1:$port" --report "$OUT/drill-failing-device.json"
rc_drill=$?
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^weir_batcher_(fallbacks_total|batch_rows_count)' | grep 'model="ranker"' | sed 's/^/   /' | head -8
stop
echo "== done: golden sets exit $rc_golden, failing-device drill exit $rc_drill"
(( rc_golden != 0 )) && exit $rc_golden
exit $rc_drill
