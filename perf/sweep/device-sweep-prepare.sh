#!/usr/bin/env bash
# Packs, on the build machine, what perf/sweep/device-sweep.sh needs on a lent machine that has no Java:
#   .gpu/sweep.tar.xz   a jlinked JDK 25 (gateway and Gatling modules), the gateway jar (ONNX Runtime's natives cut
#                       to linux-x64), Gatling's class path (without what an HTTP/1.1 load over loopback never loads:
#                       the recorder, TLS natives, XML and test libraries), perf's test classes, and shed-cost.sh's
#                       client compiled (tools/)
# Every jar is stored uncompressed so that xz packs the whole (the gateway's fat jar and Gatling share Netty and
# Jackson) into what fits the machine's copy limit. Before packing, the bundle runs a short interleaved sweep here
# with the jlinked runtime and the trimmed class path, so a missing module or jar shows here, not on the lent machine.
# Usage (repository root, after ./mvnw -B -ntp -q -o -DskipTests -Dweir.perf.skip=true install):
#   perf/sweep/device-sweep-prepare.sh            then carry .gpu/sweep.tar.xz and run perf/sweep/device-sweep.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
jar=gateway/target/weir-gateway.jar
[[ -f "$jar" ]] || { echo "$jar missing: build it first" >&2; exit 2; }
stage="$root/.gpu/sweep"
rm -rf "$stage" "$root/.gpu/sweep.tar.xz" "$root"/.gpu/sweep-trial*.csv
mkdir -p "$stage/load"

# Gatling's class path, as run-sweep.sh builds it.
cp_file="$root/perf/target/sweep-classpath.txt"   # absolute: with -pl, Maven resolves a relative outputFile against the module
# Always compile perf's test classes (the load generator travels as these classes: a stale copy would measure
# with the old code); the class path only when missing.
./mvnw -B -ntp -q -o -pl perf test-compile -Dweir.perf.skip=true
if [[ ! -f "$cp_file" ]]; then
  ./mvnw -B -ntp -q -o -pl perf dependency:build-classpath -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test
fi
cp -r perf/target/test-classes "$stage/test-classes"
# Not loaded by an HTTP/1.1 load over loopback (checked by the trial below): the recorder and its BouncyCastle, TLS
# and brotli natives, XML (Saxon, xmlresolver), JMS, Redis, test and mocking libraries.
drop='gatling-recorder|scala-swing|netty-tcnative|brotli4j/native|Saxon-HE|xmlresolver|gatling-jms|redisclient|byte-buddy|assertj|junit|opentest4j|apiguardian'
kept=()
while IFS= read -r j; do
  [[ -z "$j" ]] && continue
  if grep -qE "$drop" <<<"$j"; then continue; fi
  name=$(basename "$j")
  cp "$j" "$stage/load/$name"
  kept+=("load/$name")
done < <(tr ':' '\n' <"$cp_file")
(IFS=:; echo "test-classes:${kept[*]}") >"$stage/classpath.rel"
cp "$jar" "$stage/weir-gateway.jar"

bash native-bindings/trim-onnxruntime-jar.sh "$stage/weir-gateway.jar"   # ONNX Runtime's natives: linux-x64 only
python3 - "$stage" <<'PY'
# Store every jar uncompressed.
import os, sys, zipfile
stage = sys.argv[1]
jars = [os.path.join(stage, "weir-gateway.jar")] + [os.path.join(stage, "load", n) for n in os.listdir(os.path.join(stage, "load"))]
for src in jars:
    tmp = src + ".tmp"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            item.compress_type = zipfile.ZIP_STORED
            zout.writestr(item, data)
    os.replace(tmp, src)
PY

# The gateway's modules (perf/gpu/gateway-gpu-prepare.sh) and Gatling's (Scala and Jackson reach java.desktop's
# java.beans, pebble java.sql); jdk.jfr so that a run can be profiled.
mods="java.base,java.logging,jdk.unsupported,java.management,jdk.management,java.naming,java.net.http,java.xml"
mods+=",java.sql,java.desktop,jdk.jfr,jdk.management.jfr,jdk.zipfs,java.instrument,jdk.crypto.ec,jdk.net"
"$JAVA_HOME/bin/jlink" --add-modules "$mods" --compress=zip-0 --no-header-files --no-man-pages --strip-debug \
  --output "$stage/jdk"
strip --strip-unneeded "$stage/jdk/lib/server/libjvm.so" 2>/dev/null || true

# Trial: a short round-robin sweep of both models with exactly what will travel.
bundle_cp=$(sed "s#\\(^\\|:\\)#\\1$stage/#g" "$stage/classpath.rel")
echo "$bundle_cp" >"$stage/classpath.trial"
JAVA_HOME="$stage/jdk" perf/sweep/run-sweep.sh --interleave --rounds 1 --slice-ms 2000 --seed 1 \
  --capacity-ranker 400 --capacity-moderation 400 --policies "adaptive adaptive-wf1 fixed-1ms" --warmup 1 \
  --rates-ranker 200 --rates-moderation 300 --prime-seconds 3 --jar "$stage/weir-gateway.jar" \
  --load-classpath "$stage/classpath.trial" --out "$root/.gpu/sweep-trial.csv"
rows=$(($(wc -l <"$root/.gpu/sweep-trial.csv") - 1))
(( rows == 6 )) || { echo "trial sweep wrote $rows rows, not 6: see its logs" >&2; exit 1; }
# The bundle must be this tree's: a policy setting it does not know (adaptive-wf1) fails above, and its CSVs must
# carry the columns the analysis reads.
head -1 "$root/.gpu/sweep-trial.csv" | grep -q 'server_queue_p95_ms' \
  || { echo "trial sweep's CSV lacks server_queue_p95_ms: perf's test classes are stale (./mvnw -pl perf test-compile)" >&2; exit 1; }
rm -f "$stage/classpath.trial"
echo "trial sweep: $rows rows"
# shed-cost.sh's client, compiled (the bundle's runtime has no javac), and a trial with the bundle's runtime and jar.
rm -rf "$stage/tools" && "$JAVA_HOME/bin/javac" --release 25 -d "$stage/tools" perf/sweep/KeepAliveLoad.java
JAVA_HOME="$stage/jdk" perf/sweep/shed-cost.sh --jar "$stage/weir-gateway.jar" --client-classes "$stage/tools" \
  --rounds 1 --seconds 1 --warmup 1 --connections 4 --out "$root/.gpu/shed-cost-trial.csv"
shed_rows=$(($(wc -l <"$root/.gpu/shed-cost-trial.csv") - 1))
(( shed_rows == 4 )) || { echo "trial shed-cost wrote $shed_rows rows, not 4" >&2; exit 1; }
(cd "$root/.gpu" && tar -cf - sweep | xz -9 -T2 >sweep.tar.xz)
du -sh "$stage" "$root/.gpu/sweep.tar.xz"
