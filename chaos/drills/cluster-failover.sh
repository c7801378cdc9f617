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
base=${1:-18800}
source "$(dirname "$0")/cluster-lib.sh"

echo "cluster-failover drill: replicas on HTTP ${http[*]}, logs in $WORK"
start_replicas
leader=$(leader_of 2)
echo "1. three replicas ready; leader $leader"
check "the first started leads" [ "$leader" = "${node[0]}" ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "localhost:${http[2]}/admin/rollouts/ranker" -H 'x-weir-actor: drill' \
  -d '{"primary":"1.0.0","canary":"1.1.0","canary_weight":50,"why":"cluster drill"}')
check "a 50% canary put through a follower is accepted (HTTP $code)" [ "$code" = 200 ]

echo "2. the same arm for each user on every replica"
sleep 0.5
a0=$(arms 0); a1=$(arms 1); a2=$(arms 2)
echo "     $a0"
check "replica 1 serves every user as replica 0 does" [ "$a0" = "$a1" ]
check "replica 2 serves every user as replica 0 does" [ "$a0" = "$a2" ]
both_arms() { [[ $a0 == *canary* && $a0 == *primary* ]]; }
check "both arms in use" both_arms

echo "3. freeze the leader, traffic on every replica"
start_traffic 1
start_traffic 2
sleep 1
kill -STOP "${pids[0]}"
frozen=$SECONDS
new_leader() { [ "$(leader_of 1)" = "${node[1]}" ] && [ "$(leader_of 2)" = "${node[1]}" ]; }
check "replica 1, the longest-running left, leads within 10 s" wait_for 10 new_leader
echo "     took about $((SECONDS - frozen)) s (three syncs of silence; a frozen peer holds each sync up to its timeout)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "localhost:${http[2]}/admin/rollouts/ranker/rollback" \
  -d '{"actor":"drill","why":"rollback while the old leader is frozen"}')
check "a rollback through replica 2 is accepted (HTTP $code)" [ "$code" = 200 ]
rolled_back() { [ "$(status 1)" = rolled_back ] && [ "$(status 2)" = rolled_back ]; }
check "both live replicas serve the rollback within 2 s" wait_for 2 rolled_back

echo "4. thaw the old leader (traffic on it too)"
kill -CONT "${pids[0]}"
start_traffic 0
follows() { [ "$(leader_of 0)" = "${node[1]}" ] && [ "$(status 0)" = rolled_back ]; }
check "the old leader follows the new one and serves the rollback within 10 s" wait_for 10 follows
check "replicas 1 and 2 still serve the rollback" rolled_back
check "replica 0 does not lead" [ "$(cluster_key 0 leading)" = false ]

echo "5. traffic during the failover"
sleep 2
check_traffic_and_finish 5 20 20
