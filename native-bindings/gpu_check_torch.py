#!/usr/bin/env python3
"""PyTorch-eager side of Weir's GPU check: the wide MLP that GpuCheck built, same weights, same input.

Reads <dir>/wide.json written by io.weir.runtime.cuda.GpuCheck, rebuilds the 4 x Linear(4096) + ReLU model
(fp32, TF32 off, like Weir's default), times it on the same GPU, compares its output with Weir's first rows, and
prints the speed ratios. Exit status 1 when the outputs disagree.

usage: gpu_check_torch.py /tmp/weir-gpu-check/wide/wide.json
"""
import json
import os
import sys
import time

import numpy as np
import torch


def median_ms(fn, reps, sync):
    times = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    meta_path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/weir-gpu-check/wide/wide.json"
    with open(meta_path) as f:
        meta = json.load(f)
    d = meta["dir"]
    width, layers, batch = meta["width"], meta["layers"], meta["batch"]
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, TF32 off")

    def load(name, shape):
        return torch.from_numpy(np.fromfile(os.path.join(d, name), dtype="<f4").reshape(shape))

    mods = []
    for l in range(layers):
        lin = torch.nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.copy_(load(f"w{l}.f32", (width, width)).t())  # Weir stores [in, out]; Linear wants [out, in]
            lin.bias.copy_(load(f"b{l}.f32", (width,)))
        mods.append(lin)
        if l < layers - 1:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods).to(dev).eval()
    x_cpu = load("x.f32", (batch, width))
    x_dev = x_cpu.to(dev)
    sync = torch.cuda.synchronize

    with torch.inference_mode():
        for _ in range(3):
            model(x_dev)
        sync()
        compute = median_ms(lambda: model(x_dev), 20, sync)
        e2e = median_ms(lambda: model(x_cpu.to(dev)).cpu(), 10, sync)
        y = model(x_dev)[: meta["weir_output_rows"]].cpu().numpy()

    y_weir = np.fromfile(os.path.join(d, "y_weir_rows64.f32"), dtype="<f4").reshape(y.shape)
    rel = np.max(np.abs(y_weir - y) / np.maximum(1.0, np.abs(y)))
    ok = bool(rel <= 1e-4)
    flop = 2.0 * batch * width * width * layers
    print(f"PyTorch eager compute only: {compute:.3f} ms ({flop / compute / 1e9:.1f} TFLOP/s); "
          f"end to end (pageable CPU tensor -> GPU -> CPU tensor): {e2e:.2f} ms")
    print(f"{'PASS' if ok else 'FAIL'} wide MLP: Weir output vs PyTorch, first {y.shape[0]} rows: max rel err {rel:.2e} (<= 1e-4)")
    best_weir = min(meta["weir_compute_eager_ms"], meta["weir_compute_graph_ms"])
    r_compute = compute / best_weir
    r_e2e = e2e / meta["weir_e2e_ms"]
    print(f"Weir compute {meta['weir_compute_eager_ms']:.3f} ms eager / {meta['weir_compute_graph_ms']:.3f} ms graph; "
          f"end to end {meta['weir_e2e_ms']:.2f} ms")
    print(f"TARGET {'MET   ' if r_compute >= 1.0 else 'MISSED'} wide MLP compute: Weir is {r_compute:.3f}x PyTorch eager (>= 1.0x)")
    print(f"       end to end (each from host arrays, back to host arrays): Weir is {r_e2e:.3f}x PyTorch eager")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
