#!/usr/bin/python3
"""bench/npm-models/serve.py: dnnqd against dnnq-run on a model the other
npm-models scripts converted (docs/onnx.md, "Pretrained models from npm
packages"): what a user serving it gets.

  /usr/bin/python3 bench/npm-models/serve.py WORKDIR MODEL.dnnq NAME=X.npy...

NAME=X.npy: each input of the model and the samples (dim 0) to run, e.g. a
script's test.npy; DNNQ_BIN as for wakeword.py. dnnq-run runs each sample
alone (npmbench.run_samples); one dnnqd (WORKDIR/dnnqd.sock) serves MODEL,
and `dnnqctl infer` runs each sample alone, then every sample in one call
(dnnqctl splits a batch larger than the model takes, and dnnqd's workers
batch what fits). Printed per output: byte-identical to dnnq-run's or not,
else the largest difference and the SNR against dnnq-run's.
"""
import os
import re
import sys

import numpy as np

from npmbench import BIN, run_samples, serve, sh, snr


def infer(sock, inputs, work, out):
    """dnnqctl infer of the arrays inputs {name: array} in one call: {file: array}."""
    args = []
    for k, (name, a) in enumerate(inputs.items()):
        np.save(f"{work}/served{k}.npy", a)
        args += ["--input", f"{name}={work}/served{k}.npy"]
    # minutes, not dnnqctl's 10 s: a batch of big images on a loaded host
    if sh(f"{BIN}/dnnqctl", "--socket", sock, "infer", "m", *args, "--timeout", "600000",
          "--output-dir", out).returncode:
        sys.exit("dnnqctl infer failed")
    return {f: np.load(f"{out}/{f}") for f in os.listdir(out)}


def compare(what, ref, got):
    for f in sorted(ref):
        g = got.get(f)
        if g is None or g.shape != ref[f].shape:
            print(f"{what} {f[:-4]}: shape {None if g is None else g.shape}, "
                  f"dnnq-run {ref[f].shape}", flush=True)
        elif g.tobytes() == ref[f].tobytes():
            print(f"{what} {f[:-4]}: byte-identical", flush=True)
        else:
            print(f"{what} {f[:-4]}: largest difference {np.abs(g - ref[f]).max():.3g}, "
                  f"{snr(ref[f], g):.2f} dB", flush=True)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    work, model = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    inputs = {}
    for a in sys.argv[3:]:
        name, path = a.split("=", 1)
        inputs[name] = np.load(path)
    ref = {re.sub(r"[^A-Za-z0-9._-]", "_", f): a
           for f, a in run_samples(model, inputs, work).items()}
    d, sock = serve({"m": model}, work)
    try:
        n = len(next(iter(inputs.values())))
        each = [infer(sock, {k: a[i:i + 1] for k, a in inputs.items()}, work,
                      f"{work}/served-{i}") for i in range(n)]
        compare("dnnqd one by one", ref, {f: np.concatenate([e[f] for e in each])
                                           for f in each[0]})
        compare("dnnqd all at once", ref, infer(sock, inputs, work, f"{work}/served-all"))
    finally:
        d.terminate()
        d.wait()


if __name__ == "__main__":
    main()
