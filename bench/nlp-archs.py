#!/usr/bin/python3
"""bench/nlp-archs.py: the transformer text models users export (Hugging
Face transformers, sentence-transformers, optimum), their graph patterns
written out here from the architectures' descriptions (no transformers
package, no download): seeded random weights, int64 input_ids /
attention_mask (/ token_type_ids), batch and sequence symbolic as HF's
exporters declare them ("batch_size", "sequence_length"), exported by
torch.onnx at opset 14 and 17, converted at both precisions (default and
--keep-fp32 '*') from calibration samples with padding masks, run by
dnnq-run on held-out samples (one at a time when the import fixed the
batch to 1: GPT-2's Conv1D) and compared with ONNX Runtime fp32
(docs/onnx.md, "Token ids (NLP models)"): the SQNR, and the argmax
agreement of logits or the least cosine of embeddings.

- minilm: BERT as sentence-transformers' all-MiniLM-L6-v2 is (6 layers, D
  384, 12 heads; vocabulary 1000): token type embedding, the extended mask
  (1 - mask[:, None, None, :]) * finfo.min, Erf GELU, the pooler (tanh of
  token 0) and the masked mean pooling then F.normalize.
- roberta: RoBERTa / XLM-R position ids from the ids (ne(pad), cumsum,
  * mask + pad) gathered from the position table; a classification head.
- distilbert: masked_fill of (mask == 0).view(b, 1, 1, t).expand_as(scores)
  with finfo.min; a classification head.
- bert_sdpa: newer transformers' mask, inverted = 1 - mask expanded to [b,
  1, t, t], masked_fill(inverted.bool(), finfo.min).
- gpt2: a causal LM without past: a tril buffer sliced by the length,
  where(causal, scores, finfo.min), Conv1D (addmm), gelu_new (tanh), logits
  by the tied token table.
- clip_text: CLIP's text encoder: causal mask, QuickGELU, final LayerNorm,
  pooled at ids.argmax(-1) (the end-of-text token has the largest id).
- t5_enc: a T5 encoder: RMSNorm, relative position bias buckets, no
  biases, ReLU FFN.
- embbag: a fastText-style classifier as PyTorch's text classification
  tutorial builds it: nn.EmbeddingBag (mean; torch exports it as a Loop over
  the bags whose scan output is each bag's mean) and a Linear of 4; no
  attention mask (the padding is averaged in, as the model does).

usage: /usr/bin/python3 bench/nlp-archs.py WORKDIR [MODEL...]
(NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries, default
build/bin.) A model name may carry an opset: minilm_op17.
"""
import math
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

BIN = os.environ.get("DNNQ_BIN", "build/bin")
ORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "ort-npy.js")
V, T, N_CALIB, N_TEST, PAD = 1000, 16, 8, 4, 1
FMIN = torch.finfo(torch.float32).min


class SelfAttention(nn.Module):
    """BERT's: q, k, v Linears, heads split by view and permute."""

    def __init__(s, d, h):
        super().__init__()
        s.h, s.dh = h, d // h
        s.query, s.key, s.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def heads(s, x):
        return x.view(x.size()[:-1] + (s.h, s.dh)).permute(0, 2, 1, 3)

    def scores(s, x):
        q, k = s.heads(s.query(x)), s.heads(s.key(x))
        return torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(s.dh)

    def out(s, probs, x):
        c = torch.matmul(probs, s.heads(s.value(x))).permute(0, 2, 1, 3).contiguous()
        return c.view(c.size()[:-2] + (s.h * s.dh,))


class BertLayer(nn.Module):
    """mask_kind: 'add' (an additive [b, 1, 1, t] mask), 'fill' (DistilBERT's
    masked_fill of the bool mask), 'sdpa' (a [b, 1, t, t] additive mask)."""

    def __init__(s, d, h, ff, mask_kind="add", act=F.gelu):
        super().__init__()
        s.attn, s.kind, s.act = SelfAttention(d, h), mask_kind, act
        s.o, s.ln1 = nn.Linear(d, d), nn.LayerNorm(d, eps=1e-12)
        s.f1, s.f2, s.ln2 = nn.Linear(d, ff), nn.Linear(ff, d), nn.LayerNorm(d, eps=1e-12)

    def forward(s, x, mask):
        sc = s.attn.scores(x)
        if s.kind == "fill":
            sc = sc.masked_fill(mask.expand_as(sc), FMIN)
        else:
            sc = sc + mask
        x = s.ln1(x + s.o(s.attn.out(sc.softmax(-1), x)))
        return s.ln2(x + s.f2(s.act(s.f1(x))))


class Bert(nn.Module):
    """BERT / MiniLM / RoBERTa / DistilBERT by its options."""

    def __init__(s, d=384, h=12, layers=6, ff=1536, types=2, mask_kind="add",
                 roberta=False, pooler=True, head=0):
        super().__init__()
        s.roberta, s.kind = roberta, mask_kind
        s.word = nn.Embedding(V, d, padding_idx=PAD if roberta else 0)
        s.pos = nn.Embedding(514 if roberta else 512, d)
        s.token_type = nn.Embedding(types, d) if types else None
        s.register_buffer("position_ids", torch.arange(512).expand((1, -1)))
        s.register_buffer("token_type_ids", torch.zeros((1, 512), dtype=torch.long))
        s.ln = nn.LayerNorm(d, eps=1e-12)
        s.layers = nn.ModuleList(BertLayer(d, h, ff, mask_kind) for _ in range(layers))
        s.pooler = nn.Linear(d, d) if pooler else None
        s.head = nn.Sequential(nn.Linear(d, d), nn.Tanh(), nn.Linear(d, head)) if head else None

    def positions(s, ids):
        if s.roberta:
            m = ids.ne(PAD).int()
            return (torch.cumsum(m, dim=1).type_as(m) * m).long() + PAD
        return s.position_ids[:, :ids.size(1)]

    def mask(s, mask, x):
        b, t = mask.shape
        if s.kind == "fill":
            return (mask == 0).view(b, 1, 1, t)
        if s.kind == "sdpa":
            inv = 1.0 - mask[:, None, None, :].expand(b, 1, t, t).to(torch.float32)
            return inv.masked_fill(inv.to(torch.bool), FMIN)
        ext = mask[:, None, None, :].to(torch.float32)
        return (1.0 - ext) * FMIN

    def forward(s, ids, mask, types=None):
        x = s.word(ids) + s.pos(s.positions(ids))
        if s.token_type is not None:
            if types is None:  # HF's buffered zeros, expanded to the batch
                types = s.token_type_ids[:, :ids.size(1)].expand(ids.shape)
            x = x + s.token_type(types)
        x = s.ln(x)
        m = s.mask(mask, x)
        for layer in s.layers:
            x = layer(x, m)
        if s.head is not None:
            return s.head(x[:, 0])
        # sentence-transformers' Pooling (mean) and Normalize
        me = mask.unsqueeze(-1).expand(x.size()).float()
        emb = torch.sum(x * me, 1) / torch.clamp(me.sum(1), min=1e-9)
        return F.normalize(emb, p=2, dim=1), torch.tanh(s.pooler(x[:, 0]))


class Conv1D(nn.Module):
    """GPT-2's: a Linear with the weight transposed, as addmm."""

    def __init__(s, nf, nx):
        super().__init__()
        s.nf, s.weight, s.bias = nf, nn.Parameter(torch.randn(nx, nf) * 0.02), nn.Parameter(
            torch.randn(nf) * 0.02)

    def forward(s, x):
        size = x.size()[:-1] + (s.nf,)
        return torch.addmm(s.bias, x.view(-1, x.size(-1)), s.weight).view(size)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class GPT2Block(nn.Module):
    def __init__(s, d, h, nctx):
        super().__init__()
        s.h, s.dh = h, d // h
        s.ln1, s.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        s.c_attn, s.c_proj = Conv1D(3 * d, d), Conv1D(d, d)
        s.c_fc, s.c_proj2 = Conv1D(4 * d, d), Conv1D(d, 4 * d)
        s.register_buffer("bias", torch.tril(torch.ones((nctx, nctx), dtype=torch.bool))
                          .view(1, 1, nctx, nctx), persistent=False)

    def split(s, x):
        return x.view(x.size()[:-1] + (s.h, s.dh)).permute(0, 2, 1, 3)

    def forward(s, x, amask):
        q, k, v = s.c_attn(s.ln1(x)).split(s.h * s.dh, dim=2)
        q, k, v = s.split(q), s.split(k), s.split(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5)
        ql, kl = q.size(-2), k.size(-2)
        causal = s.bias[:, :, kl - ql:kl, :kl]
        w = torch.where(causal, w, torch.full([], FMIN, dtype=w.dtype)) + amask
        a = torch.matmul(w.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        x = x + s.c_proj(a.view(a.size()[:-2] + (s.h * s.dh,)))
        return x + s.c_proj2(gelu_new(s.c_fc(s.ln2(x))))


class GPT2(nn.Module):
    def __init__(s, d=256, h=8, layers=4, nctx=128):
        super().__init__()
        s.wte, s.wpe = nn.Embedding(V, d), nn.Embedding(nctx, d)
        s.blocks = nn.ModuleList(GPT2Block(d, h, nctx) for _ in range(layers))
        s.ln_f = nn.LayerNorm(d)

    def forward(s, ids, mask):
        pos = torch.arange(0, ids.size(-1), dtype=torch.long).unsqueeze(0)
        x = s.wte(ids) + s.wpe(pos)
        amask = (1.0 - mask[:, None, None, :].to(torch.float32)) * FMIN
        for b in s.blocks:
            x = b(x, amask)
        return torch.matmul(s.ln_f(x), s.wte.weight.t())


class ClipLayer(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h, s.dh = h, d // h
        s.ln1, s.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        s.q, s.k, s.v, s.o = (nn.Linear(d, d) for _ in range(4))
        s.f1, s.f2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(s, x, cmask):
        b, t, d = x.shape
        y = s.ln1(x)
        q = (s.q(y) * s.dh ** -0.5).view(b, t, s.h, s.dh).transpose(1, 2)
        k = s.k(y).view(b, t, s.h, s.dh).transpose(1, 2)
        v = s.v(y).view(b, t, s.h, s.dh).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) + cmask
        a = torch.matmul(w.softmax(-1), v).transpose(1, 2).reshape(b, t, d)
        x = x + s.o(a)
        y = s.f1(s.ln2(x))
        return x + s.f2(y * torch.sigmoid(1.702 * y))


class ClipText(nn.Module):
    def __init__(s, d=256, h=8, layers=4, nctx=77):
        super().__init__()
        s.tok, s.pos = nn.Embedding(V, d), nn.Embedding(nctx, d)
        s.register_buffer("position_ids", torch.arange(nctx).expand((1, -1)))
        s.layers = nn.ModuleList(ClipLayer(d, h) for _ in range(layers))
        s.ln_f, s.proj = nn.LayerNorm(d), nn.Linear(d, d, bias=False)

    def forward(s, ids, mask):
        b, t = ids.shape
        x = s.tok(ids) + s.pos(s.position_ids[:, :t])
        cmask = torch.full((t, t), FMIN).triu_(1)[None, None]
        amask = (1.0 - mask[:, None, None, :].to(torch.float32)) * FMIN
        for layer in s.layers:
            x = layer(x, cmask + amask)
        x = s.ln_f(x)
        pooled = x[torch.arange(x.shape[0]), ids.to(torch.int).argmax(dim=-1)]
        return s.proj(pooled), x


class BagClassifier(nn.Module):
    """nn.EmbeddingBag(V, 64, mode="mean") of the ids, then a Linear of 4."""

    def __init__(s):
        super().__init__()
        s.bag, s.fc = nn.EmbeddingBag(V, 64, mode="mean"), nn.Linear(64, 4)

    def forward(s, input_ids):
        return s.fc(s.bag(input_ids))


class T5Enc(nn.Module):
    """A T5 encoder: RMSNorm, relative position bias of layer 0 shared."""

    def __init__(s, d=256, h=8, layers=4, ff=1024, buckets=32, maxdist=128):
        super().__init__()
        s.h, s.dh, s.buckets, s.maxdist = h, d // h, buckets, maxdist
        s.tok = nn.Embedding(V, d)
        s.rel = nn.Embedding(buckets, h)
        s.qkvo = nn.ModuleList(nn.ModuleList(nn.Linear(d, d, bias=False) for _ in range(4))
                               for _ in range(layers))
        s.ff = nn.ModuleList(nn.ModuleList((nn.Linear(d, ff, bias=False),
                                            nn.Linear(ff, d, bias=False))) for _ in range(layers))
        s.norms = nn.Parameter(1 + 0.1 * torch.randn(2 * layers + 1, d))

    def rms(s, x, i):
        var = x.pow(2).mean(-1, keepdim=True)
        return s.norms[i] * (x * torch.rsqrt(var + 1e-6))

    def bucket(s, rel):
        nb = s.buckets // 2
        ret = (rel > 0).to(torch.long) * nb
        n = torch.abs(rel)
        exact = nb // 2
        small = n < exact
        large = exact + (torch.log(n.float() / exact) / math.log(s.maxdist / exact)
                         * (nb - exact)).to(torch.long)
        large = torch.min(large, torch.full_like(large, nb - 1))
        return ret + torch.where(small, n, large)

    def forward(s, ids, mask):
        t = ids.size(1)
        ctx = torch.arange(t, dtype=torch.long)[:, None]
        mem = torch.arange(t, dtype=torch.long)[None, :]
        bias = s.rel(s.bucket(mem - ctx)).permute(2, 0, 1).unsqueeze(0)
        bias = bias + (1.0 - mask[:, None, None, :].to(torch.float32)) * FMIN
        x = s.tok(ids)
        b = x.size(0)
        for i, ((q, k, v, o), (f1, f2)) in enumerate(zip(s.qkvo, s.ff)):
            y = s.rms(x, 2 * i)

            def sh(z):
                return z.view(b, -1, s.h, s.dh).transpose(1, 2)

            w = torch.matmul(sh(q(y)), sh(k(y)).transpose(3, 2)) + bias
            a = torch.matmul(w.softmax(-1), sh(v(y))).transpose(1, 2).contiguous().view(b, -1,
                                                                                       s.h * s.dh)
            x = x + o(a)
            x = x + f2(F.relu(f1(s.rms(x, 2 * i + 1))))
        return s.rms(x, 2 * len(s.qkvo))


# name: (builder, input names, output names)
MODELS = {
    "minilm": (lambda: Bert(), ["input_ids", "attention_mask", "token_type_ids"],
               ["sentence_embedding", "pooler_output"]),
    "roberta": (lambda: Bert(d=256, h=4, layers=4, ff=1024, types=1, roberta=True, pooler=False,
                             head=3), ["input_ids", "attention_mask"], ["logits"]),
    "distilbert": (lambda: Bert(d=256, h=4, layers=4, ff=1024, types=0, mask_kind="fill",
                                pooler=False, head=2), ["input_ids", "attention_mask"],
                   ["logits"]),
    "bert_sdpa": (lambda: Bert(d=256, h=4, layers=4, ff=1024, mask_kind="sdpa"),
                  ["input_ids", "attention_mask", "token_type_ids"],
                  ["sentence_embedding", "pooler_output"]),
    "gpt2": (GPT2, ["input_ids", "attention_mask"], ["logits"]),
    "clip_text": (ClipText, ["input_ids", "attention_mask"], ["text_embeds", "last_hidden_state"]),
    "t5_enc": (T5Enc, ["input_ids", "attention_mask"], ["last_hidden_state"]),
    "embbag": (BagClassifier, ["input_ids"], ["logits"]),
}
# what each output's axes are named in HF's exporters
SEQ_OUT = {"logits": {0: "batch_size", 1: "sequence_length"},
           "last_hidden_state": {0: "batch_size", 1: "sequence_length"}}


def samples(name, seed, n):
    """ids (pad token PAD where the mask is 0, the last real token the
    largest id: CLIP's end of text), mask (every other sample padded from a
    random length), token types (0, then 1 from the middle)."""
    r = np.random.default_rng(seed)
    ids = r.integers(3, V - 1, (n, T), dtype=np.int64)
    mask = np.ones((n, T), np.int64)
    for i in range(1, n, 2):
        mask[i, r.integers(T // 3, T - 1):] = 0
    for i in range(n):
        last = int(mask[i].sum()) - 1
        ids[i, last] = V - 1
        ids[i, last + 1:] = PAD
    types = np.zeros((n, T), np.int64)
    types[:, T // 2:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def sh(*args, env=None):
    r = subprocess.run(list(args), capture_output=True, text=True, env=env)
    return r


def snr(ref, got):
    e = np.sum((ref - got) ** 2)
    return float("inf") if e == 0 else 10 * math.log10(np.sum(ref ** 2) / e)


def decisions(name, out, ref, got):
    """argmax agreement (logits) or the least cosine (embeddings)."""
    r, g = ref.astype(np.float64), got.astype(np.float64)
    if out == "logits":
        return f"argmax {np.mean(r.argmax(-1) == g.argmax(-1)) * 100:.0f}%"
    r, g = r.reshape(r.shape[0], -1), g.reshape(g.shape[0], -1)
    cos = np.sum(r * g, 1) / np.linalg.norm(r, axis=1) / np.linalg.norm(g, axis=1)
    return f"cos min {cos.min():.4f}"


def export(name, opset, path):
    builder, ins, outs = MODELS[name]
    torch.manual_seed(0)
    m = builder().eval()
    s = samples(name, 1, 2)
    args = tuple(torch.from_numpy(s[k]) for k in ins)
    axes = {k: {0: "batch_size", 1: "sequence_length"} for k in ins}
    axes.update({k: SEQ_OUT.get(k, {0: "batch_size"}) for k in outs})
    with torch.no_grad():
        torch.onnx.export(m, args, path, opset_version=opset, input_names=ins,
                          output_names=outs, dynamic_axes=axes)


def io(name):
    """the input and output names"""
    return MODELS[name][1:]


def sweep(work, full, arch):
    """One model of arch (this module, or bench/llm-archs.py: its MODELS,
    io, samples, export and decisions) exported, its samples written, run
    by ONNX Runtime, converted both ways, run, compared: one row."""
    name, _, op = full.partition("_op")
    opset = int(op) if op else 14
    if name not in arch.MODELS:
        name, opset = full, 14
    ins, outs = arch.io(name)
    d = f"{work}/{full}"
    os.makedirs(f"{d}/calib", exist_ok=True)
    onnx_path = f"{d}/{name}.onnx"
    if not os.path.exists(onnx_path):
        arch.export(name, opset, onnx_path)
    cal, test = arch.samples(name, 10, N_CALIB), arch.samples(name, 20, N_TEST)
    feeds = []
    for k in ins:
        np.save(f"{d}/calib/{k}.npy", cal[k])
        np.save(f"{d}/test_{k}.npy", test[k])
        feeds.append(f"{d}/test_{k}.npy")
    r = sh("node", ORT, onnx_path, f"{d}/ort", *feeds)
    if r.returncode:
        print(f"{full}: ORT failed: {r.stderr.strip()[-300:]}", flush=True)
        return
    ref = [np.load(f"{d}/ort.out{i or ''}.npy") for i in range(len(outs))]
    row = [full]
    for prec, args in (("default", []), ("fp32", ["--keep-fp32", "*"])):
        out = f"{d}/{name}.{prec}.dnnq"
        r = sh(f"{BIN}/dnnq-convert", onnx_path, "--calib", f"{d}/calib", "-o", out, *args)
        if r.returncode:
            lines = [x for x in r.stderr.strip().splitlines() if "node '" in x] or \
                r.stderr.strip().splitlines()[-1:]
            row.append(f"{prec}: refused: " + " // ".join(x[-260:] for x in lines[:4]))
            print(" | ".join(row), flush=True)
            return
        note = ["batch fixed to 1"] if "batch fixed" in r.stderr else []
        got = run(out, ins, feeds, f"{d}/out-{prec}", "batch fixed" in r.stderr)
        if isinstance(got, str):
            row.append(f"{prec}: run failed: {got}")
            continue
        res = []
        for o, rf in zip(outs, ref):
            g = got.get(o)
            if g is None or g.shape != rf.shape:
                res.append(f"{o}: {'missing' if g is None else g.shape} vs {rf.shape}")
                continue
            dec = arch.decisions(name, o, rf, g)
            res.append(f"{o} {snr(rf.astype(np.float64), g.astype(np.float64)):.1f} dB"
                       + (f" ({dec})" if dec else ""))
        row.append(f"{prec}: " + ", ".join(res) + (f" [{note[0]}]" if note else ""))
    print(" | ".join(row), flush=True)


def run(model, ins, feeds, outdir, one_by_one):
    """dnnq-run on the test samples (one at a time when the import fixed
    the batch to 1): {output: array}, or the error."""
    batches = [None] if not one_by_one else range(np.load(feeds[0]).shape[0])
    res = []
    for i in batches:
        args = []
        for k, f in zip(ins, feeds):
            if i is not None:
                np.save(f"{outdir}.{k}.npy", np.load(f)[i:i + 1])
                f = f"{outdir}.{k}.npy"
            args += ["-i", f"{k}={f}"]
        r = sh(f"{BIN}/dnnq-run", model, *args, "-o", outdir)
        if r.returncode:
            return r.stderr.strip()[-300:]
        res.append({f[:-4]: np.load(f"{outdir}/{f}") for f in os.listdir(outdir)
                    if f.endswith(".npy")})
    return {k: np.concatenate([x[k] for x in res]) for k in res[0]}


def main(arch):
    """usage: ARCH.py WORKDIR [MODEL...]: every model of arch at opsets 14
    and 17, or the ones named."""
    if len(sys.argv) < 2:
        sys.exit(arch.__doc__)
    torch.set_num_threads(1)
    for full in sys.argv[2:] or [n + s for n in arch.MODELS for s in ("", "_op17")]:
        sweep(sys.argv[1], full, arch)


if __name__ == "__main__":
    main(sys.modules[__name__])
