#!/usr/bin/python3
"""bench/ms-zoo.py: torchvision's resnet18 and mobilenet_v2 in ONNX Runtime's
QOperator format (docs/onnx.md, "ONNX Runtime's QOperator format"), dnnq
against ONNX Runtime on the same int8 model. Not part of make check.

Each model is built with seeded random weights (no download), its
BatchNorm statistics settled on a few seeded batches, exported (opset 13,
BatchNorm folded), quantized by tools/mkms.py's qoperator (ranges over 8
seeded calibration images from ONNX Runtime's float run), then run by ONNX
Runtime (CPU, onnxruntime-node) and by dnnq (`dnnq-convert` with no
calibration, `dnnq-run`) on 16 other images. One row per model: the SNR of
dnnq's logits against ONNX Runtime's int8 ones, how many of the 16 top-1
classes differ, and both int8 runs' SNR against ONNX Runtime's float model.

usage: NODE_PATH=.../node_modules /usr/bin/python3 bench/ms-zoo.py WORKDIR [MODEL...]
(MODEL: resnet18, mobilenet_v2; default both). DNNQ_BIN: the binaries
(default build/bin).
"""
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mkms  # noqa: E402

BIN = os.environ.get("DNNQ_BIN", os.path.join(ROOT, "build", "bin"))
SIZE = 112


def snr(want, got):
    err = ((got.astype(np.float64) - want) ** 2).sum()
    return 10 * np.log10((want.astype(np.float64) ** 2).sum() / err) if err else float("inf")


def run(name, work):
    import onnx
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = getattr(torchvision.models, name)(weights=None)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        net.train()
        for _ in range(4):
            net(torch.randn(8, 3, SIZE, SIZE, generator=g))
    net.eval()
    calib = torch.randn(8, 3, SIZE, SIZE, generator=g).numpy()
    test = torch.randn(16, 3, SIZE, SIZE, generator=g).numpy()
    fp32 = mkms.export(net, torch.from_numpy(test[:1]))
    qop = mkms.qoperator(fp32, mkms.ranges(fp32, calib, d))
    paths = {k: os.path.join(d, k + ".onnx") for k in ("fp32", "qop")}
    onnx.save(fp32, paths["fp32"])
    onnx.save(qop, paths["qop"])
    x = os.path.join(d, "test.npy")
    np.save(x, test)
    for k, p in paths.items():
        mkms.ort_outputs(p, os.path.join(d, "ort_" + k), [x])
    subprocess.run([os.path.join(BIN, "dnnq-convert"), paths["qop"], "-o",
                    os.path.join(d, "qop.dnnq")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([os.path.join(BIN, "dnnq-run"), os.path.join(d, "qop.dnnq"), "--input",
                    "x=" + x, "--output-dir", os.path.join(d, "dnnq")], check=True,
                   stdout=subprocess.DEVNULL)
    f = np.load(os.path.join(d, "ort_fp32.out.npy"))
    o = np.load(os.path.join(d, "ort_qop.out.npy"))
    q = np.load(os.path.join(d, "dnnq", "logits.npy"))
    ops = sorted({n.op_type for n in qop.graph.node})
    print("%-13s dnnq vs ORT int8 %6.1f dB, top-1 %2d of %d differ; vs ORT fp32: ORT int8 "
          "%5.1f dB, dnnq %5.1f dB; ops %s" % (name, snr(o, q), (o.argmax(1) != q.argmax(1)).sum(),
                                              len(q), snr(f, o), snr(f, q), " ".join(ops)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for name in sys.argv[2:] or ["resnet18", "mobilenet_v2"]:
        run(name, sys.argv[1])


if __name__ == "__main__":
    main()
