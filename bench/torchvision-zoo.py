#!/usr/bin/python3
"""bench/torchvision-zoo.py: torchvision's model zoo through dnnq-convert
(docs/onnx.md, "Torchvision's model zoo"). Each model is built with seeded
random weights (no download), its BatchNorm statistics settled on a few
seeded batches, exported with torch.onnx.export at a small input, converted
as a user would (`dnnq-convert M.onnx --calib calib.npy`, and again with
`--keep-fp32 '*'`), run by dnnq-run and compared with ONNX Runtime fp32
(bench/npm-models/ort-run.js) on inputs calibration did not see.

usage: /usr/bin/python3 bench/torchvision-zoo.py WORKDIR [MODEL...]
(default: every model below). Files are kept in WORKDIR/MODEL/ and reused
when present; one row per model on stdout: the SNR of each output against
ORT, fp32 and default, and dnnq-run's median ms over the test batch (one
thread; only A/B runs on a quiet host compare), or the ops dnnq-convert
refused, counted.
NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries (build/bin).
"""
import functools
import json
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm-models"))
from npmbench import BIN, PRECISIONS, run_samples, sh, snr  # noqa: E402

TV = torchvision.models


class Raft(torch.nn.Module):
    """raft_small with fewer flow updates (the forward's argument): its last flow."""

    def __init__(self, weights=None, updates=4):
        super().__init__()
        self.m, self.updates = TV.optical_flow.raft_small(weights=weights), updates

    def forward(self, a, b):
        return self.m(a, b, num_flow_updates=self.updates)[-1]


class Headless(torch.nn.Module):
    """A detector's backbone and head without its pre- and post-processing
    (resize, anchors, NMS): the head's raw outputs, what a user exports to
    run the rest elsewhere."""

    def __init__(self, builder, weights=None, **kw):
        super().__init__()
        self.m = builder(weights=weights, **kw)

    def forward(self, x):
        out = self.m.head(list(self.m.backbone(x).values()))
        return tuple(out[k] for k in sorted(out))


C128, C224 = (3, 128, 128), (3, 224, 224)
# name: (builder, one sample's shape(s), opset, builder kwargs); a detector
# takes a list of [3, H, W] images: its ONNX input has no batch dim
MODELS = {
    "squeezenet1_0": (TV.squeezenet1_0, [C128], 13, {}),
    "squeezenet1_1": (TV.squeezenet1_1, [C128], 13, {}),
    "shufflenet_v2_x0_5": (TV.shufflenet_v2_x0_5, [C128], 13, {}),
    "shufflenet_v2_x1_0": (TV.shufflenet_v2_x1_0, [C128], 13, {}),
    "regnet_x_400mf": (TV.regnet_x_400mf, [C128], 13, {}),
    "regnet_y_400mf": (TV.regnet_y_400mf, [C128], 13, {}),
    "regnet_y_800mf": (TV.regnet_y_800mf, [C128], 13, {}),
    "mobilenet_v3_large": (TV.mobilenet_v3_large, [C128], 13, {}),
    "efficientnet_b1": (TV.efficientnet_b1, [C128], 13, {}),
    "efficientnet_b3": (TV.efficientnet_b3, [C128], 13, {}),
    "efficientnet_v2_s": (TV.efficientnet_v2_s, [C128], 13, {}),
    "inception_v3": (TV.inception_v3, [(3, 160, 160)], 13, {"init_weights": True, "aux_logits": False}),
    "resnext50_32x4d": (TV.resnext50_32x4d, [C128], 13, {}),
    "wide_resnet50_2": (TV.wide_resnet50_2, [C128], 13, {}),
    "resnet50": (TV.resnet50, [C128], 13, {}),
    "alexnet": (TV.alexnet, [C224], 13, {}),
    "vgg11_bn": (TV.vgg11_bn, [C224], 13, {}),
    "maxvit_t": (TV.maxvit_t, [C224], 16, {}),
    "swin_v2_t": (TV.swin_v2_t, [C224], 16, {}),
    "mvit_v2_s": (TV.video.mvit_v2_s, [(3, 16, 224, 224)], 16, {}),
    "fcn_resnet50": (TV.segmentation.fcn_resnet50, [C128], 13, {"weights_backbone": None}),
    "deeplabv3_resnet50": (TV.segmentation.deeplabv3_resnet50, [C128], 13, {"weights_backbone": None}),
    "r3d_18": (TV.video.r3d_18, [(3, 8, 64, 64)], 13, {}),
    "mc3_18": (TV.video.mc3_18, [(3, 8, 64, 64)], 13, {}),
    "r2plus1d_18": (TV.video.r2plus1d_18, [(3, 8, 64, 64)], 13, {}),
    "raft_small": (Raft, [C128, C128], 16, {}),
    "ssdlite320_mobilenet_v3_large": (TV.detection.ssdlite320_mobilenet_v3_large, [(3, 320, 320)], 13,
                                      {"weights_backbone": None}),
    "ssd300_vgg16": (TV.detection.ssd300_vgg16, [(3, 300, 300)], 13, {"weights_backbone": None}),
    "fasterrcnn_mobilenet_v3_large_320_fpn": (TV.detection.fasterrcnn_mobilenet_v3_large_320_fpn,
                                              [(3, 320, 320)], 13, {"weights_backbone": None}),
    "retinanet_resnet50_fpn": (TV.detection.retinanet_resnet50_fpn, [(3, 256, 256)], 13,
                               {"weights_backbone": None, "min_size": 256, "max_size": 256}),
    "fcos_resnet50_fpn": (TV.detection.fcos_resnet50_fpn, [(3, 256, 256)], 13,
                          {"weights_backbone": None, "min_size": 256, "max_size": 256}),
}
DETECTORS = ("ssd", "fasterrcnn", "retinanet", "fcos")
MODELS.update({
    f"{name}_head": (functools.partial(Headless, MODELS[name][0]), MODELS[name][1], 13,
                     {"weights_backbone": None})
    for name in ("ssdlite320_mobilenet_v3_large", "fcos_resnet50_fpn")})
N_CALIB, N_TEST, SETTLE_PASSES = 4, 2, 3


def detector(name):
    """A whole detector (a list of unbatched images in, post-processing)."""
    return name.startswith(DETECTORS) and not name.endswith("_head")


def samples(seed, n, shape):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


def inputs_of(name, arrays):
    """The model's call arguments for sample batch arrays."""
    ts = [torch.from_numpy(a) for a in arrays]
    if detector(name):
        return ([t for t in ts[0]],)
    return tuple(ts)


def build(name):
    builder, shapes, _, kw = MODELS[name]
    torch.manual_seed(0)
    m = builder(weights=None, **kw)
    bns = [x for x in m.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    if bns and not detector(name):
        # detectors freeze their BatchNorm (FrozenBatchNorm2d) or run it in
        # train mode only with targets: their defaults stay
        m.train()
        with torch.no_grad():
            for p in range(SETTLE_PASSES):
                m(*inputs_of(name, [samples(50 + p, 4, s) for s in shapes]))
    return m.eval()


def export(name, path):
    _, shapes, opset, _ = MODELS[name]
    m = build(name)
    args = inputs_of(name, [samples(1, 1, s) for s in shapes])
    names = [f"input{i}" for i in range(len(shapes))]
    det = detector(name)
    axes = {} if det else {n: {0: "N"} for n in names}
    torch.onnx.export(m, args, path, opset_version=opset, input_names=names,
                      dynamic_axes=axes or None)


def ort(model, outdir, feeds):
    node = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm-models", "ort-run.js")
    r = sh("node", node, model, outdir, *[f"{n}={p}" for n, p in feeds])
    return r.returncode == 0


def refusal(stderr):
    """dnnq-convert's problems, summarized: each op named, with a count."""
    ops = {}
    for line in stderr.splitlines():
        if "): " in line and "node '" in line:
            op = line.split("(", 1)[1].split(")", 1)[0]
            ops[op] = ops.get(op, 0) + 1
    if not ops:
        return stderr.strip().splitlines()[-1][-300:]
    return ", ".join(f"{op} x{n}" for op, n in sorted(ops.items()))


def outputs(outdir):
    return {f: np.load(f"{outdir}/{f}") for f in sorted(os.listdir(outdir)) if f.endswith(".npy")}


def dnnq_run(model, feeds, outdir, det, n):
    """dnnq-run over the n test samples (one at a time for a detector, whose
    input has no batch dim, and for a model whose graph moves its batch: the
    import fixed it to 1): the outputs, stacked."""
    if not det:
        r = sh(f"{BIN}/dnnq-run", model, *sum([["--input", f"{k}={p}"] for k, p in feeds], []),
               "--output-dir", outdir)
        if r.returncode == 0:
            return outputs(outdir)
        if "runs a batch of at most 1" not in r.stderr:
            return None
        return run_samples(model, {k: np.load(p) for k, p in feeds}, outdir)
    res = []
    for i in range(n):
        one = []
        for k, p in feeds:
            np.save(f"{outdir}.{k}.npy", np.load(p)[i])
            one += ["--input", f"{k}={outdir}.{k}.npy"]
        if sh(f"{BIN}/dnnq-run", model, *one, "--output-dir", f"{outdir}/{i}").returncode:
            return None
        res.append(outputs(f"{outdir}/{i}"))
    return {f: np.stack([r[f] for r in res]) for f in res[0]}


def latency(model, feeds, outdir):
    one = sum([["--input", f"{k}={p}"] for k, p in feeds], [])
    r = sh(f"{BIN}/dnnq-run", model, *one, "--repeat", "10", "--json", "--output-dir", outdir)
    return json.loads(r.stdout)["latency_ms"]["median"] if r.returncode == 0 else float("nan")


def sweep(work, name):
    d = f"{work}/{name}"
    os.makedirs(d, exist_ok=True)
    _, shapes, _, _ = MODELS[name]
    det = detector(name)
    onnx_path = f"{d}/{name}.onnx"
    t = time.time()
    if not os.path.exists(onnx_path):
        try:
            export(name, onnx_path)
        except Exception as e:  # the exporter's refusal is the row
            print(f"{name}: export failed: {str(e).splitlines()[0][:200]}", flush=True)
            return
    texp = time.time() - t
    names = [f"input{i}" for i in range(len(shapes))]
    # one input: calib.npy; several: a directory of INPUT.npy
    calib_arg = f"{d}/calib.npy" if len(names) == 1 else f"{d}/calib"
    if len(names) > 1:
        os.makedirs(calib_arg, exist_ok=True)
    test = []
    for i, (n, s) in enumerate(zip(names, shapes)):
        np.save(calib_arg if len(names) == 1 else f"{calib_arg}/{n}.npy",
                samples(10 + i, N_CALIB, s))
        np.save(f"{d}/test_{n}.npy", samples(20 + i, N_TEST, s))
        test.append((n, f"{d}/test_{n}.npy"))
    row = [name, f"export {texp:.0f} s"]
    ref = None
    for prec, args in PRECISIONS:
        out = f"{d}/{name}.{prec}.dnnq"
        t = time.time()
        if not os.path.exists(out):
            r = sh(f"{BIN}/dnnq-convert", onnx_path, "-o", out, "--calib", calib_arg, *args)
            if r.returncode:
                print(" | ".join(row + [f"{prec}: refused: {refusal(r.stderr)}"]), flush=True)
                return
        if ref is None:
            if not os.path.isdir(f"{d}/ort") and not ort(onnx_path, f"{d}/ort", test):
                print(f"{name}: ORT failed", flush=True)
                return
            ref = outputs(f"{d}/ort")
        tconv = time.time() - t
        got = dnnq_run(out, test, f"{d}/out-{prec}", det, N_TEST)
        if got is None:
            row.append(f"{prec}: run failed")
            continue
        snrs = []
        for f, r in ref.items():
            g = got.get(f)
            if g is None or g.shape != r.shape:
                snrs.append(f"{f}: shape {None if g is None else g.shape} vs {r.shape}")
            else:
                snrs.append(f"{snr(r.astype(np.float64), g.astype(np.float64)):.1f}")
        lat = latency(out, test, f"{d}/out-{prec}") if not det else float("nan")
        row.append(f"{prec}: {' / '.join(snrs)} dB, {lat:.2f} ms, convert {tconv:.0f} s")
    print(" | ".join(row), flush=True)


def main(work, names):
    for name in names or MODELS:
        sweep(work, name)


def extra_main(models, doc):
    """The main of a script sweeping models of its own (bench/user-archs.py,
    bench/audio-zoo.py): WORKDIR [MODEL...], by default every one of them."""
    if len(sys.argv) < 2:
        sys.exit(doc)
    MODELS.update(models)
    main(sys.argv[1], sys.argv[2:] or list(models))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
