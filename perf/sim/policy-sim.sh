#!/usr/bin/env bash
# The batching policies on a simulated gateway: the real lane and policies (batcher's PolicySimulation) on simulated
# cores, event loops, GC pauses and Poisson arrivals. Deterministic from its seeds, no load generator, no real cores:
# a full sweep (2 models x 8 rates x 8 policies x 3 seeds) takes about three minutes. docs/PERF.md, "The policies on
# a simulated gateway", says what it models and what it leaves out. Arguments go to PolicySimulationMain, e.g.
#
#   perf/sim/policy-sim.sh --models moderation --policies fixed-0ms,fixed-0.5ms,adaptive \
#       --rates-moderation 12500,25000,50000 --capacity-moderation 25000 --seeds 1,2,3 --out /tmp/sim.csv
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME ORT_DISABLE_TELEMETRY=1
./mvnw -B -ntp -q -pl batcher -am test-compile dependency:build-classpath \
    -Dmdep.outputFile=target/sim.cp -Dmdep.includeScope=test
exec "$JAVA_HOME/bin/java" -cp "batcher/target/test-classes:batcher/target/classes:$(cat batcher/target/sim.cp)" \
    io.weir.batcher.internal.PolicySimulationMain "$@"
