#!/usr/bin/env bash
# Drill: lose the rollout leader mid-rollout, on three replicas sharing their rollouts on this host (loopback only).
#
#   1. start three replicas (bin/weir), the first to start leads; put a 50% canary of ranker 1.1.0 through another
#   2. check that every replica serves each user the same arm
#   3. with traffic on the two others, freeze the leader (SIGSTOP): the longest-running of the others must lead within
#      a few seconds, and a rollback sent through the third must reach both
#   4. thaw the old leader (SIGCONT): it must follow the new leader and serve the rollback, not undo it
#   5. no request of the traffic (on every replica, from before the freeze to after the thaw) may fail: serving never
#      waits for the leader. A 429 is not a failure here: it is the edge shedding because this host's cores are full
#      (three gateways and their clients share them); the drill counts and shows them apart.
#
# Exit 0 when every check holds, 1 otherwise; the replicas' logs stay under $WORK (default: a temporary directory).
# Usage: chaos/drills/cluster-failover.sh [base-port]   (uses base..base+21; default 18800)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:-18800}
WORK=${WORK:-$(mktemp -d -t weir-cluster-drill.XXXXXX)}
token=drill-$RANDOM$RANDOM
http=("$base" "$((base + 10))" "$((base + 20))")
cport=("$((base + 1))" "$((base + 11))" "$((base + 21))")
peers="127.0.0.1:${cport[0]},127.0.0.1:${cport[1]},127.0.0.1:${cport[2]}"
pids=()
failures=0

cleanup() {
  touch "$WORK/stop-traffic"
  for p in ${pids[@]+"${pids[@]}"}; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT

check() { # check <what> <command...>
  local what=$1; shift
  if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what"; failures=$((failures + 1)); fi
}

field() { # field <port> <path> <python expression on d>
  curl -s --max-time 2 "localhost:$1$2" | python3 -c "import json,sys; d=json.load(sys.stdin); print($3)" 2>/dev/null
}

wait_for() { # wait_for <seconds> <command...>: polls every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}

arms() { # the x-weir-variant served to users u0..u19 by one replica
  local port=$1 out=""
  for u in $(seq 0 19); do
    out+=$(curl -s -D - -o /dev/null --max-time 2 "localhost:$port/v1/rank:score" -H 'content-type: application/json' \
      -d "{\"user_id\":\"u$u\",\"candidates\":[{\"item_id\":\"a\",\"features\":{\"price\":3,\"category\":\"toys\"}}]}" \
      | tr -d '\r' | awk 'tolower($1)=="x-weir-variant:" {print $2}')" "
  done
  echo "$out"
}

echo "cluster-failover drill: replicas on HTTP ${http[*]}, logs in $WORK"
for port in "${http[@]}" "${cport[@]}"; do # a replica left over on a port would answer for the one that cannot bind
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use: pick another base port"; exit 2; fi
done
for i in 0 1 2; do
  WEIR_HTTP_PORT=${http[$i]} WEIR_CLUSTER_PORT=${cport[$i]} WEIR_CLUSTER_ADVERTISE=127.0.0.1:${cport[$i]} \
    WEIR_CLUSTER_PEERS=$peers WEIR_CLUSTER_TOKEN=$token WEIR_AUDIT_LOG="$WORK/audit-$i.jsonl" \
    "$root/bin/weir" > "$WORK/weir-$i.log" 2>&1 &
  pids+=($!)
  ready() { kill -0 "${pids[$i]}" 2>/dev/null \
    && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "localhost:${http[$i]}/v2/health/ready")" = 200 ]; }
  if ! wait_for 120 ready; then echo "replica $i did not become ready (see $WORK/weir-$i.log)"; exit 1; fi
done
leader=$(field "${http[2]}" /admin/cluster "d['leader']")
echo "1. three replicas ready; leader $leader"
check "the first started leads" [ "$leader" = "127.0.0.1:${cport[0]}" ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "localhost:${http[2]}/admin/rollouts/ranker" -H 'x-weir-actor: drill' \
  -d '{"primary":"1.0.0","canary":"1.1.0","canary_weight":50,"why":"cluster drill"}')
check "a 50% canary put through a follower is accepted (HTTP $code)" [ "$code" = 200 ]

echo "2. the same arm for each user on every replica"
sleep 0.5
a0=$(arms "${http[0]}"); a1=$(arms "${http[1]}"); a2=$(arms "${http[2]}")
echo "     $a0"
check "replica 1 serves every user as replica 0 does" [ "$a0" = "$a1" ]
check "replica 2 serves every user as replica 0 does" [ "$a0" = "$a2" ]
both_arms() { [[ $a0 == *canary* && $a0 == *primary* ]]; }
check "both arms in use" both_arms

echo "3. freeze the leader, traffic on every replica"
traffic() { # <port>: one request after another until the stop file; prints how many were sent and how many failed
  local port=$1 sent=0 bad=0 code
  while [ ! -e "$WORK/stop-traffic" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "localhost:$port/v1/rank:score" -H 'content-type: application/json' \
      -d "{\"user_id\":\"t$sent\",\"candidates\":[{\"item_id\":\"a\",\"features\":{\"price\":3,\"category\":\"toys\"}}]}")
    sent=$((sent + 1))
    if [ "$code" != 200 ]; then echo "$port $code" >> "$WORK/not-200"; fi
    if [ "$code" != 200 ] && [ "$code" != 429 ]; then bad=$((bad + 1)); fi
  done
  echo "$sent $bad"
}
rm -f "$WORK/stop-traffic"
traffic "${http[1]}" > "$WORK/traffic-1" &
t1=$!
traffic "${http[2]}" > "$WORK/traffic-2" &
t2=$!
sleep 1
kill -STOP "${pids[0]}"
frozen=$SECONDS
new_leader() { [ "$(field "${http[1]}" /admin/cluster "d['leader']")" = "127.0.0.1:${cport[1]}" ] \
  && [ "$(field "${http[2]}" /admin/cluster "d['leader']")" = "127.0.0.1:${cport[1]}" ]; }
check "replica 1, the longest-running left, leads within 10 s" wait_for 10 new_leader
echo "     took about $((SECONDS - frozen)) s (three syncs of silence; a frozen peer holds each sync up to its timeout)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "localhost:${http[2]}/admin/rollouts/ranker/rollback" \
  -d '{"actor":"drill","why":"rollback while the old leader is frozen"}')
check "a rollback through replica 2 is accepted (HTTP $code)" [ "$code" = 200 ]
status() { field "$1" "/admin/rollouts/ranker?local=true" "d['rollout']['status']"; }
rolled_back() { [ "$(status "${http[1]}")" = rolled_back ] && [ "$(status "${http[2]}")" = rolled_back ]; }
check "both live replicas serve the rollback within 2 s" wait_for 2 rolled_back

echo "4. thaw the old leader (traffic on it too)"
kill -CONT "${pids[0]}"
traffic "${http[0]}" > "$WORK/traffic-0" &
t0=$!
follows() { [ "$(field "${http[0]}" /admin/cluster "d['leader']")" = "127.0.0.1:${cport[1]}" ] \
  && [ "$(status "${http[0]}")" = rolled_back ]; }
check "the old leader follows the new one and serves the rollback within 10 s" wait_for 10 follows
check "replicas 1 and 2 still serve the rollback" rolled_back
check "replica 0 does not lead" [ "$(field "${http[0]}" /admin/cluster "d['leading']")" = False ]

echo "5. traffic during the failover"
sleep 2
touch "$WORK/stop-traffic"
wait "$t0" "$t1" "$t2"
read -r s0 b0 < "$WORK/traffic-0"; read -r s1 b1 < "$WORK/traffic-1"; read -r s2 b2 < "$WORK/traffic-2"
echo "     replica 0 (after the thaw): $s0 requests, $b0 failed; replica 1: $s1, $b1 failed; replica 2: $s2, $b2 failed"
[ -e "$WORK/not-200" ] && echo "     not 200 (port status): $(sort "$WORK/not-200" | uniq -c | tr '\n' ' ')"
check "every request answered (200, or 429 shed by a full host)" [ "$((b0 + b1 + b2))" = 0 ]
flowed() { [ "$s0" -gt 5 ] && [ "$s1" -gt 20 ] && [ "$s2" -gt 20 ]; }
check "traffic flowed on every replica" flowed

if [ "$failures" -eq 0 ]; then echo "PASS"; exit 0; fi
echo "FAIL: $failures check(s)"; exit 1
