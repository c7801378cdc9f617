#!/usr/bin/env bash
# Prepares, on the build machine, what perf/gpu/gateway-gpu-check.sh needs on a GPU machine (which has no Java):
#   .gpu/gw/*.jar        the gateway and its runtime classpath (ONNX Runtime trimmed to its linux-x64 natives)
#   .gpu/gwjdk.tar.xz    a jlinked JDK 25 runtime with the modules the gateway uses
# Carry both (".gpu/gw", ".gpu/gwjdk.tar.xz"), about 45 MiB, and run `bash perf/gpu/gateway-gpu-check.sh` there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
gpu="$root/.gpu"
rm -rf "$gpu/gw" "$gpu/gwjdk" "$gpu/gwjdk.tar.xz"
mkdir -p "$gpu/gw"
./mvnw -B -ntp -q -DskipTests -Dweir.perf.skip=true install -pl gateway -am
./mvnw -B -ntp -q -pl gateway dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$gpu/gw"
cp gateway/target/weir-gateway-0.1.0-SNAPSHOT.jar "$gpu/gw/"
bash native-bindings/trim-onnxruntime-jar.sh "$gpu"/gw/onnxruntime-*.jar
# jdeps over this classpath drags in java.desktop, java.sql and more through optional paths (guava, micrometer)
# that the gateway never takes; an explicit list keeps the runtime small enough to carry. The smoke run below
# serves a request with it, so a missing module shows here, not on the GPU machine.
mods="java.base,java.logging,jdk.unsupported,java.management,jdk.management,java.naming,java.net.http,java.xml"
echo "modules: $mods"
"$JAVA_HOME/bin/jlink" --add-modules "$mods" --compress=zip-9 --no-header-files --no-man-pages --strip-debug --output "$gpu/gwjdk"
strip --strip-unneeded "$gpu/gwjdk/lib/server/libjvm.so" 2>/dev/null || true
(cd "$gpu" && tar -cJf gwjdk.tar.xz gwjdk)
# Smoke: the jlinked runtime serves a rank request (on the CPU here) and runs a short chaos drill against itself
# (the check's last step runs one on the GPU), then stops.
port=18181
ORT_DISABLE_TELEMETRY=1 WEIR_HTTP_PORT=$port WEIR_CHAOS_ENABLED=true "$gpu/gwjdk/bin/java" --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -cp "$gpu/gw/*" io.weir.gateway.Main > "$gpu/gw-smoke.log" 2>&1 &
smoke=$!
trap 'kill $smoke 2>/dev/null' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break; sleep 0.5; done
curl -sf "http://127.0.0.1:$port/v1/rank:score" -H 'content-type: application/json' \
  -d '{"user_id":"u","candidates":[{"item_id":"a","features":{"price":3,"category":"toys"}}]}' \
  || { echo "smoke request failed; server log:"; tail -20 "$gpu/gw-smoke.log"; exit 1; }
echo
cat > "$gpu/smoke-drill.json" <<'JSON'
{"name": "smoke", "rate_per_s": 50, "connections": 4,
 "requests": [{"path": "/v1/moderate", "body": {"text": "thanks, that was helpful"}}],
 "phases": [{"name": "baseline", "seconds": 1},
            {"name": "failing", "seconds": 1, "inject": [{"model": "moderation", "failure_rate": 1.0}], "expect": {"statuses": [500]}},
            {"name": "recovery", "seconds": 1, "clear": [{"model": "moderation"}]}]}
JSON
"$gpu/gwjdk/bin/java" -cp "$gpu/gw/*" io.weir.chaos.drill.DrillMain --plan "$gpu/smoke-drill.json" \
  --base "http://127.0.0.1:$port" || { echo "smoke drill failed; server log:"; tail -20 "$gpu/gw-smoke.log"; exit 1; }
kill $smoke
du -sh "$gpu/gw" "$gpu/gwjdk.tar.xz"
