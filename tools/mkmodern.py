#!/usr/bin/python3
"""tools/mkmodern.py: the fixtures of opset 18-21 models as torch 2's
exporters write them, tests/onnx/modern/, for the convert suite's case
modern_models (tests/test_convert.c; docs/onnx.md, "Opset 18-21 exports").

Debian's torch (1.13) exports at most opset 16, so each case is built with
onnx.helper in the operators and forms torch 2's TorchScript exporter
(opset 17-18) and its dynamo exporter (opset 18-21) write: LayerNormalization
with its Mean and InvStdDev outputs named and unread, Split with
num_outputs, the reductions' axes an input, Pad with axes, Resize's opset-18
attributes, ONNX's Gelu (opset 20), GroupNormalization (opset 18: scale and
bias per group; 21: per channel), Mish, the scaled_dot_product_attention
decomposition (q and k each scaled by 1 / dh^(1/4)), its boolean-mask form
(Where(mask, 0, -inf), then Where(IsNaN(softmax), 0, softmax)), ReduceL1,
ReduceLogSum, ReduceLogSumExp, Mean, Softsign, Sum and Mean of broadcasting
shapes. Weights are seeded numpy.
The inputs fix dim 0 at 1 (a static export: the Reshape targets hold the
1); NAME.in0.npy, ... hold 4 samples, and NAME.out.npy, ... ONNX Runtime's
outputs (CPU provider, onnxruntime-node through tools/ort-npy.js), one
sample a run, stacked. MANIFEST has one line per case, NAME KIND NINPUTS,
KIND `fp32` as the conformance cases of tests/onnx/ops: calibrated on its
inputs and converted int8 (SQNR >= 30 dB against ONNX Runtime's outputs),
and with every node fp32 (within 1e-5); or `auto` (bert_layer,
sdpa_bool_mask: a mask of finfo.min or -inf added to the scores, which
every node int8 quantizes at the mask's range): every node fp32 within
1e-5, and dnnq-convert's default precision at 30 dB or more. IR version 10 (opset 21's); the
onnx package (1.12) has no schemas past opset 17, so no onnx.checker.

vit_block: a ViT encoder block, opset 20 (LayerNormalization, a qkv
Linear, timm's heads: Reshape to [1, 9, 3, 4, 8], Transpose to [3, 1, 4,
9, 8], unbind(0) as the dynamo exporter writes it, SplitToSequence and
three SequenceAt; the SDPA decomposition, Gelu, residuals), x [1, 9, 32], 4 heads.
convnext_block: ConvNeXt's block, opset 18 (7x7 depthwise Conv, Transpose
to channels-last, LayerNormalization, Linear, GELU as erf's five nodes,
Linear, the layer scale, Transpose back, the residual), then its
downsampling LayerNorm2d as ReduceMean with axes inputs and a 2x2 stride-2
Conv, x [1, 16, 10, 10].
effnet_block: an EfficientNet MBConv block, opset 18 (1x1 Conv, SiLU as
Sigmoid and Mul, 3x3 depthwise Conv, squeeze-excitation by ReduceMean of
axes [2, 3], the residual), then Pad with axes [2, 3] and
GroupNormalization of 4 groups with opset 18's per-group scale and bias,
x [1, 8, 10, 10].
groupnorm_mish: Conv, GroupNormalization (opset 21: per-channel scale and
bias, stash_type 1) of 4 groups over 3-D [1, 8, 20] (a Conv1d's), Mish.
bert_layer: a BERT encoder layer, opset 18, with its attention mask input
[1, 10] (1 keep, 0 pad: (1 - mask[:, None, None, :]) * finfo.min added to
the scores), qkv split by sizes, post-LayerNorms, GELU as erf's nodes.
sdpa_bool_mask: scaled_dot_product_attention with a boolean mask as the
dynamo exporter writes it, opset 18: the float mask input cast to bool,
Where(mask, 0, -inf) added to the scores, Softmax, Where(IsNaN(...), 0,
...), MatMul by v. Sample 3 masks every key: ONNX Runtime's NaNs become
zeros there.
yolov8_head: a YOLOv8 head, opset 19: nearest Resize (scales 2, opset 18's
antialias 0 and keep_aspect_ratio_policy stretch), Concat, Conv+SiLU, the
box and class Convs, the DFL (Reshape to [1, 4, 16, 144], Transpose,
Softmax over the 16 bins, Conv 1x1 of weights arange(16)), Split
num_outputs 2, anchors less and plus the distances, cx, cy, w, h times the
stride 8, Concat with Sigmoid of the classes; x [1, 16, 6, 6].
bad_modern.onnx: one node refused for each attribute or input the import
checks (Gelu's approximate, GroupNormalization's num_groups, scale shape,
stash_type and a constant input of no elements, IsInf's detect_negative,
an attribute ReduceLogSumExp does not have, Mish of two inputs, SplitToSequence's lengths that do not
add to the axis, SequenceAt past the sequence, Trilu's k of two values, a
function call without the attribute its body refers to, a function calling
itself, a function's If whose branches the call gives (they read the
body's names), ReduceLogSumExp's axes as an attribute in opset 18, a call whose
every prefix for its body's names, CALL/ and CALL~1/ to CALL~8/, is taken),
for the convert suite's case modern_refused.
bad_fanout.onnx: 24 functions each calling the next twice, 2^24 calls:
refused when the inlined body nodes pass 2^15 (modern_refused).
reductions: ReduceLogSumExp (axes input [-1]), ReduceL1 (axes [1], kept),
ReduceLogSum of |x| + 1, Mean of x and Softsign(x), Sum of x, the ReduceL1
and a constant [7] and Mean of the ReduceL1 and x (broadcasting), opset 18,
six outputs of x [1, 6, 5, 7].
trilu: Trilu of a computed tensor (torch's triu and tril of activations),
upper with k 1 and lower with k -2 of x [1, 3, 5, 7], opset 18.
split_seq: SplitToSequence by a scalar length (4 of 6 channels: pieces 4
and 2, the last taken, SequenceAt -1), by lengths [1, 4] of the last
axis (the second taken) and by a scalar 10 longer than the last axis (one
piece), opset 18; x [1, 6, 5].
einsum_linear: Linears written as Einsum of a constant weight, opset 18:
"bld,nd->bln" (the weight [out, in] as nn.Linear holds it, transposed at
import), Relu, "bln,nk->blk"; x [1, 5, 8].
functions: torch 2.1-2.4's dynamo_export form, opset 18: two calls (one
named, one not) of a model-local function Block (domain pkg.torch.2.1.0)
whose body calls the function torch_nn_modules_linear_Linear (its weight
and bias the call's inputs: Transpose, MatMul, Add) and torchlib's
aten_leaky_relu (its LeakyRelu's alpha the call's negative_slope, an
attribute reference), then the residual Add; x [1, 5, 16].
functions_scoped: the names a function call and SplitToSequence make
against the model's and each other's: a value 'blk/t' of the graph before
the call 'blk' of a function with its own 't', 'blk2/t' after the call
'blk2', and a Loop of two iterations whose body calls the function and
splits to a sequence; x [1, 4, 6], opset 18.
lse_inf.onnx: ReduceLogSumExp of rows of -inf, rows holding inf and large
finite rows (ONNX Runtime: -inf, inf and finite, not NaN), for the convert
suite's case modern_infinities (no MANIFEST line).

Run from the repository root with Debian's interpreter (onnx, numpy) and
onnxruntime-node on NODE_PATH:
    NODE_PATH=build/bench-calib/node_modules /usr/bin/python3 tools/mkmodern.py
Deterministic: fixed seeds.
"""

import glob
import os
import subprocess
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "onnx", "modern")
PRODUCER = "tools/mkmodern.py"   # tools/mkopgaps.py writes its own cases through save()
SAMPLES = 4


class Graph:
    """A graph under construction: nodes named NAME_K after their op, seeded
    constants."""

    def __init__(self, name, seed):
        self.name, self.nodes, self.inits, self.n = name, [], [], 0
        self.qkv_scale = 0.1
        self.r = np.random.default_rng(seed)

    def c(self, arr):
        from onnx import numpy_helper as nh
        self.n += 1
        name = "c%d" % self.n
        self.inits.append(nh.from_array(np.asarray(arr), name))
        return name

    def f(self, v):
        return self.c(np.array(v, np.float32))

    def w(self, *shape, scale=0.1):
        return self.c((self.r.standard_normal(shape) * scale).astype(np.float32))

    def i64(self, *v):
        return self.c(np.array(v, np.int64))

    def op(self, t, ins, nout=1, **a):
        from onnx import helper as h
        self.n += 1
        outs = ["%s_%d_%d" % (t.lower(), self.n, k) for k in range(nout)]
        self.nodes.append(h.make_node(t, ins, outs, name="%s_%d" % (t, self.n), **a))
        return outs[0] if nout == 1 else outs

    def linear(self, x, din, dout, scale=0.1):
        return self.op("Add", [self.op("MatMul", [x, self.w(din, dout, scale=scale)]),
                               self.w(dout)])

    def layernorm(self, x, d):
        """torch 2's native_layer_norm: LayerNormalization with its Mean and
        InvStdDev outputs named, read by nothing."""
        g = self.c((1 + self.r.standard_normal(d) * 0.1).astype(np.float32))
        return self.op("LayerNormalization", [x, g, self.w(d)], 3, axis=-1, epsilon=1e-5,
                       stash_type=1)[0]

    def gelu(self, x, opset):
        if opset >= 20:
            return self.op("Gelu", [x], approximate="none")
        e = self.op("Erf", [self.op("Div", [x, self.f(1.4142135)])])
        return self.op("Mul", [self.op("Mul", [x, self.f(0.5)]),
                               self.op("Add", [e, self.f(1.0)])])

    def silu(self, x):
        return self.op("Mul", [x, self.op("Sigmoid", [x])])

    def conv(self, x, cout, cin, k, scale=0.1, **a):
        return self.op("Conv", [x, self.w(cout, cin, k, k, scale=scale), self.w(cout)],
                       kernel_shape=[k, k], **a)

    def attention(self, x, S, D, H, mask=None, split="num_outputs"):
        """torch 2's scaled_dot_product_attention decomposition of a qkv
        Linear's heads; mask added to the scores."""
        dh = D // H
        qkv = self.linear(x, D, 3 * D, scale=self.qkv_scale)
        if split == "unbind":       # timm's qkv.reshape().permute(2, 0, 3, 1, 4).unbind(0)
            t = self.op("Transpose", [self.op("Reshape", [qkv, self.i64(1, S, 3, H, dh)])],
                        perm=[2, 0, 3, 1, 4])
            seq = self.op("SplitToSequence", [t], axis=0, keepdims=0)
            q, k, v = (self.op("SequenceAt", [seq, self.c(np.array(i, np.int64))])
                       for i in range(3))
        else:
            if split == "num_outputs":
                q, k, v = self.op("Split", [qkv], 3, axis=-1, num_outputs=3)
            else:
                q, k, v = self.op("Split", [qkv, self.i64(D, D, D)], 3, axis=2)
            q, k, v = (self.op("Transpose", [self.op("Reshape", [t, self.i64(1, S, H, dh)])],
                               perm=[0, 2, 1, 3]) for t in (q, k, v))
        sc = self.f(1 / np.sqrt(np.sqrt(dh)))
        s = self.op("MatMul", [self.op("Mul", [q, sc]),
                               self.op("Mul", [self.op("Transpose", [k], perm=[0, 1, 3, 2]),
                                               sc])])
        if mask is not None:
            s = self.op("Add", [s, mask])
        o = self.op("MatMul", [self.op("Softmax", [s], axis=-1), v])
        o = self.op("Reshape", [self.op("Transpose", [o], perm=[0, 2, 1, 3]),
                                self.i64(1, S, D)])
        return self.linear(o, D, D)


def leaky_fn():
    """torchlib's aten_leaky_relu as a model-local function: its slope an
    attribute the body's LeakyRelu refers to."""
    from onnx import AttributeProto, helper as h
    a = AttributeProto(name="alpha", type=AttributeProto.FLOAT, ref_attr_name="negative_slope")
    n = h.make_node("LeakyRelu", ["self"], ["return_val"])
    n.attribute.append(a)
    return h.make_function("pkg.onnxscript.torch_lib", "aten_leaky_relu", ["self"],
                           ["return_val"], [n], [h.make_opsetid("", 18)], ["negative_slope"])


def save(g, kind, opset, inputs, outputs, feeds, manifest, functions=()):
    """The model (inputs: (name, shape) pairs; outputs: value names), its
    feeds (arrays of SAMPLES items), ONNX Runtime's outputs one sample a
    run, stacked."""
    import onnx
    from onnx import TensorProto, helper as h
    graph = h.make_graph(g.nodes, g.name,
                         [h.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                         [h.make_tensor_value_info(n, TensorProto.FLOAT, None)
                          for n in outputs], g.inits)
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)] +
                     [h.make_opsetid(d, 1) for d in sorted({f.domain for f in functions})],
                     producer_name=PRODUCER, functions=list(functions))
    m.ir_version = 10
    path = os.path.join(OUT, g.name + ".onnx")
    onnx.save(m, path)
    for k, a in enumerate(feeds):
        np.save(os.path.join(OUT, "%s.in%d.npy" % (g.name, k)), a, allow_pickle=False)
    res = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(SAMPLES):
            ins = []
            for k, a in enumerate(feeds):
                ins.append(os.path.join(tmp, "in%d.npy" % k))
                np.save(ins[-1], a[i:i + 1], allow_pickle=False)
            subprocess.run(["node", os.path.join(ROOT, "tools", "ort-npy.js"), path,
                            os.path.join(tmp, "y")] + ins, check=True)
            res.append([np.load(os.path.join(tmp, "y.out%s.npy" % (str(j) if j else "")))
                        for j in range(len(outputs))])
    for j in range(len(outputs)):
        np.save(os.path.join(OUT, "%s.out%s.npy" % (g.name, str(j) if j else "")),
                np.concatenate([r[j] for r in res]), allow_pickle=False)
    manifest.append("%s %s %d" % (g.name, kind, len(feeds)))


def randn(r, *shape):
    return r.standard_normal((SAMPLES,) + shape).astype(np.float32)


def vit_block(manifest):
    g = Graph("vit_block", 1)
    S, D = 9, 32
    x1 = g.op("Add", ["x", g.attention(g.layernorm("x", D), S, D, 4, split="unbind")])
    y = g.linear(g.gelu(g.linear(g.layernorm(x1, D), D, 4 * D), 20), 4 * D, D)
    save(g, "fp32", 20, [("x", [1, S, D])], [g.op("Add", [x1, y])], [randn(g.r, S, D)],
         manifest)


def convnext_block(manifest):
    g = Graph("convnext_block", 2)
    C, HW = 16, 10
    t = g.conv("x", C, 1, 7, group=C, pads=[3, 3, 3, 3])
    t = g.layernorm(g.op("Transpose", [t], perm=[0, 2, 3, 1]), C)
    t = g.linear(g.gelu(g.linear(t, C, 4 * C), 18), 4 * C, C)
    t = g.op("Mul", [t, g.c((g.r.random(C) * 0.5 + 0.5).astype(np.float32))])
    y = g.op("Add", ["x", g.op("Transpose", [t], perm=[0, 3, 1, 2])])
    u = g.op("ReduceMean", [y, g.i64(1)], keepdims=1)
    d = g.op("Sub", [y, u])
    var = g.op("ReduceMean", [g.op("Pow", [d, g.f(2.0)]), g.i64(1)], keepdims=1)
    n = g.op("Div", [d, g.op("Sqrt", [g.op("Add", [var, g.f(1e-6)])])])
    n = g.op("Add", [g.op("Mul", [n, g.c((1 + g.r.random((C, 1, 1)) * 0.2).astype(np.float32))]),
                     g.w(C, 1, 1)])
    save(g, "fp32", 18, [("x", [1, C, HW, HW])], [g.conv(n, 2 * C, C, 2, strides=[2, 2])],
         [randn(g.r, C, HW, HW)], manifest)


def effnet_block(manifest):
    g = Graph("effnet_block", 3)
    C, E, HW = 8, 32, 10
    t = g.silu(g.conv("x", E, C, 1, scale=0.3))
    t = g.silu(g.conv(t, E, 1, 3, scale=0.3, group=E, pads=[1, 1, 1, 1]))
    s = g.op("ReduceMean", [t, g.i64(2, 3)], keepdims=1)
    s = g.op("Sigmoid", [g.conv(g.silu(g.conv(s, 4, E, 1, scale=0.3)), E, 4, 1, scale=0.3)])
    y = g.op("Add", [g.conv(g.op("Mul", [t, s]), C, E, 1, scale=0.3), "x"])
    p = g.op("Pad", [y, g.i64(1, 1, 1, 1), g.f(0.0), g.i64(2, 3)], mode="constant")
    gn = g.op("GroupNormalization", [p, g.f([1.5, 0.5, 1.0, 2.0]), g.f([0.1, -0.2, 0.0, 0.3])],
              num_groups=4, epsilon=1e-5)
    save(g, "fp32", 18, [("x", [1, C, HW, HW])], [gn], [randn(g.r, C, HW, HW)], manifest)


def groupnorm_mish(manifest):
    g = Graph("groupnorm_mish", 4)
    t = g.op("Conv", ["x", g.w(8, 3, 3, scale=0.5), g.w(8)], kernel_shape=[3], pads=[1, 1])
    t = g.op("GroupNormalization", [t, g.c((g.r.random(8) + 0.5).astype(np.float32)), g.w(8)],
             num_groups=4, epsilon=1e-5, stash_type=1)
    save(g, "fp32", 21, [("x", [1, 3, 20])], [g.op("Mish", [t])], [randn(g.r, 3, 20)],
         manifest)


def bert_layer(manifest):
    g = Graph("bert_layer", 5)
    S, D = 10, 32
    m = g.op("Cast", [g.op("Unsqueeze", ["mask", g.i64(1, 2)])], to=1)
    m = g.op("Mul", [g.op("Sub", [g.f(1.0), m]), g.f(np.finfo(np.float32).min)])
    x1 = g.layernorm(g.op("Add", [g.attention("x", S, D, 4, mask=m, split="sizes"), "x"]), D)
    f = g.linear(g.gelu(g.linear(x1, D, 4 * D), 18), 4 * D, D)
    mask = np.ones((SAMPLES, S), np.float32)
    mask[1, 8:] = 0
    mask[2, 3:] = 0
    save(g, "auto", 18, [("x", [1, S, D]), ("mask", [1, S])],
         [g.layernorm(g.op("Add", [f, x1]), D)], [randn(g.r, S, D), mask], manifest)


def sdpa_bool_mask(manifest):
    from onnx import TensorProto
    g = Graph("sdpa_bool_mask", 6)
    S, D = 8, 16
    q = g.op("Mul", [g.linear("x", D, D), g.f(1 / np.sqrt(np.sqrt(D)))])
    k = g.op("Mul", [g.op("Transpose", [g.linear("x", D, D)], perm=[0, 2, 1]),
                     g.f(1 / np.sqrt(np.sqrt(D)))])
    v = g.linear("x", D, D)
    b = g.op("Unsqueeze", [g.op("Cast", ["mask"], to=TensorProto.BOOL), g.i64(1)])
    s = g.op("Add", [g.op("MatMul", [q, k]), g.op("Where", [b, g.f(0.0), g.f(-np.inf)])])
    p = g.op("Softmax", [s], axis=-1)
    p = g.op("Where", [g.op("IsNaN", [p]), g.f(0.0), p])
    mask = np.ones((SAMPLES, S), np.float32)
    mask[1, 5:] = 0
    mask[3, :] = 0
    save(g, "auto", 18, [("x", [1, S, D]), ("mask", [1, S])], [g.op("MatMul", [p, v])],
         [randn(g.r, S, D), mask], manifest)


def yolov8_head(manifest):
    g = Graph("yolov8_head", 7)
    C, HW, R, NC = 16, 6, 16, 4
    n = (2 * HW) ** 2
    up = g.op("Resize", ["x", "", g.f([1, 1, 2, 2])], mode="nearest",
              coordinate_transformation_mode="asymmetric", nearest_mode="floor", antialias=0,
              keep_aspect_ratio_policy="stretch", cubic_coeff_a=-0.75, exclude_outside=0,
              extrapolation_value=0.0)
    cat = g.op("Concat", [up, up], axis=1)
    box = g.conv(g.silu(g.conv(cat, C, 2 * C, 3, pads=[1, 1, 1, 1])), 4 * R, C, 1)
    cls = g.conv(cat, NC, 2 * C, 1)
    y = g.op("Concat", [g.op("Reshape", [box, g.i64(1, 4 * R, -1)]),
                        g.op("Reshape", [cls, g.i64(1, NC, -1)])], axis=1)
    b, c = g.op("Split", [y, g.i64(4 * R, NC)], 2, axis=1)
    d = g.op("Transpose", [g.op("Reshape", [b, g.i64(1, 4, R, n)])], perm=[0, 2, 1, 3])
    d = g.op("Conv", [g.op("Softmax", [d], axis=1),
                      g.c(np.arange(R, dtype=np.float32).reshape(1, R, 1, 1))],
             kernel_shape=[1, 1])
    lt, rb = g.op("Split", [g.op("Reshape", [d, g.i64(1, 4, n)])], 2, axis=1, num_outputs=2)
    grid = np.stack(np.meshgrid(np.arange(2 * HW), np.arange(2 * HW)), 0)
    anchors = g.c((grid.reshape(1, 2, n) + 0.5).astype(np.float32))
    x1y1, x2y2 = g.op("Sub", [anchors, lt]), g.op("Add", [anchors, rb])
    cxy = g.op("Div", [g.op("Add", [x1y1, x2y2]), g.f(2.0)])
    dbox = g.op("Mul", [g.op("Concat", [cxy, g.op("Sub", [x2y2, x1y1])], axis=1), g.f(8.0)])
    save(g, "fp32", 19, [("x", [1, C, HW, HW])],
         [g.op("Concat", [dbox, g.op("Sigmoid", [c])], axis=1)], [randn(g.r, C, HW, HW)],
         manifest)


def reductions(manifest):
    g = Graph("reductions", 8)
    lse = g.op("ReduceLogSumExp", ["x", g.i64(-1)], keepdims=0)
    l1 = g.op("ReduceL1", ["x", g.i64(1)], keepdims=1)
    ls = g.op("ReduceLogSum", [g.op("Add", [g.op("Abs", ["x"]), g.f(1.0)]), g.i64(2, 3)],
              keepdims=0)
    mean = g.op("Mean", ["x", g.op("Softsign", ["x"])])
    # Sum and Mean broadcast their inputs as Add does
    row = g.c((np.arange(7, dtype=np.float32) - 3) / 4)
    bsum = g.op("Sum", ["x", l1, row])
    bmean = g.op("Mean", [l1, "x"])
    save(g, "fp32", 18, [("x", [1, 6, 5, 7])], [lse, l1, ls, mean, bsum, bmean],
         [randn(g.r, 6, 5, 7) * 3], manifest)


def bad_modern():
    """bad_modern.onnx (no inputs or outputs of its own: the convert suite's
    modern_refused imports it): every node refused, each for its own
    attribute or input, opset 18."""
    import onnx
    from onnx import AttributeProto, TensorProto, helper as h, numpy_helper as nh
    x = h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])
    inits = [nh.from_array(np.ones(n, np.float32), "ones%d" % n) for n in (4, 8)]
    nodes = [h.make_node("Gelu", ["x"], ["g"], name="gelu_fast", approximate="fast"),
             h.make_node("GroupNormalization", ["x", "ones4", "ones4"], ["n3"],
                         name="gn_groups3", num_groups=3),
             h.make_node("GroupNormalization", ["x", "ones8", "ones8"], ["n8"],
                         name="gn_scale8", num_groups=4),
             h.make_node("GroupNormalization", ["x", "ones4", "ones4"], ["n0"],
                         name="gn_no_groups"),
             h.make_node("GroupNormalization", ["x", "ones4", "ones4"], ["nd"],
                         name="gn_stash0", num_groups=4, stash_type=0),
             h.make_node("Constant", [], ["empty"],
                         value=nh.from_array(np.ones((0, 8, 2), np.float32))),
             h.make_node("GroupNormalization", ["empty", "ones4", "ones4"], ["ne"],
                         name="gn_empty", num_groups=4),
             h.make_node("IsInf", ["x"], ["i"], name="isinf_2", detect_negative=2),
             h.make_node("ReduceLogSumExp", ["x"], ["r"], name="lse_foo", foo=1),
             h.make_node("Mish", ["x", "x"], ["m"], name="mish_2"),
             h.make_node("SplitToSequence", ["x", "three"], ["sq"], name="seq_split6", axis=1),
             h.make_node("SplitToSequence", ["x"], ["s2"], name="seq_ok", axis=2),
             h.make_node("SequenceAt", ["s2", "five"], ["at"], name="seq_at5"),
             h.make_node("Trilu", ["x", "three"], ["t"], name="trilu_k2"),
             h.make_node("aten_leaky_relu", ["x"], ["lr"], name="fn_no_slope",
                         domain="pkg.onnxscript.torch_lib"),
             h.make_node("Twice", ["x"], ["tw"], name="fn_recursive", domain="pkg.bad"),
             h.make_node("ReduceLogSumExp", ["x"], ["ra"], name="lse_axes_attr", axes=[1])]
    # the call 'clash' finds each name it could make for its body's 'b' taken
    # (before fn_recursive: no call is walked after that refusal)
    nodes.insert(-2, h.make_node("Twice2", ["x"], ["cl"], name="clash", domain="pkg.bad"))
    # an If whose branches the call gives (read in the body's scope: 'a')
    branch = h.make_node("If", ["c"], ["b"])
    for at, ref in (("then_branch", "t"), ("else_branch", "e")):
        branch.attribute.append(AttributeProto(name=at, type=AttributeProto.GRAPH,
                                               ref_attr_name=ref))
    branches = h.make_function("pkg.bad", "Branches", ["a", "c"], ["b"], [branch],
                               [h.make_opsetid("", 18)], ["t", "e"])
    nodes.insert(-2, h.make_node(
        "Branches", ["x", "yes"], ["br"], name="fn_graph_ref", domain="pkg.bad",
        t=h.make_graph([h.make_node("Relu", ["a"], ["o"])], "t", [],
                       [h.make_tensor_value_info("o", TensorProto.FLOAT, None)]),
        e=h.make_graph([h.make_node("Neg", ["a"], ["o"])], "e", [],
                       [h.make_tensor_value_info("o", TensorProto.FLOAT, None)])))
    for k in range(9):
        nodes.insert(0, h.make_node("Relu", ["x"], ["clash%s/b" % ("~%d" % k if k else "")]))
    twice2 = h.make_function("pkg.bad", "Twice2", ["a"], ["c"],
                             [h.make_node("Relu", ["a"], ["b"]),
                              h.make_node("Relu", ["b"], ["c"])], [h.make_opsetid("", 18)])
    # a function calling itself twice: 2^64 calls, were they not stopped
    twice = h.make_function("pkg.bad", "Twice", ["a"], ["b"],
                            [h.make_node("Twice", ["a"], ["t1"], domain="pkg.bad"),
                             h.make_node("Twice", ["t1"], ["b"], domain="pkg.bad")],
                            [h.make_opsetid("", 18), h.make_opsetid("pkg.bad", 1)])
    inits += [nh.from_array(np.array([3, 3], np.int64), "three"),
              nh.from_array(np.array(5, np.int64), "five"),
              nh.from_array(np.array(True), "yes")]
    outs = [h.make_tensor_value_info(n.output[0], TensorProto.FLOAT, None) for n in nodes
            if n.op_type not in ("SplitToSequence", "Relu", "Constant")]
    g = h.make_graph(nodes, "bad_modern", [x], outs, inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18), h.make_opsetid("pkg.bad", 1),
                                       h.make_opsetid("pkg.onnxscript.torch_lib", 1)],
                     producer_name="tools/mkmodern.py",
                     functions=[leaky_fn(), twice, twice2, branches])
    m.ir_version = 10
    onnx.save(m, os.path.join(OUT, "bad_modern.onnx"))


def trilu(manifest):
    g = Graph("trilu", 9)
    up = g.op("Trilu", ["x", g.c(np.array(1, np.int64))], upper=1)
    low = g.op("Trilu", [g.op("Mul", ["x", g.f(2.0)]), g.c(np.array(-2, np.int64))], upper=0)
    save(g, "fp32", 18, [("x", [1, 3, 5, 7])], [up, low], [randn(g.r, 3, 5, 7)], manifest)


def split_seq(manifest):
    g = Graph("split_seq", 12)
    s4 = g.op("SplitToSequence", ["x", g.c(np.array(4, np.int64))], axis=1)
    last = g.op("Mul", [g.op("SequenceAt", [s4, g.c(np.array(-1, np.int64))]), g.f(2.0)])
    s14 = g.op("SplitToSequence", [g.op("Relu", ["x"]), g.i64(1, 4)], axis=2)
    second = g.op("SequenceAt", [s14, g.c(np.array(1, np.int64))])
    s10 = g.op("SplitToSequence", [g.op("Neg", ["x"]), g.c(np.array(10, np.int64))], axis=2)
    whole = g.op("SequenceAt", [s10, g.c(np.array(0, np.int64))])
    save(g, "fp32", 18, [("x", [1, 6, 5])], [last, second, whole], [randn(g.r, 6, 5)],
         manifest)


def einsum_linear(manifest):
    g = Graph("einsum_linear", 11)
    y = g.op("Einsum", ["x", g.w(12, 8, scale=0.3)], equation="bld,nd->bln")
    z = g.op("Einsum", [g.op("Relu", [y]), g.w(12, 4, scale=0.3)], equation="bln,nk->blk")
    save(g, "fp32", 18, [("x", [1, 5, 8])], [z], [randn(g.r, 5, 8)], manifest)


def functions(manifest):
    """torch 2.1-2.4's dynamo_export: modules and aten operators as
    model-local functions, the parameters the module function's inputs."""
    from onnx import helper as h
    g = Graph("functions", 10)
    D = 16
    lin = h.make_function(
        "pkg.torch.2.1.0", "torch_nn_modules_linear_Linear", ["x", "weight", "bias"], ["y"],
        [h.make_node("Transpose", ["weight"], ["t"], perm=[1, 0]),
         h.make_node("MatMul", ["x", "t"], ["mm"]),
         h.make_node("Add", ["mm", "bias"], ["y"])], [h.make_opsetid("", 18)])
    block = h.make_function(
        "pkg.torch.2.1.0", "Block", ["x", "w", "b"], ["out"],
        [h.make_node("torch_nn_modules_linear_Linear", ["x", "w", "b"], ["l"],
                     domain="pkg.torch.2.1.0"),
         h.make_node("aten_leaky_relu", ["l"], ["a"], domain="pkg.onnxscript.torch_lib",
                     negative_slope=0.2),
         h.make_node("Add", ["a", "x"], ["out"])], [h.make_opsetid("", 18),
                                                    h.make_opsetid("pkg.torch.2.1.0", 1),
                                                    h.make_opsetid("pkg.onnxscript.torch_lib", 1)])
    y = "x"
    for k in range(2):
        g.n += 1
        out = "block_%d" % k
        g.nodes.append(h.make_node("Block", [y, g.w(D, D, scale=0.3), g.w(D)], [out],
                                   domain="pkg.torch.2.1.0", name="" if k else "blocks.0"))
        y = out
    save(g, "fp32", 18, [("x", [1, 5, D])], [y], [randn(g.r, 5, D)], manifest,
         (lin, block, leaky_fn()))


def functions_scoped(manifest):
    """Names a function call makes (CALL/NAME) and those SplitToSequence
    makes (NAME:K...) against the model's and each other's: the graph names
    a value 'blk/t' before the call 'blk' whose body has its own 't' (the
    call's names become blk~1/...), and another 'blk2/t' after the call
    'blk2'; a Loop of 2 iterations whose body calls the function and splits
    to a sequence (each iteration makes the same names again)."""
    from onnx import TensorProto, helper as h
    g = Graph("functions_scoped", 13)
    f = h.make_function("pkg.torch.2.1.0", "Residual", ["a"], ["b"],
                        [h.make_node("Relu", ["a"], ["t"]),
                         h.make_node("Add", ["t", "a"], ["b"])], [h.make_opsetid("", 18)])
    g.nodes.append(h.make_node("Neg", ["x"], ["blk/t"], name="neg"))
    g.nodes.append(h.make_node("Residual", ["blk/t"], ["r1"], domain="pkg.torch.2.1.0",
                               name="blk"))
    g.nodes.append(h.make_node("Residual", ["r1"], ["r2"], domain="pkg.torch.2.1.0",
                               name="blk2"))
    g.nodes.append(h.make_node("Mul", ["r1", g.f(0.5)], ["blk2/t"], name="half"))
    s = g.op("Add", [g.op("Add", ["r2", "blk/t"]), "blk2/t"])
    body = h.make_graph(
        [h.make_node("Residual", ["c_in"], ["r"], domain="pkg.torch.2.1.0", name="call"),
         h.make_node("SplitToSequence", ["r"], ["q"], axis=1, keepdims=0, name="split"),
         h.make_node("SequenceAt", ["q", "one"], ["row"], name="at"),
         h.make_node("Unsqueeze", ["row", "ax1"], ["row1"], name="unsq"),
         h.make_node("Sub", ["r", "row1"], ["c_out"], name="sub"),
         h.make_node("Identity", ["cond_in"], ["cond_out"], name="cond")], "body",
        [h.make_tensor_value_info("i", TensorProto.INT64, []),
         h.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         h.make_tensor_value_info("c_in", TensorProto.FLOAT, None)],
        [h.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         h.make_tensor_value_info("c_out", TensorProto.FLOAT, None)])
    from onnx import numpy_helper as nh
    g.inits += [nh.from_array(np.array(2, np.int64), "trips"),
                nh.from_array(np.array(True), "go"),
                nh.from_array(np.array(1, np.int64), "one"),
                nh.from_array(np.array([1], np.int64), "ax1")]
    g.nodes.append(h.make_node("Loop", ["trips", "go", s], ["looped"], body=body, name="loop"))
    save(g, "fp32", 18, [("x", [1, 4, 6])], ["looped"], [randn(g.r, 4, 6)], manifest, (f,))


def lse_inf():
    """lse_inf.onnx: ReduceLogSumExp of rows of -inf, rows holding inf and
    rows of large finite values (over the last axis, and over axis 1 kept),
    ONNX Runtime's outputs -inf, inf and finite (the convert suite's
    modern_infinities; no MANIFEST line: int8 has no infinities)."""
    g = Graph("lse_inf", 14)
    x = (g.r.standard_normal((SAMPLES, 3, 4)) * 30 + 90).astype(np.float32)
    x[0, 0, :] = -np.inf
    x[1, 1, 2] = np.inf
    x[2, 2, :2] = -np.inf
    x[3, :, 3] = -np.inf
    x[3, 0, 0] = np.inf
    y0 = g.op("ReduceLogSumExp", ["x", g.i64(-1)], keepdims=0)
    y1 = g.op("ReduceLogSumExp", ["x", g.i64(1)], keepdims=1)
    save(g, "fp32", 18, [("x", [1, 3, 4])], [y0, y1], [x], [])


def bad_fanout():
    """bad_fanout.onnx: 24 functions, each calling the next twice (2^24
    calls of a Relu), refused when the inlined nodes pass 2^15."""
    import onnx
    from onnx import TensorProto, helper as h
    fs = []
    for i in range(24):
        body = [h.make_node("Relu", ["a"], ["b"])] if i == 23 else \
            [h.make_node("F%d" % (i + 1), ["a"], ["t"], domain="d"),
             h.make_node("F%d" % (i + 1), ["t"], ["b"], domain="d")]
        fs.append(h.make_function("d", "F%d" % i, ["a"], ["b"], body,
                                  [h.make_opsetid("", 18), h.make_opsetid("d", 1)]))
    g = h.make_graph([h.make_node("F0", ["x"], ["y"], domain="d", name="fanout")], "bad_fanout",
                     [h.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                     [h.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 18), h.make_opsetid("d", 1)],
                     producer_name="tools/mkmodern.py", functions=fs)
    m.ir_version = 10
    onnx.save(m, os.path.join(OUT, "bad_fanout.onnx"))


def write_all(cases, bad):
    """OUT emptied, then each case written (its MANIFEST line kept), each of
    bad (the refused models) and the MANIFEST."""
    os.makedirs(OUT, exist_ok=True)
    for f in glob.glob(os.path.join(OUT, "*")):
        os.remove(f)
    manifest = []
    for case in cases:
        case(manifest)
    for b in bad:
        b()
    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("# NAME KIND NINPUTS (%s)\n" % PRODUCER)
        f.write("".join(line + "\n" for line in manifest))
    print("%d cases, %d files in %s" % (len(manifest), len(os.listdir(OUT)), OUT))


def main():
    write_all((vit_block, convnext_block, effnet_block, groupnorm_mish, bert_layer,
               sdpa_bool_mask, yolov8_head, reductions, trilu, functions, einsum_linear,
               split_seq, functions_scoped), (lse_inf, bad_modern, bad_fanout))


if __name__ == "__main__":
    main()
