# Sourced by bin/weir and bin/weir-drill: finds a JDK 25 (JAVA_HOME if it is one, else the usual install paths),
# builds the gateway jar on first use, and sets $jar to it. ONNX Runtime phones home on Linux unless
# ORT_DISABLE_TELEMETRY is set before it loads: Weir never lets it.
# shellcheck shell=bash
weir_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${JAVA_HOME:-}" ] || ! "$JAVA_HOME/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64; do
    if [ -x "$candidate/bin/java" ]; then export JAVA_HOME=$candidate; break; fi
  done
fi
: "${JAVA_HOME:?Weir needs a JDK 25: set JAVA_HOME}"
jar="$weir_root/gateway/target/weir-gateway.jar"
if [ ! -f "$jar" ]; then
  echo "weir: building the gateway jar (first run)..." >&2
  (cd "$weir_root" && ./mvnw -B -q -ntp -DskipTests -Dweir.perf.skip=true package -pl gateway -am)
fi
export ORT_DISABLE_TELEMETRY=1
