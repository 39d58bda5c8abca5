#!/usr/bin/python3
"""tools/mkopgaps.py: the fixtures of operators and attributes real models use
less often, tests/onnx/opgaps/, for the convert suite's cases opgaps_models
and opgaps_refused (tests/test_convert.c; docs/onnx.md, "Supported
operators").

Each case is built with onnx.helper, weights seeded numpy, through
tools/mkmodern.py's Graph and save(): NAME.in0.npy holds 4 samples with dim 0
of 1, NAME.out.npy, ... ONNX Runtime's outputs (CPU provider,
onnxruntime-node through tools/ort-npy.js), one sample a run, stacked.
MANIFEST has one line per case, NAME KIND NINPUTS, KIND `fp32` as the
conformance cases of tests/onnx/ops: calibrated on its inputs and converted
int8 (SQNR >= 30 dB against ONNX Runtime's outputs), and with every node fp32
(within 1e-5).

cast_int: Cast of a computed float to int64, int32, int8 and uint8 at run
time, each cast back to float (ONNX Runtime's integers: truncation toward
zero; out of int32's range -2^31, and for 8 bits the low byte of the int32,
wrapped), opset 13; x [1, 16] of values up to +-1e10.

trig: Atan, Asin, Acos, Tan, Sinh, Cosh, Asinh, Acosh, Atanh of computed
values in their domains (Asin, Acos of a Tanh; Acosh of |x| + 1.1; Atanh of
0.9 Tanh; Sinh and Cosh added), and Atan of a constant (folded at import)
added to one, opset 13; x [1, 4, 6], eight outputs.

pad_wrap: Pad of mode wrap (opset 19: torch 2's circular padding) on H and
W (1 and 2 before, 2 and 1 after) then a 3x3 Conv, and a wrap of W by 8
and 9 (longer than its 6: ONNX Runtime wraps again, index i mod 6; NumPy's
pad, and so ONNX's reference, does not) with axes [3]; x [1, 3, 5, 6].

avgpool_dilated: AveragePool with dilations (opset 19), each an output: 3x3
dilations 2 pads 1 count_include_pad 0; 3x2 dilations [2, 3] strides 2 pads
[2, 1, 1, 1] count_include_pad 1 and ceil_mode 1; 1-D kernel 3 dilation 3
(over W of the [1, 4, 7 * 9] reshape); x [1, 4, 7, 9] after a Conv.

lppool: LpPool and GlobalLpPool (opset 18), each an output: p 2 3x3
stride 2 pads 1; p 1 2x2; p 3 3x3 dilations 2 ceil_mode 1 stride 2;
GlobalLpPool p 2; x [1, 3, 9, 8] after a Conv.

resize_antialias: Resize with antialias 1 (opset 18: torch's
interpolate(antialias=True)), each an output: linear by scales 0.5, 0.4
half_pixel; cubic (A -0.5) to sizes 7 x 9 pytorch_half_pixel; linear to 5 x
30 (H down, W up) align_corners; cubic by scales 0.3, 0.6 asymmetric with
exclude_outside; x [1, 3, 16, 20] after a Conv.

col2im: Col2Im (opset 18: torch's nn.Fold) of Tanh(x), x [1, 12, 20]: 3
channels of 2 x 2 blocks into 5 x 6; and of Tanh(y), y [1, 18, 12]: 2
channels of 3 x 3 blocks, dilations 2, strides 2, pads 1, into 7 x 9 (the
last row and column in no block: 0).

affine_grid: a spatial transformer as torch 2 exports it, opset 20: theta
[1, 2, 3] the identity plus a Linear of the pooled image, AffineGrid to
5 x 7 (align_corners 0), GridSample (linear) of x by it; and AffineGrid to
4 x 6 with align_corners 1, the grid an output; x [1, 3, 6, 8].

det: Det (opset 11) of Tanh(x) + the identity, x [1, 4, 3, 3] (3 x 3
matrices), and of y [1, 5, 2, 2] (2 x 2).

func_names: a model-local function Residual (an unnamed Relu, an Add
named 'add') called as 'blk' and 'blk2', beside nodes of the model's named
'blk/Relu#0' and 'blk2/add', the names the calls' nodes would take (they
become blk~1/... and blk2~1/...), opset 18; x [1, 4, 6].

cast_const: constant floats (NaN, infinities, values out of range)
Cast to int32, int8 and uint8 and in-range ones to int64 (folded at
import, as ONNX Runtime's x86 casts: NaN and out of range -2^31, 8 bits
wrapped), each cast back to float and added to x, opset 13; x [1, 8].

det_2d: Det of one 3 x 3 matrix, x [1, 9] reshaped to [3, 3] plus twice
the identity (rank 2: the import fixes the batch), the scalar times x,
opset 11.

groupnorm_2d: GroupNormalization of x [1, 6] (rank 2: no spatial dims)
in 3 groups, per-channel scale and bias (opset 21).

pool_same_dilated: pools of auto_pad SAME with dilations, as ONNX Runtime
computes them (its pools pad for the undilated kernel, so fewer outputs
than ceil(in / stride): its Conv and the spec pad for the dilated one),
each an output: AveragePool SAME_UPPER 3x3 dilations 2; AveragePool
SAME_LOWER 2x2 dilations [3, 2] strides 2; MaxPool SAME_UPPER 3x2
dilations [2, 3] strides [2, 1]; LpPool SAME_UPPER 2x2 dilations 3, opset
19; x [1, 3, 9, 10] after a Conv.

affine_grid_line: AffineGrid to grids of one row or column (a linspace of
one point: ONNX Runtime's is the end, 1, with align_corners; ONNX's
reference's -1), opset 20: to 1 x 7 and 5 x 1 with align_corners 1, 1 x 1
without; theta [1, 2, 3] a Linear of x [1, 6].

cumsum_axes: CumSum of [1, 4, 5, 6] (a Conv's) along every axis but the
batch: 1; -2 (an int32 axis) exclusive; 3 reverse; 2 exclusive and
reverse; and -2 of its [1, 20, 6] reshape, reverse, opset 14.

matmul_const_left: MatMul of a constant A by a computed B (W @ x), each
an output: [7, 20] by x [1, 20, 6]; [5, 5] by the 4-D [1, 4, 5, 6]; a
batch of matrices [4, 3, 5] by it; [1, 4, 5, 5] by it (the constant's
dim 0 of 1 broadcast against the batch), opset 13; x [1, 3, 5, 6]
through a Conv and a Relu.

matmul_vector: MatMul of a computed value and a constant vector (NumPy's
1-D operand), each an output: [1, 20, 6] by v [6]; v [20] by it; the 4-D
[1, 4, 5, 6] by v [6]; v [5] by it, opset 13; x [1, 3, 5, 6] through a
Conv and a Relu.

einsum_general: Einsum beyond the matrix products, each an output: a
transpose "bij->bji", a sum "bij->bi", an outer product "bij,bik->bijk",
"bij,ij->bi" and "bij,kj->bki" by constants (the latter's moved at
import), opset 12; x [1, 4, 6] through a Tanh.

maxpool_unpool: MaxPool's Indices (opset 11), each an output: MaxUnpool of
a Relu of 2x2 stride 2 MaxPool's values by its Indices to output_shape [1,
3, 8, 8] (SegNet's decoder); the Indices of a 3x3 stride 2 pads 1 MaxPool of
storage_order 1 less a kernel-1 MaxPool's sliced at [0, 0] (torch's export
of return_indices: the place in the plane), cast to float; that MaxPool's
values; x [1, 3, 8, 8] of distinct values 0.05 apart (a permutation: no
ties, whose maximum int8 could take from another tap).

matmul_bcast_batch: MatMul of a computed [1, 3, 4] (a Tanh of x) by
constants with leading dims larger than its batch, each an output: [1, 5,
4, 2] (x's dim 0, the batch, broadcast against 5: [1, 5, 3, 2]) and [5, 4,
2] ([5, 3, 2]), opset 13: the import fixes the batch to 1 (not in MANIFEST:
the case matmul_bcast_batch runs it a sample at a time).

conv_affine: Convs whose outputs go through Mul and Add by constants per
channel (PP-LCNetV3's learnable affine blocks in PaddleOCR's recognizer,
a BatchNormalization exported as Mul and Add), fused into the Convs at
import: a 3x3 Conv with bias, Mul by a [4, 1, 1] constant on the left, Add
of a scalar, Relu, then Mul by a scalar and Add of [1, 4, 1, 1] (after an
activation: one BatchNormalization); a 1x1 Conv without bias, Add of [1,
4, 1, 1], Mul by a scalar, then Paddle's swish x * Sigmoid(x * 1) (the
Mul by 1 removed at import, then fused into Swish); a third Conv whose
output is also read directly (not fused: its Mul's output is the second
output); x [1, 3, 6, 7].

bad_opgaps.onnx: one node refused for each attribute the import checks
(Pad wrap with a negative pad, a Cast of computed floats to int16, LpPool's
p 0, its missing kernel_shape and a 3-D input, Resize's antialias 2, Det of
8 x 16 matrices, Col2Im of 16 blocks where the image holds 12, AffineGrid
to 2^32 x 2^32 (a product past int64), Resize's axes [3, 3], Pad's axes
[3, -1], a pad of 2^40, Col2Im of image_shape [-2^63, 5] and of pads
2^31 (past int64 in its arithmetic), Tile's repeats of -2^63 (the folds'
mark of the batch), MatMul of a constant A [5, 7] by [1, 8, 16] and of
[1, 8, 16] by a constant vector [5]: K that do not chain; a Cast to
int32 times a float constant and a float input plus a Cast to int64: ONNX
gives Mul's and Add's inputs one type, ONNX Runtime refuses both), for
opgaps_refused.

Run from the repository root with Debian's interpreter (onnx, numpy) and
onnxruntime-node on NODE_PATH:
    NODE_PATH=build/bench-calib/node_modules /usr/bin/python3 tools/mkopgaps.py
Deterministic: fixed seeds.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkmodern  # noqa: E402
from mkmodern import Graph, SAMPLES, randn, save  # noqa: E402

OUT = os.path.join(mkmodern.ROOT, "tests", "onnx", "opgaps")
mkmodern.OUT, mkmodern.PRODUCER = OUT, "tools/mkopgaps.py"


def cast_int(manifest):
    from onnx import TensorProto as T
    g = Graph("cast_int", 1)
    x = (g.r.standard_normal((SAMPLES, 16)) * 40).astype(np.float32)
    far = np.array([300.5, -300.5, 70000.2, -70000.2, 3e9, -3e9, 1e10, -1e10, 127.9, -128.9,
                    255.5, -0.7], np.float32)
    x[:, 4:] = far[None, :]
    x[1:, 4:] *= np.float32(-1)
    outs = [g.op("Cast", [g.op("Cast", ["x"], to=to)], to=T.FLOAT)
            for to in (T.INT64, T.INT32, T.INT8, T.UINT8)]
    save(g, "fp32", 13, [("x", [1, 16])], outs, [x], manifest)


def trig(manifest):
    g = Graph("trig", 2)
    t = g.op("Tanh", ["x"])
    outs = [g.op("Add", [g.op("Atan", [g.op("Mul", ["x", g.f(3.0)])]),
                         g.op("Atan", [g.w(6, scale=2.0)])]),
            g.op("Asin", [t]), g.op("Acos", [t]), g.op("Tan", [g.op("Mul", ["x", g.f(0.4)])]),
            g.op("Add", [g.op("Sinh", ["x"]), g.op("Cosh", ["x"])]),
            g.op("Asinh", [g.op("Mul", ["x", g.f(5.0)])]),
            g.op("Acosh", [g.op("Add", [g.op("Abs", ["x"]), g.f(1.1)])]),
            g.op("Atanh", [g.op("Mul", [t, g.f(0.9)])])]
    save(g, "fp32", 13, [("x", [1, 4, 6])], outs, [randn(g.r, 4, 6)], manifest)


def pad_wrap(manifest):
    g = Graph("pad_wrap", 3)
    p = g.op("Pad", ["x", g.i64(0, 0, 1, 2, 0, 0, 2, 1)], mode="wrap")
    far = g.op("Pad", [g.op("Relu", ["x"]), g.i64(8, 9), g.f(0.0), g.i64(3)], mode="wrap")
    save(g, "fp32", 19, [("x", [1, 3, 5, 6])], [g.conv(p, 4, 3, 3), far],
         [randn(g.r, 3, 5, 6)], manifest)


def avgpool_dilated(manifest):
    g = Graph("avgpool_dilated", 4)
    t = g.conv("x", 4, 3, 1)
    a = g.op("AveragePool", [t], kernel_shape=[3, 3], dilations=[2, 2], pads=[1, 1, 1, 1])
    b = g.op("AveragePool", [t], kernel_shape=[3, 2], dilations=[2, 3], strides=[2, 2],
             pads=[2, 1, 1, 1], count_include_pad=1, ceil_mode=1)
    c = g.op("AveragePool", [g.op("Reshape", [t, g.i64(1, 4, 63)])], kernel_shape=[3],
             dilations=[3], pads=[2, 1])
    save(g, "fp32", 19, [("x", [1, 3, 7, 9])], [a, b, c], [randn(g.r, 3, 7, 9)], manifest)


def lppool(manifest):
    g = Graph("lppool", 5)
    t = g.conv("x", 4, 3, 1)
    a = g.op("LpPool", [t], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], p=2)
    b = g.op("LpPool", [t], kernel_shape=[2, 2], p=1)
    c = g.op("LpPool", [t], kernel_shape=[3, 3], dilations=[2, 2], strides=[2, 2],
             ceil_mode=1, p=3)
    d = g.op("GlobalLpPool", [t], p=2)
    save(g, "fp32", 18, [("x", [1, 3, 9, 8])], [a, b, c, d], [randn(g.r, 3, 9, 8)], manifest)


def resize_antialias(manifest):
    g = Graph("resize_antialias", 6)
    t = g.conv("x", 3, 3, 1)
    e = ""

    def rs(scales, sizes, **a):
        return g.op("Resize", [t, e, g.f(scales) if scales else e,
                               g.i64(*sizes) if sizes else e], antialias=1, **a)
    outs = [rs([1, 1, 0.5, 0.4], None, mode="linear"),
            rs(None, [1, 3, 7, 9], mode="cubic", cubic_coeff_a=-0.5,
               coordinate_transformation_mode="pytorch_half_pixel"),
            rs(None, [1, 3, 5, 30], mode="linear", coordinate_transformation_mode="align_corners"),
            rs([1, 1, 0.3, 0.6], None, mode="cubic", exclude_outside=1,
               coordinate_transformation_mode="asymmetric")]
    save(g, "fp32", 18, [("x", [1, 3, 16, 20])], outs, [randn(g.r, 3, 16, 20)], manifest)


def bad_opgaps():
    """bad_opgaps.onnx (the convert suite's opgaps_refused imports it): every
    node refused, each for its own attribute or input, opset 19."""
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh
    ins = [h.make_tensor_value_info("x", T.FLOAT, [1, 8, 4, 4]),
           h.make_tensor_value_info("l", T.FLOAT, [1, 8, 16]),
           h.make_tensor_value_info("theta", T.FLOAT, [1, 2, 3])]
    inits = [nh.from_array(np.array([0, 0, 0, 1, 0, 0, 0, -1], np.int64), "crop"),
             nh.from_array(np.array([1, 1, 0.5, 0.5], np.float32), "half"),
             nh.from_array(np.array([4, 5], np.int64), "img45"),
             nh.from_array(np.array([2, 2], np.int64), "blk22"),
             nh.from_array(np.array([1, 3, 1 << 32, 1 << 32], np.int64), "size2p32"),
             nh.from_array(np.array([0.5, 0.5], np.float32), "half2"),
             nh.from_array(np.array([1, 1, 1, 1], np.int64), "ones4"),
             nh.from_array(np.array([3, -1], np.int64), "axes3"),
             nh.from_array(np.array([0, 1 << 40], np.int64), "far"),
             nh.from_array(np.array([3], np.int64), "axis3"),
             nh.from_array(np.array([np.iinfo(np.int64).min, 5], np.int64), "img_min"),
             nh.from_array(np.array([1, 1, np.iinfo(np.int64).min, 1], np.int64), "reps_min"),
             nh.from_array(np.ones((5, 7), np.float32), "w57"),
             nh.from_array(np.ones(5, np.float32), "v5"),
             nh.from_array(np.full(16, 0.5, np.float32), "v16")]
    nodes = [h.make_node("Pad", ["x", "crop"], ["pw"], name="pad_wrap_crop", mode="wrap"),
             h.make_node("Cast", ["x"], ["c16"], name="cast_int16", to=T.INT16),
             h.make_node("LpPool", ["x"], ["p0"], name="lppool_p0", kernel_shape=[2, 2], p=0),
             h.make_node("LpPool", ["x"], ["pk"], name="lppool_nokernel"),
             h.make_node("LpPool", ["l"], ["p1d"], name="lppool_1d", kernel_shape=[2]),
             h.make_node("Resize", ["x", "", "half"], ["ra"], name="resize_aa2", mode="linear",
                         antialias=2),
             h.make_node("Det", ["l"], ["dl"], name="det_8x16"),
             h.make_node("Col2Im", ["l", "img45", "blk22"], ["ci"], name="col2im_12_blocks"),
             h.make_node("AffineGrid", ["theta", "size2p32"], ["ag"], name="affine_grid_2p32"),
             h.make_node("Resize", ["x", "", "half2"], ["r33"], name="resize_axes_twice",
                         mode="linear", axes=[3, 3]),
             h.make_node("Pad", ["x", "ones4", "", "axes3"], ["p33"], name="pad_axes_twice",
                         mode="wrap"),
             h.make_node("Pad", ["x", "far", "", "axis3"], ["pfar"], name="pad_2p40",
                         mode="wrap"),
             h.make_node("Col2Im", ["l", "img_min", "blk22"], ["cmin"], name="col2im_img_min"),
             h.make_node("Col2Im", ["l", "img45", "blk22"], ["cpad"], name="col2im_pads_2p31",
                         pads=[1 << 31] * 4),
             h.make_node("Tile", ["x", "reps_min"], ["tmin"], name="tile_reps_min"),
             h.make_node("MatMul", ["w57", "l"], ["mk"], name="matmul_left_k"),
             h.make_node("MatMul", ["l", "v5"], ["mv"], name="matmul_vector_k"),
             h.make_node("Cast", ["l"], ["li"], name="cast_to_int32", to=T.INT32),
             h.make_node("Mul", ["li", "v16"], ["lm"], name="int_times_float"),
             h.make_node("Cast", ["l"], ["ll"], name="cast_to_int64", to=T.INT64),
             h.make_node("Add", ["l", "ll"], ["la"], name="float_input_plus_int")]
    outs = [h.make_tensor_value_info(n.output[0], T.FLOAT, None) for n in nodes]
    m = h.make_model(h.make_graph(nodes, "bad_opgaps", ins, outs, inits),
                     opset_imports=[h.make_opsetid("", 19)], producer_name="tools/mkopgaps.py")
    m.ir_version = 10
    onnx.save(m, os.path.join(OUT, "bad_opgaps.onnx"))


def col2im(manifest):
    g = Graph("col2im", 7)
    a = g.op("Col2Im", [g.op("Tanh", ["x"]), g.i64(5, 6), g.i64(2, 2)])
    b = g.op("Col2Im", [g.op("Tanh", ["y"]), g.i64(7, 9), g.i64(3, 3)], dilations=[2, 2],
             strides=[2, 2], pads=[1, 1, 1, 1])
    save(g, "fp32", 18, [("x", [1, 12, 20]), ("y", [1, 18, 12])], [a, b],
         [randn(g.r, 12, 20), randn(g.r, 18, 12)], manifest)


def affine_grid(manifest):
    g = Graph("affine_grid", 8)
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", ["x"])])
    theta = g.op("Add", [g.op("Reshape", [g.linear(pooled, 3, 6, scale=0.2), g.i64(1, 2, 3)]),
                         g.f([[[1, 0, 0], [0, 1, 0]]])])
    grid = g.op("AffineGrid", [theta, g.i64(1, 3, 5, 7)])
    warped = g.op("GridSample", ["x", grid], mode="linear")
    corners = g.op("AffineGrid", [theta, g.i64(1, 3, 4, 6)], align_corners=1)
    save(g, "fp32", 20, [("x", [1, 3, 6, 8])], [warped, corners], [randn(g.r, 3, 6, 8)],
         manifest)


def det(manifest):
    g = Graph("det", 9)
    a = g.op("Det", [g.op("Add", [g.op("Tanh", ["x"]), g.f(np.eye(3))])])
    b = g.op("Det", ["y"])
    save(g, "fp32", 11, [("x", [1, 4, 3, 3]), ("y", [1, 5, 2, 2])], [a, b],
         [randn(g.r, 4, 3, 3), randn(g.r, 5, 2, 2)], manifest)


def func_names(manifest):
    from onnx import helper as h
    g = Graph("func_names", 10)
    f = h.make_function("pkg.torch.2.1.0", "Residual", ["a"], ["b"],
                        [h.make_node("Relu", ["a"], ["t"]),
                         h.make_node("Add", ["t", "a"], ["b"], name="add")],
                        [h.make_opsetid("", 18)])
    g.nodes += [h.make_node("Residual", ["x"], ["r1"], domain="pkg.torch.2.1.0", name="blk"),
                h.make_node("Sigmoid", ["r1"], ["s"], name="blk/Relu#0"),
                h.make_node("Residual", ["s"], ["r2"], domain="pkg.torch.2.1.0", name="blk2"),
                h.make_node("Tanh", ["r2"], ["y"], name="blk2/add")]
    save(g, "fp32", 18, [("x", [1, 4, 6])], ["y"], [randn(g.r, 4, 6)], manifest, (f,))


def cast_const(manifest):
    from onnx import TensorProto as T
    g = Graph("cast_const", 11)
    far = g.f([np.nan, np.inf, -np.inf, 3e9, -3e9, 300.5, -200.7, 1e10])
    near = g.f([-2.7, 3.9, 1e10, -1e10, 0.4, -0.6, 70000.2, -5.5])
    outs = [g.op("Add", ["x", g.op("Cast", [g.op("Cast", [v], to=to)], to=T.FLOAT)])
            for v, to in ((far, T.INT32), (far, T.INT8), (far, T.UINT8), (near, T.INT64))]
    save(g, "fp32", 13, [("x", [1, 8])], outs, [randn(g.r, 8)], manifest)


def det_2d(manifest):
    g = Graph("det_2d", 12)
    m = g.op("Add", [g.op("Reshape", ["x", g.i64(3, 3)]), g.f(2 * np.eye(3))])
    save(g, "fp32", 11, [("x", [1, 9])], [g.op("Mul", ["x", g.op("Det", [m])])],
         [randn(g.r, 9)], manifest)


def groupnorm_2d(manifest):
    g = Graph("groupnorm_2d", 13)
    y = g.op("GroupNormalization", ["x", g.c((1 + g.r.standard_normal(6) * 0.2)
                                             .astype(np.float32)), g.w(6)], num_groups=3)
    save(g, "fp32", 21, [("x", [1, 6])], [y], [randn(g.r, 6)], manifest)


def pool_same_dilated(manifest):
    g = Graph("pool_same_dilated", 14)
    t = g.conv("x", 3, 3, 1)
    outs = [g.op("AveragePool", [t], kernel_shape=[3, 3], dilations=[2, 2], auto_pad="SAME_UPPER"),
            g.op("AveragePool", [t], kernel_shape=[2, 2], dilations=[3, 2], strides=[2, 2],
                 auto_pad="SAME_LOWER"),
            g.op("MaxPool", [t], kernel_shape=[3, 2], dilations=[2, 3], strides=[2, 1],
                 auto_pad="SAME_UPPER"),
            g.op("LpPool", [t], kernel_shape=[2, 2], dilations=[3, 3], auto_pad="SAME_UPPER")]
    save(g, "fp32", 19, [("x", [1, 3, 9, 10])], outs, [randn(g.r, 3, 9, 10)], manifest)


def affine_grid_line(manifest):
    g = Graph("affine_grid_line", 15)
    theta = g.op("Add", [g.op("Reshape", [g.linear("x", 6, 6, scale=0.3), g.i64(1, 2, 3)]),
                         g.f([[[1, 0, 0], [0, 1, 0]]])])
    outs = [g.op("AffineGrid", [theta, g.i64(1, 3, 1, 7)], align_corners=1),
            g.op("AffineGrid", [theta, g.i64(1, 3, 5, 1)], align_corners=1),
            g.op("AffineGrid", [theta, g.i64(1, 3, 1, 1)])]
    save(g, "fp32", 20, [("x", [1, 6])], outs, [randn(g.r, 6)], manifest)


def cumsum_axes(manifest):
    g = Graph("cumsum_axes", 16)
    t = g.conv("x", 4, 3, 1)
    i32 = g.c(np.array(-2, np.int32))
    outs = [g.op("CumSum", [t, g.i64(1)]),
            g.op("CumSum", [t, i32], exclusive=1),
            g.op("CumSum", [t, g.i64(3)], reverse=1),
            g.op("CumSum", [t, g.i64(2)], exclusive=1, reverse=1),
            g.op("CumSum", [g.op("Reshape", [t, g.i64(1, 20, 6)]), g.i64(-2)], reverse=1)]
    save(g, "fp32", 14, [("x", [1, 3, 5, 6])], outs, [randn(g.r, 3, 5, 6)], manifest)


def matmul_const_left(manifest):
    g = Graph("matmul_const_left", 17)
    t = g.op("Relu", [g.conv("x", 4, 3, 1)])
    r = g.op("Reshape", [t, g.i64(1, 20, 6)])
    outs = [g.op("MatMul", [g.w(7, 20, scale=0.3), r]),
            g.op("MatMul", [g.w(5, 5, scale=0.4), t]),
            g.op("MatMul", [g.w(4, 3, 5, scale=0.4), t]),
            g.op("MatMul", [g.w(1, 4, 5, 5, scale=0.4), t])]
    save(g, "fp32", 13, [("x", [1, 3, 5, 6])], outs, [randn(g.r, 3, 5, 6)], manifest)


def matmul_vector(manifest):
    g = Graph("matmul_vector", 18)
    t = g.op("Relu", [g.conv("x", 4, 3, 1)])
    r = g.op("Reshape", [t, g.i64(1, 20, 6)])
    outs = [g.op("MatMul", [r, g.w(6, scale=0.4)]),
            g.op("MatMul", [g.w(20, scale=0.3), r]),
            g.op("MatMul", [t, g.w(6, scale=0.4)]),
            g.op("MatMul", [g.w(5, scale=0.4), t])]
    save(g, "fp32", 13, [("x", [1, 3, 5, 6])], outs, [randn(g.r, 3, 5, 6)], manifest)


def einsum_general(manifest):
    g = Graph("einsum_general", 19)
    t = g.op("Tanh", ["x"])
    outs = [g.op("Einsum", [t], equation="bij->bji"),
            g.op("Einsum", [t], equation="bij->bi"),
            g.op("Einsum", [t, t], equation="bij,bik->bijk"),
            g.op("Einsum", [t, g.w(4, 6, scale=0.5)], equation="bij,ij->bi"),
            g.op("Einsum", [t, g.w(5, 6, scale=0.5)], equation="bij,kj->bki")]
    save(g, "fp32", 12, [("x", [1, 4, 6])], outs, [randn(g.r, 4, 6)], manifest)


def maxpool_unpool(manifest):
    g = Graph("maxpool_unpool", 20)
    # distinct values a step of int8 apart (no ties to swap a maximum)
    x = np.stack([g.r.permutation(192).reshape(3, 8, 8) for _ in range(SAMPLES)])
    x = ((x - 96) * 0.05).astype(np.float32)
    pa, ia = g.op("MaxPool", ["x"], 2, kernel_shape=[2, 2], strides=[2, 2])
    pb, ib = g.op("MaxPool", ["x"], 2, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                  storage_order=1)
    _, i1 = g.op("MaxPool", ["x"], 2, kernel_shape=[1, 1])
    off = g.op("Slice", [i1, g.i64(0, 0), g.i64(1, 1), g.i64(2, 3)])
    outs = [g.op("MaxUnpool", [g.op("Relu", [pa]), ia, g.i64(1, 3, 8, 8)],
                 kernel_shape=[2, 2], strides=[2, 2]),
            g.op("Cast", [g.op("Sub", [ib, off])], to=1), pb]
    save(g, "fp32", 11, [("x", [1, 3, 8, 8])], outs, [x], manifest)


def conv_affine(manifest):
    g = Graph("conv_affine", 13)
    c1 = g.op("Conv", ["x", g.w(4, 3, 3, 3, scale=0.3), g.w(4)], pads=[1, 1, 1, 1])
    a1 = g.op("Add", [g.op("Mul", [g.w(4, 1, 1, scale=1.0), c1]),
                      g.f(0.25)])
    r1 = g.op("Relu", [a1])
    l1 = g.op("Add", [g.op("Mul", [r1, g.f(0.7)]), g.w(1, 4, 1, 1, scale=1.0)])
    c2 = g.op("Conv", [l1, g.w(4, 4, 1, 1, scale=0.5)])
    a2 = g.op("Mul", [g.op("Add", [c2, g.w(1, 4, 1, 1, scale=1.0)]), g.f(1.5)])
    sw = g.op("Mul", [a2, g.op("Sigmoid", [g.op("Mul", [a2, g.f(1.0)])])])
    c3 = g.op("Conv", [sw, g.w(2, 4, 3, 3, scale=0.3), g.w(2)], pads=[1, 1, 1, 1])
    m3 = g.op("Mul", [c3, g.w(1, 2, 1, 1, scale=1.0)])
    outs = [g.op("Add", [m3, c3]), m3]
    save(g, "fp32", 13, [("x", [1, 3, 6, 7])], outs, [randn(g.r, 3, 6, 7)], manifest)


def matmul_bcast_batch():
    g = Graph("matmul_bcast_batch", 21)
    t = g.op("Tanh", ["x"])
    outs = [g.op("MatMul", [t, g.w(1, 5, 4, 2, scale=0.5)]),
            g.op("MatMul", [t, g.w(5, 4, 2, scale=0.5)])]
    # not in MANIFEST: the conformance runs a batch of 4, the model one
    save(g, "fp32", 13, [("x", [1, 3, 4])], outs, [randn(g.r, 3, 4)], [])


def conv_affine_nonfinite():
    """conv_affine_nonfinite.onnx (the convert suite's conv_affine_finite
    runs it through the reference executor): a Conv then a Mul by 3e38 per
    channel (the weights scaled would overflow), a Conv then Mul by 2 and by
    [1, inf, 1, -inf], a Mul of x by [1, inf, 2, -inf] and an Add: what
    folds stays finite (only the Mul by 2 does), so no output is NaN where
    the Mul gives +-inf or a finite product; x [1, 4, 5, 5] in
    conv_affine_nonfinite.in0.npy, none of it 0. Not in MANIFEST: ONNX
    Runtime's own Conv,Mul fusion gives the NaNs."""
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh
    r = np.random.default_rng(57)
    C = 4

    def const(name, v):
        return nh.from_array(np.asarray(v, np.float32), name)
    inits = [const("w1", r.standard_normal((C, C, 3, 3))), const("b1", r.standard_normal(C)),
             const("w2", r.standard_normal((C, C, 3, 3))),
             const("huge", np.full((1, C, 1, 1), 3e38)), const("two", 2.0),
             const("inf1", np.array([1, np.inf, 1, -np.inf]).reshape(1, C, 1, 1)),
             const("inf2", np.array([1, np.inf, 2, -np.inf]).reshape(1, C, 1, 1)),
             const("add", np.arange(C).reshape(C, 1, 1))]
    nodes = [h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             h.make_node("Mul", ["c1", "huge"], ["y1"]),
             h.make_node("Conv", ["x", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             h.make_node("Mul", ["c2", "two"], ["m2"]),
             h.make_node("Mul", ["m2", "inf1"], ["y2"]),
             h.make_node("Mul", ["inf2", "x"], ["m3"]),
             h.make_node("Add", ["m3", "add"], ["y3"])]
    graph = h.make_graph(nodes, "conv_affine_nonfinite",
                         [h.make_tensor_value_info("x", T.FLOAT, [1, C, 5, 5])],
                         [h.make_tensor_value_info(y, T.FLOAT, None) for y in ("y1", "y2", "y3")],
                         inits)
    m = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)],
                     producer_name=mkmodern.PRODUCER)
    m.ir_version = 8
    onnx.save(m, os.path.join(OUT, "conv_affine_nonfinite.onnx"))
    x = r.standard_normal((1, C, 5, 5)).astype(np.float32)
    x[x == 0] = 1
    np.save(os.path.join(OUT, "conv_affine_nonfinite.in0.npy"), x, allow_pickle=False)


def main():
    mkmodern.write_all((cast_int, trig, pad_wrap, avgpool_dilated, lppool, resize_antialias,
                        col2im, affine_grid, det, func_names, cast_const, det_2d,
                        groupnorm_2d, pool_same_dilated, affine_grid_line, cumsum_axes,
                        matmul_const_left, matmul_vector, einsum_general, maxpool_unpool,
                        conv_affine),
                       (bad_opgaps, matmul_bcast_batch, conv_affine_nonfinite))


if __name__ == "__main__":
    main()
