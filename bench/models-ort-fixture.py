#!/usr/bin/python3
"""dnnq-bench models' fixture, into DIR: torchvision ResNet-18, MobileNetV2
and mobilenet_v3_small with seeded random weights (no download) and
BatchNorm statistics settled on data, exported to float ONNX (opset 13,
batch 1, 224x224) as NAME.onnx, and PyTorch's own int8 version of each
(FX graph mode static quantization, the fbgemm qconfig: per-channel s8
weights, u8 activations; calibrated on the same images) exported as a QDQ
model, NAME.qdq.onnx, which ONNX Runtime runs on its int8 kernels. Images,
all seeded standard normal [n, 3, 224, 224] float32: calib8.npy (dnnq-convert's
and PyTorch's calibration set) and input.npy (one held-out image: the input
every engine is timed and compared on). Run with /usr/bin/python3 (torch
1.13, torchvision, onnx, numpy).

The BatchNorm statistics are settled with a cumulative average
(momentum None) over a few train-mode passes on seeded images: with the
default initialisation (mean 0, variance 1) the activations grow layer by
layer, which no trained model does, and quantization would be judged on
ranges no real model has.
"""
import sys

import numpy as np
import torch
import torchvision
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

MODELS = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
}
SETTLE_PASSES, SETTLE_BATCH = 4, 8


def images(seed, n):
    return np.random.default_rng(seed).standard_normal((n, 3, 224, 224)).astype(np.float32)


def settle_batchnorm(m, seed):
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None
    m.train()
    with torch.no_grad():
        for p in range(SETTLE_PASSES):
            m(torch.from_numpy(images(seed + p, SETTLE_BATCH)))
    return m.eval()


def export(m, x, path):
    torch.onnx.export(m, x, path, opset_version=13, input_names=["input"],
                      output_names=["output"])


def quantize(m, calib):
    example = (torch.from_numpy(calib[:1]),)
    q = prepare_fx(m, get_default_qconfig_mapping("onednn"), example)
    with torch.no_grad():
        for i in range(len(calib)):
            q(torch.from_numpy(calib[i:i + 1]))
    return convert_fx(q)


def main(out, names):
    torch.backends.quantized.engine = "onednn"
    calib = images(1, 8)
    x = images(2, 1)
    np.save(f"{out}/calib8.npy", calib)
    np.save(f"{out}/input.npy", x)
    for i, name in enumerate(names):
        torch.manual_seed(i)
        m = settle_batchnorm(MODELS[name](weights=None), 100 * (i + 1))
        export(m, torch.from_numpy(x), f"{out}/{name}.onnx")
        q = quantize(m, calib)
        export(q, torch.from_numpy(x), f"{out}/{name}.qdq.onnx")
        print(f"models-ort-fixture: {name}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or list(MODELS))
