#!/usr/bin/python3
"""bench/npm-models/detypify.py: dnnq against ONNX Runtime on the Typst
symbol classifier detypify-service@0.3.0 ships (train/model.onnx: a CNN over
a 224x224 drawing, 411 symbols; docs/onnx.md, "Pretrained models from npm
packages").

  /usr/bin/python3 bench/npm-models/detypify.py PKGDIR WORKDIR

PKGDIR holds the unpacked tarball (`npm pack detypify-service@0.3.0`,
`tar xzf`: PKGDIR/package/train/model.onnx); NODE_PATH and DNNQ_BIN as for
wakeword.py. Inputs are strokes drawn as the package's drawStrokes does
(dist/index.mjs): the strokes' bounding box scaled to 204 pixels and
centred on a black 224x224 canvas, white lines 8 pixels wide, the red
channel / 255 as [1, 1, 224, 224]. The strokes are hand-drawn-like
symbols (lines, plus, times, equals, arrows, angle brackets, circles,
triangles, squares, an integral's S, a sum's zigzag), each with random
jitter, size and aspect; 32 of them, 16 calibrate, 16 are the test.
Printed, fp32 (--keep-fp32 '*') and default: the SNR of the 411 scores
against ORT's, how many argmaxes agree and how many top-5 sets are equal.
"""
import os
import sys

import numpy as np

from npmbench import PRECISIONS, convert, run_each, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))


def arc(cx, cy, r, a0, a1, n=24):
    t = np.linspace(a0, a1, n)
    return list(zip(cx + r * np.cos(t), cy + r * np.sin(t)))


SHAPES = [
    lambda: [[(0, 0), (1, 0)]],                                   # minus
    lambda: [[(0, 0), (0, 1)]],                                   # bar
    lambda: [[(0, 1), (1, 0)]],                                   # slash
    lambda: [[(0, 0.5), (1, 0.5)], [(0.5, 0), (0.5, 1)]],         # plus
    lambda: [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],                 # times
    lambda: [[(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],         # equals
    lambda: [[(0, 0.5), (1, 0.5)], [(0.7, 0.3), (1, 0.5), (0.7, 0.7)]],   # arrow right
    lambda: [[(1, 0), (0, 0.5), (1, 1)]],                         # less than
    lambda: [[(0, 0), (1, 0.5), (0, 1)]],                         # greater than
    lambda: [arc(0.5, 0.5, 0.5, 0, 2 * np.pi)],                   # circle
    lambda: [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],               # triangle
    lambda: [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],           # square
    lambda: [[(0.8, 0.1), (0.6, 0), (0.5, 0.1), (0.5, 0.9), (0.4, 1), (0.2, 0.9)]],   # integral
    lambda: [[(1, 0), (0, 0), (0.5, 0.5), (0, 1), (1, 1)]],       # sum
    lambda: [arc(0.5, 0.5, 0.5, 0, 2 * np.pi), [(0.5, 0), (0.5, 1)]],   # phi-like
    lambda: [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.5), (0.75, 0.5)]],   # A
]


def render(strokes):
    from PIL import Image, ImageDraw
    pts = np.concatenate([np.array(s, float) for s in strokes])
    lo, hi = pts.min(0), pts.max(0)
    w = max(hi[0] - lo[0], hi[1] - lo[1])
    scale = 204 / w if w > 1e-6 else 1
    c = (lo + hi) / 2
    img = Image.new("RGB", (224, 224), "black")
    d = ImageDraw.Draw(img)
    for s in strokes:
        xy = [(round((x - c[0]) * scale + 112), round((y - c[1]) * scale + 112)) for x, y in s]
        d.line(xy, fill="white", width=8, joint="curve")
    return np.asarray(img)[..., 0] / 255


def sample(i, rng):
    strokes = SHAPES[i % len(SHAPES)]()
    sx, sy = rng.uniform(0.6, 1.4, 2)
    return render([[(x * sx + rng.normal(0, 0.02), y * sy + rng.normal(0, 0.02)) for x, y in s]
                   for s in strokes])


def main():
    pkg, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    a = np.array([sample(i, rng) for i in range(32)], np.float32)[:, None]
    np.save(f"{work}/calib.npy", a[:16])
    np.save(f"{work}/test.npy", a[16:])
    path = os.path.join(pkg, "package/train/model.onnx")
    sh("node", os.path.join(HERE, "ort-run.js"), path, f"{work}/ort", f"x={work}/test.npy")
    ref = np.load(f"{work}/ort/linear.npy")
    for prec, extra in PRECISIONS:
        if not convert(path, f"{work}/{prec}.dnnq", "--calib", f"{work}/calib.npy", *extra):
            continue
        o = run_each(f"{work}/{prec}.dnnq", "x", a[16:], work)["linear.npy"].reshape(ref.shape)
        top = lambda s: np.sort(np.argsort(-s, 1)[:, :5], 1)
        print(f"detypify {prec} linear {snr(ref, o):.2f} dB, argmax "
              f"{int((ref.argmax(1) == o.argmax(1)).sum())}/{len(ref)}, top-5 "
              f"{int((top(ref) == top(o)).all(1).sum())}/{len(ref)}", flush=True)


if __name__ == "__main__":
    main()
