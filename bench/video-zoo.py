#!/usr/bin/python3
"""bench/video-zoo.py: torchvision's video ResNets (r3d_18, mc3_18,
r2plus1d_18) through dnnq-convert, dnnq-run and dnnqd (docs/onnx.md,
"Torchvision's model zoo": the rows of the 3-D models, and "3-D
convolution and pooling").

Each model is built as bench/torchvision-zoo.py builds it (seeded random
weights, BatchNorm statistics settled on three seeded batches in train
mode, then eval), exported at opset 13 with a symbolic batch for an input
[N, 3, 8, 64, 64], converted with `--per-channel` (auto precision) on 8
seeded calibration samples and again all fp32 (`--keep-fp32 '*'`), run on
2 other samples by dnnq-run and by dnnqd (`dnnqctl infer`, both models
served by one daemon on its own socket), and compared with ONNX Runtime
fp32 (bench/npm-models/ort-run.js): SNR in dB over the logits.

usage: /usr/bin/python3 bench/video-zoo.py WORKDIR [MODEL...]
NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries (build/bin).
Files are kept in WORKDIR/MODEL/ and reused when present.
"""
import importlib.util
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("zoo", os.path.join(HERE, "torchvision-zoo.py"))
zoo = importlib.util.module_from_spec(spec)
spec.loader.exec_module(zoo)
BIN, sh, snr = zoo.BIN, zoo.sh, zoo.snr
from npmbench import serve  # noqa: E402 (bench/npm-models, on the path torchvision-zoo.py set)

VIDEO = ("r3d_18", "mc3_18", "r2plus1d_18")
N_CALIB, N_TEST = 8, 2
CONVERTS = (("int8", ["--per-channel"]), ("fp32", ["--keep-fp32", "*"]))


def sweep(work, name):
    d = f"{work}/{name}"
    os.makedirs(d, exist_ok=True)
    onnx_path = f"{d}/{name}.onnx"
    if not os.path.exists(onnx_path):
        zoo.export(name, onnx_path)
    shape = zoo.MODELS[name][1][0]
    np.save(f"{d}/calib.npy", zoo.samples(10, N_CALIB, shape))
    np.save(f"{d}/test.npy", zoo.samples(20, N_TEST, shape))
    if not os.path.isdir(f"{d}/ort") and not zoo.ort(onnx_path, f"{d}/ort", [("input0", f"{d}/test.npy")]):
        sys.exit(f"{name}: ORT failed")
    ref = zoo.outputs(f"{d}/ort")
    key = sorted(ref)[0]
    row, models = [name], {}
    for prec, args in CONVERTS:
        out = f"{d}/{name}.{prec}.dnnq"
        t = time.time()
        if not os.path.exists(out):
            r = sh(f"{BIN}/dnnq-convert", onnx_path, "-o", out, "--calib", f"{d}/calib.npy", *args)
            if r.returncode:
                print(f"{name} | {prec}: refused: {zoo.refusal(r.stderr)}", flush=True)
                return None
        tconv = time.time() - t
        got = zoo.dnnq_run(out, [("input0", f"{d}/test.npy")], f"{d}/out-{prec}", False, N_TEST)
        if got is None:
            row.append(f"{prec}: dnnq-run failed")
            continue
        row.append(f"{prec} dnnq-run {snr(ref[key], got[key]):.1f} dB (convert {tconv:.0f} s)")
        models[f"{name}-{prec}"] = out
    return row, models, ref[key], d


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    work = sys.argv[1]
    os.makedirs(work, exist_ok=True)
    done = [r for r in (sweep(work, n) for n in (sys.argv[2:] or VIDEO)) if r]
    served = {k: v for _, models, _, _ in done for k, v in models.items()}
    if not served:
        return
    daemon, sock = serve(served, work)
    try:
        for row, models, ref, d in done:
            for model in models:
                outdir = f"{d}/served-{model}"
                r = sh(f"{BIN}/dnnqctl", "--socket", sock, "infer", model, "--input",
                       f"input0={d}/test.npy", "--output-dir", outdir)
                got = zoo.outputs(outdir) if r.returncode == 0 else {}
                g = next(iter(got.values()), None)
                row.append(f"{model.rsplit('-', 1)[1]} dnnqd " +
                           (f"{snr(ref, g):.1f} dB" if g is not None and g.shape == ref.shape
                            else "failed"))
            print(" | ".join(row), flush=True)
    finally:
        daemon.terminate()
        daemon.wait()


if __name__ == "__main__":
    main()
