#!/usr/bin/python3
"""bench/audio-zoo.py: speech and audio models users serve, torchaudio's
models, through the same sweep as bench/torchvision-zoo.py (docs/onnx.md,
"Speech and audio models (torchaudio)"): seeded random weights, no
download, BatchNorm settled, exported (batch symbolic), converted at both
precisions, compared with ONNX Runtime on unseen samples.

Inputs are 1 s of 16 kHz audio for the models that take a waveform
(wav2vec2, hubert, wav2letter, conv_tasnet); deepspeech, conformer and
emformer take features: 100 frames (10 ms hop) of 80 values. Samples are
seeded standard normal noise, as the other sweeps' are. conformer and
emformer also take the frames' lengths: the wrapper below gives every
sample the whole length (made in forward from the input's shape), as a
user's export for fixed-length chunks does.

Two more, written out here as their authors' code has them (torchaudio has
neither): ecapa_tdnn, SpeechBrain's ECAPA-TDNN speaker embedding (Conv1d,
BatchNorm1d, a Res2Net block of dilated Conv1d over torch.chunk, squeeze-
excitation, attentive statistics pooling whose std is x.var() clamped,
F.normalize) over 200 frames of 80 filterbank values; espnet_conformer,
ESPnet's Conformer block with its relative positional attention (the
legacy rel_shift: a zero column concatenated, views, a slice; the constant
position table by linear_pos's weight, pos_bias_u and _v), macaron FFN,
GLU, depthwise Conv1d, BatchNorm1d, Swish, over 100 frames of 80.

usage: /usr/bin/python3 bench/audio-zoo.py WORKDIR [MODEL...]
(NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries.)
"""
import importlib
import math
import os
import sys

import torch
import torchaudio
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
zoo = importlib.import_module("torchvision-zoo")

TA = torchaudio.models


class First(torch.nn.Module):
    """A model whose forward returns (output, lengths): its output alone."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)[0]


class FullLengths(First):
    """A model of forward(input [N, T, D], lengths [N]): every sample T long."""

    def forward(self, x):
        lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64)
        return self.m(x, lengths)[0]


class Ecapa(nn.Module):
    """SpeechBrain's ECAPA-TDNN, smaller (C 256, one SE-Res2Net block of
    scale 4): fbank [N, T, 80] less its mean over time, Conv1d + ReLU +
    BatchNorm1d, Res2Net (chunk, dilated Conv1d, each the sum of its chunk
    and the previous output), SE, attentive statistics pooling over the
    frames with the global mean and std as context, BatchNorm1d, Linear to
    192, F.normalize."""

    def __init__(self, C=256, n_mels=80, emb=192):
        super().__init__()
        self.c0, self.bn0 = nn.Conv1d(n_mels, C, 5, padding=2), nn.BatchNorm1d(C)
        self.res = nn.ModuleList([nn.Conv1d(C // 4, C // 4, 3, padding=2, dilation=2)
                                  for _ in range(3)])
        self.se1, self.se2 = nn.Conv1d(C, 128, 1), nn.Conv1d(128, C, 1)
        self.att = nn.Sequential(nn.Conv1d(C * 3, 128, 1), nn.Tanh(), nn.Conv1d(128, C, 1))
        self.bn, self.fc = nn.BatchNorm1d(2 * C), nn.Linear(2 * C, emb)

    def forward(self, feats):
        x = feats - feats.mean(1, keepdim=True)
        x = self.bn0(F.relu(self.c0(x.transpose(1, 2))))
        xs, y = torch.chunk(x, 4, 1), None
        ys = [xs[0]]
        for i in range(1, 4):
            y = F.relu(self.res[i - 1](xs[i] if y is None else xs[i] + y))
            ys.append(y)
        x = torch.cat(ys, 1)
        x = x * torch.sigmoid(self.se2(F.relu(self.se1(x.mean(2, keepdim=True)))))
        t = x.shape[-1]
        mu = x.mean(2, keepdim=True).repeat(1, 1, t)
        sd = torch.sqrt(x.var(2, keepdim=True).clamp(min=1e-4)).repeat(1, 1, t)
        a = torch.softmax(self.att(torch.cat([x, mu, sd], 1)), 2)
        m = torch.sum(a * x, 2)
        v = torch.sqrt((torch.sum(a * x * x, 2) - m * m).clamp(min=1e-4))
        return F.normalize(self.fc(self.bn(torch.cat([m, v], 1))), dim=1)


class RelAttention(nn.Module):
    """ESPnet's RelPositionMultiHeadedAttention (legacy rel_shift)."""

    def __init__(self, d, h):
        super().__init__()
        self.h, self.dk = h, d // h
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.pos = nn.Linear(d, d, bias=False)
        self.pu = nn.Parameter(torch.randn(h, self.dk) * 0.1)
        self.pv = nn.Parameter(torch.randn(h, self.dk) * 0.1)

    @staticmethod
    def rel_shift(x):
        b, h, t1, t2 = x.size()
        zp = torch.zeros((b, h, t1, 1), dtype=x.dtype)
        xp = torch.cat([zp, x], dim=-1).view(b, h, t2 + 1, t1)
        return xp[:, :, 1:].view_as(x)[:, :, :, : t2 // 2 + 1]

    def forward(self, x, pe):
        b, t, _ = x.shape
        q = self.q(x).view(b, t, self.h, self.dk)
        k = self.k(x).view(b, t, self.h, self.dk).transpose(1, 2)
        v = self.v(x).view(b, t, self.h, self.dk).transpose(1, 2)
        p = self.pos(pe).view(1, -1, self.h, self.dk).transpose(1, 2)
        ac = (q + self.pu).transpose(1, 2) @ k.transpose(-2, -1)
        bd = self.rel_shift((q + self.pv).transpose(1, 2) @ p.transpose(-2, -1))
        a = torch.softmax((ac + bd) / math.sqrt(self.dk), -1)
        return self.o((a @ v).transpose(1, 2).reshape(b, t, -1))


class EspnetConformer(nn.Module):
    """One ESPnet Conformer block (d 144, 4 heads, kernel 15) over a
    Linear of 80 features, then CTC log-probabilities of 30."""

    def __init__(self, d=144, t=100):
        super().__init__()
        self.inp, self.att = nn.Linear(80, d), RelAttention(d, 4)
        ff = lambda: nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(),
                                   nn.Linear(4 * d, d))
        self.ff1, self.ff2, self.ln1, self.ln2 = ff(), ff(), nn.LayerNorm(d), nn.LayerNorm(d)
        self.pw1, self.pw2 = nn.Conv1d(d, 2 * d, 1), nn.Conv1d(d, d, 1)
        self.dw, self.bn = nn.Conv1d(d, d, 15, padding=7, groups=d), nn.BatchNorm1d(d)
        self.lnf, self.out = nn.LayerNorm(d), nn.Linear(d, 30)
        pos = torch.arange(t - 1, -t, -1.0)[:, None]
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(2 * t - 1, d)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe[None])

    def forward(self, feats):
        x = self.inp(feats)
        x = x + 0.5 * self.ff1(x)
        x = x + self.att(self.ln1(x), self.pe)
        c = F.glu(self.pw1(self.ln2(x).transpose(1, 2)), dim=1)
        x = x + self.pw2(F.silu(self.bn(self.dw(c)))).transpose(1, 2)
        x = self.lnf(x + 0.5 * self.ff2(x))
        return self.out(x).log_softmax(-1)


def builder(make, wrap=None):
    return lambda weights=None, **kw: wrap(make(**kw)) if wrap else make(**kw)


WAVE, FEATS = (16000,), (100, 80)
# name: (builder, one sample's shape(s), opset, builder kwargs)
MODELS = {
    "wav2vec2_base": (builder(TA.wav2vec2_base, First), [WAVE], 14, {}),
    "hubert_base": (builder(TA.hubert_base, First), [WAVE], 14, {}),
    "wav2letter": (builder(TA.Wav2Letter), [(1, 16000)], 13, {"num_classes": 40}),
    "conv_tasnet_base": (builder(TA.conv_tasnet_base), [(1, 16000)], 13, {}),
    "deepspeech": (builder(TA.DeepSpeech), [(1, *FEATS)], 13, {"n_feature": 80, "n_hidden": 256}),
    "conformer": (builder(TA.Conformer, FullLengths), [FEATS], 14,
                  {"input_dim": 80, "num_heads": 4, "ffn_dim": 256, "num_layers": 4,
                   "depthwise_conv_kernel_size": 31}),
    "emformer": (builder(TA.Emformer, FullLengths), [(104, 80)], 14,
                 {"input_dim": 80, "num_heads": 4, "ffn_dim": 256, "num_layers": 4,
                  "segment_length": 25, "right_context_length": 4}),
    "ecapa_tdnn": (builder(Ecapa), [(200, 80)], 14, {}),
    "espnet_conformer": (builder(EspnetConformer), [FEATS], 14, {}),
}

if __name__ == "__main__":
    zoo.extra_main(MODELS, __doc__)
