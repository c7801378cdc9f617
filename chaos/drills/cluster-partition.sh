#!/usr/bin/env bash
# Drill: split the rollout leader from the other replicas by a network partition mid-rollout, on three replicas
# sharing their rollouts on this host (loopback only; the partition is the chaos API's, so chaos.enabled is on).
#
#   1. start three replicas (bin/weir), the first to start leads; put a 50% canary of ranker 1.1.0
#   2. with traffic on every replica, cut the leader's cluster traffic off from the two others
#      (PUT /admin/chaos/partition on it alone: it cuts both ways); clients still reach all three
#   3. the two others elect one of theirs (a higher term) within a few seconds; the lone leader keeps leading its side
#   4. each side changes the rollout: a rollback through the majority (answered x-weir-replicated 1/2: the lone replica
#      lacks it) and more canary traffic through the lone leader (answered 0/2: no other replica has it)
#   5. heal the partition: the higher term keeps leading, the lone replica follows it and serves the rollback, and its
#      own change is replaced, both in its audit log
#   6. no request of the traffic may fail meanwhile (a 429 shed by this full 2-core host is counted apart)
#
# Exit 0 when every check holds, 1 otherwise; the replicas' logs stay under $WORK (default: a temporary directory).
# Usage: chaos/drills/cluster-partition.sh [base-port]   (uses base..base+21; default 18900)
set -uo pipefail
base=${1:-18900}
source "$(dirname "$0")/cluster-lib.sh"
export WEIR_CHAOS_ENABLED=true

admin() { # admin <replica> <method> <path> <body>: prints "<status> <x-weir-replicated>"
  curl -s -D - -o /dev/null --max-time 10 -X "$2" "localhost:${http[$1]}$3" -H 'content-type: application/json' \
    -H 'x-weir-actor: drill' -d "$4" | tr -d '\r' \
    | awk 'NR==1 {code=$2} tolower($1)=="x-weir-replicated:" {r=$2} END {print code, (r == "" ? "-" : r)}'
}

echo "cluster-partition drill: replicas on HTTP ${http[*]}, logs in $WORK"
start_replicas
check "the first started leads" [ "$(leader_of 2)" = "${node[0]}" ]
read -r code replicated < <(admin 0 PUT /admin/rollouts/ranker \
  '{"primary":"1.0.0","canary":"1.1.0","canary_weight":50,"window_s":3600,"why":"partition drill"}')
check "a 50% canary is accepted and reaches both followers (HTTP $code, replicated $replicated)" \
  [ "$code $replicated" = "200 2/2" ]

echo "2. cut the leader off from the two others, traffic on every replica"
start_traffic 0
start_traffic 1
start_traffic 2
sleep 1
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "localhost:${http[0]}/admin/chaos/partition" \
  -d "{\"peers\":[\"${node[1]}\",\"${node[2]}\"]}")
check "the partition is set on replica 0 (HTTP $code)" [ "$code" = 200 ]
cut=$SECONDS

echo "3. each side leads"
split() { [ "$(leader_of 1)" = "${node[1]}" ] && [ "$(leader_of 2)" = "${node[1]}" ] && leading 1 && leading 0 \
  && [ "$(cluster_key 0 peers)" = "[]" ]; }
check "replicas 1 and 2 elect replica 1 within 10 s; replica 0, hearing no one, leads alone" wait_for 10 split
echo "     the replicas' logs: cut at $(logged_at 0 'chaos: this replica'), replica 1 leads at $(logged_at 1 'leads the rollouts, term') (the drill saw it $((SECONDS - cut)) s after the cut)"
echo "     terms: replica 0 $(cluster_key 0 term), replica 1 $(cluster_key 1 term)"

echo "4. a change on each side"
read -r code replicated < <(admin 2 POST /admin/rollouts/ranker/rollback '{"why":"rollback on the majority side"}')
check "a rollback through replica 2 is decided by replica 1 (HTTP $code, replicated $replicated)" \
  [ "$code $replicated" = "200 1/2" ]
read -r code replicated < <(admin 0 PUT /admin/rollouts/ranker \
  '{"primary":"1.0.0","canary":"1.1.0","canary_weight":80,"window_s":3600,"why":"more canary on the lone side"}')
check "the lone leader takes a change and says no other replica has it (HTTP $code, replicated $replicated)" \
  [ "$code $replicated" = "200 0/2" ]
sides() { [ "$(status 1)" = rolled_back ] && [ "$(status 2)" = rolled_back ] && [ "$(status 0)" = running ]; }
check "the majority serves the rollback, the lone replica its own change" sides

echo "5. heal the partition"
healed_at=$SECONDS
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "localhost:${http[0]}/admin/chaos/partition")
check "the partition is healed (HTTP $code)" [ "$code" = 200 ]
converged() { [ "$(leader_of 0)" = "${node[1]}" ] && [ "$(cluster_key 0 leading)" = false ] && leading 1 && [ "$(status 0)" = rolled_back ]; }
check "the higher term keeps leading; replica 0 follows it and serves the rollback within 10 s" wait_for 10 converged
echo "     the replicas' logs: healed at $(logged_at 0 'partition is healed'), replica 0 follows at $(logged_at 0 'now follows') (the drill saw it $((SECONDS - healed_at)) s after)"
rolled_back() { [ "$(status 1)" = rolled_back ] && [ "$(status 2)" = rolled_back ]; }
check "replicas 1 and 2 still serve the rollback" rolled_back
audited() { grep -q 'more canary on the lone side' "$WORK/audit-0.jsonl" \
  && grep -q "\"actor\":\"leader ${node[1]}\"" "$WORK/audit-0.jsonl"; }
check "replica 0's audit log keeps its own change and its replacement" audited
a0=$(arms 0); a1=$(arms 1)
only_primary() { [[ $a0 == *primary* && $a0 != *canary* && $a0 == "$a1" ]]; }
check "every user on the primary, alike on replicas 0 and 1" only_primary

echo "6. traffic through the partition"
sleep 1
check_traffic_and_finish 20 20 20
