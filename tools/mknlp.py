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
  ints.onnx      torch (opset 14, dims 0 and 1 of ids and mask symbolic, as
                 Hugging Face's exporters declare them): integer arithmetic
                 on the ids at run time: RoBERTa's position ids (ids.ne(pad)
                 .int(), cumsum, * mask + pad) gathered from a position
                 table, token type ids a buffer of zeros expanded to the
                 batch, one attention layer, sentence-transformers' masked
                 mean pooling (mask.unsqueeze(-1).expand(x.size()).float(),
                 sum / clamp(sum(mask), 1e-9)) and F.normalize; y [N, 32].
  masks.onnx     torch (opset 17, the same axes): the attention masks newer
                 exports write: DistilBERT's masked_fill((mask == 0).view(b,
                 1, 1, t).expand_as(scores), finfo.min), transformers' SDPA
                 mask (1 - mask expanded to [b, 1, t, t]).masked_fill(bool,
                 finfo.min), CLIP's causal mask (torch.full(finfo.min)
                 .triu_(1), a Trilu); y [N, 3].
  y_ints.npy, y_masks.npy  torch's outputs on ids.npy, mask.npy.
  causal.onnx    torch (opset 14, the same axes): a GPT-2 block as
                 transformers writes it (Conv1D: addmm on x.view(-1, D), so
                 the import fixes the batch to 1; a tril buffer sliced by the
                 length, where(causal, scores, finfo.min), gelu_new's tanh)
                 with T5's relative position bias added to the scores (the
                 buckets: Sub, Greater, Abs, Less, Log of 0 cast to int64,
                 Min, Where on constants, then a Gather of the bias table)
                 and RMSNorm, logits by the tied token table; y [N, 8, 100].
  ids1.npy, mask1.npy, y_causal.npy  sample 0 of ids.npy, mask.npy (masked
                 from token 6), and torch's output on it.
  iddiv.onnx     an embedding of (ids + 1) // 2: integer Div on computed
                 integers, refused.
  pool.onnx, y_pool.npy  CLIP's text pooling: LayerNorm of the token
                 embeddings, x[torch.arange(b), ids.argmax(-1)] (a Gather of
                 the flattened activations by computed indices; the batch
                 fixed to 1) after a GELU FFN, a Linear; y [N, 3], torch's
                 on ids1, mask1.
  introws.onnx, y_introws.npy  onnx.helper, no torch (as those below): the
                 token id at a computed position, ids.view(-1)[argmax(ids ==
                 89) + 0] (an ArgMax itself is no index), embedded (integers through the one-hot Gather);
                 y [1, 32], numpy's on ids1 (ONNX Runtime's alike).
  negidx.onnx, y_negidx.npy  GPT-2's sequence-classification pooling of
                 older exports: the embeddings' rows at argmax(ids == 0) - 1,
                 -1 (no pad) the last token; y [1, 32], numpy's on ids1.
  padint.onnx    (ids + 1) divided by (ids * 0 + 2), each padded by zeros
                 first: an integer Div after Pads that fold away, refused.

Run with Debian's interpreter (torch, onnx, numpy):
    /usr/bin/python3 tools/mknlp.py [--out tests/onnx/nlp] [--only bert|ints_masks|causal|gathers]
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


def ints_masks(out):
    """ints.onnx and masks.onnx (module docstring)."""
    import torch
    F = torch.nn.functional
    fmin, pad = torch.finfo(torch.float32).min, 1

    def attend(q, k, v, x, bias=None, fill=None):
        B, L, _ = x.shape

        def heads(t):
            return t.view(B, L, H, D // H).transpose(1, 2)

        a = torch.matmul(heads(q(x)), heads(k(x)).transpose(-1, -2)) / math.sqrt(D // H)
        if fill is not None:
            a = a.masked_fill(fill.expand_as(a), fmin)
        if bias is not None:
            a = a + bias
        return torch.matmul(a.softmax(-1), heads(v(x))).transpose(1, 2).reshape(B, L, D)

    class Ints(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.tok, s.pos, s.typ = (torch.nn.Embedding(n, D) for n in (V, T + 2, 2))
            s.register_buffer("types", torch.zeros((1, 64), dtype=torch.long))
            s.q, s.k, s.v = (torch.nn.Linear(D, D) for _ in range(3))
            s.ln = torch.nn.LayerNorm(D)

        def forward(s, ids, mask):
            m = ids.ne(pad).int()
            pos = (torch.cumsum(m, dim=1).type_as(m) * m).long() + pad
            types = s.types[:, :ids.size(1)].expand(ids.shape)
            x = s.ln(s.tok(ids) + s.pos(pos) + s.typ(types))
            bias = (1.0 - mask[:, None, None, :].to(torch.float32)) * fmin
            x = x + attend(s.q, s.k, s.v, x, bias=bias)
            me = mask.unsqueeze(-1).expand(x.size()).float()
            y = torch.sum(x * me, 1) / torch.clamp(me.sum(1), min=1e-9)
            return F.normalize(y, p=2, dim=1)

    class Masks(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.tok = torch.nn.Embedding(V, D)
            s.qkv = [[torch.nn.Linear(D, D) for _ in range(3)] for _ in range(3)]
            s.layers = torch.nn.ModuleList(torch.nn.ModuleList(q) for q in s.qkv)
            s.head = torch.nn.Linear(D, 3)

        def forward(s, ids, mask):
            b, t = mask.shape
            x = s.tok(ids)
            fill = (mask == 0).view(b, 1, 1, t)
            inv = 1.0 - mask[:, None, None, :].expand(b, 1, t, t).to(torch.float32)
            sdpa = inv.masked_fill(inv.to(torch.bool), fmin)
            causal = torch.full((t, t), fmin).triu_(1)[None, None]
            x = x + attend(*s.layers[0], x, fill=fill)
            x = x + attend(*s.layers[1], x, bias=sdpa)
            x = x + attend(*s.layers[2], x, bias=causal + sdpa)
            return s.head(x[:, 0])

    torch.manual_seed(1)
    ids = torch.from_numpy(np.load(os.path.join(out, "ids.npy")))
    mask = torch.from_numpy(np.load(os.path.join(out, "mask.npy")))
    axes = {"ids": {0: "batch_size", 1: "sequence_length"},
            "mask": {0: "batch_size", 1: "sequence_length"}, "y": {0: "batch_size"}}
    for name, net, opset in (("ints", Ints(), 14), ("masks", Masks(), 17)):
        net.eval()
        with torch.no_grad():
            torch.onnx.export(net, (ids[:2], mask[:2]), os.path.join(out, name + ".onnx"),
                              opset_version=opset, input_names=["ids", "mask"],
                              output_names=["y"], dynamic_axes=axes)
            y = net(ids, mask).numpy()
        np.save(os.path.join(out, "y_" + name + ".npy"), y.astype(np.float32))


def causal(out):
    """causal.onnx (module docstring)."""
    import torch
    fmin, nb, maxd = torch.finfo(torch.float32).min, 8, 16

    class Conv1D(torch.nn.Module):
        def __init__(s, nf, nx):
            super().__init__()
            s.nf = nf
            s.w = torch.nn.Parameter(torch.randn(nx, nf) * 0.2)
            s.b = torch.nn.Parameter(torch.randn(nf) * 0.1)

        def forward(s, x):
            size = x.size()[:-1] + (s.nf,)
            return torch.addmm(s.b, x.view(-1, x.size(-1)), s.w).view(size)

    def bucket(rel):
        half = nb // 2
        ret = (rel > 0).to(torch.long) * half
        n = torch.abs(rel)
        exact = half // 2
        large = exact + (torch.log(n.float() / exact) / math.log(maxd / exact)
                         * (half - exact)).to(torch.long)
        large = torch.min(large, torch.full_like(large, half - 1))
        return ret + torch.where(n < exact, n, large)

    class Net(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.tok = torch.nn.Embedding(V, D)
            s.rel = torch.nn.Embedding(nb, H)
            s.attn, s.proj = Conv1D(3 * D, D), Conv1D(D, D)
            s.fc, s.out = Conv1D(4 * D, D), Conv1D(D, 4 * D)
            s.norm = torch.nn.Parameter(1 + 0.1 * torch.randn(D))
            s.register_buffer("bias", torch.tril(torch.ones((16, 16), dtype=torch.bool))
                              .view(1, 1, 16, 16), persistent=False)

        def forward(s, ids, mask):
            t = ids.size(1)
            x = s.tok(ids)
            y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * s.norm
            q, k, v = (z.view(z.size()[:-1] + (H, D // H)).permute(0, 2, 1, 3)
                       for z in s.attn(y).split(D, dim=2))
            w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], (D // H) ** 0.5)
            pos = torch.arange(t, dtype=torch.long)
            w = w + s.rel(bucket(pos[None, :] - pos[:, None])).permute(2, 0, 1).unsqueeze(0)
            w = torch.where(s.bias[:, :, :t, :t], w, torch.full([], fmin))
            w = w + (1.0 - mask[:, None, None, :].to(torch.float32)) * fmin
            a = torch.matmul(w.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
            x = x + s.proj(a.view(a.size()[:-2] + (D,)))
            h = s.fc(x)
            h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                            (h + 0.044715 * torch.pow(h, 3.0))))
            return torch.matmul(x + s.out(h), s.tok.weight.t())

    torch.manual_seed(2)
    ids = torch.from_numpy(np.load(os.path.join(out, "ids.npy")))[:1]
    mask = torch.from_numpy(np.load(os.path.join(out, "mask.npy")))[:1]
    axes = {"ids": {0: "batch_size", 1: "sequence_length"},
            "mask": {0: "batch_size", 1: "sequence_length"},
            "y": {0: "batch_size", 1: "sequence_length"}}
    net = Net().eval()
    with torch.no_grad():
        torch.onnx.export(net, (ids, mask), os.path.join(out, "causal.onnx"), opset_version=14,
                          input_names=["ids", "mask"], output_names=["y"], dynamic_axes=axes)
        y = net(ids, mask).numpy()
    class Div(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.tok = torch.nn.Embedding(V, D)

        def forward(s, ids, mask):
            return s.tok(torch.div(ids + 1, 2, rounding_mode="trunc")) * mask.unsqueeze(-1)

    torch.onnx.export(Div().eval(), (ids, mask), os.path.join(out, "iddiv.onnx"),
                      opset_version=14, input_names=["ids", "mask"], output_names=["y"],
                      dynamic_axes=axes)
    class Pool(torch.nn.Module):
        def __init__(s):
            super().__init__()
            s.tok, s.ln, s.head = torch.nn.Embedding(V, D), torch.nn.LayerNorm(D), \
                torch.nn.Linear(D, 3)
            s.f1, s.f2 = torch.nn.Linear(D, 4 * D), torch.nn.Linear(4 * D, D)

        def forward(s, ids, mask):
            x = s.ln(s.tok(ids) * mask.unsqueeze(-1))
            x = x + s.f2(torch.nn.functional.gelu(s.f1(x)))
            return s.head(x[torch.arange(x.shape[0]), ids.to(torch.int).argmax(dim=-1)])

    pool = Pool().eval()
    with torch.no_grad():
        torch.onnx.export(pool, (ids, mask), os.path.join(out, "pool.onnx"), opset_version=14,
                          input_names=["ids", "mask"], output_names=["y"],
                          dynamic_axes={k: axes[k] for k in ("ids", "mask")})
        np.save(os.path.join(out, "y_pool.npy"), pool(ids, mask).numpy().astype(np.float32))
    np.save(os.path.join(out, "ids1.npy"), ids.numpy())
    np.save(os.path.join(out, "mask1.npy"), mask.numpy())
    np.save(os.path.join(out, "y_causal.npy"), y.astype(np.float32))


def gathers(out):
    import onnx
    from onnx import TensorProto as TP, helper as h, numpy_helper as nh
    rng = np.random.default_rng(7)
    tab = rng.standard_normal((V, D)).astype(np.float32)
    ids = np.load(os.path.join(out, "ids1.npy"))

    def i64(name, v):
        return nh.from_array(np.array(v, np.int64), name)

    def save(name, nodes, inits, y_type=TP.FLOAT, y_dims=("N", D)):
        g = h.make_graph(nodes, name, [h.make_tensor_value_info("ids", TP.INT64, ["N", T])],
                         [h.make_tensor_value_info("y", y_type, y_dims)], inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 14)])
        m.ir_version = 7
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(out, name + ".onnx"))

    def argmax_eq(tok, out_name):
        return [h.make_node("Equal", ["ids", tok], ["eq"]),
                h.make_node("Cast", ["eq"], ["eqi"], to=TP.INT64),
                h.make_node("ArgMax", ["eqi"], [out_name], axis=-1, keepdims=0)]

    save("introws", [h.make_node("Reshape", ["ids", "m1"], ["flat"])] + argmax_eq("eos", "at") +
         [h.make_node("Add", ["at", "zero"], ["pos"]),
          h.make_node("Gather", ["flat", "pos"], ["tok"], axis=0),
          h.make_node("Gather", ["tab", "tok"], ["y"])],
         [nh.from_array(tab, "tab"), i64("m1", [-1]), i64("eos", 89), i64("zero", 0)])
    np.save(os.path.join(out, "y_introws.npy"), tab[ids.reshape(-1)[np.argmax(ids == 89, -1)]])
    save("negidx", [h.make_node("Gather", ["tab", "ids"], ["e"]),
                    h.make_node("Reshape", ["e", "shp"], ["x"])] + argmax_eq("pad", "at") +
         [h.make_node("Sub", ["at", "one"], ["last"]),
          h.make_node("Gather", ["x", "last"], ["y"], axis=0)],
         [nh.from_array(tab, "tab"), i64("shp", [-1, D]), i64("pad", 0), i64("one", 1)])
    np.save(os.path.join(out, "y_negidx.npy"),
            tab[ids].reshape(-1, D)[np.argmax(ids == 0, -1) - 1])
    save("padint", [h.make_node("Add", ["ids", "one"], ["a"]),
                    h.make_node("Mul", ["ids", "zero"], ["z"]),
                    h.make_node("Add", ["z", "two"], ["b"]),
                    h.make_node("Pad", ["a", "pads"], ["p"]),
                    h.make_node("Pad", ["b", "pads"], ["q"]),
                    h.make_node("Div", ["p", "q"], ["y"], name="/Div")],
         [i64("one", 1), i64("two", 2), i64("zero", 0), i64("pads", [0, 0, 0, 0])], TP.INT64,
         ("N", T))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="tests/onnx/nlp")
    p.add_argument("--only", choices=("bert", "ints_masks", "causal", "gathers"),
                   help="write one set of fixtures (default: all)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.only in (None, "bert"):
        bert(a.out)
    if a.only in (None, "ints_masks"):
        ints_masks(a.out)
    if a.only in (None, "causal"):
        causal(a.out)
    if a.only in (None, "gathers"):
        gathers(a.out)


if __name__ == "__main__":
    main()
