#!/usr/bin/python3
"""tools/mknlp.py: the fixtures of a model with token-id inputs
(tests/onnx/nlp/), for suite convert (tests/test_convert.c, bert_tiny).

  bert.onnx      torch: a tiny BERT-like encoder (torch.onnx.export, opset
                 14, dim 0 of every input and output the symbolic N): token
                 and position nn.Embedding (the positions torch.arange of the
                 static length, folded at import), LayerNorm, two attention
                 layers with an additive mask (1 - mask) * -10000 from the
                 integer mask input, a GELU FFN, a head on token 0; inputs
                 ids and mask int64 [N, 8], output y [N, 3].
  bert_i32.onnx  the same weights exported with int32 inputs.
  ids.npy, mask.npy  int64 [16, 8] (numpy's default integer; dnnq reads
                 them as int32), every other sample's mask 0 from token 6.
  y.npy          torch's output on them, float32 [16, 3].

Run with Debian's interpreter (torch, onnx, numpy):
    /usr/bin/python3 tools/mknlp.py [--out tests/onnx/nlp]
Deterministic: fixed seed, one torch thread.
"""
import argparse
import math
import os

import numpy as np

V, T, D, H = 100, 8, 32, 4


def bert(out):
    import torch

    class Layer(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.q, s.k, s.v, s.o = (torch.nn.Linear(D, D) for _ in range(4))
            s.ln1, s.ln2 = torch.nn.LayerNorm(D), torch.nn.LayerNorm(D)
            s.f1, s.f2 = torch.nn.Linear(D, 4 * D), torch.nn.Linear(4 * D, D)

        def forward(s, x, bias):
            B, L, _ = x.shape

            def heads(t):
                return t.view(B, L, H, D // H).transpose(1, 2)

            a = torch.matmul(heads(s.q(x)), heads(s.k(x)).transpose(-1, -2))
            a = a / math.sqrt(D // H) + bias
            a = torch.matmul(a.softmax(-1), heads(s.v(x))).transpose(1, 2).reshape(B, L, D)
            x = s.ln1(x + s.o(a))
            return s.ln2(x + s.f2(torch.nn.functional.gelu(s.f1(x))))

    class Net(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.tok, s.pos = torch.nn.Embedding(V, D), torch.nn.Embedding(T, D)
            s.ln = torch.nn.LayerNorm(D)
            s.layers = torch.nn.ModuleList([Layer(), Layer()])
            s.head = torch.nn.Linear(D, 3)

        def forward(s, ids, mask):
            pos = torch.arange(ids.shape[1]).unsqueeze(0)
            h = s.ln(s.tok(ids) + s.pos(pos))
            bias = (1.0 - mask[:, None, None, :].to(torch.float32)) * -10000.0
            for layer in s.layers:
                h = layer(h, bias)
            return s.head(h[:, 0])

    torch.manual_seed(0)
    torch.set_num_threads(1)
    net = Net().eval()
    ids = torch.randint(0, V, (16, T))
    mask = torch.ones(16, T, dtype=torch.int64)
    mask[::2, 6:] = 0
    axes = {"ids": {0: "N"}, "mask": {0: "N"}, "y": {0: "N"}}
    with torch.no_grad():
        for name, dt in (("bert", torch.int64), ("bert_i32", torch.int32)):
            torch.onnx.export(net, (ids[:1].to(dt), mask[:1].to(dt)),
                              os.path.join(out, name + ".onnx"), opset_version=14,
                              input_names=["ids", "mask"], output_names=["y"],
                              dynamic_axes=axes)
        y = net(ids, mask).numpy()
    np.save(os.path.join(out, "ids.npy"), ids.numpy())
    np.save(os.path.join(out, "mask.npy"), mask.numpy())
    np.save(os.path.join(out, "y.npy"), y.astype(np.float32))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="tests/onnx/nlp")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    bert(a.out)


if __name__ == "__main__":
    main()
