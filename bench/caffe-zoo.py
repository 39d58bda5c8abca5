#!/usr/bin/python3
"""bench/caffe-zoo.py: the ONNX Model Zoo's Caffe-converted CNNs, whose LRN
dnnq imports since file code 89 (docs/onnx.md, "Supported operators"),
built with their layers and seeded random weights (no download):

  bvlcalexnet: the zoo's bvlcalexnet-9 graph (opset 9): Conv 11x11/4 (96),
    Relu, LRN (size 5, alpha 1e-4, beta 0.75, bias 1), MaxPool 3/2, Conv
    5x5 (256, group 2), Relu, LRN, MaxPool, Conv 3x3 (384), Conv 3x3 (384,
    group 2), Conv 3x3 (256, group 2), MaxPool, Reshape, Gemm 9216->4096,
    Relu, Dropout, Gemm 4096->4096, Relu, Dropout, Gemm 4096->1000, Softmax;
    [N, 3, 224, 224], 61 M parameters (caffenet differs only in the order
    of its pools and LRNs; zfnet512 in its widths).
  googlenet: the zoo's googlenet-9 (inception_v1) graph: Conv 7x7/2 (64),
    Relu, MaxPool 3/2, LRN, Conv 1x1 (64), Conv 3x3 (192), LRN, MaxPool,
    the nine inception blocks (1x1; 1x1 then 3x3; 1x1 then 5x5; MaxPool 3/1
    then 1x1; Concat) with their two MaxPools, AveragePool 7, Dropout,
    Reshape, Gemm 1024->1000, Softmax; 7 M parameters.

Weights He-normal (seed 0), biases 0.01 N(0, 1); the inputs as the zoo's
models take them: BGR pixels 0..255 less the mean 117 (uniform random
pixels, seeded): 4 calibration samples, 2 test samples. Each model is
converted as a user would (`dnnq-convert M.onnx --calib calib.npy`, and
again with `--keep-fp32 '*'` and with `--precision int8`: every node int8
but the LRNs), run by dnnq-run on the test samples and
compared with ONNX Runtime fp32 (bench/npm-models/ort-run.js): SNR of the
Softmax output and of the logits before it (the graph's Gemm output,
added as a second output), argmax agreement, and the seconds each
conversion took.

usage: NODE_PATH=.../node_modules /usr/bin/python3 bench/caffe-zoo.py WORKDIR [MODEL...]
Files are kept in WORKDIR/MODEL/ and reused when present. DNNQ_BIN: the
binaries (build/bin).
"""
import os
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper as h, numpy_helper as nh

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm-models"))
from npmbench import BIN, PRECISIONS, sh, snr  # noqa: E402

ORT_RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm-models", "ort-run.js")


class Net:
    """A graph under construction: nodes, initializers, seeded weights."""

    def __init__(self):
        self.nodes, self.inits, self.r = [], [], np.random.default_rng(0)

    def param(self, name, a):
        self.inits.append(nh.from_array(a.astype(np.float32), name))
        return name

    def conv(self, x, y, cin, cout, k, stride=1, pad=0, group=1):
        fan = cin // group * k * k
        w = self.r.standard_normal((cout, cin // group, k, k)) * np.sqrt(2.0 / fan)
        self.nodes += [h.make_node("Conv", [x, self.param(y + "_w", w),
                                            self.param(y + "_b", self.r.standard_normal(cout)
                                                       * 0.01)],
                                   [y + "_c"], kernel_shape=[k, k], strides=[stride] * 2,
                                   pads=[pad] * 4, group=group),
                       h.make_node("Relu", [y + "_c"], [y])]
        return y

    def node(self, op, x, y, **attrs):
        self.nodes.append(h.make_node(op, x if isinstance(x, list) else [x], [y], **attrs))
        return y

    def lrn(self, x, y):
        return self.node("LRN", x, y, size=5, alpha=1e-4, beta=0.75, bias=1.0)

    def pool(self, x, y, k, s):
        """Caffe's pooling rounds up: the zoo's graphs pad the end of a
        strided one by 1 (224 -> 54 -> 27 -> 13 -> 6 in AlexNet); a stride
        1 pool keeps the size."""
        pads = [0, 0, 1, 1] if s > 1 else [1, 1, 1, 1]
        return self.node("MaxPool", x, y, kernel_shape=[k, k], strides=[s, s], pads=pads)

    def fc(self, x, y, k, n, relu=True):
        w = self.r.standard_normal((n, k)) * np.sqrt(2.0 / k)
        self.node("Gemm", [x, self.param(y + "_w", w),
                           self.param(y + "_b", self.r.standard_normal(n) * 0.01)],
                  y + "_fc" if relu else y, transB=1)
        return self.node("Relu", y + "_fc", y) if relu else y

    def model(self, name, logits, out):
        g = h.make_graph(self.nodes, name,
                         [h.make_tensor_value_info("data_0", TensorProto.FLOAT,
                                                   ["N", 3, 224, 224])],
                         [h.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 1000]),
                          h.make_tensor_value_info(logits, TensorProto.FLOAT, ["N", 1000])],
                         initializer=self.inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 9)], producer_name="caffe-zoo")
        m.ir_version = 4
        return m


def shape_of(net, name, n):
    """The Reshape's shape [-1, n] (the batch kept: the zoo's is [1, n])."""
    net.inits.append(nh.from_array(np.array([-1, n], np.int64), name))
    return name


def bvlcalexnet():
    n = Net()
    x = n.conv("data_0", "conv1", 3, 96, 11, 4)
    x = n.pool(n.lrn(x, "norm1"), "pool1", 3, 2)
    x = n.conv(x, "conv2", 96, 256, 5, 1, 2, 2)
    x = n.pool(n.lrn(x, "norm2"), "pool2", 3, 2)
    x = n.conv(x, "conv3", 256, 384, 3, 1, 1)
    x = n.conv(x, "conv4", 384, 384, 3, 1, 1, 2)
    x = n.pool(n.conv(x, "conv5", 384, 256, 3, 1, 1, 2), "pool5", 3, 2)
    x = n.node("Reshape", [x, shape_of(n, "pool5_shape", 9216)], "flat")
    x = n.node("Dropout", n.fc(x, "fc6", 9216, 4096), "drop6")
    x = n.node("Dropout", n.fc(x, "fc7", 4096, 4096), "drop7")
    n.node("Softmax", n.fc(x, "fc8", 4096, 1000, relu=False), "prob_1")
    return n.model("bvlcalexnet", "fc8", "prob_1")


# googlenet's inception blocks: name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj
INCEPTION = [("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), None,
             ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64),
             ("4c", 128, 128, 256, 24, 64, 64), ("4d", 112, 144, 288, 32, 64, 64),
             ("4e", 256, 160, 320, 32, 128, 128), None,
             ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128)]


def googlenet():
    n = Net()
    x = n.conv("data_0", "conv1", 3, 64, 7, 2, 3)
    x = n.lrn(n.pool(x, "pool1", 3, 2), "norm1")
    x = n.conv(x, "conv2_reduce", 64, 64, 1)
    x = n.conv(x, "conv2", 64, 192, 3, 1, 1)
    x = n.pool(n.lrn(x, "norm2"), "pool2", 3, 2)
    c = 192
    for i, blk in enumerate(INCEPTION):
        if blk is None:
            x = n.pool(x, "pool%d" % (3 + (i > 3)), 3, 2)
            continue
        name, c1, r3, c3, r5, c5, pp = blk
        p = "inception_" + name
        b1 = n.conv(x, p + "_1x1", c, c1, 1)
        b3 = n.conv(n.conv(x, p + "_3x3_reduce", c, r3, 1), p + "_3x3", r3, c3, 3, 1, 1)
        b5 = n.conv(n.conv(x, p + "_5x5_reduce", c, r5, 1), p + "_5x5", r5, c5, 5, 1, 2)
        bp = n.conv(n.pool(x, p + "_pool", 3, 1), p + "_pool_proj", c, pp, 1)
        x = n.node("Concat", [b1, b3, b5, bp], p + "_output", axis=1)
        c = c1 + c3 + c5 + pp
    x = n.node("AveragePool", x, "pool5", kernel_shape=[7, 7], strides=[1, 1])
    x = n.node("Reshape", [n.node("Dropout", x, "drop5"), shape_of(n, "pool5_shape", 1024)],
               "flat")
    n.node("Softmax", n.fc(x, "loss3", 1024, 1000, relu=False), "prob_1")
    return n.model("googlenet", "loss3", "prob_1")


MODELS = {"bvlcalexnet": bvlcalexnet, "googlenet": googlenet}


def sweep(work, name):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name + ".onnx")
    if not os.path.exists(path):
        onnx.save(MODELS[name](), path)
    r = np.random.default_rng(1)
    x = (r.integers(0, 256, (6, 3, 224, 224)) - 117).astype(np.float32)
    np.save(os.path.join(d, "calib.npy"), x[:4])
    np.save(os.path.join(d, "test.npy"), x[4:])
    subprocess.run(["node", ORT_RUN, path, os.path.join(d, "ort"),
                    "data_0=" + os.path.join(d, "test.npy")], check=True)
    row = [name]
    for prec, args in PRECISIONS + (("int8", ["--precision", "int8"]),):
        out = os.path.join(d, prec + ".dnnq")
        t = time.time()
        if sh(f"{BIN}/dnnq-convert", path, "-o", out, "--calib",
              os.path.join(d, "calib.npy"), *args).returncode:
            row.append(prec + " refused")
            continue
        secs = time.time() - t
        od = os.path.join(d, "out_" + prec)
        sh(f"{BIN}/dnnq-run", out, "--input", "data_0=" + os.path.join(d, "test.npy"),
           "--output-dir", od)
        cells = []
        for o in ("prob_1", "fc8" if name == "bvlcalexnet" else "loss3"):
            ref, got = np.load(os.path.join(d, "ort", o + ".npy")), np.load(os.path.join(od,
                                                                                     o + ".npy"))
            cells.append("%s %.1f dB" % (o, snr(ref, got)))
        agree = (np.load(os.path.join(d, "ort", "prob_1.npy")).argmax(1) ==
                 np.load(os.path.join(od, "prob_1.npy")).argmax(1)).sum()
        row.append("%s: %s, argmax %d/2, convert %.0f s" % (prec, ", ".join(cells), agree, secs))
    print(" | ".join(row), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for model in sys.argv[2:] or MODELS:
        sweep(sys.argv[1], model)
