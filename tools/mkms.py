#!/usr/bin/python3
"""tools/mkms.py: the fixtures of ONNX Runtime's quantized contrib operators
(domain com.microsoft, the QOperator format of its quantization tool),
tests/onnx/ms/, for the convert suite's case ms_ops and ms_resnet
(tests/test_convert.c; docs/onnx.md, "Supported operators").

Each case is a model built with onnx.helper, its inputs (seeded numpy) and
ONNX Runtime's outputs on them (CPU provider, through onnxruntime-node and
tools/ort-npy.js): NAME.onnx, NAME.in0.npy, NAME.in1.npy, ..., NAME.out.npy.
MANIFEST has one line per case, NAME KIND NINPUTS: KIND `exact` (dnnq's
outputs must equal ONNX Runtime's), `step` (within one quantization step:
QLinearAdd, QLinearMul and QLinearConcat, whose requantization rounds in
ONNX Runtime's kernels and dnnq's engine each its own way), `fp32` (QGemm
with a float output: converted with every node fp32) or `model`
(resnet_qop below: SQNR and argmax against ONNX Runtime's).

One ONNX node per case, the graph input the quantized tensor (dim 0 the
symbolic batch N, 2 here) and the output the quantized result, uint8 and
int8 variants; zero points left out where the operator allows.

resnet_qop: a small ResNet-like torch model (seeded weights: Conv-ReLU, a
residual block of two 3x3 convolutions, a strided Conv-ReLU, global average
pooling, a Linear to 10 classes) quantized by the QOperator quantizer below
as ONNX Runtime's quantize_static(quant_format=QOperator) lays a model out:
QuantizeLinear at the input, QLinearConv (int8 weights per output channel,
symmetric, int32 bias at scale x_scale * w_scale; a ReLU folded into the
output's range), QLinearAdd (the ReLU after it folded the same way),
QLinearGlobalAveragePool, Flatten, QGemm (transB 1, int32 bias),
DequantizeLinear at the output. Activation ranges: min/max over the 32
calibration images (uint8, asymmetric, 0 in range). resnet_qop.in0.npy holds
16 other images, resnet_qop.out.npy ONNX Runtime's logits of them.

Run from the repository root with Debian's interpreter (torch, onnx, numpy)
and onnxruntime-node on NODE_PATH (make bench-calib installs it):
    NODE_PATH=build/bench-calib/node_modules /usr/bin/python3 tools/mkms.py
Deterministic: fixed seeds, one torch thread.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ort_outputs(model, prefix, inputs):
    """ONNX Runtime's outputs of model on the .npy files inputs."""
    subprocess.run(["node", os.path.join(ROOT, "tools", "ort-npy.js"), model, prefix] + inputs,
                   check=True)


class Cases:
    def __init__(self, out):
        from onnx import helper
        self.h = helper
        self.out = out
        self.manifest = []
        os.makedirs(out, exist_ok=True)

    def write(self, name, kind, nodes, inputs, arrays, output, inits, opset=13):
        """The one-output graph of nodes, its inputs (value infos) fed
        arrays, into NAME.*; ONNX Runtime's output beside it."""
        import onnx
        h = self.h
        g = h.make_graph(nodes, name, inputs, [output], initializer=inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset),
                                           h.make_opsetid("com.microsoft", 1)],
                         producer_name="tools/mkms.py")
        m.ir_version = 7
        path = os.path.join(self.out, name + ".onnx")
        onnx.save(m, path)
        files = []
        for i, a in enumerate(arrays):
            files.append(os.path.join(self.out, "%s.in%d.npy" % (name, i)))
            np.save(files[-1], a, allow_pickle=False)
        ort_outputs(path, os.path.join(self.out, name), files)
        self.manifest.append("%s %s %d" % (name, kind, len(arrays)))

    def finish(self):
        with open(os.path.join(self.out, "MANIFEST"), "w") as f:
            f.write("# NAME KIND NINPUTS (tools/mkms.py)\n")
            f.write("\n".join(self.manifest) + "\n")


def q8(signed):
    from onnx import TensorProto
    return (TensorProto.INT8, np.int8) if signed else (TensorProto.UINT8, np.uint8)


def scalar(name, v, signed=None):
    """A scalar initializer: float (signed None) or a zero point."""
    from onnx import numpy_helper
    if signed is None:
        return numpy_helper.from_array(np.array(v, np.float32), name)
    return numpy_helper.from_array(np.array(v, q8(signed)[1]), name)


def codes(rng, shape, signed):
    lo, hi = (-128, 128) if signed else (0, 256)
    return rng.integers(lo, hi, size=shape).astype(q8(signed)[1])


def unary_cases(c, rng):
    """QLinearSigmoid, QLinearLeakyRelu, QLinearGlobalAveragePool,
    QLinearAveragePool, QLinearSoftmax: x -> y, uint8 and int8."""
    h = c.h
    for signed in (False, True):
        t, _ = q8(signed)
        sfx = "s8" if signed else "u8"
        zx, zy = (-3, 5) if signed else (120, 3)
        specs = [
            ("qlinearsigmoid", "QLinearSigmoid", [2, 3, 4, 5], {}, 0.05, 1 / 256),
            ("qlinearleakyrelu", "QLinearLeakyRelu", [2, 3, 4, 5], {"alpha": 0.1}, 0.03, 0.02),
            ("qlinearglobalavgpool", "QLinearGlobalAveragePool", [2, 4, 5, 6],
             {"channels_last": 0}, 0.04, 0.01),
            ("qlinearglobalavgpool_nhwc", "QLinearGlobalAveragePool", [2, 5, 6, 4],
             {"channels_last": 1}, 0.04, 0.01),
            ("qlinearavgpool", "QLinearAveragePool", [2, 3, 7, 7],
             {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, 0.04, 0.03),
            ("qlinearavgpool_cip", "QLinearAveragePool", [2, 3, 6, 6],
             {"kernel_shape": [2, 2], "strides": [2, 2], "count_include_pad": 1}, 0.04, 0.03),
            ("qlinearsoftmax", "QLinearSoftmax", [2, 10], {"opset": 13, "axis": -1}, 0.05,
             1 / 256),
            ("qlinearsoftmax_opset12", "QLinearSoftmax", [2, 3, 8], {"opset": 12, "axis": 2},
             0.05, 1 / 256),
        ]
        for name, op, shape, attrs, sx, sy in specs:
            # the softmax output is in [0, 1]: its zero point the lowest code
            oz = (-128 if signed else 0) if "softmax" in name else zy
            x = codes(rng, shape, signed)
            # a zero point left out (0) in the int8 sigmoid and leaky relu
            omit = signed and op in ("QLinearSigmoid", "QLinearLeakyRelu")
            ins = ["x", "xs", "" if omit else "xz", "ys", "" if omit else "yz"]
            inits = [scalar("xs", sx), scalar("ys", sy)]
            if not omit:
                inits += [scalar("xz", zx, signed), scalar("yz", oz, signed)]
            node = h.make_node(op, ins, ["y"], name, domain="com.microsoft", **attrs)
            dims = ["N"] + shape[1:]
            if "globalavgpool" in name:
                ody = ["N", 1, 1, shape[3]] if attrs["channels_last"] else ["N", shape[1], 1, 1]
            else:
                ody = None
            c.write(name + "_" + sfx, "exact", [node], [h.make_tensor_value_info("x", t, dims)],
                    [x], h.make_tensor_value_info("y", t, ody), inits)


def binary_cases(c, rng):
    """QLinearAdd, QLinearMul (two activations, and a per-channel constant
    b), QLinearConcat: uint8 and int8."""
    h = c.h
    from onnx import numpy_helper
    for signed in (False, True):
        t, dt = q8(signed)
        sfx = "s8" if signed else "u8"
        z = (-7, 4, 9) if signed else (128, 100, 90)
        for name, op, sc in (("qlinearadd", "QLinearAdd", 0.08), ("qlinearmul", "QLinearMul", 0.5)):
            shape = [2, 3, 4, 4]
            a, b = codes(rng, shape, signed), codes(rng, shape, signed)
            inits = [scalar("as", 0.05), scalar("az", z[0], signed), scalar("bs", 0.03),
                     scalar("bz", z[1], signed), scalar("cs", sc), scalar("cz", z[2], signed)]
            node = h.make_node(op, ["a", "as", "az", "b", "bs", "bz", "cs", "cz"], ["c"], name,
                               domain="com.microsoft")
            vi = [h.make_tensor_value_info(n, t, ["N"] + shape[1:]) for n in "ab"]
            c.write(name + "_" + sfx, "step", [node], vi, [a, b],
                    h.make_tensor_value_info("c", t, None), inits)
            # b a per-channel constant [3, 1, 1], broadcast
            bc = codes(rng, [3, 1, 1], signed)
            inits2 = inits + [numpy_helper.from_array(bc, "bconst")]
            node = h.make_node(op, ["a", "as", "az", "bconst", "bs", "bz", "cs", "cz"], ["c"],
                               name + "_const", domain="com.microsoft")
            c.write(name + "_const_" + sfx, "step", [node], vi[:1], [a],
                    h.make_tensor_value_info("c", t, None), inits2)
        # concat: two operands of their own parameters along the channels
        a, b = codes(rng, [2, 3, 4, 5], signed), codes(rng, [2, 2, 4, 5], signed)
        inits = [scalar("ys", 0.06), scalar("yz", z[2], signed), scalar("as", 0.05),
                 scalar("az", z[0], signed), scalar("bs", 0.07), scalar("bz", z[1], signed)]
        node = h.make_node("QLinearConcat", ["ys", "yz", "a", "as", "az", "b", "bs", "bz"], ["y"],
                           "qlinearconcat", domain="com.microsoft", axis=1)
        vi = [h.make_tensor_value_info("a", t, ["N", 3, 4, 5]),
              h.make_tensor_value_info("b", t, ["N", 2, 4, 5])]
        c.write("qlinearconcat_" + sfx, "step", [node], vi, [a, b],
                h.make_tensor_value_info("y", t, None), inits)


def gemm_cases(c, rng):
    """QGemm: uint8 A by int8 B per column (transB 1, int32 bias, uint8 Y);
    int8 A by int8 B per tensor (transB 0, no bias, float Y)."""
    h = c.h
    from onnx import TensorProto, numpy_helper
    K, N = 16, 8
    a = codes(rng, [4, K], False)
    bt = rng.integers(-127, 128, size=[N, K]).astype(np.int8)
    inits = [scalar("as", 0.02), scalar("az", 131, False),
             numpy_helper.from_array(bt, "b"),
             numpy_helper.from_array((rng.random(N) * 0.01 + 0.002).astype(np.float32), "bs"),
             numpy_helper.from_array(np.zeros(N, np.int8), "bz"),
             numpy_helper.from_array(rng.integers(-2000, 2000, size=N).astype(np.int32), "c"),
             scalar("ys", 0.1), scalar("yz", 110, False)]
    node = h.make_node("QGemm", ["a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"], ["y"],
                       "qgemm", domain="com.microsoft", transB=1, alpha=1.0)
    c.write("qgemm_u8s8", "exact", [node], [h.make_tensor_value_info("a", TensorProto.UINT8,
                                                                      ["N", K])],
            [a], h.make_tensor_value_info("y", TensorProto.UINT8, None), inits)
    a = codes(rng, [4, K], True)
    b = rng.integers(-127, 128, size=[K, N]).astype(np.int8)
    inits = [scalar("as", 0.02), scalar("az", 3, True), numpy_helper.from_array(b, "b"),
             scalar("bs", 0.004), scalar("bz", 0, True)]
    node = h.make_node("QGemm", ["a", "as", "az", "b", "bs", "bz"], ["y"], "qgemm_float",
                       domain="com.microsoft", transB=0)
    c.write("qgemm_s8_float", "fp32", [node], [h.make_tensor_value_info("a", TensorProto.INT8,
                                                                          ["N", K])],
            [a], h.make_tensor_value_info("y", TensorProto.FLOAT, None), inits)


def refused(c):
    """bad_domains.onnx (not in MANIFEST: the import must refuse it, each
    node named): a com.microsoft operator dnnq does not import (Attention),
    QLinearAdd of the default domain (no such standard operator), a node of
    an unknown domain, a QLinearAdd without its output's scale and a
    QLinearConcat whose operands are not triples; last a good QLinearAdd
    whose import goes on."""
    import onnx
    from onnx import TensorProto
    h = c.h
    t = TensorProto.UINT8
    inits = [scalar("s", 0.1), scalar("z", 128, False)]
    q = ["x", "s", "z"]
    nodes = [
        h.make_node("Attention", ["x", "x"], ["a"], "ms_attention", domain="com.microsoft"),
        h.make_node("QLinearAdd", q + q + ["s", "z"], ["b"], "std_qlinearadd"),
        h.make_node("QLinearAdd", q + q + ["s", "z"], ["d"], "foo_qlinearadd", domain="ai.foo"),
        h.make_node("QLinearAdd", q + q + ["", "z"], ["e"], "no_scale", domain="com.microsoft"),
        h.make_node("QLinearConcat", ["s", "z", "x", "s"], ["f"], "bad_concat",
                    domain="com.microsoft", axis=1),
        h.make_node("QLinearAdd", q + q + ["s", "z"], ["y"], "good", domain="com.microsoft"),
    ]
    g = h.make_graph(nodes, "bad_domains", [h.make_tensor_value_info("x", t, ["N", 4])],
                     [h.make_tensor_value_info("y", t, ["N", 4])], initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13), h.make_opsetid("com.microsoft", 1),
                                       h.make_opsetid("ai.foo", 1)])
    m.ir_version = 7
    onnx.save(m, os.path.join(c.out, "bad_domains.onnx"))


# ---- resnet_qop: a QOperator model ---------------------------------------------------

def qparams(lo, hi):
    """uint8 asymmetric parameters of [lo, hi] (0 kept in range)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = np.float32((hi - lo) / 255 if hi > lo else 1.0)
    return s, int(np.clip(np.rint(-lo / s), 0, 255))


def resnet_qop(c):
    import torch
    from onnx import TensorProto, numpy_helper
    h = c.h
    torch.manual_seed(7)
    torch.set_num_threads(1)
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 3, padding=1)
            self.c1 = nn.Conv2d(8, 8, 3, padding=1)
            self.c2 = nn.Conv2d(8, 8, 3, padding=1)
            self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            t = {}
            t["x"] = x
            t["stem"] = x = torch.relu(self.stem(x))
            t["c1"] = y = torch.relu(self.c1(x))
            t["c2"] = y = self.c2(y)
            t["add"] = x = torch.relu(x + y)
            t["down"] = x = torch.relu(self.down(x))
            t["gap"] = x = x.mean((2, 3), keepdim=True)
            t["fc"] = self.fc(x.flatten(1))
            return t

    net = Net().eval()
    g = torch.Generator().manual_seed(11)
    calib = torch.rand(32, 3, 16, 16, generator=g) * 2 - 1
    test = torch.rand(16, 3, 16, 16, generator=g) * 2 - 1
    with torch.no_grad():
        t = net(calib)
    qp = {k: qparams(float(v.min()), float(v.max())) for k, v in t.items()}
    inits, nodes = [], []

    def const(name, arr):
        if all(i.name != name for i in inits):
            inits.append(numpy_helper.from_array(arr, name))
        return name

    def act(k):
        s, z = qp[k]
        return [const(k + "_s", np.array(s, np.float32)), const(k + "_z", np.array(z, np.uint8))]

    def weights(name, w, b, in_key):
        """int8 per output channel (symmetric), the int32 bias at x_s * w_s."""
        w = w.detach().numpy().astype(np.float64)
        ws = (np.abs(w.reshape(w.shape[0], -1)).max(1) / 127).astype(np.float32)
        wq = np.clip(np.rint(w / ws.reshape([-1] + [1] * (w.ndim - 1))), -127, 127).astype(np.int8)
        bs = ws.astype(np.float64) * float(qp[in_key][0])
        bq = np.rint(b.detach().numpy() / bs).astype(np.int32)
        return [const(name + "_w", wq), const(name + "_ws", ws),
                const(name + "_wz", np.zeros(len(ws), np.int8))], const(name + "_b", bq)

    def conv(name, mod, x, out, stride):
        w, b = weights(name, mod.weight, mod.bias, x)
        nodes.append(h.make_node("QLinearConv", [x + "_q"] + act(x) + w + act(out) + [b],
                                 [out + "_q"], name, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                 strides=[stride, stride]))

    nodes.append(h.make_node("QuantizeLinear", ["x"] + act("x"), ["x_q"], "x_quantize"))
    conv("stem", net.stem, "x", "stem", 1)
    conv("c1", net.c1, "stem", "c1", 1)
    conv("c2", net.c2, "c1", "c2", 1)
    nodes.append(h.make_node("QLinearAdd", ["stem_q"] + act("stem") + ["c2_q"] + act("c2") +
                             act("add"), ["add_q"], "add", domain="com.microsoft"))
    conv("down", net.down, "add", "down", 2)
    nodes.append(h.make_node("QLinearGlobalAveragePool", ["down_q"] + act("down") + act("gap"),
                             ["gap_q"], "gap", domain="com.microsoft", channels_last=0))
    nodes.append(h.make_node("Flatten", ["gap_q"], ["flat_q"], "flatten"))
    w, b = weights("fc", net.fc.weight, net.fc.bias, "gap")
    nodes.append(h.make_node("QGemm", ["flat_q"] + act("gap") + w + [b] + act("fc"), ["fc_q"],
                             "fc", domain="com.microsoft", transB=1, alpha=1.0))
    nodes.append(h.make_node("DequantizeLinear", ["fc_q"] + act("fc"), ["logits"],
                             "logits_dequantize"))
    c.write("resnet_qop", "model", nodes,
            [h.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
            [test.numpy()], h.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
            inits)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join("tests", "onnx", "ms"))
    o = ap.parse_args()
    c = Cases(o.out)
    rng = np.random.default_rng(30)
    unary_cases(c, rng)
    binary_cases(c, rng)
    gemm_cases(c, rng)
    resnet_qop(c)
    refused(c)
    c.finish()
    print("%d cases in %s" % (len(c.manifest), o.out), file=sys.stderr)


if __name__ == "__main__":
    main()
