# Shared by the cluster drills (cluster-failover.sh, cluster-partition.sh): three replicas of bin/weir sharing their
# rollouts on this host (loopback only), checks, polling and client traffic. Sourced, not run; the drill sets $base
# (the first of the ports base..base+21) and may set $WEIR_CHAOS_ENABLED before start_replicas.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=${WORK:-$(mktemp -d -t weir-cluster-drill.XXXXXX)}
mkdir -p "$WORK"
# a $WORK given again must not judge this run by the last one's audit logs and traffic
rm -f "$WORK"/audit-*.jsonl "$WORK"/weir-*.log "$WORK"/not-200 "$WORK"/traffic-* "$WORK"/stop-traffic
token=drill-$RANDOM$RANDOM
http=("$base" "$((base + 10))" "$((base + 20))")
cport=("$((base + 1))" "$((base + 11))" "$((base + 21))")
node=("127.0.0.1:${cport[0]}" "127.0.0.1:${cport[1]}" "127.0.0.1:${cport[2]}")
peers="${node[0]},${node[1]},${node[2]}"
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

# The two polled most, read without a Python start (a loaded 2-core host makes each one slow): the replica's own
# "leader" and "leading" come first in /admin/cluster, before its peers' entries.
cluster_key() { curl -s --max-time 2 "localhost:${http[$1]}/admin/cluster" | grep -o "\"$2\":[^,}]*" | head -1 | cut -d: -f2- | tr -d '"'; }
peers_heard() { echo $(($(curl -s --max-time 2 "localhost:${http[$1]}/admin/cluster" | grep -o '"node":' | wc -l) - 1)); }
leader_of() { cluster_key "$1" leader; }
leading() { [ "$(cluster_key "$1" leading)" = true ]; }
logged_at() { # logged_at <replica> <text>: the time of the replica's last log record containing the text
  grep -B1 -F "$2" "$WORK/weir-$1.log" | grep -v -F "$2" | tail -1 | awk '{print $4, $5}'
}
status() { field "${http[$1]}" "/admin/rollouts/ranker?local=true" "d['rollout']['status']"; }

rank_body() { echo "{\"user_id\":\"$1\",\"candidates\":[{\"item_id\":\"a\",\"features\":{\"price\":3,\"category\":\"toys\"}}]}"; }

arms() { # the x-weir-variant served to users u0..u19 by one replica (by index)
  local port=${http[$1]} out=""
  for u in $(seq 0 19); do
    out+=$(curl -s -D - -o /dev/null --max-time 2 "localhost:$port/v1/rank:score" -H 'content-type: application/json' \
      -d "$(rank_body "u$u")" | tr -d '\r' | awk 'tolower($1)=="x-weir-variant:" {print $2}')" "
  done
  echo "$out"
}

start_replicas() { # one after the other, so that the first started leads; exits 2 on a port in use, 1 when one fails
  for port in "${http[@]}" "${cport[@]}"; do # a replica left over on a port would answer for the one that cannot bind
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use: pick another base port"; exit 2; fi
  done
  local i
  for i in 0 1 2; do
    WEIR_HTTP_PORT=${http[$i]} WEIR_CLUSTER_PORT=${cport[$i]} WEIR_CLUSTER_ADVERTISE=${node[$i]} \
      WEIR_CLUSTER_PEERS=$peers WEIR_CLUSTER_TOKEN=$token WEIR_AUDIT_LOG="$WORK/audit-$i.jsonl" \
      "$root/bin/weir" > "$WORK/weir-$i.log" 2>&1 &
    pids+=($!)
    ready() { kill -0 "${pids[$i]}" 2>/dev/null \
      && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "localhost:${http[$i]}/v2/health/ready")" = 200 ]; }
    if ! wait_for 120 ready; then echo "replica $i did not become ready (see $WORK/weir-$i.log)"; exit 1; fi
  done
  # the last started heard the others before it was ready; they hear it at their next sync
  all_heard() { local j; for j in 0 1 2; do [ "$(peers_heard "$j")" = 2 ] || return 1; done; }
  if ! wait_for 10 all_heard; then echo "the replicas did not all hear each other within 10 s (see $WORK)"; exit 1; fi
}

# Client traffic: one request after another on a replica until the stop file; its file gets "<sent> <failed>". A 429
# is not a failure in these drills: it is the edge shedding because this host's cores are full (three gateways and
# their clients share them); each non-200 is listed in $WORK/not-200 as "<port> <status>".
traffic() { # traffic <replica index>
  local port=${http[$1]} sent=0 bad=0 code
  while [ ! -e "$WORK/stop-traffic" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "localhost:$port/v1/rank:score" -H 'content-type: application/json' \
      -d "$(rank_body "t$sent")")
    sent=$((sent + 1))
    if [ "$code" != 200 ]; then echo "$port $code" >> "$WORK/not-200"; fi
    if [ "$code" != 200 ] && [ "$code" != 429 ]; then bad=$((bad + 1)); fi
  done
  echo "$sent $bad" > "$WORK/traffic-$1"
}

stop_traffic() { # stops the traffic and prints what each replica's client got; sets total_failed
  touch "$WORK/stop-traffic"
  if ((${#traffic_pids[@]})); then wait "${traffic_pids[@]}"; fi # a bare wait would wait for the replicas too
  total_failed=0
  local i s b line=""
  for i in 0 1 2; do
    [ -e "$WORK/traffic-$i" ] || continue
    read -r s b < "$WORK/traffic-$i"
    line+="replica $i: $s requests, $b failed; "
    total_failed=$((total_failed + b))
    eval "sent_$i=$s"
  done
  echo "     ${line%; }"
  [ -e "$WORK/not-200" ] && echo "     not 200 (port status): $(sort "$WORK/not-200" | uniq -c | tr '\n' ' ')"
}
traffic_pids=()
start_traffic() { rm -f "$WORK/stop-traffic"; traffic "$1" & traffic_pids+=($!); }

# check_traffic_and_finish <least requests on replica 0> <on 1> <on 2>: stops the traffic, checks that none failed and that it
# flowed everywhere, then ends the drill: exit 0 when every check held, 1 otherwise.
check_traffic_and_finish() {
  stop_traffic
  check "every request answered (200, or 429 shed by a full host)" [ "$total_failed" = 0 ]
  flowed() { [ "${sent_0:-0}" -gt "$1" ] && [ "${sent_1:-0}" -gt "$2" ] && [ "${sent_2:-0}" -gt "$3" ]; }
  check "traffic flowed on every replica" flowed "$@"
  if [ "$failures" -eq 0 ]; then echo "PASS"; exit 0; fi
  echo "FAIL: $failures check(s)"; exit 1
}
