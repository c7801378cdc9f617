#!/usr/bin/env bash
# Batching-policy sweep under Gatling open-model load (docs/PERF.md, "## Batching policies under load").
#
# For every policy and model: start a gateway with WEIR_BATCHING_POLICY set to the policy, wait for readiness, run
# io.weir.perf.gatling.PolicySweepSimulation over the offered rates (one Gatling run, rates in sequence), stop the
# gateway. With --interleave: one gateway per model, and the simulation measures every rate under every policy,
# switching the policy through the admin API before each measurement. Every run appends its rows to one CSV. Traffic
# goes to 127.0.0.1 only; every server started here is killed on exit; every wait is bounded.
#
# Usage (from the repository root, JDK 25):
#   perf/sweep/run-sweep.sh --capacity-ranker 300 --capacity-moderation 1000 [--models "ranker moderation"]
#       [--policies "none fixed-0ms fixed-0.5ms fixed-1ms fixed-2ms fixed-5ms fixed-10ms adaptive"]
#       [--fractions 0.1,0.25,0.5,0.75,1,1.25,1.5,2] [--rates-ranker 50,100] [--rates-moderation 100,200]
#       [--warmup 3] [--measure 8] [--out docs/results/policy-sweep.csv] [--jar gateway/target/weir-gateway.jar]
#       [--prime-seconds 20 --prime-fraction 1]    # unrecorded JIT warm-up: a ramp up to that fraction of capacity
#       [--closed-users "8 32"]                    # closed-loop capacity probe instead of open rates
#       [--server-opts "-XX:StartFlightRecording=..."]  # extra JVM options for every gateway started
#       [--heap-opts "-Xmx1g"]                     # the gateways' heap options (the default shown)
#       [--load-opts "-XX:StartFlightRecording=..."]    # extra JVM options for the load generator
#       [--pool-connections 6000]                  # open that many connections before the prime (Gatling's pool
#                                                  # cannot be bounded); measured: no storms, more shedding
#                                                  # (docs/PERF.md, "A warm connection pool for Gatling")
#       [--generator bounded --connections 64]     # load from BoundedPoolLoad (at most N connections) instead of
#                                                  # Gatling, whose shared pool opens a connection per waiting request
#       [--client-deadline]                        # with --generator bounded: each request carries what is left of
#                                                  # the model's budget from its scheduled arrival (x-weir-timeout-ms),
#                                                  # as a gRPC client propagates its deadline; expired ones stay unsent
#       [--idle-timeout-ms 3000]                   # Gatling's idle-connection timeout (the default shown)
#       [--interleave --seed 1]                    # one gateway per model; every rate measured once per policy,
#                                                  # switched at run time (PUT /admin/models/<m>/batching) in an
#                                                  # order shuffled per rate from the seed (Gatling only)
#       [--rounds 3 --slice-ms 3000]               # with --interleave: each rate one uninterrupted load, the policy
#                                                  # switched every slice, each policy in every round (round-robin)
#       [--load-runs 2 --load-pause 15]            # with --interleave: that many generator runs (prime included)
#                                                  # against the same gateway, the pause in seconds between them
#       [--rate-gap 15]                            # with --rounds: seconds without load between rates, in one run;
#                                                  # give an --idle-timeout-ms longer than the gap, or Gatling's
#                                                  # pool empties and the next rate starts with a connection storm
# One gateway, one rate (an A/B of two jars, a profile): --models ranker --policies adaptive --rates-ranker 3000.
# Each gateway's /metrics is read once when its load ends: the batcher's and the edge's refusals (logs/rejections.txt)
# and what ended its batches, per policy (logs/flushes-<label>-<model>.prom, for perf/sweep/flush_reasons.py).
# With --rounds, the slices themselves go beside the CSV too (<out>-slices.csv, checked against it when there is one
# load run; perf/sweep/slices.py compares the policies slice against slice).
# The gateway jar must exist (./mvnw -B -ntp -q -o -DskipTests -Dweir.perf.skip=true install); the perf test classes
# and their class path are built here when missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"

MODELS="ranker moderation"
POLICIES="none fixed-0ms fixed-0.5ms fixed-1ms fixed-2ms fixed-5ms fixed-10ms adaptive"
FRACTIONS="0.1,0.25,0.5,0.75,1,1.25,1.5,2"
declare -A CAPACITY=() RATES=()
WARMUP=3
MEASURE=8
OUT="docs/results/policy-sweep.csv"
JAR="gateway/target/weir-gateway.jar"
PRIME_SECONDS=20
PRIME_FRACTION=1
CLOSED_USERS=""
SERVER_OPTS=""
LOAD_OPTS=""
HEAP_OPTS="-Xmx1g"
GENERATOR=gatling
CONNECTIONS=64
CLIENT_DEADLINE=false
POOL_CONNECTIONS=0
IDLE_MS=3000
INTERLEAVE=0
SEED=1
ROUNDS=0
SLICE_MS=3000
LOAD_RUNS=1
LOAD_PAUSE=15
RATE_GAP=0
SERVER_CPUS=""
LOAD_CPUS=""
LOAD_CLASSPATH=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) MODELS=$2; shift 2 ;;
    --policies) POLICIES=$2; shift 2 ;;
    --fractions) FRACTIONS=$2; shift 2 ;;
    --capacity-ranker) CAPACITY[ranker]=$2; shift 2 ;;
    --capacity-moderation) CAPACITY[moderation]=$2; shift 2 ;;
    --rates-ranker) RATES[ranker]=$2; shift 2 ;;
    --rates-moderation) RATES[moderation]=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --measure) MEASURE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --jar) JAR=$2; shift 2 ;;
    --prime-seconds) PRIME_SECONDS=$2; shift 2 ;;
    --prime-fraction) PRIME_FRACTION=$2; shift 2 ;;
    --closed-users) CLOSED_USERS=$2; shift 2 ;;
    --server-opts) SERVER_OPTS=$2; shift 2 ;;
    --heap-opts) HEAP_OPTS=$2; shift 2 ;;
    --load-opts) LOAD_OPTS=$2; shift 2 ;;
    --generator) GENERATOR=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --client-deadline) CLIENT_DEADLINE=true; shift ;;
    --pool-connections) POOL_CONNECTIONS=$2; shift 2 ;;
    --idle-timeout-ms) IDLE_MS=$2; shift 2 ;;
    --interleave) INTERLEAVE=1; shift ;;
    --seed) SEED=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --slice-ms) SLICE_MS=$2; shift 2 ;;
    --load-runs) LOAD_RUNS=$2; shift 2 ;;
    --load-pause) LOAD_PAUSE=$2; shift 2 ;;
    --rate-gap) RATE_GAP=$2; shift 2 ;;
    --server-cpus) SERVER_CPUS=$2; shift 2 ;;
    --load-cpus) LOAD_CPUS=$2; shift 2 ;;
    --load-classpath) LOAD_CLASSPATH=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;   # the header comment, however long
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

policy_json() {
  case "$1" in
    none) echo '{"policy":"none"}' ;;
    adaptive) echo '{"policy":"adaptive"}' ;;
    adaptive-*)   # adaptive with other settings, '-'-separated: wait<f> pressure_wait_fraction (wait0: no CPU-pressure
                  # hold), wf<q> pressure_wait_floor (wf1: the flat bound of before), pt<u> pressure_threshold,
                  # k<n> pressure_batch_requests; e.g. adaptive-pt0.85-k5
      local json='{"policy":"adaptive"' part
      local IFS=-
      for part in ${1#adaptive-}; do
        case "$part" in
          wait*) json+=",\"pressure_wait_fraction\":${part#wait}" ;;
          wf*) json+=",\"pressure_wait_floor\":${part#wf}" ;;
          pt*) json+=",\"pressure_threshold\":${part#pt}" ;;
          k*) json+=",\"pressure_batch_requests\":${part#k}" ;;
          *) echo "unknown adaptive setting $part in $1" >&2; return 1 ;;
        esac
      done
      echo "$json}" ;;
    fixed-*ms)
      local ms=${1#fixed-}; ms=${ms%ms}
      local us
      us=$(awk -v m="$ms" 'BEGIN { printf "%d", m * 1000 }')
      echo "{\"policy\":\"fixed\",\"max_queue_delay_us\":$us}" ;;
    *) echo "unknown policy $1 (none, fixed-<ms>ms, adaptive, adaptive-wait<f>-wf<q>-pt<u>-k<n>)" >&2; return 1 ;;
  esac
}

rates_for() {
  local model=$1
  if [[ -n "${RATES[$model]:-}" ]]; then
    echo "${RATES[$model]}"
  elif [[ -n "${CAPACITY[$model]:-}" ]]; then
    awk -v c="${CAPACITY[$model]}" -v f="$FRACTIONS" 'BEGIN {
      n = split(f, a, ","); s = "";
      for (i = 1; i <= n; i++) { r = c * a[i]; s = s (i > 1 ? "," : "") sprintf("%.1f", r) }
      print s }'
  else
    echo "give --capacity-$model or --rates-$model" >&2; return 1
  fi
}

# Validate everything before starting anything.
[[ $GENERATOR == gatling || $GENERATOR == bounded ]] || { echo "--generator must be gatling or bounded" >&2; exit 2; }
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || { echo "--connections must be a positive integer" >&2; exit 2; }
[[ $GENERATOR == gatling || -z "$CLOSED_USERS" ]] || { echo "--closed-users needs the gatling generator" >&2; exit 2; }
[[ $GENERATOR == bounded || $CLIENT_DEADLINE == false ]] || { echo "--client-deadline needs --generator bounded" >&2; exit 2; }
if (( INTERLEAVE )); then
  [[ $GENERATOR == gatling && -z "$CLOSED_USERS" && $POOL_CONNECTIONS == 0 ]] \
    || { echo "--interleave takes the gatling generator, open rates and no --pool-connections" >&2; exit 2; }
  [[ $SEED =~ ^[0-9]+$ ]] || { echo "--seed must be a non-negative integer" >&2; exit 2; }
fi
[[ $IDLE_MS =~ ^[1-9][0-9]*$ ]] || { echo "--idle-timeout-ms must be a positive integer" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $SLICE_MS =~ ^[0-9]+$ ]] || { echo "--rounds and --slice-ms take integers" >&2; exit 2; }
(( ROUNDS == 0 || INTERLEAVE )) || { echo "--rounds needs --interleave" >&2; exit 2; }
[[ $LOAD_RUNS =~ ^[1-9][0-9]*$ && $LOAD_PAUSE =~ ^[0-9]+$ ]] || { echo "--load-runs takes a positive integer, --load-pause seconds" >&2; exit 2; }
(( LOAD_RUNS == 1 || INTERLEAVE )) || { echo "--load-runs needs --interleave" >&2; exit 2; }
[[ $RATE_GAP =~ ^[0-9]+$ ]] && (( RATE_GAP == 0 || ROUNDS > 0 )) || { echo "--rate-gap takes seconds and needs --rounds" >&2; exit 2; }
(( RATE_GAP * 1000 < IDLE_MS )) || echo "warning: --rate-gap ${RATE_GAP}s outlasts the ${IDLE_MS} ms idle timeout: each rate starts with no connections" >&2
for p in $POLICIES; do policy_json "$p" >/dev/null; done
for m in $MODELS; do
  [[ $m == ranker || $m == moderation ]] || { echo "unknown model $m" >&2; exit 2; }
  [[ -n "$CLOSED_USERS" ]] || rates_for "$m" >/dev/null
done
[[ "$OUT" == /* ]] || OUT="$ROOT/$OUT"
[[ -f "$JAR" ]] || { echo "gateway jar $JAR missing: build it first" >&2; exit 2; }
[[ -z "$LOAD_CLASSPATH" || -f "$LOAD_CLASSPATH" ]] || { echo "--load-classpath $LOAD_CLASSPATH: no such file" >&2; exit 2; }
pinned() {   # cpus command...: becomes the command, on those CPUs (any when none are given); call it with '&' or in
             # a subshell, so that $! is the command's own pid (the gateway's is read from /proc and killed by pid)
  local cpus=$1
  shift
  if [[ -z "$cpus" ]]; then
    exec "$@"
  else
    exec taskset -c "$cpus" "$@"
  fi
}
for cpus in "$SERVER_CPUS" "$LOAD_CPUS"; do
  [[ -z "$cpus" ]] || (pinned "$cpus" true) || { echo "cannot pin to CPUs '$cpus' (taskset)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/weir-sweep.XXXXXX)
# A private copy: a rebuild of gateway/ during the sweep must not change the server under test.
cp "$JAR" "$WORK/weir-gateway.jar"
mkdir -p "$WORK/logs" "$WORK/tmp" "$(dirname "$OUT")"
echo "work dir $WORK (logs in $WORK/logs)"

SERVER_PID=""
LOAD_PID=""
cleanup() {
  [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null || true
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
  LOAD_PID=""
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

CP_FILE="$ROOT/perf/target/sweep-classpath.txt"
if [[ -n "$LOAD_CLASSPATH" ]]; then
  CP=$(cat "$LOAD_CLASSPATH")
else
  if [[ ! -f "$CP_FILE" || ! -f perf/target/test-classes/io/weir/perf/gatling/PolicySweepSimulation.class
        || ! -f perf/target/test-classes/io/weir/perf/gatling/BoundedPoolLoad.class ]]; then
    ./mvnw -B -ntp -q -o -pl perf test-compile -Dweir.perf.skip=true
    ./mvnw -B -ntp -q -o -pl perf dependency:build-classpath -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test
  fi
  CP="$ROOT/perf/target/test-classes:$(cat "$CP_FILE")"
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_server() {   # policy ('' keeps each model's configured policy) log
  local policy=$1 log=$2 port
  port=$(free_port)
  ORT_DISABLE_TELEMETRY=1 WEIR_HTTP_HOST=127.0.0.1 WEIR_HTTP_PORT=$port WEIR_AUDIT_LOG="$WORK/audit.jsonl" \
    WEIR_EMBEDDING_INDEX_REFRESH_SECONDS=0 WEIR_BATCHING_POLICY="${policy:+$(policy_json "$policy")}" \
    pinned "$SERVER_CPUS" "$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow $HEAP_OPTS \
    -Xlog:gc:file="${log%.log}.gc.log" -Djava.io.tmpdir="$WORK/tmp" $SERVER_OPTS -jar "$WORK/weir-gateway.jar" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 240); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/health/ready" || true) == 200 ]]; then
      PORT=$port
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "gateway exited; see $log" >&2; return 1; }
    sleep 0.5
  done
  echo "gateway not ready after 120 s; see $log" >&2
  return 1
}

run_load() {   # policy model log -D... : one load run against the server on $PORT, bounded by $LIMIT seconds
  local policy=$1 model=$2 log=$3 main=(io.gatling.app.Gatling -s io.weir.perf.gatling.PolicySweepSimulation -rf "$WORK/gatling" -nr)
  shift 3
  [[ $GENERATOR == bounded ]] && main=(-Dweir.load.connections="$CONNECTIONS" -Dweir.load.clientDeadline="$CLIENT_DEADLINE"
    io.weir.perf.gatling.BoundedPoolLoad)
  # Idle connections close after 3 s by default, so a storm's connections do not outlive it; a warm pool must outlive
  # the run.
  local idle_ms=$IDLE_MS
  (( POOL_CONNECTIONS > 0 )) && idle_ms=600000
  pinned "$LOAD_CPUS" timeout "$LIMIT" "$JAVA" -Xmx1g -XX:MaxInlineLevel=20 -XX:MaxTrivialSize=12 -Xlog:gc:file="${log%.log}.gc.log" $LOAD_OPTS \
    --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/jdk.internal.misc=ALL-UNNAMED \
    --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED \
    -Dlogback.configurationFile="$ROOT/perf/sweep/logback.xml" -Djava.io.tmpdir="$WORK/tmp" \
    -Dgatling.http.requestTimeout=10000 -Dgatling.http.pooledConnectionIdleTimeout="$idle_ms" -Dweir.sweep.poolConnections="$POOL_CONNECTIONS" \
    -Dweir.baseUrl="http://127.0.0.1:$PORT" -Dweir.sweep.model="$model" -Dweir.sweep.policy="$policy" \
    -Dweir.sweep.warmupSeconds="$WARMUP" -Dweir.sweep.measureSeconds="$MEASURE" -Dweir.sweep.out="$OUT" -Dweir.sweep.serverPid="$SERVER_PID" "$@" \
    -cp "$CP" "${main[@]}" >"$log" 2>&1 &
  LOAD_PID=$!
  local rc=0
  wait "$LOAD_PID" || rc=$?
  if (( rc != 0 )); then
    # The cause inline: a refused setting fails in the first second, and the log stays on the machine that ran it.
    echo "$GENERATOR run $policy/$model failed (rc $rc); see $log; first error: $(grep -m1 -E 'Exception: |Error: ' "$log")" >&2
  fi
  LOAD_PID=""
}

collect_server_logs() {   # label model: the batcher's refusals and the longest GC pause, for the run's logs
  local policy=$1 model=$2 metrics
  # One scrape for both files (a scrape under load costs the gateway 10-40 ms of CPU).
  metrics=$(curl -s "http://127.0.0.1:$PORT/metrics" || true)
  # The edge guard's sheds too (weir_http_shed_total): a 429 is either the batcher's refusal or the edge's, and the
  # CSV counts them together; likewise a 504 is the batcher's timeout or the edge's (weir_http_expired_total, with
  # http.deadline.lag.reserve).
  grep -E '^weir_(batcher_(rejections|timeouts)|http_(shed|expired)_total)' <<<"$metrics" \
    | sed "s/^/$policy $model /" >>"$WORK/logs/rejections.txt" || true
  # What ended the batches, per policy, over the whole run (perf/sweep/flush_reasons.py reads this file).
  { echo "# t=$(date +%s)"; grep -E '^weir_batcher_(flushes|flushed_requests)_total' <<<"$metrics"; } \
    >>"$WORK/logs/flushes-$policy-$model.prom" || true
  grep -h -E 'Pause' "$WORK/logs/$policy-$model.server.gc.log" 2>/dev/null \
    | awk -v p="$policy" -v m="$model" '{ for (i = 1; i <= NF; i++) if ($i ~ /ms$/) { v = $i; sub(/ms/, "", v); if (v + 0 > max) max = v + 0 } }
        END { printf "%s %s gc pauses=%d longest=%.1fms\n", p, m, NR, max }' >>"$WORK/logs/gc.txt" || true
}

prime_rate_for() {   # model rates
  awk -v c="${CAPACITY[$1]:-0}" -v f="$PRIME_FRACTION" -v r="${2%%,*}" 'BEGIN { printf "%.1f", (c > 0 ? c * f : r) }'
}

if (( INTERLEAVE )); then
  POLICY_FILE="$WORK/policies.tsv"
  for p in $POLICIES; do printf '%s\t%s\n' "$p" "$(policy_json "$p")"; done >"$POLICY_FILE"
  npol=$(wc -l <"$POLICY_FILE")
  for model in $MODELS; do
    start_server "" "$WORK/logs/interleaved-$model.server.log"
    rates=$(rates_for "$model")
    n=$(awk -F, '{print NF}' <<<"$rates")
    prime_rate=$(prime_rate_for "$model" "$rates")
    if (( ROUNDS > 0 )); then
      LIMIT=$(( PRIME_SECONDS + n * (WARMUP + ROUNDS * npol * SLICE_MS / 1000 + 20 + RATE_GAP) + 120 ))
    else
      LIMIT=$(( PRIME_SECONDS + n * npol * (WARMUP + MEASURE + 10) + 120 ))
    fi
    for (( run = 1; run <= LOAD_RUNS; run++ )); do
      (( run == 1 )) || sleep "$LOAD_PAUSE"
      echo "$(date -u +%H:%M:%S) interleaved $model load run $run/$LOAD_RUNS policies=$npol seed=$SEED rounds=$ROUNDS slice=${SLICE_MS}ms rates=$rates prime=${prime_rate}x${PRIME_SECONDS}s port=$PORT load=$(cut -d' ' -f1-3 /proc/loadavg)"
      log="$WORK/logs/interleaved-$model.gatling.log"
      (( LOAD_RUNS == 1 )) || log="$WORK/logs/interleaved-$model-load$run.gatling.log"
      run_load interleaved "$model" "$log" -Dweir.sweep.rates="$rates" \
        -Dweir.sweep.primeRate="$prime_rate" -Dweir.sweep.primeSeconds="$PRIME_SECONDS" \
        -Dweir.sweep.policyFile="$POLICY_FILE" -Dweir.sweep.seed="$SEED" -Dweir.sweep.rounds="$ROUNDS" \
        -Dweir.sweep.sliceMillis="$SLICE_MS" -Dweir.sweep.rateGapSeconds="$RATE_GAP"
    done
    collect_server_logs interleaved "$model"
    cleanup
  done
  if (( ROUNDS > 0 )); then
    # The per-slice lines of every model's logs, as one table (the CSV's points pool them; slices.py compares them).
    label=$(basename "$OUT" .csv)
    specs=()
    for model in $MODELS; do
      if (( LOAD_RUNS == 1 )); then
        specs+=("$label=$WORK/logs/interleaved-$model.gatling.log,$OUT")
      else
        for (( run = 1; run <= LOAD_RUNS; run++ )); do
          specs+=("$label-load$run=$WORK/logs/interleaved-$model-load$run.gatling.log")
        done
      fi
    done
    python3 "$ROOT/perf/sweep/slices.py" "${specs[@]}" --csv "${OUT%.csv}-slices.csv" >/dev/null \
      && echo "slices: ${OUT%.csv}-slices.csv" || echo "slices not written (see above)" >&2
  fi
  echo "done: $OUT"
  exit 0
fi

for policy in $POLICIES; do
  for model in $MODELS; do
    start_server "$policy" "$WORK/logs/$policy-$model.server.log"
    if [[ -n "$CLOSED_USERS" ]]; then
      for users in $CLOSED_USERS; do
        LIMIT=$(( WARMUP + MEASURE + 120 ))
        echo "$(date -u +%H:%M:%S) $policy $model closed users=$users port=$PORT load=$(cut -d' ' -f1-3 /proc/loadavg)"
        run_load "$policy" "$model" "$WORK/logs/$policy-$model-closed$users.gatling.log" -Dweir.sweep.closedUsers="$users"
      done
    else
      rates=$(rates_for "$model")
      n=$(awk -F, '{print NF}' <<<"$rates")
      prime_rate=$(prime_rate_for "$model" "$rates")
      LIMIT=$(( PRIME_SECONDS + n * (WARMUP + MEASURE + 10) + 120 ))
      echo "$(date -u +%H:%M:%S) $policy $model rates=$rates prime=${prime_rate}x${PRIME_SECONDS}s port=$PORT load=$(cut -d' ' -f1-3 /proc/loadavg)"
      run_load "$policy" "$model" "$WORK/logs/$policy-$model.gatling.log" -Dweir.sweep.rates="$rates" \
        -Dweir.sweep.primeRate="$prime_rate" -Dweir.sweep.primeSeconds="$PRIME_SECONDS"
    fi
    collect_server_logs "$policy" "$model"
    cleanup
  done
done
echo "done: $OUT"
