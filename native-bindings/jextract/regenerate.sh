#!/usr/bin/env bash
# Regenerates the jextract bindings for the CUDA driver API subset listed in cuda.args.
#
# Deterministic: jextract emits the same bytes for the same header + args, and this script
# deletes the previous output first, so `git diff` after a run shows exactly what changed.
#
# Usage (from anywhere):  native-bindings/jextract/regenerate.sh
# Env:   JEXTRACT   path to the jextract launcher (default: <repo>/../shared/tools/jextract/jextract)
#        CUDA_H     header to read (default: /usr/local/cuda/include/cuda.h)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
module="$(cd "$here/.." && pwd)"
repo="$(cd "$module/.." && pwd)"
jextract="${JEXTRACT:-$repo/../shared/tools/jextract/jextract}"
cuda_h="${CUDA_H:-/usr/local/cuda/include/cuda.h}"
pkg=io.weir.nativebindings.cuda.gen
out="$module/src/main/java"
pkg_dir="$out/${pkg//.//}"

[[ -x "$jextract" ]] || { echo "jextract not found at $jextract (set JEXTRACT)" >&2; exit 1; }
[[ -f "$cuda_h" ]] || { echo "cuda.h not found at $cuda_h (set CUDA_H)" >&2; exit 1; }
export JEXTRACT_JAVA_HOME="${JEXTRACT_JAVA_HOME:-${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}}"

# Keep the hand-written package-info.java; everything else in the package is generated.
keep="$(mktemp)"
trap 'rm -f "$keep"' EXIT
[[ -f "$pkg_dir/package-info.java" ]] && cp "$pkg_dir/package-info.java" "$keep"
rm -rf "$pkg_dir"

cd "$repo"
"$jextract" \
  --output "$out" \
  --target-package "$pkg" \
  --header-class-name CudaDriver \
  -l :libcuda.so.1 \
  "@$here/cuda.args" \
  "$cuda_h"

[[ -s "$keep" ]] && cp "$keep" "$pkg_dir/package-info.java"
echo "regenerated $(find "$pkg_dir" -name '*.java' | wc -l) files under $pkg_dir from $cuda_h"
