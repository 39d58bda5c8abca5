#!/usr/bin/python3
"""tools/mkllm.py: the fixtures of tests/onnx/llm (suite convert, case
llm_decoders): bench/llm-archs.py's decoders made tiny (one layer, D 32,
4 heads, 2 key/value heads, SwiGLU of 64, vocabulary 64; seed 0), exported
by torch at opset 14 with optimum's dynamic axes:

  llama_past/model.onnx  the LLaMA decode step: rotary embeddings of the
                         position_ids input (Sin and Cos at run time),
                         grouped-query attention, the mask over past + 1;
                         past_key_values.0.key/value [N, 2, past, 8], past
                         symbolic ("past_sequence_length")
  qwen/model.onnx        the Qwen2 prefill of 8 tokens: positions from the
                         past length (folded rotary tables), the sdpa scale
                         Sqrt(Sqrt(Reciprocal(dh))), triu(full(min)) *
                         (arange > cache_position)
  llama_merged/model.onnx  optimum's decoder_model_merged: an If on the
                         bool input use_cache_branch, the decode step above
                         its then branch, the LLaMA prefill of 8 tokens its
                         else branch (bench/llm-archs.py merge)
  */in/INPUT.npy         4 samples (every other one left-padded; the decode
                         step's past the prefill's present of a 7-token
                         prompt), the calibration and the run's inputs;
                         llama_merged/in/: the prefill's, and zeros [4, 2,
                         1, 8] for the past it does not read
  */y_NAME.npy           torch's outputs: logits, present.0.key (the
                         merged model's: the prefill's logits)

usage: /usr/bin/python3 tools/mkllm.py [--out tests/onnx/llm]
"""
import argparse
import importlib.util
import os
import shutil
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("llm", os.path.join(HERE, "..", "bench",
                                                                   "llm-archs.py"))
llm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(llm)

DIMS = {"d": 32, "h": 4, "kv": 2, "ff": 64, "layers": 1, "v": 64}


def write(out, name, qwen, past):
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "in"), exist_ok=True)
    s = llm.llama_samples(qwen, past, 7, 4, t=8, plen=7, **DIMS)
    ins = (llm.LL_IN[:2] if qwen else llm.LL_IN) + (llm.kv_names("past_key_values", 1) if past
                                                     else [])
    outs = ["logits"] + llm.kv_names("present", 1)
    axes = llm.LLAMA_PAST_AX if past else llm.LLAMA_AX
    torch.manual_seed(0)
    m = llm.Llama(qwen, **DIMS).eval()
    args = tuple(torch.from_numpy(s[k]) for k in ins)
    with torch.no_grad():
        torch.onnx.export(m, args, os.path.join(d, "model.onnx"), opset_version=14,
                          input_names=ins, output_names=outs,
                          dynamic_axes={k: v for k, v in axes.items() if k in ins + outs})
        ys = m(*args)
    for k in ins:
        np.save(os.path.join(d, "in", k + ".npy"), s[k])
    for k, y in zip(outs[:2], ys):
        np.save(os.path.join(d, f"y_{k}.npy"), y.numpy())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="tests/onnx/llm")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    write(a.out, "llama_past", False, True)
    write(a.out, "qwen", True, False)
    with tempfile.TemporaryDirectory() as tmp:
        write(tmp, "llama", False, False)
        d = os.path.join(a.out, "llama_merged")
        os.makedirs(d, exist_ok=True)
        llm.merge(os.path.join(tmp, "llama", "model.onnx"),
                  os.path.join(a.out, "llama_past", "model.onnx"), os.path.join(d, "model.onnx"))
        shutil.rmtree(os.path.join(d, "in"), ignore_errors=True)
        shutil.copytree(os.path.join(tmp, "llama", "in"), os.path.join(d, "in"))
        shutil.copy(os.path.join(tmp, "llama", "y_logits.npy"), d)
    for k in llm.kv_names("past_key_values", 1):
        np.save(os.path.join(d, "in", k + ".npy"), np.zeros((4, 2, 1, 8), np.float32))


if __name__ == "__main__":
    main()
