#!/usr/bin/python3
"""SNR of dnnq against ONNX Runtime on cases of tests/onnx/ops (docs/onnx.md,
"Supported operators": GatherElements, ScatterElements, GridSample, STFT, DFT).

For each case NAME (tests/onnx/ops/NAME.onnx, NAME.in0.npy): ONNX Runtime's
output (bench/npm-models/ort-run.js, onnxruntime-node), dnnq's fp32 reference
(dnnq-run on the .onnx), and dnnq-convert's model calibrated on the case's
input at --precision int8 and at the default (auto), run by dnnq-run; prints
each one's SNR against ONNX Runtime, dB (inf: equal). Integer outputs
(indices) count the elements that differ instead.

usage: NODE_PATH=.../node_modules /usr/bin/python3 tools/ops-vs-ort.py [--bin build/bin]
           [--work DIR] NAME...
"""
import argparse
import os
import subprocess
import sys

import numpy as np


def snr(ref, got):
    err = np.sum((ref.astype(np.float64) - got) ** 2)
    return float("inf") if err == 0 else 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / err)


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--work", default="/tmp/dnnq-ops-vs-ort")
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    ops = os.path.join(here, "..", "tests", "onnx", "ops")
    ort_run = os.path.join(here, "..", "bench", "npm-models", "ort-run.js")
    for name in a.names:
        onnx, x = f"{ops}/{name}.onnx", f"{ops}/{name}.in0.npy"
        w = f"{a.work}/{name}"
        os.makedirs(w, exist_ok=True)
        run("node", ort_run, onnx, f"{w}/ort", f"x={x}")
        run(f"{a.bin}/dnnq-run", onnx, "-i", f"x={x}", "-o", f"{w}/fp32")
        res = {}
        for p in ("int8", "auto"):
            run(f"{a.bin}/dnnq-convert", onnx, "-o", f"{w}/{p}.dnnq", "--calib", x,
                "--precision", p)
            run(f"{a.bin}/dnnq-run", f"{w}/{p}.dnnq", "-i", f"x={x}", "-o", f"{w}/{p}")
        for out in sorted(os.listdir(f"{w}/ort")):
            ref = np.load(f"{w}/ort/{out}")
            cols = []
            for p in ("fp32", "int8", "auto"):
                got = np.load(f"{w}/{p}/{out}").reshape(ref.shape)
                cols.append(f"{p} {snr(ref, got):6.1f} dB" if ref.dtype.kind == "f" else
                            f"{p} {np.count_nonzero(ref != got)}/{ref.size} differ")
            print(f"{name:28s} {out:12s} " + ", ".join(cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
