#!/usr/bin/env bash
# What a shed request costs the gateway against a served one (docs/PERF.md, "What a shed request costs"): one gateway
# with chaos.enabled pinned to one CPU, a closed-loop keep-alive client (KeepAliveLoad.java) on another, and per model
# two arms on the same gateway, alternating in order from round to round: "served" (the shed drill off, edge shedding
# off) and "shed" (PUT /admin/chaos/shed {"fraction": 1}: every request answered 429 through the edge's real shedding
# path). Each arm: a warm-up run, then a measured run with the gateway's CPU ticks read from /proc around it. Prints
# one CSV row per arm and round, then per model the median ratio r = shed/served CPU a request and what it implies: at
# an offered load of m times the knee K, a CPU-bound gateway serves S = K (1 - m r) / (1 - r) (its CPU is spent on the
# served and the shed alone), so goodput >= 0.9 K at 2x needs r <= 1/11.
#
# Usage: perf/sweep/shed-cost.sh [--jar gateway/target/weir-gateway.jar] [--rounds 3] [--connections 64]
#            [--seconds 10] [--warmup 15] [--out shed-cost.csv] [--client-classes DIR]
# (--client-classes: KeepAliveLoad compiled there, for a runtime without javac, as the lent machine's bundle is.)
# (64 connections keep a one-CPU gateway busy on moderation too; 15 s of warm-up let the JIT finish the ranker.)
# Linux only (/proc, taskset). Build first: ./mvnw -B -ntp -q -o -DskipTests -Dweir.perf.skip=true install
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
JAR=$root/gateway/target/weir-gateway.jar ROUNDS=3 CONNECTIONS=64 SECONDS_MEASURED=10 WARMUP=15 OUT="" CLIENT_CLASSES=""
while (( $# )); do
  case $1 in
    --jar) JAR=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --seconds) SECONDS_MEASURED=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --client-classes) CLIENT_CLASSES=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA=$JAVA_HOME/bin/java
[[ -f $JAR ]] || { echo "no gateway jar at $JAR: build it first" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill ${pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
gateway_cpu=() client_cpu=()   # the gateway on CPU 0, the client on CPU 1, where there are two
if command -v taskset >/dev/null && (( $(nproc) > 1 )); then gateway_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi

# The bodies the API contract lays out: a 50-candidate rank request and a moderation text, each with its request_id.
python3 - "$work" <<'PY'
import json, random, sys
random.seed(1)
cats = ["books", "toys", "electronics", "garden"]
rank = {"user_id": "user-42", "context": {"locale": "en-US", "ts": "2026-11-26T10:15:00Z"},
        "candidates": [{"item_id": "i-%d" % random.randint(0, 99999),
                        "features": {"price": round(random.uniform(1, 500), 2), "category": random.choice(cats)}}
                       for _ in range(50)],
        "request_id": "r-1"}
json.dump(rank, open(sys.argv[1] + "/rank.json", "w"), separators=(",", ":"))
json.dump({"text": "thanks, that was helpful, see you tomorrow", "request_id": "r-2"}, open(sys.argv[1] + "/moderate.json", "w"))
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${gateway_cpu[@]}" env ORT_DISABLE_TELEMETRY=1 WEIR_HTTP_HOST=127.0.0.1 WEIR_HTTP_PORT=$port WEIR_CHAOS_ENABLED=true \
  WEIR_HTTP_SHED_BUDGET_FRACTION=0 "$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx1g -jar "$JAR" >"$work/gateway.log" 2>&1 &
pid=$!   # taskset and env exec: this is the gateway's JVM, whose CPU ticks /proc/$pid/stat counts
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null || { echo "gateway not ready; its log:" >&2; tail -20 "$work/gateway.log" >&2; exit 1; }
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
client=("$root/perf/sweep/KeepAliveLoad.java")
[[ -n $CLIENT_CLASSES ]] && client=(-cp "$CLIENT_CLASSES" KeepAliveLoad)
load() { "${client_cpu[@]}" "$JAVA" "${client[@]}" 127.0.0.1 "$port" "$1" "$2" "$CONNECTIONS" "$3"; }

rows=$work/rows.csv
echo "round,model,arm,requests,rate_per_s,statuses,gateway_cores,gateway_cpu_us_per_request" >"$rows"
for round in $(seq 1 "$ROUNDS"); do
  if (( round % 2 )); then arms="served shed"; else arms="shed served"; fi
  for model in rank moderate; do
    path=/v1/moderate; [[ $model == rank ]] && path=/v1/rank:score
    for arm in $arms; do
      fraction=0; [[ $arm == shed ]] && fraction=1
      curl -sf -X PUT "http://127.0.0.1:$port/admin/chaos/shed" -d "{\"fraction\": $fraction}" >/dev/null
      load "$path" "$work/$model.json" "$WARMUP" >/dev/null
      t0=$(ticks)
      out=$(load "$path" "$work/$model.json" "$SECONDS_MEASURED")
      t1=$(ticks)
      total=$(awk '{print $2}' <<<"$out")
      statuses=$(cut -d' ' -f5- <<<"$out" | xargs)
      want=200; [[ $arm == shed ]] && want=429
      if [[ $statuses != "$want=$total" ]]; then
        echo "FAIL: round $round $model $arm answered $statuses, expected only $want" >&2; exit 1
      fi
      awk -v r="$round" -v m="$model" -v a="$arm" -v n="$total" -v s="$SECONDS_MEASURED" -v st="$statuses" -v d=$((t1 - t0)) \
        'BEGIN { printf "%s,%s,%s,%d,%.0f,%s,%.3f,%.1f\n", r, m, a, n, n / s, st, d / 100 / s, d * 10000 / n }' >>"$rows"
      tail -1 "$rows"
    done
  done
done
curl -sf -X DELETE "http://127.0.0.1:$port/admin/chaos/shed" >/dev/null
[[ -n $OUT ]] && cp "$rows" "$OUT"
python3 - "$rows" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for model in ("rank", "moderate"):
    ratios = []
    for rnd in sorted({r["round"] for r in rows}):
        cost = {r["arm"]: float(r["gateway_cpu_us_per_request"]) for r in rows if r["model"] == model and r["round"] == rnd}
        ratios.append(cost["shed"] / cost["served"])
    r = statistics.median(ratios)
    served = lambda m: max(0.0, (1 - m * r) / (1 - r))
    print(f"{model}: shed/served CPU a request {r:.3f} (rounds: {', '.join(f'{x:.3f}' for x in ratios)}); "
          f"a CPU-bound gateway would serve {served(1.6):.0%} of its knee at 1.6x and {served(2):.0%} at 2x")
PY
