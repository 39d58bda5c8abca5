"""bench/npm-models/npmbench.py: what the npm-models scripts share (docs/onnx.md,
"Pretrained models from npm packages"): running a tool, the SNR against ORT,
converting at the precisions asked and running a model that fixes batch 1 sample
by sample; latencies of dnnq-run and ORT on one thread. DNNQ_NPM_PRECISIONS
picks the conversions each script compares (comma-separated: fp32, default,
int8pc; fp32,default when unset)."""
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

BIN = os.environ.get("DNNQ_BIN", "build/bin")
# what the rows can compare: the fp32 model, the default precision (auto),
# and every node int8 with a scale per output channel
CONVERSIONS = {"fp32": ["--keep-fp32", "*"], "default": [],
               "int8pc": ["--precision", "int8", "--per-channel"]}


def precisions(names):
    """The (name, dnnq-convert options) of the comma-separated names
    (DNNQ_NPM_PRECISIONS; fp32,default when unset); exits naming an unknown one."""
    got = []
    for name in names.split(","):
        if name not in CONVERSIONS:
            sys.exit(f"DNNQ_NPM_PRECISIONS: '{name}' is not one of {', '.join(CONVERSIONS)}")
        got.append((name, CONVERSIONS[name]))
    return tuple(got)


PRECISIONS = precisions(os.environ.get("DNNQ_NPM_PRECISIONS", "fp32,default"))


def sh(*a):
    r = subprocess.run(a, capture_output=True, text=True)
    if r.returncode:
        print(" ".join(a), r.stderr.strip()[-400:], file=sys.stderr)
    return r


def snr(ref, out):
    return 10 * np.log10((ref ** 2).sum() / max(((ref - out) ** 2).sum(), 1e-30))


def convert(path, out, *args):
    """dnnq-convert PATH -o OUT ARGS; False (the error printed) when it fails."""
    if sh(f"{BIN}/dnnq-convert", path, "-o", out, *args).returncode:
        print(os.path.basename(path), out, "convert failed", flush=True)
        return False
    return True


def run_each(model, name, test, work):
    """dnnq-run of each sample of the array test (input name) in turn:
    {output file name, ':' as '_': the outputs stacked}."""
    return run_samples(model, {name: test}, work)


def run_samples(model, inputs, work):
    """run_each of a model of several inputs: inputs {name: array}, the
    arrays' samples (dim 0) taken together, one dnnq-run each."""
    res = []
    for i in range(len(next(iter(inputs.values())))):
        args = []
        for k, (name, a) in enumerate(inputs.items()):
            np.save(f"{work}/one{k}.npy", a[i:i + 1])
            args += ["--input", f"{name}={work}/one{k}.npy"]
        sh(f"{BIN}/dnnq-run", model, *args, "--output-dir", f"{work}/out")
        res.append({f.replace(":", "_"): np.load(f"{work}/out/{f}")
                    for f in os.listdir(f"{work}/out")})
    return {f: np.concatenate([r[f] for r in res]) for f in res[0]}


def ort_reference(path, out, feeds, repeat=5):
    """ort-run.js PATH OUT FEEDS... (NAME=X.npy arguments): ORT's outputs in
    OUT, and its median ms over `repeat` runs of the first sample on one
    intra-op thread (nan when it failed)."""
    r = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "ort-run.js"), path, out, *feeds], capture_output=True, text=True,
                       env={**os.environ, "ORT_REPEAT": str(repeat)})
    m = re.search(r"ort median ms ([0-9.]+)", r.stdout)
    if r.returncode or not m:
        print("ort-run.js", path, r.stderr.strip()[-400:], file=sys.stderr)
        return float("nan")
    return float(m.group(1))


def latency(model, inputs, work, repeat=5):
    """dnnq-run's median ms over `repeat` runs of the first sample of inputs
    {name: array} (one engine thread, dnnq-run's default)."""
    args = []
    for k, (name, a) in enumerate(inputs.items()):
        np.save(f"{work}/lat{k}.npy", a[:1])
        args += ["--input", f"{name}={work}/lat{k}.npy"]
    r = sh(f"{BIN}/dnnq-run", model, *args, "--repeat", str(repeat), "--json",
           "--output-dir", f"{work}/lat")
    return json.loads(r.stdout)["latency_ms"]["median"] if r.returncode == 0 else float("nan")


def serve(models, work):
    """dnnqd on work/dnnqd.sock serving models {name: path}: its Popen, the socket."""
    sock = f"{work}/dnnqd.sock"
    args = [f"{BIN}/dnnqd", "--socket", sock]
    for name, path in models.items():
        args += ["--model", f"{name}={path}"]
    log = open(f"{work}/dnnqd.log", "w")
    d = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(3000):                   # 5 minutes: a big model loads slowly
        if subprocess.run([f"{BIN}/dnnqctl", "--socket", sock, "status"],
                          capture_output=True).returncode == 0:
            return d, sock
        if d.poll() is not None:
            break
        time.sleep(0.1)
    d.terminate()
    sys.exit(f"dnnqd did not serve (see {work}/dnnqd.log)")
