#!/usr/bin/env bash
# Drops every ONNX Runtime native library but linux-x64's from the given jars (the GPU machines are linux-x64):
# about 54 MB -> 11 MB per jar, so what travels to a GPU machine fits its copy limit.
# Used by native-bindings/gpu-prepare.sh and perf/gpu/gateway-gpu-prepare.sh.
set -euo pipefail
for ort in "$@"; do
  [[ -f "$ort" ]] || continue
  if command -v zip >/dev/null; then
    zip -q -d "$ort" 'ai/onnxruntime/native/osx-*' 'ai/onnxruntime/native/win-*' 'ai/onnxruntime/native/linux-aarch64/*' || true
  else
    python3 - "$ort" <<'PY'
import sys, zipfile, os
src = sys.argv[1]; tmp = src + ".tmp"
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
    for item in zin.infolist():
        n = item.filename
        if n.startswith("ai/onnxruntime/native/") and not n.startswith("ai/onnxruntime/native/linux-x64"):
            continue
        zout.writestr(item, zin.read(n))
os.replace(tmp, src)
PY
  fi
done
