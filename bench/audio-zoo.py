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

usage: /usr/bin/python3 bench/audio-zoo.py WORKDIR [MODEL...]
(NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries.)
"""
import importlib
import os
import sys

import torch
import torchaudio

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
}

if __name__ == "__main__":
    zoo.extra_main(MODELS, __doc__)
