#!/usr/bin/env bash
# Prepares, on a build machine (this one: JDK 25 + Maven wrapper, no GPU), everything gpu-check.sh needs on a GPU
# machine that has no Java:
#   .gpu/jdk/          a jlinked JDK 25 runtime (only the modules Weir uses; libjvm stripped)
#   .gpu/jdk.tar.xz    the same, compressed: this is what travels (the expanded JDK is ~40 MiB)
#   .gpu/lib/*.jar     weir-runtime, weir-native-bindings and their runtime dependencies
#                      (ONNX Runtime slimmed to its linux-x64 natives)
#   the demo model repository with golden sets: the committed one
#                      (runtime/src/main/resources/io/weir/runtime/demo/repository) travels with the working tree;
#                      WEIR_DEMO_REPO=<dir> copies another into .gpu/demo-repo (generated with
#                      io.weir.runtime.demo.DemoRepositoryWriter when neither exists)
# and smoke-tests the runtime image here (GpuCheck --cpu-smoke). .gpu/ is git-ignored.
#
# Usage: native-bindings/gpu-prepare.sh            (from anywhere; takes about a minute)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
jdk_bin="$JAVA_HOME/bin"
gpu="$root/.gpu"
mkdir -p "$gpu"

echo "== build weir-runtime and weir-native-bindings (tests skipped: run them with ./mvnw verify)"
./mvnw -B -ntp -q -pl runtime -am install -DskipTests

echo "== jars -> .gpu/lib"
rm -rf "$gpu/lib"
mkdir -p "$gpu/lib"
./mvnw -B -ntp -q -pl runtime dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$gpu/lib"
cp runtime/target/weir-runtime-*.jar "$gpu/lib/"
# The CUDA check runs on linux-x64: drop ONNX Runtime's other natives (54 MB -> 11 MB).
bash native-bindings/trim-onnxruntime-jar.sh "$gpu"/lib/onnxruntime-*.jar

echo "== jlink -> .gpu/jdk"
mods="$("$jdk_bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps \
          --class-path "$gpu/lib/*" "$gpu"/lib/weir-runtime-*.jar 2>/dev/null || true)"
# jdeps misses reflective/service uses: always add what the stack loads that way.
mods="java.base,java.logging,jdk.unsupported,java.management,java.naming${mods:+,$mods}"
mods="$(tr ',' '\n' <<<"$mods" | sed '/^$/d' | sort -u | paste -sd, -)"
echo "   modules: $mods"
rm -rf "$gpu/jdk"
"$jdk_bin/jlink" --add-modules "$mods" --compress=zip-9 --no-header-files --no-man-pages --strip-debug \
  --output "$gpu/jdk"
if command -v strip >/dev/null; then
  strip --strip-unneeded "$gpu/jdk/lib/server/libjvm.so"
fi
"$gpu/jdk/bin/java" -version 2>&1 | head -1

java_run=("$gpu/jdk/bin/java" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -cp "$gpu/lib/*")
export ORT_DISABLE_TELEMETRY=1

committed_repo="runtime/src/main/resources/io/weir/runtime/demo/repository"
rm -rf "$gpu/demo-repo"
if [[ -n "${WEIR_DEMO_REPO:-}" ]]; then
  echo "== demo model repository: copying $WEIR_DEMO_REPO -> .gpu/demo-repo"
  cp -r "$WEIR_DEMO_REPO" "$gpu/demo-repo"
  repo_dir="$gpu/demo-repo"
elif [[ -f "$committed_repo/ranker/config.json" ]]; then
  echo "== demo model repository: the committed one ($committed_repo) travels with the working tree"
  repo_dir="$root/$committed_repo"
else
  echo "== demo model repository: generating .gpu/demo-repo"
  if ! "${java_run[@]}" io.weir.runtime.demo.DemoRepositoryWriter "$gpu/demo-repo"; then
    echo "WARNING: DemoRepositoryWriter failed (above); .gpu/demo-repo holds only what it wrote before failing." >&2
  fi
  repo_dir="$gpu/demo-repo"
fi

echo "== smoke test of the runtime image (no GPU here: probe + plan compilation only)"
"${java_run[@]}" io.weir.runtime.cuda.GpuCheck --cpu-smoke --quick --repo "$repo_dir"

echo "== pack the JDK (what travels)"
rm -f "$gpu/jdk.tar.xz"
tar -C "$gpu" -cf - jdk | xz -T0 -6 > "$gpu/jdk.tar.xz"

bash -n native-bindings/gpu-check.sh
python3 -c "import ast; ast.parse(open('native-bindings/gpu_check_torch.py').read())"

carry='".gpu/jdk.tar.xz", ".gpu/lib"'
travel=("$gpu/jdk.tar.xz" "$gpu/lib")
if [[ -d "$gpu/demo-repo" ]]; then
  carry="$carry, \".gpu/demo-repo\""
  travel+=("$gpu/demo-repo")
fi
travel_kib=$(du -sk "${travel[@]}" | awk '{s+=$1} END {print s}')
tree_kib=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -ck 2>/dev/null | tail -1 | awk '{print $1}')
echo "== ready: carried $((travel_kib / 1024)) MiB + working tree $((tree_kib / 1024)) MiB (limit 64 MiB)"
if (( travel_kib + tree_kib > 62 * 1024 )); then
  echo "WARNING: too close to the 64 MiB transfer limit" >&2
fi
cat <<HOW
Run on the GPU machine (device tool), from the repository root:
  carry:   [$carry]
  command: bash native-bindings/gpu-check.sh
  timeout_s: 600
The log comes back as \$OUT/gpu-check.log (also printed).
HOW
