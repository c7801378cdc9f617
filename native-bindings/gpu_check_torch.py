#!/usr/bin/env python3
"""PyTorch-eager side of Weir's GPU check: the wide MLP that GpuCheck built, same weights, same input.

Reads <dir>/wide.json written by io.weir.runtime.cuda.GpuCheck, rebuilds the 4 x Linear(4096) + ReLU model
(fp32, TF32 off, like Weir's default), times it on the same GPU, compares its output with Weir's first rows, and
prints the speed ratios. Exit status 1 when the outputs disagree.

usage: gpu_check_torch.py /tmp/weir-gpu-check/wide/wide.json [/tmp/weir-gpu-check/wide/wide-lt.json ...]
(one JSON per Weir GEMM engine that ran; the weights and input are read from the first one's directory)
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
    paths = sys.argv[1:] or ["/tmp/weir-gpu-check/wide/wide.json"]
    metas = []
    for p in paths:
        with open(p) as f:
            metas.append(json.load(f))
    meta = metas[0]
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

    flop = 2.0 * batch * width * width * layers
    print(f"PyTorch eager compute only: {compute:.3f} ms ({flop / compute / 1e9:.1f} TFLOP/s); "
          f"end to end (pageable CPU tensor -> GPU -> CPU tensor): {e2e:.2f} ms")
    ok = True
    for m in metas:
        engine = m.get("engine", "sgemm")
        out_file = m.get("output_file", "y_weir_rows64.f32")
        y_weir = np.fromfile(os.path.join(m["dir"], out_file), dtype="<f4").reshape(y.shape)
        rel = float(np.max(np.abs(y_weir - y) / np.maximum(1.0, np.abs(y))))
        good = rel <= 1e-4
        ok = ok and good
        print(f"{'PASS' if good else 'FAIL'} wide MLP ({engine}): Weir output vs PyTorch, first {y.shape[0]} rows: "
              f"max rel err {rel:.2e} (<= 1e-4)")
        best_weir = min(m["weir_compute_eager_ms"], m["weir_compute_graph_ms"])
        r_compute = compute / best_weir
        r_e2e = e2e / m["weir_e2e_ms"]
        print(f"Weir ({engine}) compute {m['weir_compute_eager_ms']:.3f} ms eager / {m['weir_compute_graph_ms']:.3f} ms graph; "
              f"end to end {m['weir_e2e_ms']:.2f} ms")
        print(f"TARGET {'MET   ' if r_compute >= 1.0 else 'MISSED'} wide MLP compute ({engine}): Weir is {r_compute:.3f}x "
              f"PyTorch eager (>= 1.0x)")
        print(f"       end to end ({engine}; each from host arrays back to host arrays): Weir is {r_e2e:.3f}x PyTorch eager")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
