#!/usr/bin/python3
"""tools/mktorch.py: the fixtures of tests/onnx/torch, small models of common
architectures exported by torch.onnx.export (Debian's python3-torch, 1.13:
opsets 11 and 17, the TorchScript exporter a user of that torch runs), for
the convert suite's case torch_exports (tests/test_convert.c; docs/onnx.md,
"Architectures exported by torch 1.13").

Each case: NAME.onnx (seeded weights; batch norms settled by five forward
passes in training mode), NAME.calib.npy (4 samples), NAME.test.npy (2),
and (but for the refused) ONNX Runtime's outputs on the test samples (CPU provider, through
onnxruntime-node and tools/ort-npy.js): NAME.out.npy, NAME.out1.npy, ...
MANIFEST has one line per case, NAME KIND MIN_DB: KIND `calib` (converted
with --calib, the int8 output held to MIN_DB against ONNX Runtime's, the
.onnx through dnnq-run's reference executor to 100 dB) or `qdq` (a torch
FX quantized model, converted without samples: dnnq's output equals ONNX
Runtime's), `torchref` (as `calib`, for a model ONNX Runtime refuses: the
expected output is torch's) or `refused` (dnnq-convert and dnnq-run refuse
it naming the node and what it does not compute). A case with symbolic H and W (unet_gn) also has NAME.big.npy
and NAME.big.out.npy, another image size, for the .onnx (its .dnnq takes
the calibration size only).

Run from the repository root, with onnxruntime-node on NODE_PATH (make
bench-calib installs it):
    NODE_PATH=build/bench-calib/node_modules /usr/bin/python3 tools/mktorch.py
"""
import os
import subprocess
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import weight_norm

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "onnx", "torch")


class UNet(nn.Module):
    """ReflectionPad2d, GroupNorm (exported as InstanceNormalization of
    reshaped groups), SiLU, GELU, LeakyReLU, replicate padding, two
    ConvTranspose2d (one with output_padding), skip Concats, Sigmoid."""
    def __init__(s, c=8):
        super().__init__()
        s.e1 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(3, c, 3), nn.GroupNorm(2, c), nn.SiLU())
        s.e2 = nn.Sequential(nn.Conv2d(c, 2 * c, 3, 2, 1), nn.GroupNorm(2, 2 * c), nn.GELU())
        s.e3 = nn.Sequential(nn.Conv2d(2 * c, 4 * c, 3, 2, 1), nn.GroupNorm(2, 4 * c),
                             nn.LeakyReLU(0.1))
        s.u2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, 2)
        s.d2 = nn.Sequential(nn.Conv2d(4 * c, 2 * c, 3, padding=1, padding_mode="replicate"),
                             nn.GroupNorm(2, 2 * c), nn.ReLU())
        s.u1 = nn.ConvTranspose2d(2 * c, c, 3, 2, 1, output_padding=1)
        s.d1 = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, 1, 1))

    def forward(s, x):
        a = s.e1(x)
        b = s.e2(a)
        d = s.d2(torch.cat([s.u2(s.e3(b)), b], 1))
        return torch.sigmoid(s.d1(torch.cat([s.u1(d), a], 1)))


class TCN(nn.Module):
    """Conv1d, dilated causal convolutions (F.pad on the left), chunk and
    split gates (tanh * sigmoid), LayerNorm over the channels (two
    transposes), a symbolic length."""
    def __init__(s, c=16):
        super().__init__()
        s.inp = nn.Conv1d(4, 2 * c, 1)
        s.convs = nn.ModuleList([nn.Conv1d(c, 2 * c, 3, dilation=d) for d in (1, 2, 4)])
        s.ln = nn.LayerNorm(c)
        s.outp = nn.Conv1d(c, 5, 1)

    def forward(s, x):
        a, b = s.inp(x).chunk(2, 1)
        h = torch.tanh(a) * torch.sigmoid(b)
        for i, cv in enumerate(s.convs):
            y = cv(F.pad(h, (2 * 2 ** i, 0)))
            a, b = torch.split(y, [y.shape[1] // 2, y.shape[1] // 2], 1)
            h = h + torch.tanh(a) * torch.sigmoid(b)
        return s.outp(s.ln(h.transpose(1, 2)).transpose(1, 2))


class Vocoder(nn.Module):
    """HiFi-GAN's shape: weight_norm Conv1d and ConvTranspose1d (stride 4),
    dilated residual convolutions, LeakyReLU, reflect Pad of 1-D, Tanh."""
    def __init__(s):
        super().__init__()
        s.pre = weight_norm(nn.Conv1d(16, 32, 7, padding=3))
        s.up = weight_norm(nn.ConvTranspose1d(32, 16, 8, 4, padding=2))
        s.rb = nn.ModuleList([weight_norm(nn.Conv1d(16, 16, 3, dilation=d, padding=d))
                              for d in (1, 3)])
        s.post = nn.Conv1d(16, 1, 7)

    def forward(s, x):
        x = s.up(F.leaky_relu(s.pre(x), 0.1))
        for c in s.rb:
            x = x + c(F.leaky_relu(x, 0.1))
        return torch.tanh(s.post(F.pad(F.leaky_relu(x), (3, 3), mode="reflect")))


class ShuffleUnit(nn.Module):
    """ShuffleNetV2's unit: PReLU, MaxPool ceil_mode, channel split, channel
    shuffle (view, transpose, reshape), AvgPool count_include_pad False,
    LogSoftmax."""
    def __init__(s, c=24):
        super().__init__()
        h = c // 2
        s.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1), nn.BatchNorm2d(c), nn.PReLU(c))
        s.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        s.b = nn.Sequential(nn.Conv2d(h, h, 1), nn.BatchNorm2d(h), nn.ReLU(),
                            nn.Conv2d(h, h, 3, 1, 1, groups=h), nn.BatchNorm2d(h),
                            nn.Conv2d(h, h, 1), nn.ReLU())
        s.avg = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        s.fc = nn.Linear(c, 5)

    def forward(s, x):
        a, b = s.pool(s.stem(x)).chunk(2, 1)
        x = torch.cat([a, s.b(b)], 1)
        n, c, hh, ww = x.shape
        x = x.view(n, 2, c // 2, hh, ww).transpose(1, 2).reshape(n, c, hh, ww)
        return F.log_softmax(s.fc(s.avg(x).mean((2, 3))), -1)


class Mixer(nn.Module):
    """MLP-Mixer: a patch Conv, token mixing (Linear on the transposed
    tokens), LayerNorm, GELU, GLU."""
    def __init__(s, d=32, p=8, hw=32):
        super().__init__()
        t = (hw // p) ** 2
        s.patch = nn.Conv2d(3, d, p, p)
        s.n1 = nn.LayerNorm(d)
        s.tok = nn.Sequential(nn.Linear(t, 2 * t), nn.GELU(), nn.Linear(2 * t, t))
        s.n2 = nn.LayerNorm(d)
        s.ch = nn.Linear(d, 4 * d)
        s.ch2 = nn.Linear(2 * d, d)
        s.head = nn.Linear(d, 10)

    def forward(s, x):
        x = s.patch(x).flatten(2).transpose(1, 2)
        x = x + s.tok(s.n1(x).transpose(1, 2)).transpose(1, 2)
        x = x + s.ch2(F.glu(s.ch(s.n2(x)), -1))
        return s.head(x.mean(1))


class Attn(nn.Module):
    """Attention written by hand: 4-D MatMuls of [B, heads, T, d], Softmax,
    the heads split by reshape and transpose; exported at a static batch of
    2 (no dynamic_axes: the Reshapes' shapes hold the 2)."""
    def __init__(s, d=24, h=3):
        super().__init__()
        s.h = h
        s.qkv = nn.Linear(d, 3 * d)
        s.o = nn.Linear(d, d)
        s.ln = nn.LayerNorm(d)

    def forward(s, x):
        B, T, D = x.shape
        q, k, v = (t.reshape(B, T, s.h, D // s.h).transpose(1, 2)
                   for t in s.qkv(s.ln(x)).split(D, -1))
        a = torch.softmax(q @ k.transpose(-1, -2) / (D // s.h) ** 0.5, -1)
        return x + s.o((a @ v).transpose(1, 2).reshape(B, T, D))


class PadTransposed(nn.Module):
    """Asymmetric F.pad before an even kernel (padding='same' does not
    export), a grouped, dilated ConvTranspose2d with output_padding,
    pixel_unshuffle (SpaceToDepth), a bilinear Resize by 1.5."""
    def __init__(s):
        super().__init__()
        s.a = nn.Conv2d(3, 8, 4)
        s.t = nn.ConvTranspose2d(8, 8, 3, 2, 1, output_padding=1, groups=4, dilation=2)
        s.b = nn.Conv2d(32, 4, 1)

    def forward(s, x):
        y = s.t(F.relu(s.a(F.pad(x, (1, 2, 1, 2)))))
        return F.interpolate(s.b(F.pixel_unshuffle(y, 2)), scale_factor=1.5, mode="bilinear",
                             align_corners=False)


class Small(nn.Module):
    """The CNN torch's FX quantization (qnnpack) turns into QDQ."""
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(3, 16, 3, 1, 1)
        s.b1 = nn.BatchNorm2d(16)
        s.c2 = nn.Conv2d(16, 32, 3, 2, 1)
        s.pool = nn.AdaptiveAvgPool2d(1)
        s.fc = nn.Linear(32, 10)

    def forward(s, x):
        x = torch.relu(s.c2(torch.relu(s.b1(s.c1(x)))))
        return s.fc(torch.flatten(s.pool(x), 1))


class PlainNorm(nn.Module):
    """nn.LayerNorm(elementwise_affine=False): at opset 17 torch 1.13 writes
    LayerNormalization with an empty Scale, which ONNX's checker and ONNX
    Runtime refuse; the expected output is torch's."""
    def __init__(s):
        super().__init__()
        s.a = nn.Linear(8, 16)
        s.n = nn.LayerNorm(16, elementwise_affine=False)
        s.b = nn.Linear(16, 4)

    def forward(s, x):
        return s.b(F.gelu(s.n(s.a(x))))


class ConstLeft(nn.Module):
    """MLP-Mixer's token mixing written W @ x: a learned [T, T] matrix
    times the activation [N, T, C] (left of the MatMul), its bias, a GELU,
    the second matrix, the residual."""
    def __init__(s):
        super().__init__()
        s.w1 = nn.Parameter(torch.randn(6, 6) * 0.4)
        s.b1 = nn.Parameter(torch.randn(6, 1) * 0.1)
        s.w2 = nn.Parameter(torch.randn(6, 6) * 0.4)

    def forward(s, x):
        return x + s.w2 @ F.gelu(s.w1 @ x + s.b1)


class CumSumMid(nn.Module):
    """A cumulative sum along the middle axis of [N, T, D] (a running sum
    over time), then a Linear."""
    def __init__(s):
        super().__init__()
        s.fc = nn.Linear(8, 8)

    def forward(s, x):
        return s.fc(torch.cumsum(x, 1))


class ConstLeft4d(nn.Module):
    """A constant [H, H] times [N, C, H, W] (a fixed mixing along H, as a
    graph's adjacency over nodes), and a batch of matrices [C, H, H] times
    the same value: the product's batch dims broadcast."""
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv2d(3, 4, 1)
        s.a = nn.Parameter(torch.randn(5, 5) * 0.4)
        s.b = nn.Parameter(torch.randn(4, 5, 5) * 0.4)

    def forward(s, x):
        y = torch.relu(s.conv(x))
        return s.a @ y + s.b @ y


class CumSum4d(nn.Module):
    """Cumulative sums of [N, C, H, W] along C, along H (axis -2, negative)
    and along W, added: an integral image's two passes and one more."""
    def __init__(s):
        super().__init__()
        s.conv = nn.Conv2d(3, 4, 1)

    def forward(s, x):
        y = s.conv(x)
        return torch.cumsum(y, 1) + torch.cumsum(torch.cumsum(y, -2), 3) * 0.1


class PoolIndices(nn.Module):
    """MaxPool2d(return_indices=True), values and indices summed (SegNet
    keeps them for its MaxUnpool, which torch 1.13 does not export): the
    export subtracts a kernel-1 MaxPool's indices sliced at [0, 0] (the
    plane's offset) from ONNX's flattened ones."""
    def forward(s, x):
        y, i = F.max_pool2d(x, 2, return_indices=True)
        return y + i.float()


class PoolIndices1d(nn.Module):
    """max_pool1d(return_indices=True) of a Conv1d's [N, C, L], stride 2
    and padding 1, the indices scaled and added to the values."""
    def __init__(s):
        super().__init__()
        s.c = nn.Conv1d(4, 6, 3, padding=1)

    def forward(s, x):
        y, i = F.max_pool1d(s.c(x), 3, 2, 1, return_indices=True)
        return y + i.float() * 0.1


class MhaPadMask(nn.Module):
    """nn.MultiheadAttention with a key_padding_mask computed from x (the
    keys whose first feature is above 0.8 masked): torch turns the mask
    into -inf by a Where and adds it to the scores, through a Mul and an
    Add to the Softmax."""
    def __init__(s):
        super().__init__()
        s.m = nn.MultiheadAttention(16, 4, batch_first=True)

    def forward(s, x):
        return s.m(x, x, x, key_padding_mask=x[..., 0] > 0.8)[0]


class PoolIndices3d(nn.Module):
    """max_pool3d(return_indices=True): dnnq does not compute a 3-D
    MaxPool's Indices, so the node reading them is refused naming the
    MaxPool."""
    def forward(s, x):
        y, i = F.max_pool3d(x, 2, return_indices=True)
        return y + i.float()


class IndexFill(nn.Module):
    """x.index_fill(1, idx, 0) of [N, T, D] (dropping some tokens' rows),
    then a Linear: torch exports index arithmetic on x's shape (a
    ScatterElements of Shape(x)) before the ScatterElements into x."""
    def __init__(s):
        super().__init__()
        s.fc = nn.Linear(8, 8)

    def forward(s, x):
        return s.fc(x.index_fill(1, torch.tensor([1, 3]), 0.0))


def ort(model, prefix, x):
    subprocess.run(["node", os.path.join(ROOT, "tools", "ort-npy.js"), model, prefix, x],
                   check=True)


def settle(m, x):
    m.train()
    with torch.no_grad():
        for _ in range(5):
            m(x)
    m.eval()


def fx_quantized(m, calib):
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "qnnpack"
    p = prepare_fx(m, get_default_qconfig_mapping("qnnpack"), (torch.from_numpy(calib[:1]),))
    with torch.no_grad():
        p(torch.from_numpy(calib))
    return convert_fx(p)


# name, module, sample shape, dynamic axes of x, opset, kind, min dB, static
CASES = [
    ("unet_gn", UNet, (3, 32, 32), {0: "n", 2: "h", 3: "w"}, 11, "calib", 45),
    ("tcn", TCN, (4, 50), {0: "n", 2: "t"}, 17, "calib", 27),
    ("vocoder", Vocoder, (16, 40), {0: "n", 2: "t"}, 11, "calib", 26),
    ("shufflenet_unit", ShuffleUnit, (3, 33, 33), {0: "n"}, 17, "calib", 50),
    ("mixer", Mixer, (3, 32, 32), {0: "n"}, 17, "calib", 30),
    ("attn_static2", Attn, (7, 24), None, 17, "calib", 45),
    ("pad_transposed", PadTransposed, (3, 16, 16), {0: "n"}, 11, "calib", 40),
    ("fx_qdq", Small, (3, 16, 16), {0: "n"}, 13, "qdq", 0),
    ("plain_layernorm", PlainNorm, (6, 8), {0: "n"}, 17, "torchref", 35),
    ("const_left_matmul", ConstLeft, (6, 8), {0: "n"}, 17, "calib", 35),
    ("cumsum_mid", CumSumMid, (6, 8), {0: "n"}, 17, "calib", 35),
    ("const_left_4d", ConstLeft4d, (3, 5, 6), {0: "n"}, 11, "calib", 35),
    ("cumsum_4d", CumSum4d, (3, 5, 6), {0: "n"}, 11, "calib", 35),
    ("maxpool_indices", PoolIndices, (3, 8, 8), {0: "n"}, 17, "calib", 40),
    ("index_fill", IndexFill, (6, 8), {0: "n"}, 17, "calib", 35),
    ("maxpool1d_indices", PoolIndices1d, (4, 12), {0: "n"}, 11, "calib", 40),
    ("maxpool3d_indices", PoolIndices3d, (2, 4, 4, 4), {0: "n"}, 17, "refused", 0),
    ("mha_pad_mask", MhaPadMask, (7, 16), {0: "n"}, 13, "calib", 18),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for i, (name, cls, shape, dyn, opset, kind, min_db) in enumerate(CASES):
        torch.manual_seed(10 + i)
        rng = np.random.default_rng(10 + i)
        m = cls()
        calib = rng.standard_normal((4,) + shape).astype(np.float32)
        settle(m, torch.from_numpy(calib))
        if kind == "qdq":
            m = fx_quantized(m, calib)
        test = (calib[:2] * 0.9 + 0.05).astype(np.float32)
        p = os.path.join(OUT, name)
        np.save(p + ".calib.npy", calib)
        np.save(p + ".test.npy", test)
        axes = {"x": dyn, "y": {0: "n"}} if dyn else None
        try:
            torch.onnx.export(m, torch.from_numpy(test), p + ".onnx", opset_version=opset,
                              input_names=["x"], output_names=["y"], dynamic_axes=axes)
        except torch.onnx.CheckerError:
            if kind != "torchref":   # written, then refused by the checker
                raise
        if kind == "torchref":
            with torch.no_grad():
                np.save(p + ".out.npy", m(torch.from_numpy(test)).numpy())
        elif kind != "refused":
            ort(p + ".onnx", p, p + ".test.npy")
        if 2 in (dyn or {}) and 3 in dyn:
            np.save(p + ".big.npy", rng.standard_normal((1, 3, 48, 40)).astype(np.float32))
            ort(p + ".onnx", p + ".big", p + ".big.npy")
        manifest.append(f"{name} {kind} {min_db}")
    with open(os.path.join(OUT, "MANIFEST"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
