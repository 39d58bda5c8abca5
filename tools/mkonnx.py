#!/usr/bin/python3
"""tools/mkonnx.py: the ONNX fixtures the onnx/ import tests read (tests/onnx/).

Four sets, each regenerated whole:
  digits/  two small models trained with torch on sklearn's digits (a CNN and
           an MLP), exported with torch.onnx.export, with the test split, a
           calibration slice and torch's logits on the test split.
  ops/     one tiny model per supported operator and attribute combination,
           built with onnx.helper, with its inputs and the expected output.
  bad/     models the importer must refuse, each for one reason.
  precision/ models for --precision auto: one node int8 ruins, one bias int8
           cannot hold (make_precision).

Expected outputs of ops/ come from the NumPy executor below, which runs the
very graph that is written (it reads the nodes and attributes back from the
model), so a fixture cannot disagree with its own model. A second executor
over the same graph, written with torch operators, cross-checks it: fp32
outputs must agree to rounding, integer outputs exactly. Integer operators
follow the formulas the C side implements (see tests/onnx/README.md); QDQ
cases are computed with the QLinear formula, and the plain float reading of
the same graph is only required to be within a quantum or two of it.

Run with Debian's interpreter (torch, onnx, sklearn, numpy):
    /usr/bin/python3 tools/mkonnx.py [--out tests/onnx]
Deterministic: fixed seeds, one torch thread, deterministic algorithms;
torch's expected outputs computed in float64 (torch_want), so the same bytes
on AVX2 and AVX-512 hosts. Not digits/cnn.onnx and its logits: its float32
training sums in an order that depends on the CPU's kernels, so another ISA
writes it with other last bits.
"""

import argparse
import copy
import functools
import hashlib
import itertools
import io
import json
import math
import os
import sys
import time
import zlib

try:
    import numpy as np
except ImportError:  # --help still works; main() says which interpreter to use
    np = None

# Heavy modules are imported in main(), so --help works anywhere.
onnx = None
helper = None
numpy_helper = None
torch = None
F = None

OPSET = 13


# ---------------------------------------------------------------- quantization
# The integer formulas the C side implements, in NumPy. rint is
# round-half-to-even; every float step is float32 unless noted.

def qrange(dt):
    return (0, 255) if np.dtype(dt) == np.uint8 else (-128, 127)


def axis_shape(v, ndim, axis):
    """A 1-D per-axis parameter reshaped to broadcast along `axis`."""
    shape = [1] * ndim
    shape[axis] = v.size
    return v.reshape(shape)


def quantize(x, scale, zp, axis=1):
    x = np.asarray(x, np.float32)
    scale = np.asarray(scale, np.float32)
    zp = np.asarray(zp)
    if scale.ndim == 1:
        scale = axis_shape(scale, x.ndim, axis)
        zpb = axis_shape(zp, x.ndim, axis)
    else:
        zpb = zp
    q = np.rint(x / scale).astype(np.int64) + zpb.astype(np.int64)
    lo, hi = qrange(zp.dtype)
    return np.clip(q, lo, hi).astype(zp.dtype)


def dequantize(x, scale, zp, axis=1):
    scale = np.asarray(scale, np.float32)
    zp = np.zeros((), np.int32) if zp is None else np.asarray(zp)
    if scale.ndim == 1:
        scale = axis_shape(scale, x.ndim, axis)
        zp = axis_shape(zp, x.ndim, axis)
    d = x.astype(np.int32) - zp.astype(np.int32)
    return d.astype(np.float32) * scale


def requant_mult(xs, ws, ys):
    """float32(float64(xs) * float64(ws) / float64(ys)), per channel if ws is."""
    ws = np.asarray(ws, np.float32).astype(np.float64)
    return (np.float64(np.float32(xs)) * ws / np.float64(np.float32(ys))).astype(np.float32)


def requant(acc, m, yz, ch_axis):
    """y = clip(rint(float32(acc) * m) + yz), m per channel along ch_axis."""
    assert acc.min() >= -2**31 and acc.max() < 2**31, "acc overflows int32"
    m = np.asarray(m, np.float32)
    if m.ndim == 1:
        m = axis_shape(m, acc.ndim, ch_axis)
    yz = np.asarray(yz)
    lo, hi = qrange(yz.dtype)
    r = np.rint(acc.astype(np.float32) * m).astype(np.int64) + int(yz)
    return np.clip(r, lo, hi).astype(yz.dtype)


def dynamic_quantize(x):
    x = np.asarray(x, np.float32)
    lo = np.minimum(np.float32(0), x.min())
    hi = np.maximum(np.float32(0), x.max())
    scale = np.float32((hi - lo) / np.float32(255))
    zp = np.uint8(np.clip(np.rint(np.float32(0) - lo / scale), 0, 255))
    return quantize(x, scale, zp), np.array(scale, np.float32), np.array(zp, np.uint8)


def qparams_u8(lo, hi):
    """Asymmetric u8 parameters covering [lo, hi] and 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    s = np.float32((hi - lo) / 255.0)
    z = np.uint8(np.clip(np.rint(-lo / s), 0, 255))
    return s, z


def qweights_s8(w, axis=None):
    """Symmetric s8 weights, per tensor or per `axis`; returns (q, scale)."""
    if axis is None:
        s = np.float32(np.abs(w).max() / 127.0)
        return np.clip(np.rint(w / s), -127, 127).astype(np.int8), s
    red = tuple(i for i in range(w.ndim) if i != axis)
    s = (np.abs(w).max(axis=red) / 127.0).astype(np.float32)
    q = np.clip(np.rint(w / axis_shape(s, w.ndim, axis)), -127, 127)
    return q.astype(np.int8), s


# ------------------------------------------------------------- NumPy executor

def conv_pads(a, in_hw, k_hw):
    """ONNX Conv/pool padding [top, left, bottom, right] after auto_pad."""
    strides = list(a.get("strides", [1, 1]))
    dil = list(a.get("dilations", [1, 1]))
    ap = a.get("auto_pad", "NOTSET")
    if ap == "NOTSET":
        return list(a.get("pads", [0, 0, 0, 0]))
    if ap == "VALID":
        return [0, 0, 0, 0]
    begin, end = [], []
    for i in range(2):
        out = -(-in_hw[i] // strides[i])
        total = max((out - 1) * strides[i] + (k_hw[i] - 1) * dil[i] + 1 - in_hw[i], 0)
        small = total // 2
        b = small if ap == "SAME_UPPER" else total - small
        begin.append(b)
        end.append(total - b)
    return begin + end


def conv_core(x, w, strides, pads, dil, group):
    """Grouped 2-D convolution of x [N,C,H,W] with w [M,C/g,KH,KW], zero
    padding, in x's dtype (float64, or int64 for exact accumulators)."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    assert c == cg * group and m % group == 0
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - (dil[0] * (kh - 1) + 1)) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - (dil[1] * (kw - 1) + 1)) // strides[1] + 1
    mg = m // group
    xg = xp.reshape(n, group, cg, xp.shape[2], xp.shape[3])
    wg = w.reshape(group, mg, cg, kh, kw)
    out = np.zeros((n, group, mg, oh, ow), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dil[0], j * dil[1]
            patch = xg[:, :, :, r0:r0 + strides[0] * (oh - 1) + 1:strides[0],
                       c0:c0 + strides[1] * (ow - 1) + 1:strides[1]]
            out += np.einsum("ngchw,gmc->ngmhw", patch, wg[:, :, :, i, j])
    return out.reshape(n, m, oh, ow)


def pool_core(x, kind, kernel, strides, pads, ceil_mode, cip):
    """Max or average pooling of x [N,C,H,W] (float64). Windows that ceil_mode
    adds past the padding see nothing there; a window starting in the end
    padding is dropped (as torch and the current ONNX text do)."""
    n, c, h, w = x.shape
    outs, extra = [], []
    for d, size in enumerate((h, w)):
        pb, pe, k, s = pads[d], pads[d + 2], kernel[d], strides[d]
        span = size + pb + pe - k
        o = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (o - 1) * s >= size + pb:
            o -= 1
        outs.append(o)
        extra.append(max(0, (o - 1) * s + k - (size + pb + pe)))
    padw = ((0, 0), (0, 0), (pads[0], pads[2] + extra[0]), (pads[1], pads[3] + extra[1]))
    xp = np.pad(x, padw)
    valid = np.pad(np.ones((1, 1, h, w)), padw)
    inpad = np.pad(np.ones((1, 1, h + pads[0] + pads[2], w + pads[1] + pads[3])),
                   ((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    oh, ow = outs
    acc = np.full((n, c, oh, ow), -np.inf if kind == "max" else 0.0)
    cnt = np.zeros((1, 1, oh, ow))
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            sl = (slice(None), slice(None),
                  slice(i, i + strides[0] * (oh - 1) + 1, strides[0]),
                  slice(j, j + strides[1] * (ow - 1) + 1, strides[1]))
            p, v = xp[sl], valid[sl]
            if kind == "max":
                acc = np.where(v > 0, np.maximum(acc, p), acc)
            else:
                acc = acc + p
                cnt = cnt + (inpad[sl] if cip else v)
    return acc if kind == "max" else acc / cnt


def f64(a):
    return np.asarray(a, np.float64)


def f32(a):
    return np.asarray(a, np.float32)


def np_softmax(x, axis, opset):
    x = f64(x)
    axis = axis % x.ndim
    if opset < 13:
        shp = x.shape
        x2 = x.reshape(int(np.prod(shp[:axis])), -1)
        e = np.exp(x2 - x2.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(shp)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_reshape(x, shape):
    shape = [int(s) for s in shape]
    shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def np_clip(a, ins, opset):
    x = f64(ins[0])
    if opset < 11:
        lo, hi = a.get("min", -np.inf), a.get("max", np.inf)
    else:
        lo = f64(ins[1]) if len(ins) > 1 and ins[1] is not None else -np.inf
        hi = f64(ins[2]) if len(ins) > 2 and ins[2] is not None else np.inf
    return [f32(np.minimum(np.maximum(x, lo), hi))]


def as_2d(fn):
    """A 1-D pooling or convolution (N, C, L; a Conv's weight M, C/g, K) as
    the 2-D one with H 1; 2-D as it is."""
    def run(a, ins, opset):
        if ins[0].ndim != 3:
            return fn(a, ins, opset)
        a2 = dict(a, strides=[1] + list(a.get("strides", [1])),
                  dilations=[1] + list(a.get("dilations", [1])),
                  pads=[0, a.get("pads", [0, 0])[0], 0, a.get("pads", [0, 0])[1]])
        if "kernel_shape" in a:
            a2["kernel_shape"] = [1] + list(a["kernel_shape"])
        ins2 = [v[:, :, None] if v is not None and v.ndim == 3 else v for v in ins]
        return [y[:, :, 0] for y in fn(a2, ins2, opset)]
    return run


def conv3d_core(x, w, strides, pads, dil, group):
    """3-D convolution of x [N,C,D,H,W] by w [M,C/g,KD,KH,KW] (ONNX pads
    [d0, h0, w0, d1, h1, w1]): per output depth, the 2-D convolutions of
    the depth slices under the window, summed (float64)."""
    d = x.shape[2]
    kd = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[3]), (0, 0), (0, 0)))
    od = (d + pads[0] + pads[3] - (dil[0] * (kd - 1) + 1)) // strides[0] + 1
    p2 = [pads[1], pads[2], pads[4], pads[5]]
    ys = []
    for o in range(od):
        ys.append(sum(conv_core(xp[:, :, o * strides[0] + i * dil[0]], w[:, :, i], strides[1:],
                                p2, dil[1:], group) for i in range(kd)))
    return np.stack(ys, axis=2)


@as_2d
def np_conv(a, ins, opset):
    x, w = f64(ins[0]), f64(ins[1])
    if x.ndim == 5:
        y = conv3d_core(x, w, a.get("strides", [1, 1, 1]), a.get("pads", [0] * 6),
                        a.get("dilations", [1, 1, 1]), a.get("group", 1))
        if len(ins) > 2 and ins[2] is not None:
            y = y + f64(ins[2]).reshape(1, -1, 1, 1, 1)
        return [f32(y)]
    pads = conv_pads(a, x.shape[2:], w.shape[2:])
    y = conv_core(x, w, a.get("strides", [1, 1]), pads, a.get("dilations", [1, 1]),
                  a.get("group", 1))
    if len(ins) > 2 and ins[2] is not None:
        y = y + f64(ins[2]).reshape(1, -1, 1, 1)
    return [f32(y)]


def np_gemm(a, ins, opset):
    A, B = f64(ins[0]), f64(ins[1])
    if a.get("transA", 0):
        A = A.T
    if a.get("transB", 0):
        B = B.T
    y = a.get("alpha", 1.0) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * f64(ins[2])
    return [f32(y)]


def pool3d_core(x, kind, a):
    """Max or average pooling of x [N,C,D,H,W] (float64), one window at a
    time: a window starts at o * stride - pad_begin; with ceil_mode, one
    starting in the end padding is dropped; the average counts the
    elements inside the input, or (count_include_pad) inside the padded
    input."""
    k = list(a["kernel_shape"])
    st, dl = list(a.get("strides", [1] * 3)), list(a.get("dilations", [1] * 3))
    p = list(a.get("pads", [0] * 6))
    size = x.shape[2:]
    outs = []
    for i in range(3):
        span = size[i] + p[i] + p[3 + i] - (k[i] - 1) * dl[i] - 1
        o = (-(-span // st[i]) if a.get("ceil_mode", 0) else span // st[i]) + 1
        if a.get("ceil_mode", 0) and (o - 1) * st[i] >= size[i] + p[i]:
            o -= 1
        outs.append(o)
    y = np.zeros(x.shape[:2] + tuple(outs))
    for o in itertools.product(*(range(n) for n in outs)):
        idx, cnt = [], 1
        for i in range(3):
            start = o[i] * st[i] - p[i]
            taps = [start + t * dl[i] for t in range(k[i])]
            idx.append([t for t in taps if 0 <= t < size[i]])
            if a.get("count_include_pad", 0):
                cnt *= len([t for t in taps if t < size[i] + p[3 + i]])
            else:
                cnt *= len(idx[-1])
        win = x[:, :, idx[0]][:, :, :, idx[1]][:, :, :, :, idx[2]]
        y[(slice(None), slice(None)) + o] = (win.max(axis=(2, 3, 4)) if kind == "max"
                                             else win.sum(axis=(2, 3, 4)) / cnt)
    return y


def np_pool(kind):
    @as_2d
    def run(a, ins, opset):
        x = f64(ins[0])
        if x.ndim == 5:
            return [f32(pool3d_core(x, kind, a))]
        k = list(a["kernel_shape"])
        assert list(a.get("dilations", [1, 1])) == [1, 1]
        pads = conv_pads(a, x.shape[2:], k)
        y = pool_core(x, kind, k, list(a.get("strides", [1, 1])), pads,
                      a.get("ceil_mode", 0), a.get("count_include_pad", 0))
        return [f32(y)]
    return run


def np_batchnorm(a, ins, opset):
    x, sc, b, mean, var = (f64(t) for t in ins[:5])
    sh = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5))
    return [f32(y * sc.reshape(sh) + b.reshape(sh))]


def axes_of(a, ins, opset):
    if opset >= 13:
        return [int(v) for v in ins[1]] if len(ins) > 1 and ins[1] is not None else None
    return a.get("axes")


def np_squeeze(a, ins, opset):
    axes = axes_of(a, ins, opset)
    x = ins[0]
    return [np.squeeze(x, axis=tuple(ax % x.ndim for ax in axes)) if axes else np.squeeze(x)]


def np_unsqueeze(a, ins, opset):
    x = ins[0]
    axes = sorted(ax % (x.ndim + len(axes_of(a, ins, opset))) for ax in axes_of(a, ins, opset))
    for ax in axes:
        x = np.expand_dims(x, ax)
    return [x]


def np_qlinearconv(a, ins, opset):
    x, xs, xz, w, ws, wz, ys, yz = ins[:8]
    pads = conv_pads(a, x.shape[2:], w.shape[2:])
    wz = np.asarray(wz).astype(np.int64)
    wzb = wz.reshape(-1, 1, 1, 1) if wz.ndim == 1 else wz
    acc = conv_core(x.astype(np.int64) - int(xz), w.astype(np.int64) - wzb,
                    a.get("strides", [1, 1]), pads, a.get("dilations", [1, 1]),
                    a.get("group", 1))
    if len(ins) > 8 and ins[8] is not None:
        acc = acc + ins[8].astype(np.int64).reshape(1, -1, 1, 1)
    return [requant(acc, requant_mult(xs, ws, ys), yz, 1)]


def np_qlinearmatmul(a, ins, opset):
    A, As, Az, B, Bs, Bz, ys, yz = ins
    acc = (A.astype(np.int64) - np.asarray(Az).astype(np.int64)) @ \
          (B.astype(np.int64) - np.asarray(Bz).astype(np.int64))
    return [requant(acc, requant_mult(As, Bs, ys), yz, acc.ndim - 1)]


def np_convinteger(a, ins, opset):
    x, w = ins[0], ins[1]
    xz = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), x.dtype)
    wz = ins[3] if len(ins) > 3 and ins[3] is not None else np.zeros((), w.dtype)
    wz = np.asarray(wz).astype(np.int64)
    wzb = wz.reshape(-1, 1, 1, 1) if wz.ndim == 1 else wz
    pads = conv_pads(a, x.shape[2:], w.shape[2:])
    acc = conv_core(x.astype(np.int64) - int(xz), w.astype(np.int64) - wzb,
                    a.get("strides", [1, 1]), pads, a.get("dilations", [1, 1]),
                    a.get("group", 1))
    return [acc.astype(np.int32)]


def np_matmulinteger(a, ins, opset):
    A, B = ins[0], ins[1]
    Az = ins[2] if len(ins) > 2 and ins[2] is not None else np.zeros((), A.dtype)
    Bz = ins[3] if len(ins) > 3 and ins[3] is not None else np.zeros((), B.dtype)
    acc = (A.astype(np.int64) - np.asarray(Az).astype(np.int64)) @ \
          (B.astype(np.int64) - np.asarray(Bz).astype(np.int64))
    return [acc.astype(np.int32)]


# vision: Resize (opsets 10..18) and Upsample (7..9) over H and W of NCHW.
RS_ROUND = {
    "round_prefer_floor": lambda x: np.ceil(x - 0.5),
    "round_prefer_ceil": lambda x: np.floor(x + 0.5),
    "floor": np.floor,
    "ceil": np.ceil,
}


def rs_coords(scale, n_in, n_out, mode):
    """Each output index's source coordinate (ONNX's coordinate_transformation_mode)."""
    o = np.arange(n_out, dtype=np.float64)
    if mode in ("half_pixel", "pytorch_half_pixel"):
        x = (o + 0.5) / scale - 0.5
        if mode == "pytorch_half_pixel" and n_out == 1:
            x = np.zeros(1)
    elif mode == "align_corners":
        x = o * (n_in - 1) / (n_out - 1) if n_out > 1 else np.zeros(1)
    elif mode == "asymmetric":
        x = o / scale
    else:                               # tf_half_pixel_for_nearest
        x = (o + 0.5) / scale
    return np.clip(x, 0, n_in - 1)


def rs_axis(a, axis, scale, n_out, attrs):
    """Resizes a along axis (nearest or linear) in float64."""
    n_in = a.shape[axis]
    x = rs_coords(scale, n_in, n_out, attrs["coord"])
    if attrs["mode"] == "nearest":
        i = np.clip(RS_ROUND[attrs["nearest_mode"]](x), 0, n_in - 1).astype(np.int64)
        return np.take(a, i, axis=axis)
    lo = np.floor(x).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = (x - lo).reshape([-1 if d == axis else 1 for d in range(a.ndim)])
    return np.take(a, lo, axis=axis) * (1 - w) + np.take(a, hi, axis=axis) * w


def rs_params(a, ins, opset, upsample=False):
    """(attrs, scales of H and W, output H and W) of a Resize or Upsample."""
    x = ins[0]
    attrs = {"mode": a.get("mode", "nearest"),
             "coord": a.get("coordinate_transformation_mode", "half_pixel"),
             "nearest_mode": a.get("nearest_mode", "round_prefer_floor")}
    if upsample or opset < 11:
        attrs.update(coord="asymmetric", nearest_mode="floor")
        scales = a["scales"] if upsample and opset < 9 else ins[1]
        sizes = None
    else:
        scales = ins[2] if len(ins) > 2 and ins[2] is not None and np.size(ins[2]) else None
        sizes = ins[3] if len(ins) > 3 and ins[3] is not None else None
    if "axes" in a:                     # opset 18: scales or sizes of these axes only
        def full(v, fill):
            f = list(fill)
            for k, ax in enumerate(a["axes"]):
                f[ax % 4] = v[k]
            return f
        scales = None if scales is None else full(scales, [1] * 4)
        sizes = None if sizes is None else full(sizes, x.shape)
    attrs["sizes"] = sizes is not None
    if sizes is not None:
        out = [int(v) for v in sizes[2:]]
        sc = [np.float64(np.float32(out[k] / x.shape[2 + k])) for k in range(2)]
    else:
        sc = [np.float64(np.float32(v)) for v in scales[2:]]
        out = [int(np.floor(x.shape[2 + k] * sc[k])) for k in range(2)]
    return attrs, sc, out


def np_resize(a, ins, opset, upsample=False):
    attrs, sc, out = rs_params(a, ins, opset, upsample)
    y = f64(ins[0])
    for k in range(2):
        y = rs_axis(y, 2 + k, sc[k], out[k], attrs)
    return [f32(y)]


def ct_geometry(a, x, w):
    """ConvTranspose: strides, dilations, kernel, the full canvas (with the
    output padding) and the pads [t, l, b, r] (auto_pad, output_shape)."""
    s, d = a.get("strides", [1, 1]), a.get("dilations", [1, 1])
    op, k = a.get("output_padding", [0, 0]), w.shape[2:]
    full = [s[i] * (x.shape[2 + i] - 1) + op[i] + (k[i] - 1) * d[i] + 1 for i in range(2)]
    pads = list(a.get("pads", [0, 0, 0, 0]))
    ap = a.get("auto_pad", "NOTSET")
    want = a.get("output_shape")
    if want is not None or ap.startswith("SAME"):
        want = want[-2:] if want is not None else [x.shape[2 + i] * s[i] for i in range(2)]
        pads = [(full[i % 2] - want[i % 2]) // 2 for i in range(4)]
    elif ap == "VALID":
        pads = [0, 0, 0, 0]
    return s, d, k, full, pads


def ct_2d(a, ins):
    """A 1-D ConvTranspose ([N, C, L]) as the 2-D one with H 1: its
    attributes and inputs (x and W with an H axis); a 2-D one as it is."""
    if ins[0].ndim != 3:
        return a, ins
    one = {"strides": [1], "dilations": [1], "output_padding": [0], "output_shape": [1]}
    a2 = {k: one[k] + list(v) if k in one else v for k, v in a.items()}
    if "pads" in a:
        a2["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
    return a2, [ins[0][:, :, None], ins[1][:, :, None]] + list(ins[2:])


def np_convtranspose(a, ins, opset):
    if ins[0].ndim == 3:
        return [y[:, :, 0] for y in np_convtranspose(*ct_2d(a, ins), opset)]
    x, w = f64(ins[0]), f64(ins[1])
    s, d, k, full, p = ct_geometry(a, x, w)
    g, cog = a.get("group", 1), w.shape[1]
    cig = x.shape[1] // g
    canvas = np.zeros((x.shape[0], cog * g, full[0], full[1]))
    for gi in range(g):
        xs = x[:, gi * cig:(gi + 1) * cig]
        for ky in range(k[0]):
            for kx in range(k[1]):
                canvas[:, gi * cog:(gi + 1) * cog,
                       ky * d[0]:ky * d[0] + s[0] * (x.shape[2] - 1) + 1:s[0],
                       kx * d[1]:kx * d[1] + s[1] * (x.shape[3] - 1) + 1:s[1]] += \
                    np.einsum("nchw,cm->nmhw", xs, w[gi * cig:(gi + 1) * cig, :, ky, kx])
    y = canvas[:, :, p[0]:full[0] - p[2], p[1]:full[1] - p[3]]
    if len(ins) > 2 and ins[2] is not None:
        y = y + f64(ins[2]).reshape(1, -1, 1, 1)
    return [f32(y)]


def sl_params(a, ins, opset, ndim):
    """Slice's (axis, start, end, step) tuples, attributes (opset < 10) or inputs."""
    if opset < 10:
        st, en, ax, sp = a["starts"], a["ends"], a.get("axes"), None
    else:
        opt = [ins[k] if len(ins) > k and ins[k] is not None else None for k in (3, 4)]
        st, en, ax, sp = ins[1], ins[2], opt[0], opt[1]
    ax = range(len(st)) if ax is None else ax
    sp = [1] * len(st) if sp is None else sp
    return [(int(q) % ndim, int(s), int(e), int(p)) for q, s, e, p in zip(ax, st, en, sp)]


def np_slice(a, ins, opset):
    x = ins[0]
    sl = [slice(None)] * x.ndim
    for q, s, e, p in sl_params(a, ins, opset, x.ndim):
        sl[q] = slice(s, e, p)
    return [x[tuple(sl)]]


def split_sizes(a, ins, opset, x):
    ax = a.get("axis", 0) % x.ndim
    if opset < 13:
        sz = a.get("split")
    else:
        sz = ins[1] if len(ins) > 1 and ins[1] is not None else None
    if sz is None:
        k = a["num_outputs"] if "num_outputs" in a else a["_outputs"]
        even = -(-x.shape[ax] // k)
        sz = [even] * (k - 1) + [x.shape[ax] - even * (k - 1)]
    return ax, [int(v) for v in sz]


def np_split(a, ins, opset):
    ax, sz = split_sizes(a, ins, opset, ins[0])
    return np.split(ins[0], np.cumsum(sz)[:-1], axis=ax)


def pd_params(a, ins, opset, ndim):
    """Pad's mode, constant and [(begin, end)] per axis."""
    if opset < 11:
        p, v, axes = a["pads"], a.get("value", 0.0), None
    else:
        p = [int(q) for q in ins[1]]
        v = float(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else None
    axes = list(range(ndim)) if axes is None else [int(q) % ndim for q in axes]
    n = len(axes)
    be = [(0, 0)] * ndim
    for k, q in enumerate(axes):
        be[q] = (int(p[k]), int(p[n + k]))
    return a.get("mode", "constant"), v, be


def np_pad(a, ins, opset):
    x = f64(ins[0])
    mode, v, be = pd_params(a, ins, opset, x.ndim)
    pos = [(max(b, 0), max(e, 0)) for b, e in be]
    y = np.pad(x, pos, mode="constant", constant_values=v) if mode == "constant" \
        else np.pad(x, pos, mode=mode)
    crop = tuple(slice(-min(b, 0), y.shape[i] + min(e, 0)) for i, (b, e) in enumerate(be))
    return [f32(y[crop])]


NP_OPS = {
    "Conv": np_conv,
    "Gemm": np_gemm,
    "MatMul": lambda a, i, o: [f32(f64(i[0]) @ f64(i[1]))],
    "Relu": lambda a, i, o: [f32(np.maximum(f64(i[0]), 0))],
    "LeakyRelu": lambda a, i, o: [f32(np.where(f64(i[0]) >= 0, f64(i[0]),
                                               a.get("alpha", 0.01) * f64(i[0])))],
    "Clip": np_clip,
    "Sigmoid": lambda a, i, o: [f32(1 / (1 + np.exp(-f64(i[0]))))],
    "Tanh": lambda a, i, o: [f32(np.tanh(f64(i[0])))],
    "HardSigmoid": lambda a, i, o: [f32(np.clip(a.get("alpha", 0.2) * f64(i[0]) +
                                                a.get("beta", 0.5), 0, 1))],
    "HardSwish": lambda a, i, o: [f32(f64(i[0]) * np.clip(f64(i[0]) / 6 + 0.5, 0, 1))],
    "MaxPool": np_pool("max"),
    "AveragePool": np_pool("avg"),
    "GlobalAveragePool": lambda a, i, o: [f32(f64(i[0]).mean(axis=tuple(range(2, i[0].ndim)),
                                                             keepdims=True))],
    "Add": lambda a, i, o: [f32(f64(i[0]) + f64(i[1]))],
    "Sub": lambda a, i, o: [f32(f64(i[0]) - f64(i[1]))],
    "Div": lambda a, i, o: [f32(f64(i[0]) / f64(i[1]))],
    "Mul": lambda a, i, o: [f32(f64(i[0]) * f64(i[1]))],
    "Sum": lambda a, i, o: [f32(sum(f64(t) for t in i))],
    "Concat": lambda a, i, o: [np.concatenate(i, axis=a["axis"])],
    # eltwise
    "Sqrt": lambda a, i, o: [f32(np.sqrt(f64(i[0])))],
    "Reciprocal": lambda a, i, o: [f32(1 / f64(i[0]))],
    "Neg": lambda a, i, o: [f32(-f64(i[0]))],
    "Abs": lambda a, i, o: [f32(np.abs(f64(i[0])))],
    "Exp": lambda a, i, o: [f32(np.exp(f64(i[0])))],
    "Log": lambda a, i, o: [f32(np.log(f64(i[0])))],
    "Erf": lambda a, i, o: [f32(np.vectorize(math.erf)(f64(i[0])))],
    "Softplus": lambda a, i, o: [f32(np.logaddexp(0, f64(i[0])))],
    "Pow": lambda a, i, o: [f32(np.power(f64(i[0]), f64(i[1])))],
    "Min": lambda a, i, o: [f32(functools.reduce(np.minimum, [f64(t) for t in i]))],
    "Max": lambda a, i, o: [f32(functools.reduce(np.maximum, [f64(t) for t in i]))],
    "PRelu": lambda a, i, o: [f32(np.where(f64(i[0]) < 0, f64(i[0]) * f64(i[1]), f64(i[0])))],
    "Flatten": lambda a, i, o: [i[0].reshape(int(np.prod(i[0].shape[:a.get("axis", 1)])), -1)],
    "Reshape": lambda a, i, o: [np_reshape(i[0], i[1])],
    "Squeeze": np_squeeze,
    "Unsqueeze": np_unsqueeze,
    "BatchNormalization": np_batchnorm,
    "Softmax": lambda a, i, o: [f32(np_softmax(i[0], a.get("axis", 1 if o < 13 else -1), o))],
    "Identity": lambda a, i, o: [i[0]],
    "Dropout": lambda a, i, o: [i[0]],
    "QuantizeLinear": lambda a, i, o: [quantize(i[0], i[1], i[2], a.get("axis", 1))],
    "DequantizeLinear": lambda a, i, o: [dequantize(i[0], i[1], i[2] if len(i) > 2 else None,
                                                    a.get("axis", 1))],
    "QLinearConv": np_qlinearconv,
    "QLinearMatMul": np_qlinearmatmul,
    "ConvInteger": np_convinteger,
    "MatMulInteger": np_matmulinteger,
    "DynamicQuantizeLinear": lambda a, i, o: list(dynamic_quantize(i[0])),
    "Cast": lambda a, i, o: [np.asarray(i[0]).astype(np.float32)],
    # vision
    "Resize": np_resize,
    "Upsample": lambda a, i, o: np_resize(a, i, o, upsample=True),
    "ConvTranspose": np_convtranspose,
    "Slice": np_slice,
    "Split": np_split,
    "Pad": np_pad,
    "GlobalMaxPool": lambda a, i, o: [i[0].max(axis=tuple(range(2, i[0].ndim)), keepdims=True)],
    "Gather": lambda a, i, o: [np.take(i[0], i[1], axis=a.get("axis", 0))],
}


# xfmr: transformer and reduction operators (NumPy formulas)
def reduce_axes_of(op, a, ins, opset):
    """Reduce* axes: the attribute, or input 1 (ReduceSum from opset 13, the
    others from 18); None: every axis (or none with noop_with_empty_axes)."""
    if opset >= (13 if op == "ReduceSum" else 18):
        ax = [int(v) for v in ins[1]] if len(ins) > 1 and ins[1] is not None else []
    else:
        ax = list(a.get("axes", []))
    if not ax:
        return () if a.get("noop_with_empty_axes", 0) else None
    return tuple(ax)


def np_reduce(op, fn):
    def run(a, ins, opset):
        ax = reduce_axes_of(op, a, ins, opset)
        if ax == ():
            return [ins[0]]
        return [f32(fn(f64(ins[0]), axis=ax, keepdims=bool(a.get("keepdims", 1))))]
    return run


def np_log_softmax(x, axis):
    x = f64(x)
    m = x.max(axis=axis, keepdims=True)
    return (x - m) - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_layernorm(a, ins, opset):
    x = f64(ins[0])
    ax = tuple(range(a.get("axis", -1) % x.ndim, x.ndim))
    m = x.mean(axis=ax, keepdims=True)
    v = ((x - m) ** 2).mean(axis=ax, keepdims=True)
    y = (x - m) / np.sqrt(v + a.get("epsilon", 1e-5)) * f64(ins[1])
    return [f32(y + f64(ins[2]) if len(ins) > 2 and ins[2] is not None else y)]


def np_instancenorm(a, ins, opset):
    x = f64(ins[0])
    ax = tuple(range(2, x.ndim))
    m = x.mean(axis=ax, keepdims=True)
    v = ((x - m) ** 2).mean(axis=ax, keepdims=True)
    c = (-1,) + (1,) * (x.ndim - 2)
    y = (x - m) / np.sqrt(v + a.get("epsilon", 1e-5))
    return [f32(y * f64(ins[1]).reshape(c) + f64(ins[2]).reshape(c))]


NP_XFMR = {
    "Transpose": lambda a, i, o: [np.transpose(i[0], a.get("perm"))],
    "ReduceMean": np_reduce("ReduceMean", np.mean),
    "ReduceSum": np_reduce("ReduceSum", np.sum),
    "ReduceSumSquare": np_reduce("ReduceSumSquare", lambda x, **k: np.sum(x * x, **k)),
    "ReduceL2": np_reduce("ReduceL2", lambda x, **k: np.sqrt(np.sum(x * x, **k))),
    "ReduceMax": np_reduce("ReduceMax", np.max),
    "LogSoftmax": lambda a, i, o: [f32(np_log_softmax(i[0], a.get("axis", -1)))],
    "LayerNormalization": np_layernorm,
    "InstanceNormalization": np_instancenorm,
    "Einsum": lambda a, i, o: [f32(np.einsum(a["equation"].replace(" ", ""), f64(i[0]),
                                             f64(i[1])))],
}


def node_attrs(node):
    out = {}
    for at in node.attribute:
        v = helper.get_attribute_value(at)
        out[at.name] = v.decode() if isinstance(v, bytes) else v
    return out


def model_opset(model):
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    raise ValueError("no default-domain opset")


def run_graph(model, feeds, table, to_native, from_native):
    """Runs every node of model's graph with `table` (op -> fn(attrs, ins,
    opset)); returns the graph outputs in order, as NumPy arrays."""
    opset = model_opset(model)
    env = {k: to_native(v) for k, v in feeds.items()}
    for init in model.graph.initializer:
        env[init.name] = to_native(numpy_helper.to_array(init))
    for node in model.graph.node:
        if node.op_type == "Constant":
            env[node.output[0]] = to_native(numpy_helper.to_array(node_attrs(node)["value"]))
            continue
        ins = [env[i] if i else None for i in node.input]
        # _outputs: the node's output count (an even Split's)
        outs = table[node.op_type](dict(node_attrs(node), _outputs=len(node.output)), ins, opset)
        for name, v in zip(node.output, outs):
            if name:
                env[name] = v
    return [from_native(env[o.name]) for o in model.graph.output]


def np_run(model, feeds):
    return run_graph(model, feeds, {**NP_OPS, **NP_XFMR}, lambda v: v,
                     lambda v: np.asarray(v))


# ------------------------------------------------------------- torch executor
# The same graph with torch's operators, as the cross-check. Integer operators
# get their accumulators from torch's float64 convolution / matmul (exact at
# these sizes) and their rounding from torch.round (half to even).

def t_pads(a, x, w):
    ap = a.get("auto_pad", "NOTSET")
    if ap == "NOTSET":
        return list(a.get("pads", [0, 0, 0, 0]))
    if ap == "VALID":
        return [0, 0, 0, 0]
    st, dl = a.get("strides", [1, 1]), a.get("dilations", [1, 1])
    tot = []
    for i in range(2):
        size, k = x.shape[2 + i], (w.shape[2 + i] - 1) * dl[i] + 1
        o = (size + st[i] - 1) // st[i]
        tot.append(max(0, (o - 1) * st[i] + k - size))
    lo = [t // 2 if ap == "SAME_UPPER" else t - t // 2 for t in tot]
    return lo + [t - l for t, l in zip(tot, lo)]


def t_conv_raw(x, w, a):
    p = t_pads(a, x, w)
    x = F.pad(x, (p[1], p[3], p[0], p[2]))
    return F.conv2d(x, w, None, tuple(a.get("strides", [1, 1])), 0,
                    tuple(a.get("dilations", [1, 1])), a.get("group", 1))


@as_2d
def t_conv(a, ins, opset):
    if ins[0].dim() == 5:
        p = list(a.get("pads", [0] * 6))
        x = F.pad(ins[0].double(), (p[2], p[5], p[1], p[4], p[0], p[3]))
        y = F.conv3d(x, ins[1].double(), None, tuple(a.get("strides", [1] * 3)), 0,
                     tuple(a.get("dilations", [1] * 3)), a.get("group", 1))
        if len(ins) > 2 and ins[2] is not None:
            y = y + ins[2].double().view(1, -1, 1, 1, 1)
        return [y.float()]
    y = t_conv_raw(ins[0].double(), ins[1].double(), a)
    if len(ins) > 2 and ins[2] is not None:
        y = y + ins[2].double().view(1, -1, 1, 1)
    return [y.float()]


def t_gemm(a, ins, opset):
    A, B = ins[0].double(), ins[1].double()
    A = A.t() if a.get("transA", 0) else A
    B = B.t() if a.get("transB", 0) else B
    y = a.get("alpha", 1.0) * torch.matmul(A, B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * ins[2].double()
    return [y.float()]


def t_pool(kind):
    @as_2d
    def run(a, ins, opset):
        x = ins[0].double()
        if x.dim() == 5:
            p = list(a.get("pads", [0] * 6))
            assert p[:3] == p[3:], "torch pools pad symmetrically"
            k, s = tuple(a["kernel_shape"]), tuple(a.get("strides", [1] * 3))
            cm = bool(a.get("ceil_mode", 0))
            if kind == "max":
                y = F.max_pool3d(x, k, s, tuple(p[:3]), tuple(a.get("dilations", [1] * 3)), cm)
            else:
                y = F.avg_pool3d(x, k, s, tuple(p[:3]), cm, bool(a.get("count_include_pad", 0)))
            return [y.float()]
        p = list(a.get("pads", [0, 0, 0, 0]))
        assert p[0] == p[2] and p[1] == p[3], "torch pools pad symmetrically"
        k, s = tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1]))
        cm = bool(a.get("ceil_mode", 0))
        if kind == "max":
            y = F.max_pool2d(x, k, s, (p[0], p[1]), 1, cm)
        else:
            y = F.avg_pool2d(x, k, s, (p[0], p[1]), cm, bool(a.get("count_include_pad", 0)))
        return [y.float()]
    return run


def t_clip(a, ins, opset):
    if opset < 11:
        return [torch.clamp(ins[0], a.get("min", None), a.get("max", None))]
    y = ins[0]
    if len(ins) > 1 and ins[1] is not None:
        y = torch.maximum(y, ins[1].to(y.dtype))
    if len(ins) > 2 and ins[2] is not None:
        y = torch.minimum(y, ins[2].to(y.dtype))
    return [y]


def t_softmax(a, ins, opset):
    x = ins[0].double()
    axis = a.get("axis", 1 if opset < 13 else -1) % x.dim()
    if opset < 13:
        shp = x.shape
        return [torch.softmax(x.reshape(int(np.prod(shp[:axis])), -1), 1).reshape(shp).float()]
    return [torch.softmax(x, axis).float()]


def t_bn(a, ins, opset):
    x, sc, b, m, v = (t.double() for t in ins[:5])
    y = F.batch_norm(x, m, v, sc, b, False, 0.0, a.get("epsilon", 1e-5))
    return [y.float()]


def t_reshape(a, ins, opset):
    shape = [int(s) for s in ins[1]]
    shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [ins[0].reshape(shape)]


def t_squeeze(a, ins, opset):
    x = ins[0]
    for ax in sorted((int(v) % x.dim() for v in ins[1]), reverse=True):
        x = x.squeeze(ax)
    return [x]


def t_unsqueeze(a, ins, opset):
    x = ins[0]
    n = x.dim() + len(ins[1])
    for ax in sorted(int(v) % n for v in ins[1]):
        x = x.unsqueeze(ax)
    return [x]


def t_qparam(v, ndim, axis):
    v = v.reshape(-1)
    if v.numel() == 1:
        return v.reshape(())
    shape = [1] * ndim
    shape[axis] = v.numel()
    return v.reshape(shape)


def t_range(zp):
    return (0, 255) if zp.dtype == torch.uint8 else (-128, 127)


def t_quantize(a, ins, opset):
    x, s, z = ins[0].float(), ins[1].float(), ins[2]
    ax = a.get("axis", 1)
    q = torch.round(x / t_qparam(s, x.dim(), ax)) + t_qparam(z.long(), x.dim(), ax).float()
    lo, hi = t_range(z)
    return [torch.clamp(q, lo, hi).to(z.dtype)]


def t_dequantize(a, ins, opset):
    x, s = ins[0], ins[1].float()
    z = ins[2] if len(ins) > 2 and ins[2] is not None else torch.zeros((), dtype=torch.int32)
    ax = a.get("axis", 1)
    d = x.int() - t_qparam(z.int(), x.dim(), ax)
    return [d.float() * t_qparam(s, x.dim(), ax)]


def t_requant(acc, xs, ws, ys, yz, axis):
    m64 = float(xs) * ws.double().reshape(-1) / float(ys)
    m = t_qparam(m64.float(), acc.dim(), axis)
    assert acc.abs().max() < 2**31
    y = torch.round(acc.float() * m) + float(int(yz))
    lo, hi = t_range(yz)
    return torch.clamp(y, lo, hi).to(yz.dtype)


def t_centered_conv(x, xz, w, wz, a):
    wz = wz.double().reshape(-1, 1, 1, 1) if wz.numel() > 1 else wz.double()
    return t_conv_raw(x.double() - xz.double(), w.double() - wz, a).round().long()


def t_qlinearconv(a, ins, opset):
    x, xs, xz, w, ws, wz, ys, yz = ins[:8]
    acc = t_centered_conv(x, xz, w, wz, a)
    if len(ins) > 8 and ins[8] is not None:
        acc = acc + ins[8].long().view(1, -1, 1, 1)
    return [t_requant(acc, xs, ws, ys, yz, 1)]


def t_qlinearmatmul(a, ins, opset):
    A, As, Az, B, Bs, Bz, ys, yz = ins
    acc = torch.matmul(A.double() - Az.double(), B.double() - Bz.double()).round().long()
    return [t_requant(acc, As, Bs, ys, yz, acc.dim() - 1)]


def t_convinteger(a, ins, opset):
    zero = torch.zeros((), dtype=torch.int64)
    xz = ins[2] if len(ins) > 2 and ins[2] is not None else zero
    wz = ins[3] if len(ins) > 3 and ins[3] is not None else zero
    return [t_centered_conv(ins[0], xz, ins[1], wz, a).int()]


def t_matmulinteger(a, ins, opset):
    zero = torch.zeros((), dtype=torch.int64)
    Az = ins[2] if len(ins) > 2 and ins[2] is not None else zero
    Bz = ins[3] if len(ins) > 3 and ins[3] is not None else zero
    acc = torch.matmul(ins[0].double() - Az.double(), ins[1].double() - Bz.double())
    return [acc.round().int()]


def t_dynquant(a, ins, opset):
    x = ins[0].float()
    lo = torch.clamp(x.min(), max=0.0)
    hi = torch.clamp(x.max(), min=0.0)
    s = (hi - lo) / torch.tensor(255.0)
    z = torch.clamp(torch.round(torch.tensor(0.0) - lo / s), 0, 255).to(torch.uint8)
    y = torch.clamp(torch.round(x / s) + z.float(), 0, 255).to(torch.uint8)
    return [y, s, z]


def t_resize(a, ins, opset, upsample=False):
    """torch's interpolate where it has ONNX's mode, else torch gathers on
    the shared coordinates."""
    attrs, sc, out = rs_params(a, ins, opset, upsample)
    x = ins[0].double()
    if attrs["mode"] == "linear" and attrs["coord"] in ("align_corners", "pytorch_half_pixel"):
        how = {"size": out} if attrs["sizes"] else \
            {"scale_factor": tuple(sc), "recompute_scale_factor": False}
        return [F.interpolate(x, mode="bilinear", align_corners=attrs["coord"] == "align_corners",
                              **how).float()]
    if attrs["mode"] == "nearest" and attrs["coord"] == "asymmetric" and \
            attrs["nearest_mode"] == "floor":
        return [F.interpolate(x, size=out, scale_factor=None, mode="nearest").float()]
    for k in range(2):
        n_in = x.shape[2 + k]
        c = torch.from_numpy(rs_coords(sc[k], n_in, out[k], attrs["coord"]))
        if attrs["mode"] == "nearest":
            i = torch.from_numpy(RS_ROUND[attrs["nearest_mode"]](c.numpy())).long()
            x = torch.index_select(x, 2 + k, torch.clamp(i, 0, n_in - 1))
            continue
        lo = torch.floor(c).long()
        hi = torch.clamp(lo + 1, max=n_in - 1)
        w = (c - lo.double()).reshape([-1 if d == 2 + k else 1 for d in range(4)])
        x = torch.index_select(x, 2 + k, lo) * (1 - w) + torch.index_select(x, 2 + k, hi) * w
    return [x.float()]


def t_convtranspose(a, ins, opset):
    """torch's conv_transpose2d without padding, then the output padding
    and the (maybe asymmetric) crop."""
    if ins[0].dim() == 3:
        return [y[:, :, 0] for y in t_convtranspose(*ct_2d(a, ins), opset)]
    x, w = ins[0].double(), ins[1].double()
    s, d, k, full, p = ct_geometry(a, x, w)
    y = F.conv_transpose2d(x, w, None, stride=s, groups=a.get("group", 1), dilation=d)
    y = F.pad(y, (0, full[1] - y.shape[3], 0, full[0] - y.shape[2]))
    y = y[:, :, p[0]:full[0] - p[2], p[1]:full[1] - p[3]]
    if len(ins) > 2 and ins[2] is not None:
        y = y + ins[2].double().reshape(1, -1, 1, 1)
    return [y.float()]


def t_slice(a, ins, opset):
    """Python's slice.indices and torch.index_select."""
    x = ins[0]
    for q, s, e, p in sl_params(a, [v.numpy() if v is not None else None for v in ins],
                                opset, x.dim()):
        idx = list(range(*slice(s, e, p).indices(x.shape[q])))
        x = torch.index_select(x, q, torch.tensor(idx, dtype=torch.long))
    return [x]


def t_pad(a, ins, opset):
    """torch's F.pad: constant on any axis (negative pads crop), reflect and
    replicate on the last two."""
    x = ins[0].double()
    mode, v, be = pd_params(a, [t.numpy() if t is not None else None for t in ins], opset,
                            x.dim())
    flat = [q for b, e in reversed(be) for q in (b, e)]
    if mode == "constant":
        return [F.pad(x, flat, value=v).float()]
    assert all(b == 0 and e == 0 for b, e in be[:-2]), "torch pads only H and W so"
    return [F.pad(x, flat[:4], mode="reflect" if mode == "reflect" else "replicate").float()]


def t_gather(x, idx, axis):
    """index_select on the indices counted from the end where negative."""
    flat = torch.where(idx < 0, idx + x.shape[axis], idx).reshape(-1)
    y = torch.index_select(x, axis, flat)
    return y.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])


T_OPS = {
    "Conv": t_conv,
    "Gemm": t_gemm,
    "MatMul": lambda a, i, o: [torch.matmul(i[0].double(), i[1].double()).float()],
    "Relu": lambda a, i, o: [torch.relu(i[0])],
    "LeakyRelu": lambda a, i, o: [F.leaky_relu(i[0], a.get("alpha", 0.01))],
    "Clip": t_clip,
    "Sigmoid": lambda a, i, o: [torch.sigmoid(i[0].double()).float()],
    "Tanh": lambda a, i, o: [torch.tanh(i[0].double()).float()],
    "HardSigmoid": lambda a, i, o: [torch.clamp(a.get("alpha", 0.2) * i[0].double() +
                                                a.get("beta", 0.5), 0, 1).float()],
    "HardSwish": lambda a, i, o: [F.hardswish(i[0].double()).float()],
    "MaxPool": t_pool("max"),
    "AveragePool": t_pool("avg"),
    "GlobalAveragePool": lambda a, i, o: [i[0].double().mean(dim=tuple(range(2, i[0].dim())),
                                                            keepdim=True).float()],
    "Add": lambda a, i, o: [(i[0].double() + i[1].double()).float()],
    "Sub": lambda a, i, o: [(i[0].double() - i[1].double()).float()],
    "Div": lambda a, i, o: [(i[0].double() / i[1].double()).float()],
    "Mul": lambda a, i, o: [(i[0].double() * i[1].double()).float()],
    "Sum": lambda a, i, o: [torch.stack([t.double() for t in i]).sum(0).float()],
    # eltwise
    "Sqrt": lambda a, i, o: [torch.sqrt(i[0].double()).float()],
    "Reciprocal": lambda a, i, o: [torch.reciprocal(i[0].double()).float()],
    "Neg": lambda a, i, o: [torch.neg(i[0])],
    "Abs": lambda a, i, o: [torch.abs(i[0])],
    "Exp": lambda a, i, o: [torch.exp(i[0].double()).float()],
    "Log": lambda a, i, o: [torch.log(i[0].double()).float()],
    "Erf": lambda a, i, o: [torch.erf(i[0].double()).float()],
    "Softplus": lambda a, i, o: [F.softplus(i[0].double(), threshold=1e9).float()],
    "Pow": lambda a, i, o: [torch.pow(i[0].double(), i[1].double()).float()],
    "Min": lambda a, i, o: [functools.reduce(torch.minimum, [t.double() for t in i]).float()],
    "Max": lambda a, i, o: [functools.reduce(torch.maximum, [t.double() for t in i]).float()],
    "PRelu": lambda a, i, o: [torch.where(i[0] < 0, i[0].double() * i[1].double(),
                                          i[0].double()).float()],
    "Concat": lambda a, i, o: [torch.cat(i, a["axis"])],
    "Flatten": lambda a, i, o: [torch.flatten(i[0], a.get("axis", 1))],
    "Reshape": t_reshape,
    "Squeeze": t_squeeze,
    "Unsqueeze": t_unsqueeze,
    "BatchNormalization": t_bn,
    "Softmax": t_softmax,
    "Identity": lambda a, i, o: [i[0].clone()],
    "Dropout": lambda a, i, o: [F.dropout(i[0], 0.5, training=False)],
    "QuantizeLinear": t_quantize,
    "DequantizeLinear": t_dequantize,
    "QLinearConv": t_qlinearconv,
    "QLinearMatMul": t_qlinearmatmul,
    "ConvInteger": t_convinteger,
    "MatMulInteger": t_matmulinteger,
    "DynamicQuantizeLinear": t_dynquant,
    "Cast": lambda a, i, o: [i[0].to(torch.float32)],
    # vision
    "Resize": t_resize,
    "Upsample": lambda a, i, o: t_resize(a, i, o, upsample=True),
    "ConvTranspose": t_convtranspose,
    "Slice": t_slice,
    "Split": lambda a, i, o: list(torch.split(i[0], split_sizes(
        a, [t.numpy() if t is not None else None for t in i], o, i[0].numpy())[1],
        split_sizes(a, [None], 11, i[0].numpy())[0])),
    "Pad": t_pad,
    "GlobalMaxPool": lambda a, i, o: [torch.amax(i[0], dim=tuple(range(2, i[0].dim())),
                                                 keepdim=True)],
    "Gather": lambda a, i, o: [t_gather(i[0], i[1], a.get("axis", 0) % i[0].dim())],
}


# xfmr: transformer and reduction operators (torch)
def t_reduce(op, fn):
    def run(a, ins, opset):
        ax = reduce_axes_of(op, a, [None if t is None else t.numpy() for t in ins], opset)
        x = ins[0].double()
        if ax == ():
            return [ins[0].clone()]
        ax = tuple(range(x.dim())) if ax is None else tuple(v % x.dim() for v in ax)
        return [fn(x, ax, bool(a.get("keepdims", 1))).float()]
    return run


def t_reduce_max(x, ax, keep):
    for d in sorted(ax, reverse=True):
        x = torch.amax(x, d, keepdim=keep)
    return x


def t_layernorm(a, ins, opset):
    x = ins[0].double()
    axis = a.get("axis", -1) % x.dim()
    b = ins[2].double() if len(ins) > 2 and ins[2] is not None else None
    return [F.layer_norm(x, x.shape[axis:], ins[1].double().reshape(x.shape[axis:]),
                         None if b is None else b.reshape(x.shape[axis:]),
                         a.get("epsilon", 1e-5)).float()]


def t_instancenorm(a, ins, opset):
    return [F.instance_norm(ins[0].double(), weight=ins[1].double(), bias=ins[2].double(),
                            eps=a.get("epsilon", 1e-5)).float()]


T_XFMR = {
    "Transpose": lambda a, i, o: [i[0].permute(*(a.get("perm") or
                                                 range(i[0].dim() - 1, -1, -1))).contiguous()],
    "ReduceMean": t_reduce("ReduceMean", lambda x, ax, k: torch.mean(x, ax, keepdim=k)),
    "ReduceSum": t_reduce("ReduceSum", lambda x, ax, k: torch.sum(x, ax, keepdim=k)),
    "ReduceSumSquare": t_reduce("ReduceSumSquare",
                                lambda x, ax, k: torch.sum(x * x, ax, keepdim=k)),
    "ReduceL2": t_reduce("ReduceL2", lambda x, ax, k: torch.norm(x, 2, ax, keepdim=k)),
    "ReduceMax": t_reduce("ReduceMax", t_reduce_max),
    "LogSoftmax": lambda a, i, o: [torch.log_softmax(i[0].double(), a.get("axis", -1)).float()],
    "LayerNormalization": t_layernorm,
    "InstanceNormalization": t_instancenorm,
    "Einsum": lambda a, i, o: [torch.einsum(a["equation"].replace(" ", ""), i[0].double(),
                                            i[1].double()).float()],
}


def torch_run(model, feeds):
    return run_graph(model, feeds, {**T_OPS, **T_XFMR}, lambda v: torch.from_numpy(np.array(v)),
                     lambda v: v.numpy())


# ------------------------------------------------------------------- writers

class Writer:
    """Writes files under the output root and remembers what it wrote."""

    def __init__(self, root):
        self.root = root
        self.files = []

    def path(self, rel):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        self.files.append(rel)
        return p

    def npy(self, rel, arr):
        np.save(self.path(rel), arr, allow_pickle=False)

    def model(self, rel, model):
        with open(self.path(rel), "wb") as f:
            f.write(model.SerializeToString())

    def bytes(self, rel, data):
        with open(self.path(rel), "wb") as f:
            f.write(data)


def value_info(name, arr, batch):
    """A graph input/output typed like arr; dim 0 symbolic ("N") if batch."""
    shape = list(arr.shape)
    if batch and len(shape) >= 1:
        shape[0] = "N"
    return helper.make_tensor_value_info(name, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype],
                                         shape)


def build_model(nodes, inputs, inits, outputs, opset, batch=True, name="g"):
    """inputs: [(name, array)]; outputs: [(name, array)] (for dtype/shape)."""
    graph = helper.make_graph(
        nodes, name,
        [value_info(n, a, batch) for n, a in inputs],
        [value_info(n, a, batch and a.ndim > 0) for n, a in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    model = helper.make_model(graph, producer_name="dnnq-mkonnx",
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    return model


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=f"{op.lower()}_{outs[0]}", **attrs)


def torch_want(model, x):
    """model(x) as a case's expected output: computed in float64 and
    rounded to float32, so that the bytes do not depend on which kernels
    this CPU's torch picks (its float32 convolutions and GEMMs sum in an
    order that depends on the ISA: AVX2 and AVX-512 hosts wrote outputs
    4.8e-8 apart). Integer outputs (argmax) keep their dtype; a model of
    several outputs (topk's values and indices) gives a list."""
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        y = m64(x.double())
    ys = [(t.float() if t.is_floating_point() else t).numpy() for t in
          (y if isinstance(y, tuple) else (y,))]
    return ys if isinstance(y, tuple) else ys[0]


def assert_close(got, want, what, rtol=1e-4):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    tol = rtol * max(1.0, np.abs(want).max())
    err = np.abs(got - want).max() if want.size else 0.0
    if not err <= tol:
        raise AssertionError(f"{what}: max |diff| {err:g} > {tol:g}")


def assert_near_quant(got, want, scale, what, max_q=2, min_equal=0.9):
    """QDQ float reading vs the integer formula: within max_q quanta, and
    mostly identical."""
    d = np.abs(f64(got) - f64(want)) / float(scale)
    eq = np.mean(d < 1e-3)
    if d.max() > max_q + 1e-3 or eq < min_equal:
        raise AssertionError(f"{what}: {d.max():.2f} quanta max, {eq:.1%} equal")


# ----------------------------------------------------------------- op cases

class Cases:
    """Collects one ops/ case at a time: builds the model, runs both
    executors, checks, and writes NAME.onnx, NAME.inK.npy, NAME.out*.npy."""

    def __init__(self, w):
        self.w = w
        self.manifest = []

    @staticmethod
    def rng(name):
        return np.random.default_rng(zlib.crc32(name.encode()))

    def add(self, name, kind, nodes, inputs, inits, outputs, opset=OPSET, exact=None,
            float_scale=None):
        """outputs: graph output names. exact(feeds) -> [arrays]: the integer
        formula for QDQ graphs, the float reading being checked against it
        (within a quantum or two of float_scale)."""
        feeds = dict(inputs)
        env_inits = {k: np.asarray(v) for k, v in inits.items()}
        # First pass without output shapes to learn them from the executor.
        probe = build_model(nodes, inputs, env_inits,
                            [(o, np.zeros(0, np.float32)) for o in outputs], opset)
        del probe.graph.output[:]
        for o in outputs:
            probe.graph.output.append(helper.make_empty_tensor_value_info(o))
        want = np_run(probe, feeds)
        model = build_model(nodes, inputs, env_inits, list(zip(outputs, want)), opset,
                            name=name)
        onnx.checker.check_model(model, full_check=True)
        got_np = np_run(model, feeds)
        got_t = torch_run(model, feeds)
        for k, (a, b) in enumerate(zip(got_np, got_t)):
            what = f"{name} output {k} numpy vs torch"
            assert a.dtype == b.dtype and a.shape == b.shape, \
                f"{what}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
            if exact is not None:
                assert_near_quant(b, a, float_scale, what)
            elif a.dtype == np.float32 and kind == "fp32":
                assert_close(b, a, what)
            else:
                assert np.array_equal(a, b), f"{what}: not identical"
        if exact is not None:
            ex = exact(feeds)
            for k, (a, e) in enumerate(zip(got_np, ex)):
                assert a.dtype == e.dtype and a.shape == e.shape
                assert_near_quant(a, e, float_scale, f"{name} output {k} float vs QLinear formula")
            want = ex
        w = self.w
        w.model(f"ops/{name}.onnx", model)
        for k, (_, arr) in enumerate(inputs):
            w.npy(f"ops/{name}.in{k}.npy", arr)
        for k, arr in enumerate(want):
            w.npy(f"ops/{name}.out{k if k else ''}.npy", np.asarray(arr))
        self.manifest.append(f"{name} {kind} {len(inputs)}")


def u(rng, shape, lo, hi):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def nrm(rng, shape, s=0.3):
    return (rng.standard_normal(shape) * s).astype(np.float32)


def fp32_cases(c):
    X = [2, 3, 5, 5]

    def conv(name, xshape=X, wshape=(4, 3, 3, 3), bias=True, relu_in=False, **attrs):
        r = c.rng(name)
        x = u(r, xshape, 0, 1)
        inits = {"W": nrm(r, wshape)}
        ins = ["x", "W"]
        if bias:
            inits["B"] = nrm(r, (wshape[0],), 0.1)
            ins.append("B")
        c.add(name, "fp32", [node("Conv", ins, ["y"], **attrs)], [("x", x)], inits, ["y"])

    conv("conv_plain", kernel_shape=[3, 3])
    conv("conv_nobias", bias=False, kernel_shape=[3, 3])
    conv("conv_pads", pads=[1, 1, 1, 1])
    conv("conv_pads_asym", pads=[1, 0, 2, 1])
    conv("conv_stride2", xshape=[2, 3, 7, 7], strides=[2, 2], pads=[1, 1, 1, 1])
    conv("conv_dilation2", xshape=[2, 3, 7, 7], dilations=[2, 2], pads=[2, 2, 2, 2])
    conv("conv_depthwise", wshape=(3, 1, 3, 3), group=3, pads=[1, 1, 1, 1])
    conv("conv_depthwise_x2", wshape=(6, 1, 3, 3), group=3, pads=[1, 1, 1, 1])
    conv("conv_same_upper", xshape=[2, 3, 6, 6], strides=[2, 2], auto_pad="SAME_UPPER")
    conv("conv_same_upper_s1", xshape=[2, 3, 5, 5], wshape=(4, 3, 2, 2), auto_pad="SAME_UPPER")
    conv("conv_valid", xshape=[2, 3, 6, 6], strides=[2, 2], auto_pad="VALID")
    conv("conv_1x1", wshape=(8, 3, 1, 1))
    conv("conv_1d", xshape=[2, 3, 11], wshape=(4, 3, 3), pads=[1, 1])
    conv("conv_1d_stride_dil", xshape=[2, 3, 17], wshape=(6, 3, 5), strides=[3],
         dilations=[2], pads=[2, 1], kernel_shape=[5])
    conv("conv_1d_depthwise", xshape=[2, 4, 9], wshape=(4, 1, 3), group=4, bias=False,
         auto_pad="SAME_UPPER")

    # 3-D (NCDHW): odd sizes, asymmetric pads, stride 2, groups, dilation in
    # depth (docs/onnx.md, "3-D convolution and pooling")
    X3 = [2, 3, 5, 6, 7]
    conv("conv3d_plain", xshape=X3, wshape=(4, 3, 3, 3, 3))
    conv("conv3d_pads_asym", xshape=X3, wshape=(5, 3, 3, 2, 3), pads=[1, 0, 2, 2, 1, 0])
    conv("conv3d_stride2", xshape=[2, 3, 7, 7, 6], wshape=(4, 3, 3, 3, 3), strides=[2, 2, 2],
         pads=[1, 1, 1, 1, 1, 1], bias=False)
    conv("conv3d_groups", xshape=[2, 4, 5, 5, 6], wshape=(6, 2, 3, 1, 1), group=2,
         pads=[1, 0, 0, 1, 0, 0])
    conv("conv3d_dilated", xshape=[2, 4, 7, 5, 5], wshape=(4, 2, 2, 3, 3), group=2,
         dilations=[3, 1, 2], strides=[1, 2, 1], pads=[2, 1, 0, 1, 1, 2])
    conv("conv3d_depthwise", xshape=[2, 4, 5, 5, 5], wshape=(4, 1, 3, 3, 3), group=4,
         pads=[1, 1, 1, 1, 1, 1])
    conv("conv3d_1x3x3", xshape=X3, wshape=(4, 3, 1, 3, 3), pads=[0, 1, 1, 0, 1, 1])
    # 33 output depths: more than two Concats of DNNQ_IR_MAX_INPUTS (16) gather
    # them (from 32 on, the second one's 17th input was dropped: SIGSEGV)
    conv("conv3d_deep", xshape=[2, 2, 33, 2, 3], wshape=(3, 2, 3, 1, 1), pads=[1, 0, 0, 1, 0, 0])
    # output depths whose window lies wholly in the depth padding: the bias
    # there (od 0 and 3), zeros without one
    conv("conv3d_pad_depths", xshape=[2, 3, 3, 5, 5], wshape=(4, 3, 2, 3, 3),
         strides=[2, 1, 1], pads=[3, 1, 1, 2, 1, 1])
    conv("conv3d_pad_depths_nobias", xshape=[2, 4, 2, 5, 6], wshape=(6, 2, 1, 3, 3), group=2,
         bias=False, pads=[2, 1, 0, 1, 1, 2])

    # BatchNormalization on rank 5: folded into the 3-D Conv it follows, and
    # on its own (after a Relu)
    r = c.rng("conv3d_bn")
    bn = {"s": u(r, (4,), 0.5, 2), "b": nrm(r, (4,)), "m": nrm(r, (4,)), "v": u(r, (4,), 0.5, 2)}
    c.add("conv3d_bn", "fp32",
          [node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1, 1, 1]),
           node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
           node("Relu", ["n"], ["r"]),
           node("BatchNormalization", ["r", "s", "b", "m", "v"], ["y"])],
          [("x", u(r, X3, 0, 1))], {"W": nrm(r, (4, 3, 3, 3, 3)), **bn}, ["y"])

    # a trained model's dead channel: weights of 1e-38 (PaddleOCR's
    # detector), a bias of 1; per channel its weight scale would hold no
    # int32 bias
    r = c.rng("conv_dead_channel")
    w = nrm(r, (4, 3, 3, 3))
    w[1] *= np.float32(1e-38)
    b = nrm(r, (4,), 0.1)
    b[1] = 1.0
    c.add("conv_dead_channel", "fp32", [node("Conv", ["x", "W", "B"], ["y"])],
          [("x", u(r, X, 0, 1))], {"W": w, "B": b}, ["y"])

    # two nodes whose names agree in their first 150 bytes (a deep module
    # path of a torch export): two nodes in the .dnnq, not a name used twice
    deep = "/model/" + "blocks.0/" * 16
    r = c.rng("long_node_names")
    c.add("long_node_names", "fp32",
          [helper.make_node("Conv", ["x", "W1"], ["h"], name=deep + "conv1"),
           helper.make_node("Conv", ["h", "W2"], ["y"], name=deep + "conv2")],
          [("x", u(r, X, 0, 1))], {"W1": nrm(r, (4, 3, 1, 1)), "W2": nrm(r, (2, 4, 1, 1))},
          ["y"])

    # two outputs whose names agree in their first 70 bytes (openWakeWord
    # names an output after a JSON string): distinct in the .dnnq too
    long = "o" * 70
    c.add("long_output_names", "fp32",
          [node("Relu", ["x"], [long + "_a"]), node("Neg", ["x"], [long + "_b"])],
          [("x", u(c.rng("long_output_names"), [2, 6], -1, 1))], {},
          [long + "_a", long + "_b"])
    # two outputs one file name in an output directory: y/0 is y_0 made
    # safe (dnnq-run and dnnqctl write y_0.npy and y_0-2.npy)
    c.add("output_names_collide", "fp32",
          [node("Relu", ["x"], ["y/0"]), node("Neg", ["x"], ["y_0"])],
          [("x", u(c.rng("output_names_collide"), [2, 6], -1, 1))], {}, ["y/0", "y_0"])

    def gemm(name, transB=1, bias=True, alpha=None, beta=None, cshape=(8,)):
        r = c.rng(name)
        x = u(r, [2, 16], -1, 1)
        B = nrm(r, (8, 16) if transB else (16, 8))
        inits, ins = {"B": B}, ["x", "B"]
        if bias:
            inits["C"] = nrm(r, cshape, 0.1)
            ins.append("C")
        attrs = {"transB": transB}
        if alpha is not None:
            attrs.update(alpha=alpha, beta=beta)
        c.add(name, "fp32", [node("Gemm", ins, ["y"], **attrs)], [("x", x)], inits, ["y"])

    gemm("gemm_transb_bias")
    gemm("gemm_transb0", transB=0)
    gemm("gemm_alpha_beta", alpha=0.5, beta=2.0)
    gemm("gemm_nobias", bias=False)
    gemm("gemm_bias_1xn", cshape=(1, 8))

    r = c.rng("matmul_const")
    c.add("matmul_const", "fp32", [node("MatMul", ["x", "B"], ["y"])],
          [("x", u(r, [2, 16], -1, 1))], {"B": nrm(r, (16, 8))}, ["y"])

    # one square constant read in both layouts (an unrolled LSTM's steps
    # read theirs in one): Gemms with transB and without, a MatMul (the
    # layout of transB 0), a Gemm with transB and a bias; the .dnnq holds
    # two weight tensors, one per layout (test fc_packed_once)
    r = c.rng("gemm_shared_layouts")
    c.add("gemm_shared_layouts", "fp32",
          [node("Gemm", ["x", "W"], ["a"], transB=1), node("Gemm", ["x", "W"], ["b"]),
           node("MatMul", ["x", "W"], ["m"]), node("Gemm", ["x", "W", "C"], ["c"], transB=1)],
          [("x", u(r, [2, 16], -1, 1))], {"W": nrm(r, (16, 16)), "C": nrm(r, (16,), 0.1)},
          ["a", "b", "m", "c"])

    # a transformer's linear layer: [batch, sequence, hidden] by constant weights, + bias
    r = c.rng("matmul_3d_const")
    c.add("matmul_3d_const", "fp32",
          [node("MatMul", ["x", "B"], ["t"]), node("Add", ["t", "bias"], ["y"])],
          [("x", u(r, [2, 5, 16], -1, 1))], {"B": nrm(r, (16, 8)), "bias": nrm(r, (8,))},
          ["y"])

    def unary(name, op, lo, hi, opset=OPSET, extra_inits=None, extra_ins=(), **attrs):
        r = c.rng(name)
        x = u(r, [2, 3, 4, 4], lo, hi)
        c.add(name, "fp32", [node(op, ["x", *extra_ins], ["y"], **attrs)], [("x", x)],
              extra_inits or {}, ["y"], opset=opset)

    unary("relu", "Relu", -2, 2)
    unary("leakyrelu", "LeakyRelu", -2, 2, alpha=0.1)
    unary("clip13", "Clip", -3, 3, extra_ins=("lo", "hi"),
          extra_inits={"lo": np.float32(-1.0), "hi": np.float32(1.5)})
    unary("clip13_min_only", "Clip", -3, 3, extra_ins=("lo",),
          extra_inits={"lo": np.float32(0.0)})
    unary("clip6_relu6", "Clip", -3, 9, opset=6, min=0.0, max=6.0)
    unary("sigmoid", "Sigmoid", -6, 6)
    unary("tanh", "Tanh", -4, 4)
    unary("hardsigmoid", "HardSigmoid", -4, 4, alpha=0.2, beta=0.5)
    unary("hardswish", "HardSwish", -5, 5, opset=14)
    unary("identity", "Identity", -1, 1)

    def pool(name, op, xshape, **attrs):
        r = c.rng(name)
        c.add(name, "fp32", [node(op, ["x"], ["y"], **attrs)], [("x", u(r, xshape, -1, 1))],
              {}, ["y"])

    pool("maxpool_2x2s2", "MaxPool", [2, 3, 6, 6], kernel_shape=[2, 2], strides=[2, 2])
    pool("maxpool_3x3s2p1", "MaxPool", [2, 3, 7, 7], kernel_shape=[3, 3], strides=[2, 2],
         pads=[1, 1, 1, 1])
    pool("maxpool_ceil", "MaxPool", [2, 3, 6, 6], kernel_shape=[3, 3], strides=[2, 2],
         ceil_mode=1)
    pool("avgpool_pad_cip0", "AveragePool", [2, 3, 5, 5], kernel_shape=[3, 3],
         pads=[1, 1, 1, 1], count_include_pad=0)
    pool("avgpool_pad_cip1", "AveragePool", [2, 3, 5, 5], kernel_shape=[3, 3],
         pads=[1, 1, 1, 1], count_include_pad=1)
    pool("avgpool_ceil", "AveragePool", [2, 3, 6, 6], kernel_shape=[3, 3], strides=[2, 2],
         ceil_mode=1)
    pool("avgpool_2x2s2", "AveragePool", [2, 3, 6, 6], kernel_shape=[2, 2], strides=[2, 2])
    pool("globalavgpool", "GlobalAveragePool", [2, 3, 5, 5])
    pool("maxpool3d", "MaxPool", [2, 3, 5, 7, 6], kernel_shape=[3, 3, 2], strides=[2, 2, 1],
         pads=[1, 1, 0, 1, 1, 0])
    pool("maxpool3d_ceil", "MaxPool", [2, 3, 6, 7, 5], kernel_shape=[2, 3, 3], strides=[2, 2, 2],
         ceil_mode=1)
    pool("avgpool3d_cip0", "AveragePool", [2, 3, 5, 5, 6], kernel_shape=[3, 3, 3],
         strides=[2, 1, 2], pads=[1, 1, 1, 1, 1, 1], count_include_pad=0)
    pool("avgpool3d_cip1", "AveragePool", [2, 3, 5, 6, 5], kernel_shape=[3, 2, 3],
         strides=[2, 2, 2], pads=[1, 0, 1, 1, 0, 1], count_include_pad=1)
    pool("globalavgpool3d", "GlobalAveragePool", [2, 3, 3, 5, 4])

    def binary(name, op, x2shape=None, const=None, n=2, x2range=(-1, 1), const_first=False):
        r = c.rng(name)
        ins = [("x", u(r, [2, 3, 4, 4], -1, 1))]
        if x2shape is not None:
            for k in range(1, n):
                ins.append((f"x{k + 1}", u(r, x2shape, *x2range)))
            names = [nm for nm, _ in ins]
            inits = {}
        else:
            names, inits = ["x", "C"], {"C": const(r)}
            if const_first:
                names.reverse()
        attrs = {"axis": 1} if op == "Concat" else {}
        c.add(name, "fp32", [node(op, names, ["y"], **attrs)], ins, inits, ["y"])

    binary("add_two", "Add", x2shape=[2, 3, 4, 4])
    binary("add_perchannel", "Add", const=lambda r: nrm(r, (3, 1, 1), 0.5))
    binary("add_scalar", "Add", const=lambda r: np.float32(0.75))
    binary("mul_perchannel", "Mul", const=lambda r: u(r, (3, 1, 1), 0.5, 2))
    binary("mul_two", "Mul", x2shape=[2, 3, 4, 4])
    binary("mul_scalar", "Mul", const=lambda r: np.float32(-1.5))
    binary("sum3", "Sum", x2shape=[2, 3, 4, 4], n=3)
    # activations that broadcast: the registry's add and mul (engine/ops/)
    binary("add_broadcast", "Add", x2shape=[2, 3, 1, 1])
    binary("mul_se", "Mul", x2shape=[2, 3, 1, 1], x2range=(0, 1))
    # operators of the engine's registry (engine/ops/): Sub, Div
    binary("sub_two", "Sub", x2shape=[2, 3, 4, 4])
    binary("sub_broadcast", "Sub", x2shape=[2, 1, 4, 4])
    binary("sub_perchannel", "Sub", const=lambda r: nrm(r, (3, 1, 1), 0.5))
    binary("sub_scalar_first", "Sub", const=lambda r: np.float32(1.0), const_first=True)
    binary("div_two", "Div", x2shape=[2, 3, 4, 4], x2range=(0.5, 2))
    binary("div_broadcast", "Div", x2shape=[2, 3, 1, 4], x2range=(-2, -0.5))
    binary("div_perchannel", "Div", const=lambda r: u(r, (3, 1, 1), 0.5, 2))
    binary("div_scalar", "Div", const=lambda r: np.float32(6.0))
    binary("concat_axis1", "Concat", x2shape=[2, 2, 4, 4])
    # eltwise: the registry's unary operators (engine/unary.h) and binary ones
    unary("sqrt", "Sqrt", 0.01, 4)
    unary("reciprocal", "Reciprocal", 0.25, 4)
    unary("neg", "Neg", -2, 2)
    unary("abs", "Abs", -2, 2)
    unary("exp", "Exp", -3, 2)
    unary("log", "Log", 0.05, 8)
    unary("erf", "Erf", -3, 3)
    unary("softplus", "Softplus", -20, 20)     # Mish's inner function
    binary("pow_square", "Pow", const=lambda r: np.float32(2.0))
    binary("pow_cube_perchannel", "Pow", const=lambda r: np.array([3, 1, 2], np.float32)
           .reshape(3, 1, 1))
    binary("min_two", "Min", x2shape=[2, 3, 4, 4])
    binary("min_scalar", "Min", const=lambda r: np.float32(0.25))
    binary("max_three", "Max", x2shape=[2, 3, 4, 4], n=3)
    binary("min_four", "Min", x2shape=[2, 1, 4, 4], n=4)
    binary("max_broadcast", "Max", x2shape=[2, 3, 1, 4])
    binary("max_perchannel", "Max", const=lambda r: nrm(r, (3, 1, 1), 0.5))
    binary("prelu_perchannel", "PRelu", const=lambda r: u(r, (3, 1, 1), 0.05, 0.5))
    binary("prelu_scalar", "PRelu", const=lambda r: np.float32(0.2))
    r = c.rng("pow_sqrt")   # x^0.5 of a positive x
    c.add("pow_sqrt", "fp32", [node("Pow", ["x", "e"], ["y"])], [("x", u(r, X, 0.1, 3))],
          {"e": np.float32(0.5)}, ["y"])
    r = c.rng("pow_two")    # a positive base, any exponent
    c.add("pow_two", "fp32", [node("Pow", ["x", "e"], ["y"])],
          [("x", u(r, X, 0.2, 2)), ("e", u(r, X, -2, 2))], {}, ["y"])
    r = c.rng("pow_int_exponent")   # opset 12+: an int64 exponent
    c.add("pow_int_exponent", "fp32", [node("Pow", ["x", "e"], ["y"])],
          [("x", u(r, X, -2, 2))], {"e": np.array([3], np.int64)}, ["y"])
    r = c.rng("min_one")
    c.add("min_one", "fp32", [node("Relu", ["x"], ["r"]), node("Min", ["r"], ["y"])],
          [("x", u(r, X, -1, 1))], {}, ["y"])
    fusion_cases(c)
    # a DenseNet-long Concat: more inputs than an IR node takes (a chain)
    r = c.rng("concat_many")
    c.add("concat_many", "fp32",
          [node("Relu", ["x"], ["a"]), node("Sigmoid", ["x"], ["b"]),
           node("Concat", ["a", "b"] * 19, ["y"], axis=1)],
          [("x", u(r, [2, 2, 3, 3], -1, 1))], {}, ["y"])

    # vision: Concat on H, W and the last axis of 3-D (the engine's axis moves with NHWC)
    for name, xs, ys, axis in (("concat_axis2", [2, 3, 4, 4], [2, 3, 2, 4], 2),
                               ("concat_axis3", [2, 3, 4, 4], [2, 3, 4, 5], -1),
                               ("concat_3d_last", [2, 5, 3], [2, 5, 4], 2)):
        r = c.rng(name)
        c.add(name, "fp32", [node("Concat", ["x", "x2"], ["y"], axis=axis)],
              [("x", u(r, xs, -1, 1)), ("x2", u(r, ys, -2, 2))], {}, ["y"])

    # vision: Resize (scales or sizes; every mode) and Upsample
    def resize(name, xshape=(2, 3, 4, 5), scales=None, sizes=None, opset=OPSET, op="Resize",
               **attrs):
        r = c.rng(name)
        inits, ins = {}, ["x"]
        if op == "Upsample" and opset >= 9 or op == "Resize" and opset < 11:
            inits["s"], ins = np.array(scales, np.float32), ["x", "s"]
        elif op == "Resize":
            inits["roi"] = np.array([], np.float32)
            inits["s"] = np.array(scales if scales is not None else [], np.float32)
            ins = ["x", "roi", "s"]
            if sizes is not None:
                inits["z"] = np.array(sizes, np.int64)
                ins.append("z")
        else:
            attrs["scales"] = [float(v) for v in scales]
        c.add(name, "fp32", [node(op, ins, ["y"], **attrs)], [("x", u(r, list(xshape), -1, 1))],
              inits, ["y"], opset=opset)

    x2 = [1, 1, 2, 2]
    resize("resize_nearest_x2", scales=x2, mode="nearest", nearest_mode="floor",
           coordinate_transformation_mode="asymmetric")
    resize("resize_nearest_half_pixel", scales=[1, 1, 1.5, 2.5], mode="nearest")
    resize("resize_nearest_prefer_ceil", scales=[1, 1, 1.5, 0.6], mode="nearest",
           nearest_mode="round_prefer_ceil")
    resize("resize_nearest_ceil_tf", scales=[1, 1, 1.75, 1.5], mode="nearest",
           nearest_mode="ceil", coordinate_transformation_mode="tf_half_pixel_for_nearest")
    resize("resize_nearest_sizes", sizes=[2, 3, 7, 3], mode="nearest",
           coordinate_transformation_mode="align_corners")
    resize("resize_linear_half_pixel", scales=x2, mode="linear")
    resize("resize_linear_pytorch", scales=[1, 1, 2, 0.5], mode="linear",
           coordinate_transformation_mode="pytorch_half_pixel")
    resize("resize_linear_align_corners", sizes=[2, 3, 8, 9], mode="linear",
           coordinate_transformation_mode="align_corners")
    resize("resize_linear_asymmetric", scales=[1, 1, 0.5, 1.5], mode="linear",
           coordinate_transformation_mode="asymmetric")
    resize("resize_opset10", scales=x2, opset=10, mode="nearest")
    resize("upsample_opset9", scales=[1, 1, 2, 3], opset=9, op="Upsample", mode="nearest")
    resize("upsample_opset7_linear", scales=[1, 1, 2, 2], opset=7, op="Upsample",
           mode="linear")

    # vision: ConvTranspose
    def convt(name, xshape=(2, 4, 3, 4), wshape=(4, 3, 2, 2), bias=True, **attrs):
        r = c.rng(name)
        inits, ins = {"W": nrm(r, wshape)}, ["x", "W"]
        if bias:
            inits["B"], ins = nrm(r, (wshape[1] * attrs.get("group", 1),), 0.1), ins + ["B"]
        c.add(name, "fp32", [node("ConvTranspose", ins, ["y"], **attrs)],
              [("x", u(r, list(xshape), -1, 1))], inits, ["y"])

    convt("convt_k2s2", strides=[2, 2])
    convt("convt_k3s2_pads_outpad", wshape=(4, 3, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1],
          output_padding=[1, 1])
    convt("convt_groups_dilation", wshape=(4, 2, 3, 2), group=2, dilations=[2, 1],
          pads=[1, 0, 0, 1], bias=False)
    convt("convt_output_shape", wshape=(4, 3, 3, 3), strides=[2, 2], output_shape=[5, 7])
    convt("convt_same_upper", wshape=(4, 2, 4, 4), strides=[2, 2], auto_pad="SAME_UPPER")
    # 1-D (ConvTranspose1d: Conv-TasNet's decoder, kernel 2x the stride,
    # pads half the kernel); then output_shape and dilations with groups
    convt("convt1d_tasnet", xshape=(2, 6, 9), wshape=(6, 1, 8), bias=False, strides=[4],
          pads=[4, 4])
    convt("convt1d_groups_output_shape", xshape=(2, 4, 5), wshape=(4, 3, 3), group=2,
          dilations=[2], strides=[2], output_shape=[11])

    # vision: Slice, Split, Pad
    BIG = np.iinfo(np.int64).max

    def movement(name, op, xshape, inits, ins, outs=("y",), opset=OPSET, **attrs):
        r = c.rng(name)
        c.add(name, "fp32", [node(op, ["x"] + ins, list(outs), **attrs)],
              [("x", u(r, list(xshape), -1, 1))], {k: np.asarray(v) for k, v in inits.items()},
              list(outs), opset=opset)

    def i64(*v):
        return np.array(v, np.int64)

    movement("slice_hw", "Slice", [2, 3, 6, 7], {"s": i64(1, 2), "e": i64(5, -1), "a": i64(2, 3)},
             ["s", "e", "a"])
    movement("slice_neg_steps", "Slice", [2, 3, 6, 7],
             {"s": i64(-1, 2), "e": i64(-BIG, 0), "a": i64(3, 1), "p": i64(-2, -1)},
             ["s", "e", "a", "p"])
    movement("slice_channels_clamped", "Slice", [2, 5, 4, 4],
             {"s": i64(1), "e": i64(BIG), "a": i64(1), "p": i64(2)}, ["s", "e", "a", "p"])
    movement("slice_batch_kept_3d", "Slice", [2, 5, 9],
             {"s": i64(0, 2), "e": i64(BIG, 8), "a": i64(0, -1), "p": i64(1, 3)},
             ["s", "e", "a", "p"])
    movement("slice_opset9", "Slice", [2, 3, 6, 7], {}, [], opset=9, starts=[0, 1],
             ends=[2, 100], axes=[1, 2])
    movement("split_opset11", "Split", [2, 3, 4, 4], {}, [], outs=("y0", "y1"), opset=11,
             axis=1, split=[1, 2])
    movement("split_input_w", "Split", [2, 3, 4, 7], {"z": i64(2, 3, 2)}, ["z"],
             outs=("y0", "y1", "y2"), axis=3)
    movement("split_equal_h", "Split", [2, 3, 6, 4], {}, [], outs=("y0", "y1"), axis=-2)
    movement("pad_constant_hw", "Pad", [2, 3, 4, 5],
             {"p": i64(0, 0, 1, 2, 0, 0, 2, 1), "v": np.float32(0.5)}, ["p", "v"])
    movement("pad_reflect", "Pad", [2, 3, 4, 5], {"p": i64(0, 0, 2, 1, 0, 0, 1, 3)}, ["p"],
             mode="reflect")
    movement("pad_edge", "Pad", [2, 3, 4, 5], {"p": i64(0, 0, 3, 1, 0, 0, 1, 2)}, ["p"],
             mode="edge")
    movement("pad_channels_crop", "Pad", [2, 3, 4, 5], {"p": i64(0, 1, 0, -1, 0, 2, -1, 0)},
             ["p"])
    movement("pad_opset2", "Pad", [2, 3, 4, 5], {}, [], opset=2, pads=[0, 0, 1, 1, 0, 0, 1, 1],
             value=-1.0)
    movement("pad_3d", "Pad", [2, 4, 6], {"p": i64(0, 1, 2, 0, 2, 1), "v": np.float32(-0.25)},
             ["p", "v"])

    movement("gather_channels", "Gather", [2, 5, 3, 4], {"i": i64(4, 0, -1, 2, 2)}, ["i"],
             axis=1)
    movement("gather_w_neg", "Gather", [2, 3, 4, 6], {"i": np.array([-6, 5, 1], np.int32)},
             ["i"], axis=-1)
    movement("gather_scalar_channel", "Gather", [2, 5, 3, 4], {"i": np.int64(-2)}, ["i"],
             axis=1)
    movement("gather_scalar_3d", "Gather", [2, 7, 6], {"i": np.int64(3)}, ["i"], axis=2)

    # vision: 1-D pooling, GlobalMaxPool
    pool("maxpool_1d", "MaxPool", [2, 3, 11], kernel_shape=[3], strides=[2], pads=[1, 1])
    pool("maxpool_1d_ceil", "MaxPool", [2, 4, 10], kernel_shape=[3], strides=[2], ceil_mode=1)
    pool("avgpool_1d_cip", "AveragePool", [2, 3, 9], kernel_shape=[4], strides=[1],
         pads=[2, 2], count_include_pad=1)
    pool("avgpool_1d", "AveragePool", [2, 5, 8], kernel_shape=[2], strides=[2])
    pool("globalmaxpool", "GlobalMaxPool", [2, 3, 5, 6])
    pool("globalmaxpool_1d", "GlobalMaxPool", [2, 3, 7])
    pool("globalmaxpool3d", "GlobalMaxPool", [2, 3, 3, 4, 5])
    # BatchNormalization standalone (not after a Conv): the elementwise-linear kind
    r = c.rng("batchnorm_standalone")
    c.add("batchnorm_standalone", "fp32",
          [node("Relu", ["x"], ["r"]), node("BatchNormalization", ["r", "g", "b", "m", "v"],
                                            ["y"], epsilon=1e-3)],
          [("x", u(r, [2, 3, 4, 5], -1, 2))],
          {"g": u(r, (3,), 0.5, 2), "b": nrm(r, (3,)), "m": nrm(r, (3,)),
           "v": u(r, (3,), 0.2, 1)}, ["y"])

    # Layout-sensitive chains: an NCHW flatten feeding a Gemm.
    def head(name, mid_nodes, mid_inits, gemm_k, tail=None):
        r = c.rng(name)
        x = u(r, [2, 3, 4, 4], 0, 1)
        inits = {"W": nrm(r, (4, 3, 3, 3)), "B": nrm(r, (4,), 0.1),
                 "G": nrm(r, (10, gemm_k)), "GB": nrm(r, (10,), 0.1)}
        inits.update(mid_inits)
        nodes = [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
                 node("Relu", ["c"], ["r"])] + mid_nodes
        out = "y" if tail is None else "g"
        nodes.append(node("Gemm", ["f", "G", "GB"], [out], transB=1))
        if tail is not None:
            nodes += tail
        c.add(name, "fp32", nodes, [("x", x)], inits, ["y"])

    head("conv_flatten_gemm", [node("Flatten", ["r"], ["f"], axis=1)], {}, 64)
    head("reshape_gemm", [node("Reshape", ["r", "shape"], ["f"])],
         {"shape": np.array([0, -1], np.int64)}, 64)
    head("gap_squeeze_gemm", [node("GlobalAveragePool", ["r"], ["p"]),
                              node("Squeeze", ["p", "axes"], ["f"])],
         {"axes": np.array([2, 3], np.int64)}, 4)
    head("gap_squeeze_gemm_unsqueeze", [node("GlobalAveragePool", ["r"], ["p"]),
                                        node("Squeeze", ["p", "axes"], ["f"])],
         {"axes": np.array([2, 3], np.int64)}, 4,
         tail=[node("Unsqueeze", ["g", "axes"], ["y"])])
    head("gap_flatten_gemm", [node("GlobalAveragePool", ["r"], ["p"]),
                              node("Flatten", ["p"], ["f"])], {}, 4)

    # A one-channel map reshaped to [N, H, W, 1] and back before a MaxPool
    # (tf2onnx's M-LSD 512: the reshape back kept NCHW's dims in NHWC, the
    # pool ran along H only)
    r = c.rng("reshape_back_pool")
    c.add("reshape_back_pool", "fp32",
          [node("Sigmoid", ["x"], ["s"]), node("Reshape", ["s", "hw1"], ["t"]),
           node("Reshape", ["t", "chw"], ["b"]),
           node("MaxPool", ["b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
          [("x", nrm(r, (2, 1, 6, 8), 2))],
          {"hw1": np.array([0, 6, 8, 1], np.int64), "chw": np.array([0, 1, 6, 8], np.int64)},
          ["y"])

    def bn_params(r, ch):
        return {"s": u(r, (ch,), 0.5, 1.5), "b": nrm(r, (ch,), 0.2),
                "m": nrm(r, (ch,), 0.3), "v": u(r, (ch,), 0.2, 1.0)}

    r = c.rng("batchnorm_conv")
    inits = {"W": nrm(r, (4, 3, 3, 3)), "B": nrm(r, (4,), 0.1), **bn_params(r, 4)}
    c.add("batchnorm_conv", "fp32",
          [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
           node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
           node("Relu", ["n"], ["y"])],
          [("x", u(r, X, 0, 1))], inits, ["y"])
    r = c.rng("batchnorm_alone")
    c.add("batchnorm_alone", "fp32",
          [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])],
          [("x", u(r, [2, 3, 4, 4], -1, 1))], bn_params(r, 3), ["y"])

    for name, opset, attrs in (("softmax11", 11, {}), ("softmax13", 13, {"axis": -1})):
        r = c.rng(name)
        c.add(name, "fp32", [node("Softmax", ["x"], ["y"], **attrs)],
              [("x", u(r, [2, 10], -4, 4))], {}, ["y"], opset=opset)

    # xfmr: transformer and reduction operators (engine/ops/: transpose,
    # matmul, reduce_*, softmax_axis, logsoftmax, layernorm)
    def xfmr(name, nodes, ins, inits=None, opset=OPSET):
        r = c.rng(name)
        c.add(name, "fp32", nodes, [(k, u(r, shp, lo, hi)) for k, shp, lo, hi in ins],
              {k: v(r) for k, v in (inits or {}).items()}, ["y"], opset=opset)

    xfmr("transpose_3d", [node("Transpose", ["x"], ["y"], perm=[0, 2, 1])],
         [("x", [2, 5, 8], -1, 1)])
    xfmr("transpose_4d_heads", [node("Transpose", ["x"], ["y"], perm=[0, 2, 1, 3])],
         [("x", [2, 5, 3, 8], -1, 1)])
    xfmr("transpose_4d_keys", [node("Transpose", ["x"], ["y"], perm=[0, 1, 3, 2])],
         [("x", [2, 3, 5, 4], -1, 1)])
    xfmr("transpose_nchw_to_3d", [node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]),
                                  node("Relu", ["t"], ["y"])],
         [("x", [2, 3, 4, 5], -1, 1)])
    xfmr("matmul_3d_act", [node("MatMul", ["a", "b"], ["y"])],
         [("a", [2, 5, 8], -1, 1), ("b", [2, 8, 6], -1, 1)])
    xfmr("matmul_4d_attention", [node("MatMul", ["q", "k"], ["s"]),
                                 node("Softmax", ["s"], ["p"], axis=-1),
                                 node("MatMul", ["p", "v"], ["y"])],
         [("q", [2, 2, 5, 4], -1, 1), ("k", [2, 2, 4, 5], -1, 1), ("v", [2, 2, 5, 4], -1, 1)])
    xfmr("matmul_broadcast", [node("MatMul", ["a", "b"], ["y"])],
         [("a", [2, 3, 5, 8], -1, 1), ("b", [2, 1, 8, 4], -1, 1)])
    xfmr("softmax_axis1_4d", [node("Softmax", ["x"], ["y"], axis=1)],
         [("x", [2, 4, 3, 5], -3, 3)])
    xfmr("softmax_axis2_4d", [node("Softmax", ["x"], ["y"], axis=2)],
         [("x", [2, 4, 3, 5], -3, 3)])
    xfmr("softmax_axis1_3d", [node("Softmax", ["x"], ["y"], axis=1)],
         [("x", [2, 6, 5], -3, 3)])
    xfmr("logsoftmax_last", [node("LogSoftmax", ["x"], ["y"], axis=-1)],
         [("x", [2, 10], -3, 3)])
    xfmr("logsoftmax_axis1_3d", [node("LogSoftmax", ["x"], ["y"], axis=1)],
         [("x", [2, 6, 5], -3, 3)])
    xfmr("reducemean_last", [node("ReduceMean", ["x"], ["y"], axes=[-1])],
         [("x", [2, 5, 8], -1, 1)])
    xfmr("reducemean_hw", [node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)],
         [("x", [2, 3, 4, 5], -1, 1)])
    xfmr("reducesum_axis1", [node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)],
         [("x", [2, 3, 4, 5], 0, 1)], {"axes": lambda r: np.array([1], np.int64)})
    xfmr("reducesum_middle", [node("ReduceSum", ["x", "axes"], ["y"], keepdims=0)],
         [("x", [2, 6, 5], -1, 1)], {"axes": lambda r: np.array([1], np.int64)})
    xfmr("reducesum_noop", [node("ReduceSum", ["x"], ["t"], noop_with_empty_axes=1),
                            node("Relu", ["t"], ["y"])], [("x", [2, 6, 5], -1, 1)])
    xfmr("reducemax_axis1", [node("ReduceMax", ["x"], ["y"], axes=[1], keepdims=1)],
         [("x", [2, 3, 4, 5], -1, 1)])
    xfmr("reducemax_last_3d", [node("ReduceMax", ["x"], ["y"], axes=[2], keepdims=0)],
         [("x", [2, 6, 5], -1, 1)])
    # F.normalize's norm (x / ||x||, a face embedding's last step) and its square
    xfmr("reducel2_normalize", [node("ReduceL2", ["x"], ["n"], axes=[1], keepdims=1),
                                node("Div", ["x", "n"], ["y"])],
         [("x", [2, 16], -1, 1)])
    xfmr("reducesumsquare_hw", [node("ReduceSumSquare", ["x"], ["y"], axes=[2, 3], keepdims=0)],
         [("x", [2, 3, 4, 5], -1, 1)])
    # a 4-D input's H or W reduced without keepdims, C kept (an audio net's
    # mean over frequency, max over time): the kept dims leave the engine's
    # reduction NHWC-ordered and are transposed into place
    xfmr("reducemean_h_4d", [node("ReduceMean", ["x"], ["y"], axes=[2], keepdims=0)],
         [("x", [2, 3, 4, 5], -1, 1)])
    xfmr("reducemax_w_4d", [node("ReduceMax", ["x"], ["y"], axes=[-1], keepdims=0)],
         [("x", [2, 3, 4, 5], -1, 1)])
    # a floor computed at run time: a log spectrogram's max - 80 dB
    xfmr("clip_dynamic_min", [node("ReduceMax", ["x"], ["m"], axes=[1, 2], keepdims=1),
                              node("Sub", ["m", "db"], ["lo"]),
                              node("Clip", ["x", "lo", "inf"], ["y"])],
         [("x", [2, 6, 5], -3, 3)],
         {"db": lambda r: np.float32(2.5), "inf": lambda r: np.float32(np.inf)})
    xfmr("clip_dynamic_both", [node("ReduceMean", ["x"], ["m"], axes=[2], keepdims=1),
                               node("ReduceMax", ["x"], ["h"], axes=[1], keepdims=1),
                               node("Mul", ["h", "half"], ["hi"]),
                               node("Clip", ["x", "m", "hi"], ["y"])],
         [("x", [2, 6, 5], -3, 3)], {"half": lambda r: np.float32(0.5)})
    xfmr("layernorm17", [node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1,
                              epsilon=1e-5)],
         [("x", [2, 5, 16], -2, 2)],
         {"g": lambda r: u(r, (16,), 0.5, 1.5), "b": lambda r: nrm(r, (16,), 0.2)}, opset=17)
    xfmr("layernorm17_axis1_4d", [node("LayerNormalization", ["x", "g"], ["y"], axis=1)],
         [("x", [2, 3, 4, 4], -2, 2)], {"g": lambda r: u(r, (3, 4, 4), 0.5, 1.5)}, opset=17)
    # InstanceNormalization: the LayerNorm over the axes after C, then the
    # per-channel scale and bias, each only where it changes something
    xfmr("instancenorm_4d", [node("InstanceNormalization", ["x", "s", "b"], ["y"],
                                  epsilon=1e-3)],
         [("x", [2, 3, 4, 5], -2, 2)],
         {"s": lambda r: u(r, (3,), 0.5, 1.5), "b": lambda r: nrm(r, (3,), 0.2)})
    xfmr("instancenorm_3d_scale", [node("InstanceNormalization", ["x", "s", "b"], ["y"])],
         [("x", [2, 4, 6], -2, 2)],
         {"s": lambda r: u(r, (4,), 0.5, 1.5), "b": lambda r: np.zeros(4, np.float32)})
    # Einsum's batched matrix products: MaxViT's attention (q k^T, then p v),
    # and a transposed first operand
    xfmr("einsum_qk", [node("Einsum", ["q", "k"], ["y"], equation="B G H I D, B G H J D -> B G H I J")],
         [("q", [2, 2, 3, 5, 4], -1, 1), ("k", [2, 2, 3, 6, 4], -1, 1)], opset=12)
    xfmr("einsum_pv", [node("Einsum", ["p", "v"], ["y"], equation="bhij,bhjd->bhid")],
         [("p", [2, 3, 5, 6], 0, 1), ("v", [2, 3, 6, 4], -1, 1)], opset=12)
    xfmr("einsum_ta", [node("Einsum", ["a", "b"], ["y"], equation="nki,nkj->nij")],
         [("a", [2, 6, 5], -1, 1), ("b", [2, 6, 4], -1, 1)], opset=12)
    # torch's GroupNorm (fcos_resnet50_fpn's head): [N, G, -1], a unit
    # InstanceNormalization, back, then its affine per channel
    xfmr("instancenorm_groupnorm",
         [node("Reshape", ["x", "g"], ["t"]),
          node("InstanceNormalization", ["t", "one", "zero"], ["n"]),
          node("Reshape", ["n", "back"], ["u"]),
          node("Mul", ["u", "gamma"], ["v"]), node("Add", ["v", "beta"], ["y"])],
         [("x", [2, 6, 4, 4], -2, 2)],
         {"g": lambda r: np.array([0, 3, -1], np.int64),
          "back": lambda r: np.array([0, 6, 4, 4], np.int64),
          "one": lambda r: np.ones(3, np.float32), "zero": lambda r: np.zeros(3, np.float32),
          "gamma": lambda r: u(r, (6, 1, 1), 0.5, 1.5), "beta": lambda r: nrm(r, (6, 1, 1), 0.2)})

    r = c.rng("identity_dropout")
    c.add("identity_dropout", "fp32",
          [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
           node("Identity", ["c"], ["i"]),
           node("Relu", ["i"], ["r"]),
           node("Dropout", ["r", "ratio"], ["y"])],
          [("x", u(r, X, 0, 1))],
          {"W": nrm(r, (4, 3, 3, 3)), "B": nrm(r, (4,), 0.1), "ratio": np.float32(0.5)},
          ["y"])


def fusion_cases(c):
    """torch 1.13 exports of the activations onnx/fuse.c fuses, each after a
    convolution: the importer must fuse them (suite onnx checks which) and
    match the unfused NumPy reference."""
    import io
    import torch.nn as nn

    class Act(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.conv, self.fn = nn.Conv2d(3, 4, 3, padding=1), fn

        def forward(self, x):
            return self.fn(self.conv(x))

    acts = {
        "fuse_hardswish_clip": lambda x: x * F.relu6(x + 3) / 6,
        "fuse_hardswish_clip_div_first": lambda x: x * (F.relu6(3 + x) / 6),
        "fuse_hardswish_clip_mul": lambda x: F.relu6(x + 3) * (1 / 6) * x,
        "fuse_hardswish_hardsigmoid": nn.Hardswish(),       # opset 13: x * HardSigmoid(x)
        "fuse_swish": lambda x: x * torch.sigmoid(x),
        "fuse_gelu_torch": nn.GELU(),
        "fuse_gelu_transformers": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
        "fuse_gelu_mul": lambda x: 0.5 * x * (1 + torch.erf(x * 0.7071067811865476)),
    }
    for name, fn in acts.items():
        r = c.rng(name)
        torch.manual_seed(int(r.integers(1 << 30)))
        model = Act(fn).eval()
        x = u(r, [2, 3, 5, 5], -2, 2)
        buf = io.BytesIO()
        torch.onnx.export(model, torch.from_numpy(x), buf, opset_version=13,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, do_constant_folding=True)
        g = onnx.load_from_string(buf.getvalue()).graph
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        c.add(name, "fp32", list(g.node), [("x", x)], inits, ["y"])
    # not fused: the gate is a graph output too
    r = c.rng("nofuse_swish_output")
    c.add("nofuse_swish_output", "fp32", [node("Sigmoid", ["x"], ["s"]),
                                          node("Mul", ["x", "s"], ["y"])],
          [("x", u(r, [2, 3, 4, 4], -3, 3))], {}, ["y", "s"])


def with_ties(r, shape, scale, zp, qmin, qmax):
    """f32 inputs over the whole quantized range and beyond, a third of them
    exactly halfway between two quanta (rint must break ties to even)."""
    lo, hi = (qmin - zp - 8) * scale, (qmax - zp + 8) * scale
    x = u(r, shape, lo, hi).reshape(-1)
    k = r.integers(qmin - zp - 4, qmax - zp + 4, size=x.size)
    tie = (k + 0.5) * np.float64(scale)
    pick = r.random(x.size) < 1 / 3
    x[pick] = tie[pick].astype(np.float32)
    return x.reshape(shape)


def int8_cases(c):
    # QuantizeLinear: power-of-two scales so the ties are exact.
    for name, zdt, scale, zp in (("quantize_u8", np.uint8, 1 / 32, 100),
                                 ("quantize_s8", np.int8, 1 / 16, -5)):
        r = c.rng(name)
        qmin, qmax = qrange(zdt)
        x = with_ties(r, [2, 3, 4, 4], scale, zp, qmin, qmax)
        c.add(name, "int8", [node("QuantizeLinear", ["x", "s", "z"], ["y"])], [("x", x)],
              {"s": np.float32(scale), "z": zdt(zp)}, ["y"])
    r = c.rng("quantize_u8_scale01")
    c.add("quantize_u8_scale01", "int8", [node("QuantizeLinear", ["x", "s", "z"], ["y"])],
          [("x", u(r, [2, 3, 4, 4], -14, 14))], {"s": np.float32(0.1), "z": np.uint8(128)},
          ["y"])
    r = c.rng("quantize_s8_axis1")
    c.add("quantize_s8_axis1", "int8",
          [node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1)],
          [("x", u(r, [2, 3, 4, 4], -3, 3))],
          {"s": np.array([0.01, 0.02, 0.04], np.float32), "z": np.array([0, 3, -7], np.int8)},
          ["y"])

    # per-axis ties: x / scale lands on .5 and the zero points are odd
    # (round before adding the zero point, as ONNX says); axis 2 of a rank-3 x
    r = c.rng("quantize_u8_axis_ties")
    c.add("quantize_u8_axis_ties", "int8",
          [node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=2)],
          [("x", (r.integers(-400, 400, size=[2, 5, 3]) * 0.25).astype(np.float32))],
          {"s": np.array([0.5, 1.0, 0.25], np.float32),
           "z": np.array([3, 129, 255], np.uint8)}, ["y"])

    # DequantizeLinear on an activation: per tensor, and per channel (axis 1).
    for name, dt, zp in (("dequantize_u8", np.uint8, 128), ("dequantize_s8", np.int8, -3)):
        r = c.rng(name)
        lo, hi = qrange(dt)
        x = r.integers(lo, hi + 1, size=[2, 3, 4, 4]).astype(dt)
        c.add(name, "int8", [node("DequantizeLinear", ["x", "s", "z"], ["y"])], [("x", x)],
              {"s": np.float32(0.037), "z": dt(zp)}, ["y"])
    r = c.rng("dequantize_s8_axis1")
    c.add("dequantize_s8_axis1", "int8",
          [node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=1)],
          [("x", r.integers(-128, 128, size=[2, 3, 4, 4]).astype(np.int8))],
          {"s": np.array([0.011, 0.023, 0.047], np.float32),
           "z": np.array([0, 5, -9], np.int8)}, ["y"])

    # QLinearConv. ys/yz are chosen from the accumulator range, slightly
    # narrow, so that both ends saturate a little.
    def qconv(name, wdt, per_channel, bias, wz=0, xz=7, xshape=(2, 3, 6, 6), m=4, group=1,
              ties=False, **attrs):
        r = c.rng(name)
        cg = xshape[1] // group
        wlo, whi = qrange(wdt)
        if ties:  # small values, m = 1/4 exactly: a quarter of the results are ties
            x = r.integers(xz - 3, xz + 4, size=xshape).astype(np.uint8)
            w = r.integers(-4, 5, size=(m, cg, 3, 3)).astype(wdt)
        else:
            x = r.integers(0, 256, size=xshape).astype(np.uint8)
            w = r.integers(wlo, whi + 1, size=(m, cg, 3, 3)).astype(wdt)
        xs = np.float32(1 / 16 if ties else 0.02)
        ws = (u(r, (m,), 0.002, 0.01) if per_channel else np.float32(1 / 64 if ties else 0.005))
        wzv = (np.full((m,), wz, wdt) if per_channel else wdt(wz))
        inits = {"xs": xs, "xz": np.uint8(xz), "w": w, "ws": ws, "wz": wzv}
        ins = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
        wzb = np.asarray(wzv).astype(np.int64).reshape(-1, 1, 1, 1) if per_channel else wz
        acc = conv_core(x.astype(np.int64) - xz, w.astype(np.int64) - wzb,
                        attrs.get("strides", [1, 1]), attrs.get("pads", [0, 0, 0, 0]),
                        [1, 1], group)
        if bias:
            inits["b"] = r.integers(-3000, 3000, size=(m,)).astype(np.int32)
            acc = acc + inits["b"].reshape(1, -1, 1, 1)
            ins.append("b")
        real = acc * (np.float64(xs) * axis_shape(np.asarray(ws, np.float64).reshape(-1)
                                                  if per_channel else np.array([ws]),
                                                  4, 1))
        lo, hi = np.percentile(real, 3), np.percentile(real, 97)
        inits["ys"], inits["yz"] = qparams_u8(lo, hi)
        if ties:
            inits["ys"], inits["yz"] = np.float32(xs * ws * 4), np.uint8(128)
            assert np.mean(acc % 4 == 2) > 0.1
        c.add(name, "int8", [node("QLinearConv", ins, ["y"], group=group, **attrs)],
              [("x", x)], inits, ["y"])

    qconv("qlinearconv_u8s8", np.int8, False, False)
    qconv("qlinearconv_s8_perchannel_bias", np.int8, True, True, pads=[1, 1, 1, 1])
    qconv("qlinearconv_u8w_zp_bias_s2", np.uint8, False, True, wz=131, xz=9,
          xshape=(2, 3, 7, 7), strides=[2, 2], pads=[1, 1, 1, 1])
    qconv("qlinearconv_depthwise", np.int8, True, True, m=3, group=3, pads=[1, 1, 1, 1])
    qconv("qlinearconv_ties", np.int8, False, False, xz=128, ties=True, pads=[1, 1, 1, 1])

    # QLinearMatMul: u8 activation times an s8 constant.
    for name, per_col in (("qlinearmatmul_u8s8", False), ("qlinearmatmul_percol", True)):
        r = c.rng(name)
        a = r.integers(0, 256, size=(2, 16)).astype(np.uint8)
        b = r.integers(-127, 128, size=(16, 8)).astype(np.int8)
        As, Az = np.float32(0.03), np.uint8(120)
        Bs = u(r, (8,), 0.002, 0.01) if per_col else np.float32(0.006)
        Bz = np.zeros((8,), np.int8) if per_col else np.int8(0)
        acc = (a.astype(np.int64) - 120) @ b.astype(np.int64)
        real = acc * np.float64(As) * np.asarray(Bs, np.float64)
        ys, yz = qparams_u8(np.percentile(real, 3), np.percentile(real, 97))
        c.add(name, "int8",
              [node("QLinearMatMul", ["a", "As", "Az", "b", "Bs", "Bz", "ys", "yz"], ["y"])],
              [("a", a)], {"As": As, "Az": Az, "b": b, "Bs": Bs, "Bz": Bz, "ys": ys, "yz": yz},
              ["y"])

    # xfmr: QLinearMatMul of any rank (the registry's matmul): two u8
    # activations of rank 3, and a 4-D u8 activation times an s8 constant.
    for name, ashape, bshape, bconst in (("qlinearmatmul_3d_act", (2, 5, 16), (2, 16, 6), False),
                                         ("qlinearmatmul_4d_s8const", (2, 3, 5, 16), (16, 8),
                                          True)):
        r = c.rng(name)
        a = r.integers(0, 256, size=ashape).astype(np.uint8)
        b = (r.integers(-127, 128, size=bshape).astype(np.int8) if bconst
             else r.integers(0, 256, size=bshape).astype(np.uint8))
        As, Az, Bs = np.float32(0.03), np.uint8(120), np.float32(0.006)
        Bz = np.int8(3) if bconst else np.uint8(131)
        acc = (a.astype(np.int64) - 120) @ (b.astype(np.int64) - int(Bz))
        real = acc * np.float64(As) * np.float64(Bs)
        ys, yz = qparams_u8(np.percentile(real, 3), np.percentile(real, 97))
        inits = {"As": As, "Az": Az, "Bs": Bs, "Bz": Bz, "ys": ys, "yz": yz}
        ins = [("a", a)]
        if bconst:
            inits["b"] = b
        else:
            ins.append(("b", b))
        c.add(name, "int8",
              [node("QLinearMatMul", ["a", "As", "Az", "b", "Bs", "Bz", "ys", "yz"], ["y"])],
              ins, inits, ["y"])

    # ConvInteger / MatMulInteger: exact int32 accumulators.
    for name, wdt, xz, wz in (("convinteger_u8u8", np.uint8, 5, 128),
                              ("convinteger_u8s8", np.int8, 11, 0)):
        r = c.rng(name)
        lo, hi = qrange(wdt)
        x = r.integers(0, 256, size=(2, 3, 5, 5)).astype(np.uint8)
        c.add(name, "int8", [node("ConvInteger", ["x", "w", "xz", "wz"], ["y"],
                                  pads=[1, 1, 1, 1])],
              [("x", x)], {"w": r.integers(lo, hi + 1, size=(4, 3, 3, 3)).astype(wdt),
                           "xz": np.uint8(xz), "wz": wdt(wz)}, ["y"])
    r = c.rng("matmulinteger_u8s8")
    c.add("matmulinteger_u8s8", "int8", [node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])],
          [("a", r.integers(0, 256, size=(2, 16)).astype(np.uint8))],
          {"b": r.integers(-128, 128, size=(16, 8)).astype(np.int8),
           "az": np.uint8(7), "bz": np.int8(0)}, ["y"])

    r = c.rng("matmulinteger_3d")
    c.add("matmulinteger_3d", "int8", [node("MatMulInteger", ["a", "b", "az"], ["y"])],
          [("a", r.integers(0, 256, size=(2, 3, 16)).astype(np.uint8))],
          {"b": r.integers(-128, 128, size=(16, 8)).astype(np.int8), "az": np.uint8(3)},
          ["y"])

    # ONNX Runtime's quantize_dynamic: DynamicQuantizeLinear, MatMulInteger /
    # ConvInteger, Cast, Mul by xs * ws, then the bias Add; kind "approx":
    # dnnq runs the float product with x quantized its own way (SQNR only)
    for name, wdt, per_col in (("ort_dynamic_matmul", np.int8, True),
                               ("ort_dynamic_matmul_u8", np.uint8, False)):
        r = c.rng(name)
        lo, hi = qrange(wdt)
        wz = {"wz": wdt(0 if wdt == np.int8 else 131)} if wdt == np.uint8 else {}
        c.add(name, "approx",
              [node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
               node("MatMulInteger", ["xq", "w", "xz", *wz], ["acc"]),
               node("Cast", ["acc"], ["accf"], to=1),
               node("Mul", ["xs", "ws"], ["s"]),
               node("Mul", ["accf", "s"], ["t"]),
               node("Add", ["t", "b"], ["y"])],
              [("x", u(r, [2, 3, 16], -1.5, 2.0))],
              {"w": r.integers(lo, hi + 1, size=(16, 8)).astype(wdt),
               "ws": (r.uniform(0.002, 0.01, size=(8,)) if per_col
                      else np.array(0.005)).astype(np.float32),
               "b": nrm(r, (8,)), **wz}, ["y"])
    r = c.rng("ort_dynamic_conv")
    c.add("ort_dynamic_conv", "approx",
          [node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
           node("ConvInteger", ["xq", "w", "xz"], ["acc"], pads=[1, 1, 1, 1]),
           node("Cast", ["acc"], ["accf"], to=1),
           node("Mul", ["xs", "ws"], ["s"]),
           node("Mul", ["s", "accf"], ["t"]),
           node("Add", ["t", "b"], ["y"])],
          [("x", u(r, [2, 3, 6, 6], -1, 1))],
          {"w": r.integers(-127, 128, size=(4, 3, 3, 3)).astype(np.int8),
           "ws": np.float32(0.004), "b": nrm(r, (4, 1, 1))}, ["y"])

    r = c.rng("dynamicquantize")
    c.add("dynamicquantize", "int8",
          [node("DynamicQuantizeLinear", ["x"], ["y", "ys", "yz"])],
          [("x", u(r, [2, 3, 4, 4], -1.3, 2.7))], {}, ["y", "ys", "yz"])
    r = c.rng("dynamicquantize_nonneg")
    c.add("dynamicquantize_nonneg", "int8",
          [node("DynamicQuantizeLinear", ["x"], ["y", "ys", "yz"])],
          [("x", u(r, [2, 16], 0.25, 3.0))], {}, ["y", "ys", "yz"])

    qdq_conv(c)
    qdq_chain(c)


def qdq_conv(c):
    """x -> Q -> DQ -> Conv(DQ(w s8 per channel), DQ(b s32)) -> Q -> DQ -> y."""
    name = "qdq_conv"
    r = c.rng(name)
    x = u(r, [2, 3, 5, 5], -0.5, 1.0)
    wf, bf = nrm(r, (4, 3, 3, 3)), nrm(r, (4,), 0.1)
    xs, xz = qparams_u8(x.min(), x.max())
    wq, ws = qweights_s8(wf, axis=0)
    bs = (xs * ws).astype(np.float32)
    bq = np.rint(bf / bs).astype(np.int32)
    yf = NP_OPS["Conv"]({"pads": [1, 1, 1, 1]}, [dequantize(quantize(x, xs, xz), xs, xz),
                                                 dequantize(wq, ws, None, 0),
                                                 dequantize(bq, bs, None, 0)], OPSET)[0]
    ys, yz = qparams_u8(yf.min(), yf.max())
    inits = {"xs": xs, "xz": xz, "wq": wq, "ws": ws, "wz": np.zeros(4, np.int8),
             "bq": bq, "bs": bs, "bz": np.zeros(4, np.int32), "ys": ys, "yz": yz}
    nodes = [node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
             node("DequantizeLinear", ["bq", "bs", "bz"], ["bd"], axis=0),
             node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1]),
             node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]),
             node("DequantizeLinear", ["cq", "ys", "yz"], ["y"])]

    def exact(feeds):
        q = quantize(feeds["x"], xs, xz)
        acc = conv_core(q.astype(np.int64) - int(xz), wq.astype(np.int64), [1, 1],
                        [1, 1, 1, 1], [1, 1], 1) + bq.reshape(1, -1, 1, 1)
        yq = requant(acc, requant_mult(xs, ws, ys), yz, 1)
        return [dequantize(yq, ys, yz)]

    c.add(name, "int8", nodes, [("x", x)], inits, ["y"], exact=exact, float_scale=ys)


def qdq_chain(c):
    """x -> Q/DQ -> Conv -> Relu -> Q/DQ -> MaxPool -> Q/DQ -> Flatten -> Gemm
    -> Q/DQ -> y, the QDQ form a quantizer writes: the Relu is fused (one Q
    after it, zero point 0), MaxPool keeps its input's parameters."""
    name = "qdq_conv_relu_maxpool_gemm"
    r = c.rng(name)
    x = u(r, [2, 3, 6, 6], 0.0, 1.0)
    wf, bf = nrm(r, (4, 3, 3, 3)), nrm(r, (4,), 0.1)
    gf, gbf = nrm(r, (10, 36)), nrm(r, (10,), 0.1)
    xs, xz = qparams_u8(x.min(), x.max())
    wq, ws = qweights_s8(wf, axis=0)
    bs = (xs * ws).astype(np.float32)
    bq = np.rint(bf / bs).astype(np.int32)
    xd = dequantize(quantize(x, xs, xz), xs, xz)
    cf = NP_OPS["Conv"]({"pads": [1, 1, 1, 1]}, [xd, dequantize(wq, ws, None, 0),
                                                 dequantize(bq, bs, None, 0)], OPSET)[0]
    s1, z1 = qparams_u8(0.0, np.maximum(cf, 0).max())
    gq, gs = qweights_s8(gf)
    gbs = np.float32(s1 * gs)
    gbq = np.rint(gbf / gbs).astype(np.int32)
    pf = dequantize(quantize(pool_core(f64(np.maximum(cf, 0)), "max", [2, 2], [2, 2],
                                       [0] * 4, 0, 0), s1, z1), s1, z1).reshape(2, -1)
    yf = pf.astype(np.float64) @ dequantize(gq, gs, None).T.astype(np.float64) + gbq * gbs
    s2, z2 = qparams_u8(yf.min(), yf.max())
    inits = {"xs": xs, "xz": xz, "wq": wq, "ws": ws, "wz": np.zeros(4, np.int8),
             "bq": bq, "bs": bs, "bz": np.zeros(4, np.int32), "s1": s1, "z1": z1,
             "gq": gq, "gs": gs, "gz": np.int8(0), "gbq": gbq, "gbs": gbs, "gbz": np.int32(0),
             "s2": s2, "z2": z2}
    nodes = [node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
             node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], axis=0),
             node("DequantizeLinear", ["bq", "bs", "bz"], ["bd"], axis=0),
             node("Conv", ["xd", "wd", "bd"], ["c"], pads=[1, 1, 1, 1]),
             node("Relu", ["c"], ["cr"]),
             node("QuantizeLinear", ["cr", "s1", "z1"], ["cq"]),
             node("DequantizeLinear", ["cq", "s1", "z1"], ["cd"]),
             node("MaxPool", ["cd"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             node("QuantizeLinear", ["p", "s1", "z1"], ["pq"]),
             node("DequantizeLinear", ["pq", "s1", "z1"], ["pd"]),
             node("Flatten", ["pd"], ["f"], axis=1),
             node("DequantizeLinear", ["gq", "gs", "gz"], ["gd"]),
             node("DequantizeLinear", ["gbq", "gbs", "gbz"], ["gbd"]),
             node("Gemm", ["f", "gd", "gbd"], ["g"], transB=1),
             node("QuantizeLinear", ["g", "s2", "z2"], ["gq2"]),
             node("DequantizeLinear", ["gq2", "s2", "z2"], ["y"])]

    def exact(feeds):
        q = quantize(feeds["x"], xs, xz)
        acc = conv_core(q.astype(np.int64) - int(xz), wq.astype(np.int64), [1, 1],
                        [1, 1, 1, 1], [1, 1], 1) + bq.reshape(1, -1, 1, 1)
        cq = requant(acc, requant_mult(xs, ws, s1), z1, 1)
        cq = np.maximum(cq, z1)  # the fused Relu: quantized 0 is z1
        pq = pool_core(cq.astype(np.float64), "max", [2, 2], [2, 2], [0] * 4, 0, 0)
        pq = pq.astype(np.uint8).reshape(2, -1)
        acc2 = (pq.astype(np.int64) - int(z1)) @ gq.astype(np.int64).T + gbq
        yq = requant(acc2, requant_mult(s1, gs, s2), z2, 1)
        return [dequantize(yq, s2, z2)]

    c.add(name, "int8", nodes, [("x", x)], inits, ["y"], exact=exact, float_scale=s2)


def vit_block_cases(c):
    """xfmr: a small ViT-like encoder block (d_model 32, 2 heads, pre-norm,
    ReLU MLP) exported by torch with seeded weights at opset 17: attention
    as MatMul, Transpose, Softmax on the last axis of a 4-D tensor, Linear
    on 3-D as MatMul + Add, LayerNormalization; batch-free reshapes (-1) so
    no Shape subgraph. GELU (Erf) and the opset-13 LayerNorm decomposition
    (Pow, Sqrt) need the elementwise operators."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, d=32, heads=2, seq=8):
            super().__init__()
            self.h, self.s, self.d = heads, seq, d
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
            self.proj = nn.Linear(d, d)
            self.fc1, self.fc2 = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)

        def forward(self, x):
            h, s, dh = self.h, self.s, self.d // self.h
            y = self.n1(x)
            q, k, v = (f(y).reshape(-1, s, h, dh).transpose(1, 2) for f in (self.q, self.k,
                                                                          self.v))
            a = torch.softmax(q @ k.transpose(-2, -1) * dh ** -0.5, dim=-1)
            x = x + self.proj((a @ v).transpose(1, 2).reshape(-1, s, self.d))
            return x + self.fc2(torch.relu(self.fc1(self.n2(x))))

    torch.manual_seed(3)
    model = Block().eval()
    x = torch.from_numpy(u(c.rng("vit_block"), [4, 8, 32], -2, 2))
    import io
    buf = io.BytesIO()
    want = torch_want(model, x)
    torch.onnx.export(model, x, buf, opset_version=17, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    assert_close(np_run(m, {"x": x.numpy()})[0], want, "vit_block17: numpy executor vs torch")
    c.add("vit_block17", "fp32", list(m.graph.node), [("x", x.numpy())], inits, ["y"],
          opset=17)


def export_case(c, name, model, shape, op_type, opset=13, lo=-2, hi=2, want_dtype=None,
                outputs=("y",)):
    """model exported by torch with the batch dynamic (input x, the given
    outputs; x uniform in [lo, hi)), checked to hold an op_type node,
    written with torch's outputs as the expected ones (the integer ones as
    want_dtype when given)."""
    x = torch.from_numpy(u(c.rng(name), shape, lo, hi))
    buf = io.BytesIO()
    want = torch_want(model.eval(), x)
    wants = want if len(outputs) > 1 else [want]
    with torch.no_grad():
        torch.onnx.export(model, x, buf, opset_version=opset, input_names=["x"],
                          output_names=list(outputs),
                          dynamic_axes={"x": {0: "N"}, **{o: {0: "N"} for o in outputs}},
                          do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "dnnq-mkonnx (torch.onnx.export)"
    assert any(n.op_type == op_type for n in m.graph.node), f"{name}: no {op_type}"
    wants = [w if want_dtype is None or w.dtype.kind == "f" else w.astype(want_dtype)
             for w in wants]
    add_exported(c, name, m, x.numpy(), wants if len(outputs) > 1 else wants[0])


def expand_batch_cases(c):
    """A constant expanded to the batch (torchvision's ViT class token,
    `tok.expand(x.shape[0], -1, -1)`): Expand of the constant to a shape
    that folds to [batch, -1, -1] (Shape, Gather, Where), then concatenated
    with the input along the sequence; torch at opset 13, dynamic batch.
    Written as the folding cases are (the executors do not run Shape)."""
    nn = torch.nn

    class Tok(nn.Module):
        def __init__(self, d=16):
            super().__init__()
            self.tok = nn.Parameter(torch.randn(1, 1, d))

        def forward(self, x):
            return torch.cat([self.tok.expand(x.shape[0], -1, -1), x], 1)

    def export(name, model, shape):
        export_case(c, name, model, shape, "Expand")

    torch.manual_seed(5)
    export("expand_batch", Tok(), [3, 6, 16])

    class Map(nn.Module):
        """4-D: a constant map [1, 2, 3, 4] expanded to the batch and
        concatenated on the channels (the engine's NHWC layout)."""
        def __init__(self):
            super().__init__()
            self.tok = nn.Parameter(torch.randn(1, 2, 3, 4))

        def forward(self, x):
            return torch.cat([self.tok.expand(x.shape[0], -1, -1, -1), x], 1)

    torch.manual_seed(6)
    export("expand_batch_4d", Map(), [2, 3, 3, 4])

    class ExpandAs(nn.Module):
        """Expand of an activation: a pooled map expanded back over H and
        W (`expand_as`, a slice of step 0), and F.normalize (ReduceL2, its
        norm expanded to x's shape, Div)."""
        def forward(self, x):
            m = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
            return x * m + nn.functional.normalize(x, dim=1)

    export("expand_activation", ExpandAs(), [2, 3, 4, 5])

    class ExpandRank(nn.Module):
        """Expand of an activation to a higher rank: new leading axes, the
        batch moved to dim 1 (the import fixes it to 1), summed away."""
        def forward(self, x):
            return (x.expand(3, *x.shape) * torch.arange(1.0, 4.0).view(3, 1, 1, 1)).sum(0)

    export("expand_rank", ExpandRank(), [1, 5, 6])


def activation_param_cases(c):
    """The activations with parameters, as torch exports them: Elu, Selu,
    Celu (opset 12+), LeakyRelu, HardSigmoid and HardSwish after a Conv."""
    nn = torch.nn

    class Acts(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3, padding=1)
            self.acts = nn.ModuleList([nn.ELU(0.7), nn.SELU(), nn.CELU(1.3),
                                       nn.LeakyReLU(0.2), nn.Hardsigmoid(), nn.Hardswish()])

        def forward(self, x):
            y = self.conv(x)
            return torch.cat([a(y[:, i:i + 1]) for i, a in enumerate(self.acts)], 1)

    torch.manual_seed(7)
    export_case(c, "act_params", Acts(), [2, 3, 5, 6], "Celu", opset=13, lo=-3, hi=3)


def argmax_cases(c):
    """A segmentation head's label map: a Conv's class scores, argmax over
    the channels (torchvision's and segformer's `argmax(dim=1)`), int64 in
    ONNX, int32 in dnnq (the expected output is written as int32); and
    ArgMin over the last axis of a 3-D value, keepdim; ArgMax over H of a
    4-D value (ties of the Relu's zeros: the first index)."""
    nn = torch.nn

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 5, 3, padding=1)

        def forward(self, x):
            return self.conv(x).argmax(dim=1)

    class Near(nn.Module):
        def forward(self, x):
            return (x * x).argmin(dim=2, keepdim=True)

    class OverH(nn.Module):
        """over H of an NCHW value, the dim dropped: [N, C, W]"""
        def forward(self, x):
            return torch.relu(x).argmax(dim=2)

    torch.manual_seed(8)
    export_case(c, "argmax_seg", Seg(), [2, 3, 6, 7], "ArgMax", want_dtype=np.int32)
    export_case(c, "argmin_last", Near(), [2, 4, 9], "ArgMin", want_dtype=np.int32)
    export_case(c, "argmax_h", OverH(), [2, 3, 5, 6], "ArgMax", want_dtype=np.int32)


def topk_cases(c):
    """TopK's values and indices (int32 in dnnq: written as int32): a
    classifier's top-5 over its logits (torch.topk(5, dim=1)), and the 2
    smallest along H of a 4-D value (the engine's NHWC axis, s32 indices
    moved back to NCHW)."""
    nn = torch.nn

    class Top5(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 10)

        def forward(self, x):
            return torch.topk(self.fc(x), 5, dim=1)

    class LowH(nn.Module):
        def forward(self, x):
            return torch.topk(x * 3, 2, dim=2, largest=False)

    torch.manual_seed(9)
    export_case(c, "topk_head", Top5(), [2, 16], "TopK", want_dtype=np.int32,
                outputs=("values", "indices"))
    export_case(c, "topk_smallest_h", LowH(), [2, 3, 6, 5], "TopK", want_dtype=np.int32,
                outputs=("values", "indices"))


def gather_elements_cases(c):
    """torch.gather (ONNX GatherElements) by computed indices, int32 in
    dnnq: a head's top-3 classes read from a second head (topk indices,
    2-D); the 2 best channels of a 4-D map read from its tanh (along the
    channels: the engine's NHWC, indices of the same layout); each row's
    argmax column of a 4-D value (the last axis, keepdim); and by constant
    indices (batch 1: their dim 0 is not the batch, so the import fixes
    it)."""
    nn = torch.nn

    class TopHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(16, 10)
            self.b = nn.Linear(16, 10)

        def forward(self, x):
            idx = torch.topk(self.a(x), 3, dim=1).indices
            return torch.gather(self.b(x), 1, idx)

    class Channels(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 6, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            return torch.gather(torch.tanh(y), 1, torch.topk(y, 2, dim=1).indices)

    class LastAxis(nn.Module):
        def forward(self, x):
            return torch.gather(x * 2, 3, x.argmax(dim=3, keepdim=True))

    class Const(nn.Module):
        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(3)
            self.register_buffer("idx", torch.randint(0, 5, (1, 3, 4), generator=g))

        def forward(self, x):
            return torch.gather(x + 1, 2, self.idx)

    torch.manual_seed(10)
    export_case(c, "gather_el_topk", TopHead(), [2, 16], "GatherElements")
    export_case(c, "gather_el_channels", Channels(), [2, 3, 5, 6], "GatherElements")
    export_case(c, "gather_el_last", LastAxis(), [2, 3, 4, 5], "GatherElements")
    export_case(c, "gather_el_const", Const(), [1, 3, 5], "GatherElements")


def passthrough_cases(c):
    """Graph outputs that are graph inputs passed through, copied: tf2onnx's
    BERT-SQuAD hands its int64 `unique_ids` back through an Identity. The
    int64 ids as they are (the output named as the input), an int32 one by
    an Identity and the float input itself, beside a Relu of it. Then
    dup_outputs: values listed as outputs more than once."""
    r = c.rng("passthrough_ids")
    x = u(r, [2, 4], -1, 1)
    ids = r.integers(-(1 << 30), 1 << 30, size=[2, 3]).astype(np.int64)
    tok = r.integers(-1000, 1000, size=[2]).astype(np.int32)
    c.add("passthrough_ids", "fp32",
          [node("Relu", ["x"], ["y"]), node("Identity", ["tok"], ["tok_out"])],
          [("x", x), ("ids", ids), ("tok", tok)], {}, ["y", "x", "ids", "tok_out"])
    # one value among the outputs more than once, each its own copy: listed
    # twice (a computed one and the input), and two Identities of it
    r = c.rng("dup_outputs")
    c.add("dup_outputs", "fp32",
          [node("Relu", ["x"], ["y"]), node("Identity", ["y"], ["a"]),
           node("Identity", ["y"], ["b"])],
          [("x", u(r, [2, 4], -1, 1))], {}, ["y", "y", "a", "b", "x", "x"])


def empty_cases(c):
    """Computed values of no elements (torchaudio's Emformer with a right
    context and memory of 0: a Slice of its time-major input past the last
    frame, [0, N, D], clipped, scaled and concatenated with the frames):
    torch at opset 14, dynamic batch; the empty values fold away."""
    nn = torch.nn

    class EmptyContext(nn.Module):
        def forward(self, x):
            t = x.permute(1, 0, 2)                      # [T, N, D], as Emformer's
            right = t[t.shape[0]:]                      # [0, N, D]
            mem = (right.clamp(-1, 1) * 2)[:, :, :3]
            y = torch.cat([right, torch.relu(t)], 0)
            return torch.cat([y[:, :, :3] + 1, mem], 0).permute(1, 0, 2)

    export_case(c, "empty_context", EmptyContext(), [2, 6, 4], "Clip", opset=14)


def bicubic_cases(c):
    """torch's bicubic interpolation (F.interpolate mode bicubic: ONNX's
    Resize mode cubic, cubic_coeff_a -0.75): enlarging a convolution's
    output by 2 (pytorch_half_pixel) and shrinking one to 3 x 4 with
    align_corners; torch's outputs expected."""
    nn = torch.nn

    class Up(nn.Module):
        def __init__(self, size=None, align=False):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.size, self.align = size, align

        def forward(self, x):
            how = {"size": self.size} if self.size else {"scale_factor": 2.0}
            return F.interpolate(self.conv(x), mode="bicubic", align_corners=self.align, **how)

    torch.manual_seed(12)
    export_case(c, "resize_bicubic_up", Up(), [2, 3, 5, 6], "Resize", opset=13)
    export_case(c, "resize_bicubic_down", Up((3, 4), True), [2, 3, 5, 7], "Resize", opset=13)


def padding_mask_cases(c):
    """torchaudio's key padding mask from lengths (conformer's
    `_lengths_to_padding_mask`: `arange(T).expand(N, T) >= lengths[:, None]`
    on int64): every sample 2 frames short of T, the lengths made from the
    input's shape (`torch.full`, a ConstantOfShape of the batch: the import
    fixes the batch to 1, one sample here, and the masks fold, opset 14 as
    the zoo's export); the padded frames zeroed, and a LessOrEqual's mask
    filled with 1. Then the lengths as an input (padding_mask_input)."""
    nn = torch.nn

    class PadMask(nn.Module):
        def forward(self, x):
            n, t = x.shape[0], x.shape[1]
            lengths = torch.full((n,), t - 2, dtype=torch.int64)
            pos = torch.arange(t).expand(n, t)
            pad = pos >= lengths[:, None]
            early = pos <= lengths[:, None] - 3
            return x.masked_fill(pad[:, :, None], 0.0) - x.masked_fill(early[:, :, None], 1.0)

    export_case(c, "padding_mask_lengths", PadMask(), [1, 6, 4], "GreaterOrEqual", opset=14)

    class LengthsIn(nn.Module):
        """The lengths a second input (int64 [N]): the batch stays, the
        mask is computed at run time (floats holding the integers)."""
        def forward(self, x, lengths):
            n, t = x.shape[0], x.shape[1]
            pad = torch.arange(t).expand(n, t) >= lengths[:, None]
            return x.masked_fill(pad[:, :, None], 0.0) * 2

    name = "padding_mask_input"
    x = torch.from_numpy(u(c.rng(name), [3, 6, 4], -2, 2))
    lengths = torch.tensor([6, 4, 1])
    buf = io.BytesIO()
    torch.onnx.export(LengthsIn(), (x, lengths), buf, opset_version=14,
                      input_names=["x", "lengths"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "lengths": {0: "N"}, "y": {0: "N"}})
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "dnnq-mkonnx (torch.onnx.export)"
    assert any(n.op_type == "GreaterOrEqual" for n in m.graph.node), name
    onnx.checker.check_model(m, full_check=True)
    c.w.model(f"ops/{name}.onnx", m)
    c.w.npy(f"ops/{name}.in0.npy", x.numpy())
    c.w.npy(f"ops/{name}.in1.npy", lengths.numpy())
    with torch.no_grad():       # masked_fill and * 2: exact in float32
        c.w.npy(f"ops/{name}.out.npy", LengthsIn()(x, lengths).numpy())
    c.manifest.append(f"{name} fp32 2")


def scatter_np(data, idx, upd, axis, reduction):
    """ONNX ScatterElements on arrays, the updates applied in order (a
    duplicate index reduces; none: the last one wins, as ONNX Runtime)."""
    y = data.copy()
    for p in np.ndindex(*upd.shape):
        q = list(p)
        q[axis] = int(idx[p]) % data.shape[axis]
        q = tuple(q)
        v = upd[p]
        y[q] = {"none": v, "add": y[q] + v, "mul": y[q] * v,
                "max": max(y[q], v), "min": min(y[q], v)}[reduction]
    return y


def scatter_elements_cases(c):
    """torch's scatter and scatter_add (ONNX ScatterElements, reductions
    none and add at opsets 13 and 16) into computed data by computed
    indices and updates (and into constant data: scatter_el_zeros,
    scatternd_const_table): each row's top-4 columns get a tanh (distinct
    indices, 3-D); each column's count of positive channels (integer
    arithmetic: float indices), used as a column index, adds the channels'
    mean (duplicate indices, which add up; an argmax there had int8 pick
    other columns among close values, 27 dB); the 2 best channels of a 4-D value (the engine's NHWC axis). mul,
    max and min (opset 18, beyond torch 1.13's exporter) are built with
    onnx.helper on the argmax pattern, expected from scatter_np."""
    nn = torch.nn

    class Top(nn.Module):
        def forward(self, x):
            return (x * 2).scatter(2, torch.topk(x, 4, dim=2).indices, torch.tanh(x[..., :4]))

    class Add(nn.Module):
        def forward(self, x):
            return (x * 2).scatter_add(2, (x > 0).sum(1, keepdim=True), x.mean(1, keepdim=True))

    class Channels(nn.Module):
        def forward(self, x):
            return (x - 1).scatter(1, torch.topk(x, 2, dim=1).indices, torch.tanh(x[:, :2]))

    export_case(c, "scatter_el_top", Top(), [2, 3, 6], "ScatterElements")
    export_case(c, "scatter_el_add", Add(), [2, 4, 6], "ScatterElements", opset=16)
    export_case(c, "scatter_el_channels", Channels(), [2, 4, 3, 5], "ScatterElements")

    # constant data beside computed indices and updates: a top-k mask,
    # zeros_like(x) (its ConstantOfShape of the batch fixes the batch, then
    # folds) with each row's top 2 values scattered in; index_put's
    # ScatterND of computed rows into a constant table by constant indices
    class TopMask(nn.Module):
        def forward(self, x):
            t = torch.topk(x, 2, dim=2)
            return torch.zeros_like(x).scatter(2, t.indices, torch.tanh(t.values))

    class PutRows(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("table", torch.arange(20, dtype=torch.float32).view(5, 4) / 8)

        def forward(self, x):
            t = self.table.clone()
            t[torch.tensor([3, 0])] = torch.relu(x[0])
            return t.unsqueeze(0) + x.sum()

    export_case(c, "scatter_el_zeros", TopMask(), [2, 3, 6], "ScatterElements")
    export_case(c, "scatternd_const_table", PutRows(), [1, 2, 4], "ScatterND")
    for red in ("mul", "max", "min"):
        name = f"scatter_el_{red}"
        x = u(c.rng(name), [2, 4, 6], -2, 2)
        nodes = [
            node("Constant", [], ["two"], value=numpy_helper.from_array(np.float32(2), "two")),
            node("Mul", ["x", "two"], ["d"]),
            node("ArgMax", ["x"], ["i"], axis=1, keepdims=1),
            node("Slice", ["x", "s0", "s1", "s2"], ["t"]),
            node("Tanh", ["t"], ["upd"]),
            node("ScatterElements", ["d", "i", "upd"], ["y"], axis=2, reduction=red),
        ]
        inits = {"s0": np.array([0], np.int64), "s1": np.array([1], np.int64),
                 "s2": np.array([1], np.int64)}
        want = scatter_np(x * 2, x.argmax(1)[:, None, :], np.tanh(x[:, :1]), 2, red)
        m = build_model(nodes, [("x", x)], inits, [("y", want)], 18, name=name)
        add_exported(c, name, m, x, want, check=False)


def gathernd_np(data, idx, b):
    """ONNX GatherND (batch_dims b) on arrays."""
    k = idx.shape[-1]
    out = np.empty(idx.shape[:-1] + data.shape[b + k:], data.dtype)
    for p in np.ndindex(*idx.shape[:-1]):
        out[p] = data[p[:b] + tuple(int(v) for v in idx[p])]
    return out


def scatternd_np(data, idx, upd, reduction):
    """ONNX ScatterND on arrays, the tuples applied in order."""
    y = data.copy()
    for p in np.ndindex(*idx.shape[:-1]):
        q = tuple(int(v) for v in idx[p])
        y[q] = {"none": upd[p], "add": y[q] + upd[p], "mul": y[q] * upd[p]}[reduction]
    return y


def nd_cases(c):
    """GatherND and ScatterND by computed indices (built with onnx.helper,
    expected from gathernd_np and scatternd_np): each row's tanh at its
    argmax (batch_dims 2, tuples of one); the 2 channels of largest mean
    of a 4-D value by TopK (batch_dims 1: the output 4-D, both in the
    engine's NHWC; by their max, two channels a quantum apart swapped under
    int8, -0.4 dB); ScatterND (opset 16, add) of a [6, 6] product into the rows the
    argmax over 4 rows picks, tuples (0, row) made by integer arithmetic
    (Sub, Transpose, Concat: float indices; duplicates add up), which
    addresses dim 0 and so fixes the batch to 1. And OneHot on axis 1 of
    an argmax (values [-1, 3]: integers, computed in fp32), added to a
    tanh."""
    def case(name, shape, nodes, inits, want, opset):
        x = u(c.rng(name), shape, -2, 2)
        y = want(x)
        m = build_model(nodes, [("x", x)], inits, [("y", y)], opset, name=name)
        add_exported(c, name, m, x, y)

    case("gathernd_argmax", [2, 5, 4], [
        node("Tanh", ["x"], ["t"]),
        node("ArgMax", ["x"], ["i"], axis=2, keepdims=1),
        node("GatherND", ["t", "i"], ["y"], batch_dims=2),
    ], {}, lambda x: gathernd_np(np.tanh(x), x.argmax(2)[..., None], 2), 13)
    case("gathernd_channels", [2, 3, 4, 5], [
        node("Mul", ["x", "two"], ["d"]),
        node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0),
        node("TopK", ["m", "k"], ["v", "i"], axis=1),
        node("Unsqueeze", ["i", "ax"], ["i3"]),
        node("GatherND", ["d", "i3"], ["y"], batch_dims=1),
    ], {"two": np.float32(2), "k": np.array([2], np.int64), "ax": np.array([2], np.int64)},
        lambda x: gathernd_np(x * 2, np.argsort(-x.mean((2, 3)), 1, kind="stable")[:, :2, None],
                              1), 13)

    def rows(x):
        t = x.argmax(1)[:, None, :].transpose(0, 2, 1)
        return scatternd_np(x * 2, np.concatenate([t * 0, t], 2), x.transpose(0, 2, 1) @ x,
                            "add")

    case("scatternd_rows", [1, 4, 6], [
        node("Mul", ["x", "two"], ["d"]),
        node("ArgMax", ["x"], ["a"], axis=1, keepdims=1),
        node("Transpose", ["a"], ["t"], perm=[0, 2, 1]),
        node("Sub", ["t", "t"], ["z"]),
        node("Concat", ["z", "t"], ["i"], axis=2),
        node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        node("MatMul", ["xt", "x"], ["p"]),
        node("ScatterND", ["d", "i", "p"], ["y"], reduction="add"),
    ], {"two": np.float32(2)}, rows, 16)

    def onehot(x):
        h = np.where(np.arange(4)[None, :, None] == x.argmax(2)[:, None, :], 3, -1)
        return (h + np.tanh(x.transpose(0, 2, 1))).astype(np.float32)

    case("onehot_axis1", [2, 3, 4], [
        node("ArgMax", ["x"], ["i"], axis=2, keepdims=0),
        node("OneHot", ["i", "depth", "vals"], ["h"], axis=1),
        node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
        node("Tanh", ["xt"], ["t"]),
        node("Add", ["h", "t"], ["y"]),
    ], {"depth": np.array(4, np.int64), "vals": np.array([-1, 3], np.float32)}, onehot, 13)


def grid_sample_cases(c):
    """F.grid_sample (ONNX GridSample, opset 16; torch 1.13 cannot export
    F.affine_grid, so the STN builds its grid itself): a spatial
    transformer (a Linear's theta [N, 2, 3] near the identity, the grid
    theta @ [x, y, 1] of every output pixel, bilinear, zeros); a flow warp
    (a Conv's flow added to the pixel grid, border, align_corners); the
    same warp with a larger flow, bicubic, reflection (points outside the
    image); and nearest with a small flow (within 0.1 pixel of the centres:
    int8's grid, a step off, would flip a point near a half pixel to its
    neighbour; a flow of 0.3 gave 14.7 dB)."""
    nn = torch.nn
    F = torch.nn.functional

    def base(h, w):
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w),
                                indexing="ij")
        return xs, ys

    class STN(nn.Module):
        def __init__(self, h=6, w=7):
            super().__init__()
            self.loc = nn.Linear(3 * h * w, 6)
            with torch.no_grad():
                self.loc.weight.mul_(0.05)
                self.loc.bias.copy_(torch.tensor([1.0, 0.1, 0.05, -0.1, 0.9, 0.0]))
            xs, ys = base(h, w)
            self.register_buffer("pts", torch.stack([xs.flatten(), ys.flatten(),
                                                     torch.ones(h * w)]))  # [3, h*w]
            self.h, self.w = h, w

        def forward(self, x):
            theta = self.loc(x.flatten(1)).view(-1, 2, 3)
            grid = torch.matmul(theta, self.pts).transpose(1, 2)      # [N, h*w, 2]
            grid = grid.reshape(-1, self.h, self.w, 2)
            return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                 align_corners=False)

    class Warp(nn.Module):
        def __init__(self, h, w, scale, mode, pad, align):
            super().__init__()
            self.flow = nn.Conv2d(3, 2, 3, padding=1)
            xs, ys = base(h, w)
            self.register_buffer("pix", torch.stack([xs, ys])[None])  # [1, 2, h, w]
            self.scale, self.mode, self.pad, self.align = scale, mode, pad, align

        def forward(self, x):
            grid = (self.pix + self.scale * self.flow(x)).permute(0, 2, 3, 1)
            return F.grid_sample(x, grid, mode=self.mode, padding_mode=self.pad,
                                 align_corners=self.align)

    torch.manual_seed(11)
    export_case(c, "grid_stn", STN(), [2, 3, 6, 7], "GridSample", opset=16)
    export_case(c, "grid_flow_border", Warp(5, 6, 0.2, "bilinear", "border", True),
                [2, 3, 5, 6], "GridSample", opset=16)
    export_case(c, "grid_flow_bicubic_reflect", Warp(5, 6, 0.8, "bicubic", "reflection",
                                                     False), [2, 3, 5, 6], "GridSample",
                opset=16)
    export_case(c, "grid_flow_nearest", Warp(6, 5, 0.05, "nearest", "zeros", True),
                [2, 3, 6, 5], "GridSample", opset=16)


def tile_cases(c):
    """torch's repeat (ONNX Tile, constant repeats): a 4-D value repeated
    over its channels and W (Concats in the engine's NHWC), and 20 copies
    along the last axis of a 3-D value (a chain of two Concats)."""
    nn = torch.nn

    class Rep4(nn.Module):
        def forward(self, x):
            return x.repeat(1, 2, 1, 3) * 2

    class Rep20(nn.Module):
        def forward(self, x):
            return x.repeat(1, 1, 20) + 1

    export_case(c, "tile_4d", Rep4(), [2, 3, 4, 5], "Tile")
    export_case(c, "tile_many", Rep20(), [2, 2, 3], "Tile")


def rounding_logic_cases(c):
    """Ceil, Floor, Round (half to even) and Mod (torch.fmod: fmod 1) of
    an activation, fp32 in dnnq; ReduceMin (torch's amin) over H and W and
    over the channels of a 4-D value; And, Or and Xor of the comparisons'
    bools (torch's &, |, ^), as 0/1 floats."""
    nn = torch.nn

    class Rounding(nn.Module):
        def forward(self, x):
            return torch.ceil(x) + torch.floor(x * 2) * torch.round(x * 3) + torch.fmod(x * 3, 1.5)

    class Logic(nn.Module):
        def forward(self, x):
            a, b, k = x > 0, x < 1, x > -1
            return ((a & b) | (k ^ a)).float()

    class MinPool(nn.Module):
        def forward(self, x):
            return (x * 2).amin(dim=(2, 3), keepdim=True) + x.amin(dim=1, keepdim=True)

    export_case(c, "rounding", Rounding(), [2, 3, 4, 5], "Round", opset=13, lo=-3, hi=3)
    export_case(c, "reduce_min", MinPool(), [2, 3, 4, 5], "ReduceMin", opset=13)
    export_case(c, "logic", Logic(), [2, 3, 4, 5], "Xor", opset=13)


def shared_lift_cases(c):
    """A value of lower rank broadcast into two binary nodes of a graph whose
    batch is fixed to 1 (the permute moves it to dim 1): the import lifts
    the mean m [4] to [1, 1, 1, 4] once, both the Mul and the Add reading
    it (ONNX's test_greater_equal_bcast_expanded lifted it twice under one
    name). Batch 1, as a graph that moves its batch runs."""
    nn = torch.nn

    class Shared(nn.Module):
        def forward(self, x):
            t, m = x.permute(1, 0, 2), x.mean((0, 1))
            return (t * m - (t + m)).permute(1, 0, 2)

    export_case(c, "bcast_shared_fixed", Shared(), [1, 3, 4], "Mul", opset=13)

    class Sources(nn.Module):
        """Conv-TasNet's decoder: the batch and the sources merged on dim 0
        ([N * 2, 3, L], the batch fixed to 1), a Conv1d and a
        ConvTranspose1d over it: each runs with the 2 rows as its H
        (onnx/import-batch.c, rows)."""

        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(7)
            self.conv = nn.Conv1d(3, 3, 3, padding=1)
            self.dec = nn.ConvTranspose1d(3, 1, 4, stride=2, padding=1, bias=False)
            for p in self.parameters():
                p.data = torch.randn(p.shape, generator=g) * 0.5

        def forward(self, x):
            b = x.shape[0]
            return self.dec(self.conv(x.view(b * 2, 3, -1))).view(b, 2, -1)

    export_case(c, "convt1d_sources_fixed", Sources(), [1, 6, 8], "ConvTranspose", opset=13)


def rotary_cases(c):
    """A LLaMA-style decoder's rotary embedding (bench/llm-archs.py) at
    opset 14: cos and sin of the positions' angles, torch.arange(T) times
    the inverse frequencies (Sin, Cos of constants: folded), rotate_half by
    slices, Neg and Concat, scaled as torch 2 exports
    scaled_dot_product_attention's scale (sqrt(1 / sqrt(dh)): Reciprocal
    and Sqrt of the shape's dh, folded); then Sin and Cos of the activation
    over several turns (the engine's kinds)."""
    nn = torch.nn

    class Rotary(nn.Module):
        def forward(self, x):
            d = x.shape[-1]
            inv = 1.0 / (10000 ** (torch.arange(0, d, 2).float() / d))
            f = torch.arange(x.shape[-2]).float()[:, None] * inv[None, :]
            emb = torch.cat((f, f), -1)
            rot = torch.cat((-x[..., d // 2:], x[..., :d // 2]), -1)
            sc = torch.sqrt(torch.sqrt(torch.tensor(1.0 / x.size(-1))))
            return (x * emb.cos() + rot * emb.sin()) * sc + torch.sin(x * 3) * torch.cos(x)

    export_case(c, "rotary", Rotary(), [2, 3, 6, 8], "Sin", opset=14, lo=-4, hi=4)

# ------------------------------------------------------------ folding cases
# Graphs whose shape arithmetic dnnq folds at import (onnx/import-fold.c),
# as the exporters write them: torch with dynamic H and W (the samples'
# shape fixes them), and paddle2onnx's pattern built with onnx.helper. The
# expected outputs are torch's own (or NumPy's for the helper graph): the
# executors above do not run Shape and friends, which is the point.

def add_exported(c, name, model, x, want, check=True):
    """Writes a case whose model and expected output come from elsewhere
    (check: False for a model onnx's checker refuses but ONNX Runtime runs;
    want: a list for several outputs, out.npy, out1.npy, ...)."""
    if check:
        onnx.checker.check_model(model, full_check=True)
    c.w.model(f"ops/{name}.onnx", model)
    c.w.npy(f"ops/{name}.in0.npy", x)
    for k, w in enumerate(want if isinstance(want, list) else [want]):
        c.w.npy(f"ops/{name}.out{k or ''}.npy", w)
    c.manifest.append(f"{name} fp32 1")


def torch_case(c, name, module, x):
    """module exported with N, H and W dynamic (input x, output y)."""
    module.eval()
    buf = io.BytesIO()
    torch.onnx.export(module, torch.from_numpy(x), buf, opset_version=OPSET,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}, "y": {0: "N"}})
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "dnnq-mkonnx (torch.onnx.export)"
    want = torch_want(module, torch.from_numpy(x))
    ops = [n.op_type for n in m.graph.node]
    return m, want, ops


def fold_cases(c):
    nn = torch.nn
    r = c.rng("fold")
    x = u(r, (2, 3, 6, 6), -1, 1)

    class ViewHead(nn.Module):
        """Conv, Relu, x.view(x.size(0), -1), Linear: torch's Shape ->
        Gather -> Unsqueeze -> Concat -> Reshape."""
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 6 * 6, 5)

        def forward(self, t):
            t = torch.relu(self.conv(t))
            return self.fc(t.view(t.size(0), -1))

    torch.manual_seed(3)
    m, want, ops = torch_case(c, "fold_torch_view", ViewHead(), x)
    assert {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"} <= set(ops), ops
    add_exported(c, "fold_torch_view", m, x, want)

    # torch 1.13 exports AvgPool2d(padding=1) as Pad + AveragePool
    torch.manual_seed(4)
    pool = nn.Sequential(nn.AvgPool2d(3, 1, padding=1), nn.Conv2d(3, 4, 3, padding=1))
    m, want, ops = torch_case(c, "fold_pad_avgpool", pool, x)
    assert ["Pad", "AveragePool"] == [o for o in ops if o != "Constant"][:2], ops
    add_exported(c, "fold_pad_avgpool", m, x, want)

    # paddle2onnx's flatten: Shape -> Cast(int32) -> Slice -> Concat -> Cast(int64)
    W = nrm(r, (4 * 6 * 6, 5), 0.1)
    nodes = [node("Relu", ["x"], ["a"]),
             node("Shape", ["a"], ["s"]),
             node("Cast", ["s"], ["s32"], to=onnx.TensorProto.INT32),
             node("Slice", ["s32", "starts", "ends"], ["n"]),
             node("Concat", ["n", "minus1"], ["t32"], axis=0),
             node("Cast", ["t32"], ["t"], to=onnx.TensorProto.INT64),
             node("Reshape", ["a", "t"], ["flat"]),
             node("MatMul", ["flat", "W"], ["y"])]
    inits = {"starts": np.array([0], np.int64), "ends": np.array([1], np.int64),
             "minus1": np.array([-1], np.int32), "W": W}
    xp = u(r, (2, 4, 6, 6), -1, 1)
    want = f32(np.maximum(f64(xp), 0).reshape(2, -1) @ f64(W))
    m = build_model(nodes, [("x", xp)], inits, [("y", want)], OPSET, name="fold_paddle_flatten")
    add_exported(c, "fold_paddle_flatten", m, xp, want)


def fp16_cases(c):
    """An fp16 model as onnxconverter-common's float16 conversion writes it
    with keep_io_types (@imgly/background-removal's ISNet): float input, Cast
    to float16, float16 weights (raw_data) and a float16 Constant
    (int32_data), Cast back to float for the output; the input's Cast last
    in the node list, where the converter appends it (ONNX Runtime sorts
    the nodes, so the models it runs need not be in topological order)."""
    r = c.rng("fp16")
    x = u(r, (2, 3, 6, 6), -1, 1)
    W, B = nrm(r, (4, 3, 3, 3), 0.3).astype(np.float16), nrm(r, (4,), 0.1).astype(np.float16)
    k = np.array([0.5, -1.25, 2.0, 0.1], np.float16).reshape(1, 4, 1, 1)
    half = helper.make_tensor("k", onnx.TensorProto.FLOAT16, k.shape,
                              k.astype(np.float32).ravel().tolist())
    nodes = [node("Conv", ["xh", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             node("Relu", ["c"], ["r"]),
             node("Constant", [], ["k"], value=half),
             node("Mul", ["r", "k"], ["m"]),
             node("Cast", ["m"], ["y"], to=onnx.TensorProto.FLOAT),
             node("Cast", ["x"], ["xh"], to=onnx.TensorProto.FLOAT16)]
    assert not half.raw_data and len(half.int32_data) == 4
    conv = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(f64(W)),
                    torch.from_numpy(f64(B)), padding=1)
    want = f32(torch.relu(conv).numpy() * f64(k))
    m = build_model(nodes, [("x", x)], {"W": W, "B": B}, [("y", want)], OPSET, name="fp16_conv")
    add_exported(c, "fp16_conv", m, x, want, check=False)  # the checker wants the order
    # the same conversion without keep_io_types: float16 graph input and
    # output, served as float32 (x's values are halves, so ORT's run agrees)
    xh = x.astype(np.float16)
    nodes = [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]), node("Relu", ["c"], ["y"])]
    want = f32(torch.relu(F.conv2d(torch.from_numpy(f64(xh)), torch.from_numpy(f64(W)),
                                   torch.from_numpy(f64(B)), padding=1)).numpy())
    m = build_model(nodes, [("x", xh)], {"W": W, "B": B}, [("y", want.astype(np.float16))],
                    OPSET, name="fp16_io")
    add_exported(c, "fp16_io", m, f32(xh), want)


def fpn_cases(c):
    """Small FPN-like segmentation nets exported by torch (seeded random
    weights): two strided convolutions, an upsampling (ConvTranspose, or
    F.interpolate nearest, bilinear, bilinear with align_corners), a
    lateral 1x1, Concat, a 1x1 head and a final bilinear x2."""
    import io
    nn = torch.nn

    class FPN(nn.Module):
        def __init__(self, up):
            super().__init__()
            self.up = up
            self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.lat = nn.Conv2d(8, 8, 1)
            self.t = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.red = nn.Conv2d(16, 8, 1)
            self.head = nn.Conv2d(16, 4, 1)

        def forward(self, x):
            a = F.relu(self.c1(x))
            b = F.relu(self.c2(a))
            if self.up == "convt":
                up = self.t(b)
            else:
                mode = "nearest" if self.up == "nearest" else "bilinear"
                ac = {} if mode == "nearest" else {"align_corners": self.up == "bilinear_ac"}
                up = F.interpolate(self.red(b), scale_factor=2, mode=mode, **ac)
            y = self.head(torch.cat([self.lat(a), up], 1))
            return F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)

    for up in ("convt", "nearest", "bilinear", "bilinear_ac"):
        name = f"fpn_{up}"
        torch.manual_seed(zlib.crc32(name.encode()))
        model = FPN(up).eval()
        x = u(c.rng(name), [2, 3, 16, 16], -1, 1)
        buf = io.BytesIO()
        torch.onnx.export(model, torch.from_numpy(x[:1]), buf, opset_version=13,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, do_constant_folding=True)
        g = onnx.load_from_string(buf.getvalue()).graph
        inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        want = torch_want(model, torch.from_numpy(x))
        got = np_run(build_model(list(g.node), [("x", x)], inits, [("y", want)], 13),
                     {"x": x})[0]
        assert_close(got, want, f"{name}: numpy executor vs the torch module")
        c.add(name, "fp32", list(g.node), [("x", x)], inits, ["y"])


def stft_cases(c):
    """STFT and DFT (opset 17; torch 1.13 cannot export torch.stft), written by
    hand: a log-mel front end as speech models open with (x [N, 4000] of
    16 kHz audio, Unsqueeze to [N, T, 1], STFT by 32 with a periodic Hann
    window of 64, power, a [33, 16] filterbank, Log; a frame of 64 at most,
    so the Conv it becomes runs int8 too: a longer one, Whisper's 400, runs
    fp32 only, docs/onnx.md), and the two-sided STFT of a rectangular frame
    of 32 (frame_length, no window) as the output itself, [N, F, 32, 2];
    and DFT (torch.fft.rfft's pattern: x as [N, 125, 32], Unsqueeze, a
    onesided DFT along axis 2, [N, 125, 17, 2]). Expected outputs from
    NumPy's FFT in float64."""
    rng = c.rng("stft")
    t = np.arange(4000) / 16000.0
    x = np.stack([0.4 * np.sin(2 * np.pi * f * t) for f in (300, 1250)])
    x = (x + rng.normal(0, 0.05, x.shape)).astype(np.float32)
    win = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(64) / 64)).astype(np.float32)
    mel = u(rng, (33, 16), 0.0, 0.1)
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)

    def frames(sig, n, step):
        f = (sig.shape[1] - n) // step + 1
        return np.stack([sig[:, k * step:k * step + n] for k in range(f)], 1).astype(np.float64)

    def save(name, nodes, inits, out, want):
        f32 = onnx.TensorProto.FLOAT
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", f32, ["N", 4000])],
                              [helper.make_tensor_value_info("y", f32, ["N", *out])], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="dnnq-mkonnx")
        m.ir_version = 8
        # onnx 1.12's shape inference gives a onesided STFT L bins, not
        # L / 2 + 1 (ONNX Runtime and the spec: 33 of 64): no full check
        onnx.checker.check_model(m)
        add_exported(c, name, m, x, want.astype(np.float32), check=False)

    spec = np.fft.rfft(frames(x, 64, 32) * win, axis=-1)            # [N, 124, 33]
    want = np.log((np.abs(spec) ** 2) @ mel.astype(np.float64) + 1e-6)
    save("stft_logmel",
         [helper.make_node("Unsqueeze", ["x", "ax"], ["s"]),
          helper.make_node("STFT", ["s", "step", "win"], ["spec"]),
          helper.make_node("Pow", ["spec", "two"], ["sq"]),
          helper.make_node("ReduceSum", ["sq", "ax"], ["pw"], keepdims=0),
          helper.make_node("MatMul", ["pw", "mel"], ["m"]),
          helper.make_node("Add", ["m", "eps"], ["me"]),
          helper.make_node("Log", ["me"], ["y"])],
         [i64("ax", [-1]), i64("step", 32), numpy_helper.from_array(win, "win"),
          numpy_helper.from_array(np.float32(2), "two"), numpy_helper.from_array(mel, "mel"),
          numpy_helper.from_array(np.float32(1e-6), "eps")], [124, 16], want)
    spec = np.fft.rfft(x.reshape(2, 125, 32).astype(np.float64), axis=-1)  # [N, 125, 17]
    save("dft_rfft",
         [helper.make_node("Reshape", ["x", "shape"], ["r"]),
          helper.make_node("Unsqueeze", ["r", "ax"], ["s"]),
          helper.make_node("DFT", ["s"], ["y"], axis=2, onesided=1)],
         [i64("ax", [-1]), i64("shape", [0, 125, 32])], [125, 17, 2],
         np.stack([spec.real, spec.imag], -1))
    spec = np.fft.fft(frames(x, 32, 50), axis=-1)                    # [N, 80, 32]
    save("stft_twosided",
         [helper.make_node("Unsqueeze", ["x", "ax"], ["s"]),
          helper.make_node("STFT", ["s", "step", "", "len"], ["y"], onesided=0)],
         [i64("ax", [-1]), i64("step", 50), i64("len", 32)], [80, 32, 2],
         np.stack([spec.real, spec.imag], -1))


def make_ops(w):
    c = Cases(w)
    fp32_cases(c)
    vit_block_cases(c)
    expand_batch_cases(c)
    activation_param_cases(c)
    argmax_cases(c)
    topk_cases(c)
    gather_elements_cases(c)
    passthrough_cases(c)
    empty_cases(c)
    bicubic_cases(c)
    padding_mask_cases(c)
    scatter_elements_cases(c)
    nd_cases(c)
    grid_sample_cases(c)
    tile_cases(c)
    stft_cases(c)
    rounding_logic_cases(c)
    rotary_cases(c)
    shared_lift_cases(c)
    fpn_cases(c)
    int8_cases(c)
    fold_cases(c)
    fp16_cases(c)
    with open(w.path("ops/MANIFEST"), "w") as f:
        f.write("\n".join(c.manifest) + "\n")
    n8 = sum(1 for m in c.manifest if " int8 " in m)
    print(f"ops: {len(c.manifest)} cases ({len(c.manifest) - n8} fp32, {n8} int8), "
          "numpy and torch agree")


# --------------------------------------------------------------------- bad/

def make_bad(w):
    r = np.random.default_rng(7)
    x = np.zeros((1, 3, 4, 4), np.float32)
    W, B = nrm(r, (4, 3, 3, 3)), nrm(r, (4,), 0.1)
    y = np.zeros((1, 4, 1, 1), np.float32)

    nodes = [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             node("Relu", ["c"], ["r"]),
             helper.make_node("Einsum", ["r"], ["e"], name="bad_einsum", equation="...hw->...wh"),
             helper.make_node("RandomNormalLike", ["e"], ["f"], name="bad_random"),
             node("GlobalAveragePool", ["f"], ["y"])]
    m = build_model(nodes, [("x", x)], {"W": W, "B": B}, [("y", y)], OPSET, name="unsupported")
    onnx.checker.check_model(m, full_check=True)
    w.model("bad/unsupported.onnx", m)

    nodes = [node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             node("Relu", ["c"], ["y"])]
    m = build_model(nodes, [("x", x)], {"W": W, "B": B}, [("y", x)], OPSET, name="dynamic")
    m.graph.input[0].CopyFrom(helper.make_tensor_value_info("x", 1, ["N", 3, "H", "W"]))
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 1, ["N", 4, "H", "W"]))
    onnx.checker.check_model(m, full_check=True)
    w.model("bad/dynamic_shape.onnx", m)

    m = build_model([node("Conv", ["x", "W", "B"], ["y"], pads=[1, 1, 1, 1])],
                    [("x", x), ("W", W)], {"B": B}, [("y", np.zeros((1, 4, 4, 4), np.float32))],
                    OPSET, name="weight_input")
    m.graph.input[1].CopyFrom(helper.make_tensor_value_info("W", 1, [4, 3, 3, 3]))
    onnx.checker.check_model(m, full_check=True)
    w.model("bad/weight_input.onnx", m)

    valid = build_model([node("Conv", ["x", "W", "B"], ["y"], pads=[1, 1, 1, 1])],
                        [("x", x)], {"W": W, "B": B},
                        [("y", np.zeros((1, 4, 4, 4), np.float32))], OPSET, name="truncated")
    data = valid.SerializeToString()
    assert len(data) > 200
    w.bytes("bad/truncated.onnx", data[:100])
    w.bytes("bad/not_onnx.onnx", b"This is not an ONNX model: dnnq must say so, not crash.\n")

    # the QOperator format's direct operators of a uint8 tensor (onnx/import-ms.c)
    q = [numpy_helper.from_array(np.array(0.1, np.float32), "s"),
         numpy_helper.from_array(np.array(128, np.uint8), "z"),
         numpy_helper.from_array(np.array(0, np.int8), "z8"),
         numpy_helper.from_array(np.arange(4, dtype=np.int64), "keep")]
    xq = [helper.make_tensor_value_info("x", 1, ["N", 3, 4, 4])]
    u8 = [helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, ["N", 3, 4, 4])]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["g0"], name="q")]
    nodes += [helper.make_node("Gather", ["g%d" % i, "keep"], ["g%d" % (i + 1)],
                               name="g%d" % i, axis=3) for i in range(65)]
    nodes.append(helper.make_node("Transpose", ["g65"], ["y"], name="far", perm=[0, 1, 3, 2]))
    m = helper.make_model(helper.make_graph(nodes, "ms_far", xq, u8, q),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(m, full_check=True)
    w.model("bad/ms_far.onnx", m)

    # a Concat of a uint8 and an int8 tensor (ONNX's Concat takes one type)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s"], ["a"], name="qa"),
             helper.make_node("QuantizeLinear", ["x", "s", "z8"], ["b"], name="qb"),
             helper.make_node("Concat", ["a", "b"], ["y"], name="mixed", axis=1)]
    u8[0] = helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, ["N", 6, 4, 4])
    m = helper.make_model(helper.make_graph(nodes, "ms_mixed", xq, u8, q),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    w.model("bad/ms_mixed.onnx", m)
    print("bad: 7 models")


# --------------------------------------------------------------- precision/

SPREAD_CONVS = 12


def make_precision(w):
    """Models for dnnq-convert --precision auto (tests/test_convert.c).

    sensitive.onnx: Conv, Relu x3, GlobalAveragePool, Flatten, Gemm. The
    second Conv ("conv_c2") reads a channel the first one's Relu always
    zeroes (weights 0, bias -1), with weights of 1000 on it: the fp32
    outputs ignore them, but its int8 weights get a scale that rounds every
    other weight to a few levels, so that node alone ruins int8.
    bias_overflow.onnx: Gemm, Relu, Gemm; the second Gemm ("gemm_y") has
    weights around 1e-12 and a bias of 0.5: at its input's scale times its
    weights', the bias does not fit int32, so int8 cannot represent it.
    spread.onnx: SPREAD_CONVS depthwise 3x3 Convs (near identity) and a 1x1
    Conv that all but ignores channel 0, which the middle Conv scales by 30:
    from there on every per-tensor int8 value rounds the small channels the
    output reads to a few levels, a little in each unit, so no unit alone
    moves the output (PaddleOCR's detector in small: --sqnr-floor); the
    units before it are harmless.
    scales.onnx: two outputs of scales 1e4 apart: "big", one Conv of
    weights ~300, and "small", sensitive.onnx's first two Convs (the second,
    "conv_small", ruined int8 by its dead channel's outlier weights). Measured
    over both outputs pooled, the small one's noise vanished under the big
    one's power and conv_small stayed int8 (YOLOv8-seg's mask prototypes
    beside its boxes in pixels); each output at its own scale, it goes fp32.
    shared.onnx: three Convs ("conv_a", "conv_b", "conv_c") of the input
    reading one weight tensor, each its own output; conv_b's bias of 1e7 on
    channel 1 does not fit int32 at the input's scale times that channel's
    weight scale, so int8 requantizes the row the three share (coarser), and
    only while conv_b is int8: a trial with conv_b fp32 packs the original
    row (the engine's weights cache must tell the two apart).
    Each with calib_*.npy, 16 samples."""
    r = np.random.default_rng(16)
    x = nrm(r, (16, 3, 8, 8))
    W1, B1 = nrm(r, (8, 3, 3, 3)), nrm(r, (8,), 0.1)
    W1[7], B1[7] = 0, -1
    W2, B2 = nrm(r, (8, 8, 3, 3), 0.3), nrm(r, (8,), 0.1)
    W2[:, 7] = 1000
    W3, B3 = nrm(r, (8, 8, 3, 3), 0.3), nrm(r, (8,), 0.1)
    W4, B4 = nrm(r, (10, 8)), nrm(r, (10,), 0.1)
    nodes = [node("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
             node("Relu", ["c1"], ["r1"]),
             node("Conv", ["r1", "W2", "B2"], ["c2"], pads=[1, 1, 1, 1]),
             node("Relu", ["c2"], ["r2"]),
             node("Conv", ["r2", "W3", "B3"], ["c3"], pads=[1, 1, 1, 1]),
             node("Relu", ["c3"], ["r3"]),
             node("GlobalAveragePool", ["r3"], ["g"]),
             node("Flatten", ["g"], ["f"]),
             node("Gemm", ["f", "W4", "B4"], ["y"], transB=1)]
    inits = {"W1": W1, "B1": B1, "W2": W2, "B2": B2, "W3": W3, "B3": B3, "W4": W4, "B4": B4}
    m = build_model(nodes, [("x", x)], inits, [("y", np.zeros((16, 10), np.float32))], OPSET,
                    name="sensitive")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/sensitive.onnx", m)
    w.npy("precision/calib_sensitive.npy", x)

    x = nrm(r, (16, 16))
    W1, B1 = nrm(r, (16, 16)), nrm(r, (16,), 0.1)
    W2, B2 = nrm(r, (4, 16), 1e-12), np.full((4,), 0.5, np.float32)
    nodes = [node("Gemm", ["x", "W1", "B1"], ["h"], transB=1),
             node("Relu", ["h"], ["r"]),
             node("Gemm", ["r", "W2", "B2"], ["y"], transB=1)]
    m = build_model(nodes, [("x", x)], {"W1": W1, "B1": B1, "W2": W2, "B2": B2},
                    [("y", np.zeros((16, 4), np.float32))], OPSET, name="bias_overflow")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/bias_overflow.onnx", m)
    w.npy("precision/calib_bias_overflow.npy", x)

    # spread.onnx: the int8 noise of many units, none decisive alone
    x = nrm(r, (16, 8, 8, 8))
    nodes, inits, v = [], {}, "x"
    for k in range(SPREAD_CONVS):
        W = nrm(r, (8, 1, 3, 3), 0.05)
        W[:, 0, 1, 1] += 1
        if k == SPREAD_CONVS // 2:
            W[0, 0, 1, 1] = 30
        inits[f"W{k}"], inits[f"B{k}"] = W, nrm(r, (8,), 0.01)
        nodes.append(node("Conv", [v, f"W{k}", f"B{k}"], [f"d{k}"], pads=[1, 1, 1, 1],
                          group=8))
        v = f"d{k}"
    P = nrm(r, (4, 8, 1, 1))
    P[:, 0] *= 0.01
    inits["P"] = P
    nodes.append(node("Conv", [v, "P"], ["y"]))
    m = build_model(nodes, [("x", x)], inits, [("y", np.zeros((16, 4, 8, 8), np.float32))],
                    OPSET, name="spread")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/spread.onnx", m)
    w.npy("precision/calib_spread.npy", x)

    # scales.onnx: a small output beside a big one
    x = nrm(r, (16, 3, 8, 8))
    W1, B1 = nrm(r, (8, 3, 3, 3)), nrm(r, (8,), 0.1)
    W1[7], B1[7] = 0, -1
    W2, B2 = nrm(r, (4, 8, 3, 3), 0.3), nrm(r, (4,), 0.1)
    W2[:, 7] = 1000
    Wb = nrm(r, (4, 3, 3, 3), 300)
    nodes = [node("Conv", ["x", "Wb"], ["big"], pads=[1, 1, 1, 1]),
             node("Conv", ["x", "W1", "B1"], ["s1"], pads=[1, 1, 1, 1]),
             node("Relu", ["s1"], ["r1"]),
             node("Conv", ["r1", "W2", "B2"], ["small"], pads=[1, 1, 1, 1])]
    m = build_model(nodes, [("x", x)], {"W1": W1, "B1": B1, "W2": W2, "B2": B2, "Wb": Wb},
                    [("big", np.zeros((16, 4, 8, 8), np.float32)),
                     ("small", np.zeros((16, 4, 8, 8), np.float32))], OPSET, name="scales")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/scales.onnx", m)
    w.npy("precision/calib_scales.npy", x)

    # shared.onnx: three Convs, three units, one weight tensor
    r = np.random.default_rng(31)
    x = nrm(r, (16, 3, 8, 8), 1.0)
    W, Bb = nrm(r, (4, 3, 3, 3)), np.zeros((4,), np.float32)
    Bb[1] = 1e7
    nodes = [node("Conv", ["x", "W"], ["a"], pads=[1, 1, 1, 1]),
             node("Conv", ["x", "W", "Bb"], ["b"], pads=[1, 1, 1, 1]),
             node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1])]
    y = np.zeros((16, 4, 8, 8), np.float32)
    m = build_model(nodes, [("x", x)], {"W": W, "Bb": Bb}, [("a", y), ("b", y), ("c", y)],
                    OPSET, name="shared")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/shared.onnx", m)
    w.npy("precision/calib_shared.npy", x)

    # shared_q.onnx: the same three Convs (calib_shared.npy) reading one
    # DequantizeLinear of the model's own per-channel int8 weights, conv_b's
    # bias small enough to fit: each Conv converts its own copy of them
    Wq, ws = qweights_s8(W, axis=0)
    Bs = nrm(r, (4,), 0.1)
    nodes = [node("DequantizeLinear", ["Wq", "ws"], ["Wd"], axis=0),
             node("Conv", ["x", "Wd"], ["a"], pads=[1, 1, 1, 1]),
             node("Conv", ["x", "Wd", "Bs"], ["b"], pads=[1, 1, 1, 1]),
             node("Conv", ["x", "Wd"], ["c"], pads=[1, 1, 1, 1])]
    m = build_model(nodes, [("x", x)], {"Wq": Wq, "ws": ws, "Bs": Bs},
                    [("a", y), ("b", y), ("c", y)], OPSET, name="shared_q")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/shared_q.onnx", m)

    # stateful.onnx: an accumulator whose state the next step takes back
    # (sN feeds s: dnnq-convert's --state, detected by the names), and a
    # head. The increment x is below half a level of the state's int8
    # scale, so the int8 "acc" Add rounds s + x back to s: one step from
    # the recorded state loses nothing worth fp32, but closed loop the
    # state stops growing; the head's outlier weight costs it every step.
    T = 32
    x = r.uniform(0.01, 0.03, (T, 8)).astype(np.float32)
    s = np.zeros((T, 8), np.float32)
    s[0] = 20
    for t in range(1, T):
        s[t] = s[t - 1] + x[t - 1]
    Wy = nrm(r, (3, 8), 1.0)
    Wy[0, 0] = 12
    nodes = [helper.make_node("Add", ["s", "x"], ["sN"], name="acc"),
             helper.make_node("Gemm", ["sN", "Wy"], ["y"], name="head", transB=1)]
    m = build_model(nodes, [("x", x), ("s", s)], {"Wy": Wy},
                    [("y", np.zeros((T, 3), np.float32)), ("sN", s)], OPSET, name="stateful")
    onnx.checker.check_model(m, full_check=True)
    w.model("precision/stateful.onnx", m)
    w.npy("precision/calib_stateful/x.npy", x)
    w.npy("precision/calib_stateful/s.npy", s)
    print("precision: 7 models")


# ------------------------------------------------------------------ digits/

def train(model, xtr, ytr, epochs, lr, seed):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr.astype(np.int64))
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    model.eval()


def make_digits(w):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    nn = torch.nn

    d = load_digits()
    X = (d.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int32)
    xtr, xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    xtr, xte = np.ascontiguousarray(xtr), np.ascontiguousarray(xte)

    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(64, 10))
    torch.manual_seed(1)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    acc, pred = {}, {}
    for name, model, floor, epochs in (("cnn", cnn, 0.95, 30), ("mlp", mlp, 0.93, 30)):
        train(model, xtr, ytr, epochs, 1e-2, seed=2)
        with torch.no_grad():
            logits = model(torch.from_numpy(xte)).numpy()
        acc[name] = float(np.mean(logits.argmax(1) == yte))
        pred[name] = logits.argmax(1)
        assert acc[name] >= floor, f"{name}: test accuracy {acc[name]:.4f} < {floor}"
        buf = io.BytesIO()
        torch.onnx.export(model, torch.from_numpy(xte[:1]), buf, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          do_constant_folding=True)
        m = onnx.load_from_string(buf.getvalue())
        m.producer_name = "dnnq-mkonnx (torch.onnx.export)"
        onnx.checker.check_model(m, full_check=True)
        # The NumPy executor must reproduce torch on the exported graph.
        ref = np_run(m, {"input": xte})[0]
        assert_close(ref, logits, f"digits/{name}: numpy executor vs torch", rtol=1e-4)
        assert np.array_equal(ref.argmax(1), logits.argmax(1))
        w.model(f"digits/{name}.onnx", m)
        w.npy(f"digits/{name}_logits.npy", logits.astype(np.float32))
        ops = sorted({n.op_type for n in m.graph.node})
        print(f"digits/{name}.onnx: fp32 test top-1 {acc[name]:.4f} "
              f"({int(round(acc[name] * len(yte)))}/{len(yte)}), ops {' '.join(ops)}")
    w.npy("digits/test_x.npy", xte)
    w.npy("digits/test_y.npy", yte.astype(np.int32))
    w.npy("digits/calib_x.npy", np.ascontiguousarray(xtr[:128]))
    # make demo's image: the first test image both models get right
    demo = int(np.flatnonzero((pred["cnn"] == yte) & (pred["mlp"] == yte))[0])
    w.npy("digits/demo_x.npy", np.ascontiguousarray(xte[demo:demo + 1]))
    with open(w.path("digits/digits.json"), "w") as f:
        json.dump({"cnn": acc["cnn"], "mlp": acc["mlp"], "ntest": int(len(yte)),
                   "demo_index": demo, "demo_label": int(yte[demo])}, f, indent=1)
        f.write("\n")


# ------------------------------------------------------------------- models

def export_torch(w, stem, m, shape, dyn, calib, test):
    """m traced at 1 x shape with the dynamic axes dyn on the input (the
    output's dim 0 too) into STEM.onnx, with the calibration samples, the
    test input and torch's fp32 output on it; the model."""
    buf = io.BytesIO()
    torch.onnx.export(m, torch.randn(1, *shape), buf, opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": dyn, "output": {0: "N"}})
    model = onnx.load_from_string(buf.getvalue())
    model.producer_name = "dnnq-mkonnx (torch.onnx.export)"
    onnx.checker.check_model(model, full_check=True)
    want = torch_want(m, test)
    w.model(f"{stem}.onnx", model)
    w.npy(f"{stem}.calib.npy", calib.numpy())
    w.npy(f"{stem}.test.npy", test.numpy())
    w.npy(f"{stem}.out.npy", want.astype(np.float32))
    return model


def make_models(w):
    """Three small real-world architectures with dynamic H and W, seeded
    random weights (no downloads), BatchNorm statistics settled on data:
    mobilenet_v3_small (torchvision, width 0.5: HardSwish, squeeze-and-
    excitation), a ViT (2 layers, batch-first attention as Hugging Face's
    writes it: LayerNorm, attention MatMul, Softmax, GELU through Erf, a
    class token expanded to the batch) and a small segmentation
    net with an FPN neck (strided convs, ConvTranspose, nearest and bilinear
    Resize, Concat). Each gets its calibration samples and a test input, both
    of a size other than the one traced (so converting needs --input-shape
    or the samples' shape), and torch's fp32 output on the test input."""
    import torchvision
    from torchvision.models import mobilenetv3
    nn = torch.nn

    class Attention(nn.Module):
        # batch-first multi-head attention as Hugging Face's ViT and BERT
        # write it (torch's nn.MultiheadAttention moves the batch instead)
        def __init__(self, d, heads):
            super().__init__()
            self.h = heads
            self.q, self.k, self.v, self.proj = (nn.Linear(d, d) for _ in range(4))

        def forward(self, x):
            n, s, d = x.shape
            q, k, v = (f(x).reshape(n, s, self.h, d // self.h).permute(0, 2, 1, 3)
                       for f in (self.q, self.k, self.v))
            a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.h), dim=-1)
            return self.proj((a @ v).transpose(1, 2).reshape(n, s, d))

    class Block(nn.Module):
        def __init__(self, d, heads, mlp):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = Attention(d, heads)
            self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Linear(mlp, d))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class Vit(nn.Module):
        # patches by a strided conv, a class token, position embeddings,
        # pre-norm blocks, the class token's head
        def __init__(self, image=32, patch=8, d=32, heads=2, mlp=64, layers=2, classes=10):
            super().__init__()
            self.embed = nn.Conv2d(3, d, patch, patch)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, d) * 0.02)
            self.blocks = nn.Sequential(*[Block(d, heads, mlp) for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

        def forward(self, x):
            x = self.embed(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
            return self.head(self.ln(self.blocks(x))[:, 0])

    class Fpn(nn.Module):
        def __init__(self):
            super().__init__()
            cbr = lambda i, o, s: nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False),
                                                nn.BatchNorm2d(o), nn.ReLU())
            self.c1, self.c2, self.c3 = cbr(3, 16, 2), cbr(16, 24, 2), cbr(24, 32, 2)
            self.up3 = nn.ConvTranspose2d(32, 24, 2, stride=2)
            self.l2 = nn.Conv2d(24, 24, 1)
            self.l1 = nn.Conv2d(16, 24, 1)
            self.head = nn.Conv2d(48, 5, 1)

        def forward(self, x):
            f1 = self.c1(x)
            f2 = self.c2(f1)
            f3 = self.c3(f2)
            p2 = self.l2(f2) + self.up3(f3)
            p1 = self.l1(f1) + F.interpolate(p2, scale_factor=2.0, mode="nearest")
            p2u = F.interpolate(p2, size=p1.shape[-2:], mode="bilinear", align_corners=False)
            y = self.head(torch.cat([p1, p2u], 1))
            return F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=True)

    def settle(m, shape, seed):
        g = torch.Generator().manual_seed(seed)
        m.train()
        with torch.no_grad():
            for _ in range(8):
                m(torch.randn(*shape, generator=g))
        return m.eval()

    torch.manual_seed(0)
    mnv3 = mobilenetv3.MobileNetV3(*mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small",
                                                                   width_mult=0.5),
                                   num_classes=10)
    vit = Vit()
    # (traced at, calibrated and tested at): --input-shape fixes H and W
    specs = [("mobilenet_v3_small", mnv3, (3, 32, 32), (3, 48, 40)),
             ("vit_tiny", vit, (3, 32, 32), (3, 32, 32)),
             ("fpn_tiny", Fpn(), (3, 32, 32), (3, 32, 48))]
    for k, (name, m, shape, test_shape) in enumerate(specs):
        m = settle(m, (16, *test_shape), seed=k)
        g = torch.Generator().manual_seed(100 + k)
        calib = torch.randn(8, *test_shape, generator=g)
        test = torch.randn(2, *test_shape, generator=g)
        dyn = {0: "N"} if name == "vit_tiny" else {0: "N", 2: "H", 3: "W"}
        model = export_torch(w, f"models/{name}", m, shape, dyn, calib, test)
        ops = sorted({n.op_type for n in model.graph.node})
        print(f"models/{name}.onnx: {sum(p.numel() for p in m.parameters())} parameters, "
              f"ops {' '.join(ops)}")


def make_layout(w):
    """Graphs whose batch leaves dim 0 (dnnq fixes it to 1: onnx/import-batch.c)
    and a channels-last LayerNorm, small and seeded, each with calibration
    samples, a test input of batch 1 and the fp32 output (torch's or NumPy's):
      - mha_seq, mha_batch_first: a patch embedding, then a pre-norm block of
        torch's nn.MultiheadAttention (batch_first False: the model itself
        puts the batch on dim 1; True: torch 1.13 transposes inside), a GELU
        MLP, the mean over the sequence and a linear head;
      - convnext_block: a stem conv, one ConvNeXt block (depthwise 7x7,
        permute to NHWC, LayerNorm over C, Linear, GELU, Linear, layer
        scale, permute back, residual), global pooling, a linear head;
      - gemm_transa: Reshape [N, 6, 4] -> [6, 4] (a model traced at batch 1),
        Gemm with transA, Reshape back to [1, 4, 5];
      - batch_broadcast: x [N, 4] + C [3, 1, 4] (the batch broadcast onto
        dim 1), ReduceMean over axis 0."""
    nn = torch.nn

    class Mha(nn.Module):
        def __init__(self, batch_first):
            super().__init__()
            self.bf = batch_first
            self.embed = nn.Conv2d(3, 32, 4, 4)
            self.ln = nn.LayerNorm(32)
            self.attn = nn.MultiheadAttention(32, 4, batch_first=batch_first)
            self.mlp = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
            self.head = nn.Linear(32, 10)

        def forward(self, x):
            x = self.embed(x).flatten(2)                          # N, E, L
            x = x.permute(0, 2, 1) if self.bf else x.permute(2, 0, 1)
            h = self.ln(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            x = x + self.mlp(x)
            return self.head(x.mean(1 if self.bf else 0))

    class ConvNextBlock(nn.Module):
        def __init__(self, d=32):
            super().__init__()
            self.stem = nn.Conv2d(3, d, 2, 2)
            self.dw = nn.Conv2d(d, d, 7, padding=3, groups=d)
            self.ln = nn.LayerNorm(d, eps=1e-6)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.gamma = nn.Parameter(torch.rand(d) * 0.5 + 0.5)
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            x = self.stem(x)
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.gamma * self.fc2(F.gelu(self.fc1(self.ln(y))))
            x = x + y.permute(0, 3, 1, 2)
            return self.head(x.mean((2, 3)))

    torch.manual_seed(16)
    nets = [("mha_seq", Mha(False)), ("mha_batch_first", Mha(True)),
            ("convnext_block", ConvNextBlock())]
    for k, (name, m) in enumerate(nets):
        m = m.eval()
        g = torch.Generator().manual_seed(200 + k)
        calib = torch.randn(8, 3, 16, 16, generator=g)
        test = torch.randn(1, 3, 16, 16, generator=g)
        export_torch(w, f"layout/{name}", m, (3, 16, 16), {0: "N"}, calib, test)

    r = np.random.default_rng(16)
    B, C = nrm(r, (6, 5)), nrm(r, (5,), 0.1)
    x = u(r, (1, 6, 4), -1, 1)
    want = (f64(x[0]).T @ f64(B) + f64(C)).reshape(1, 4, 5)
    gemm = build_model(
        [node("Reshape", ["input", "s0"], ["a"]),
         node("Gemm", ["a", "B", "C"], ["g"], transA=1),
         node("Reshape", ["g", "s1"], ["output"])],
        [("input", x)], {"B": B, "C": C, "s0": np.array([6, 4], np.int64),
                         "s1": np.array([1, 4, 5], np.int64)},
        [("output", f32(want))], 13)
    K = nrm(r, (3, 1, 4), 0.5)
    xb = u(r, (1, 4), -1, 1)
    bcast = build_model(
        [node("Add", ["input", "K"], ["s"]),
         node("ReduceMean", ["s"], ["output"], axes=[0], keepdims=0)],
        [("input", xb)], {"K": K}, [("output", xb)], 13)
    for name, model, x, want in (("gemm_transa", gemm, x, want),
                                 ("batch_broadcast", bcast, xb, (f64(xb) + f64(K)).mean(0))):
        onnx.checker.check_model(model, full_check=True)
        w.model(f"layout/{name}.onnx", model)
        w.npy(f"layout/{name}.calib.npy",
              np.concatenate([x, u(r, (7,) + x.shape[1:], -1, 1)]))
        w.npy(f"layout/{name}.test.npy", x)
        w.npy(f"layout/{name}.out.npy", f32(want))


# --------------------------------------------------------------------- main

def make_unread(w):
    """Graph inputs no node reads (dnnq keeps them in the signature and
    ignores them, docs/onnx.md "Inputs no node reads"), each with a
    calibration directory holding x.npy only, test inputs and the output:
      - unread_input: x [N, 6] @ W; u [N, 4] is read by nothing;
      - unread_shape: x [N, 2, 3] reshaped to [-1, 6] where 6 is Shape(s)[1]
        (folded at import), @ W; s [N, 6] is read only for its shape."""
    r = np.random.default_rng(41)
    W = nrm(r, (6, 3), 0.5)
    xc, xt = u(r, (16, 6), -1, 1), u(r, (3, 6), -1, 1)
    for name, shaped in (("unread_input", False), ("unread_shape", True)):
        other = ("s", u(r, (3, 6), -1, 1)) if shaped else ("u", u(r, (3, 4), -1, 1))
        x = xt.reshape(3, 2, 3) if shaped else xt
        nodes = [node("MatMul", ["flat" if shaped else "x", "W"], ["y"])]
        inits = {"W": W}
        if shaped:
            nodes = [node("Shape", ["s"], ["shp"]),
                     node("Slice", ["shp", "one", "two"], ["d1"]),
                     node("Concat", ["minus1", "d1"], ["t"], axis=0),
                     node("Reshape", ["x", "t"], ["flat"])] + nodes
            inits.update({"one": np.array([1], np.int64), "two": np.array([2], np.int64),
                          "minus1": np.array([-1], np.int64)})
        want = f32(f64(xt) @ f64(W))
        m = build_model(nodes, [("x", x), other], inits, [("y", want)], OPSET, name=name)
        onnx.checker.check_model(m, full_check=True)
        w.model(f"unread/{name}.onnx", m)
        w.npy(f"unread/{name}.calib/x.npy", xc.reshape(16, 2, 3) if shaped else xc)
        w.npy(f"unread/{name}.x.npy", x)
        w.npy(f"unread/{name}.{other[0]}.npy", other[1])
        w.npy(f"unread/{name}.out.npy", want)
    print("unread: 2 models")


def main():
    ap = argparse.ArgumentParser(
        description="Generate the ONNX import fixtures (digits/, ops/, bad/, precision/, "
                    "layout/, unread/) "
                    "under DIR. "
                    "Run with /usr/bin/python3 (torch, onnx, sklearn, numpy).")
    ap.add_argument("--out", default="tests/onnx", metavar="DIR",
                    help="output directory (default: tests/onnx)")
    ap.add_argument("--only", choices=["digits", "ops", "bad", "models", "precision", "layout",
                                       "unread"],
                    action="append",
                    help="generate only this set (repeatable; default: all)")
    ap.add_argument("--list", action="store_true", help="print every file written")
    args = ap.parse_args()
    try:
        global np
        import numpy as np
        import onnx as _onnx
        import torch as _torch
        import sklearn  # noqa: F401 (digits/ needs it)
    except ImportError as e:
        sys.exit(f"mkonnx: {e}: run with /usr/bin/python3 (Debian's python3-torch, "
                 "python3-onnx, python3-sklearn, python3-numpy)")

    global onnx, helper, numpy_helper, torch, F
    from onnx import helper as _helper, numpy_helper as _nh
    import torch.nn.functional as _F
    onnx, helper, numpy_helper, torch, F = _onnx, _helper, _nh, _torch, _F
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)

    t0 = time.time()
    w = Writer(args.out)
    sets = args.only or ["digits", "ops", "bad", "models", "precision", "layout", "unread"]
    if "digits" in sets:
        make_digits(w)
    if "ops" in sets:
        make_ops(w)
    if "bad" in sets:
        make_bad(w)
    if "models" in sets:
        make_models(w)
    if "precision" in sets:
        make_precision(w)
    if "layout" in sets:
        make_layout(w)
    if "unread" in sets:
        make_unread(w)
    total = 0
    for rel in w.files:
        total += os.path.getsize(os.path.join(args.out, rel))
        if args.list:
            print(f"  {rel}")
    written = {os.path.normpath(rel) for rel in w.files}
    written |= {os.path.dirname(rel) for rel in written}    # calib directories
    for sub in sets:
        top = os.path.join(args.out, sub)
        for fn in sorted(os.listdir(top)):
            rel = os.path.normpath(os.path.join(sub, fn))
            if rel not in written:
                print(f"mkonnx: stale {os.path.join(args.out, rel)}: not written by this run; "
                      "remove it", file=sys.stderr)
    digest = hashlib.sha256()
    for rel in sorted(w.files):
        with open(os.path.join(args.out, rel), "rb") as f:
            digest.update(rel.encode() + b"\0" + f.read())
    print(f"wrote {len(w.files)} files, {total / 1024:.0f} KiB, under {args.out} "
          f"in {time.time() - t0:.1f} s (sha256 of all: {digest.hexdigest()[:16]})")


if __name__ == "__main__":
    sys.exit(main())
