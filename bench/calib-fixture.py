#!/usr/bin/python3
"""dnnq-bench calib's fixture: torchvision ResNet-18 (weights seeded at
random, no download) exported to ONNX (opset 13, 224x224, dynamic batch)
and 32 seeded calibration images, into DIR. Run with /usr/bin/python3
(torch, torchvision, onnx, numpy)."""
import sys

import numpy as np
import torch
import torchvision


def main(out):
    torch.manual_seed(0)
    m = torchvision.models.resnet18(weights=None).eval()
    torch.onnx.export(m, torch.randn(1, 3, 224, 224), f"{out}/resnet18.onnx", opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "n"}, "logits": {0: "n"}})
    x = np.random.default_rng(1).standard_normal((32, 3, 224, 224)).astype(np.float32)
    np.save(f"{out}/calib32.npy", x)


if __name__ == "__main__":
    main(sys.argv[1])
