#!/usr/bin/python3
"""bench/llm-archs.py: the generative models users export for CPU inference
(optimum's decoder_model / decoder_with_past_model split), their graph
patterns written out here from the architectures' descriptions (no
transformers package, no download): seeded random weights, small dims,
exported by torch.onnx at opset 14 and 17 with optimum's dynamic axes,
converted at both precisions (default and --keep-fp32 '*') from
calibration samples, run by dnnq-run on held-out samples and compared with
ONNX Runtime fp32 (docs/onnx.md, "Decoders and speech models"): the SQNR of
every output and the next-token argmax agreement of the logits.

- llama: a LLaMA-style decoder, prefill (the whole prompt, no past; the
  present key/values out): RMSNorm (pow, mean, rsqrt), rotary embeddings
  from the position_ids input (inv_freq @ positions, Cos, Sin, rotate_half
  by slices and Concat), grouped-query attention (4 heads, 2 key/value
  heads, repeat_kv by Expand and Reshape), the causal mask of arange
  comparisons masked_fill'ed with finfo.min and the padding mask
  (transformers' AttentionMaskConverter), SwiGLU MLP, an untied head.
- llama_past: the decode step: one token, past_key_values.N.key/value
  [b, 2, past, 32] in (past symbolic, "past_sequence_length"), the mask
  over past + 1, present.N.key/value out.
- llama_cached, llama_cached_past: the rotary embedding of transformers
  before 4.38 (optimum's exports of that era): cos and sin tables of 2048
  positions made at init, sliced to the length and gathered by the
  position ids.
- qwen: a Qwen2-style decoder, prefill: q/k/v biases, RMSNorm by Sqrt and
  Div, position ids and cache_position computed in the graph (arange from
  the past length), transformers' sdpa-era mask (full(min).triu(1) *
  (arange > cache_position), the padding's == 0 masked_fill), the
  attention as torch 2's scaled_dot_product_attention exports it (q and
  k^T each scaled by sqrt(1/sqrt(dh))), tied head.
- qwen_past: its decode step.
- qwen_causal: the prefill without a padding mask (input_ids alone), the
  causal mask as torch 2 exports scaled_dot_product_attention(is_causal=
  True): ones(t, t).tril(), Where(== 0, -inf, 0).
- whisper_enc: a Whisper-tiny-like encoder: log-mel [b, 80, 3000], two
  Conv1d + GELU (the second of stride 2), sinusoidal positions, pre-LN
  blocks (k without bias), final LayerNorm: [b, 1500, 64].
- whisper_dec: the decoder's first pass over a 4-token prompt with the
  encoder's hidden states: learned positions, causal self-attention,
  cross-attention, GELU FFN, tied head; present decoder and encoder
  key/values out.
- whisper_past: its decode step: one token, past decoder key/values
  (symbolic past) and the encoder's (1500) in.

Left padding as generate() pads a batch: the mask 0 before the prompt,
position ids cumsum(mask) - 1 (1 where padded). Decode-step samples take
their past from the PyTorch prefill of random prompts.

usage: /usr/bin/python3 bench/llm-archs.py WORKDIR [MODEL...]
(NODE_PATH must find onnxruntime-node; DNNQ_BIN the binaries, default
build/bin.) A model name may carry an opset: llama_op17.
"""
import copy
import importlib.util
import math
import os
import sys

import numpy as np
import onnx
from onnx import helper
import torch
from torch import nn
import torch.nn.functional as F

_spec = importlib.util.spec_from_file_location(
    "nlp", os.path.join(os.path.dirname(os.path.abspath(__file__)), "nlp-archs.py"))
nlp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nlp)

V, T, PAST = 1000, 16, 15
FMIN = torch.finfo(torch.float32).min


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x, n):
    b, kv, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, n, s, d).reshape(b, kv * n, s, d)


class RMSNorm(nn.Module):
    def __init__(s, d, sqrt=False):
        super().__init__()
        s.weight, s.sqrt = nn.Parameter(1 + 0.1 * torch.randn(d)), sqrt

    def forward(s, x):
        var = x.pow(2).mean(-1, keepdim=True)
        x = x / torch.sqrt(var + 1e-6) if s.sqrt else x * torch.rsqrt(var + 1e-6)
        return s.weight * x


class Attention(nn.Module):
    """LLaMA's (bias False, eager) or Qwen2's (q/k/v biases, sdpa)."""

    def __init__(s, d, h, kv, bias, sdpa):
        super().__init__()
        s.h, s.kv, s.dh, s.sdpa = h, kv, d // h, sdpa
        s.q_proj = nn.Linear(d, d, bias=bias)
        s.k_proj = nn.Linear(d, kv * s.dh, bias=bias)
        s.v_proj = nn.Linear(d, kv * s.dh, bias=bias)
        s.o_proj = nn.Linear(d, d, bias=False)

    def forward(s, x, cos, sin, mask, past):
        b, t, _ = x.shape
        q = s.q_proj(x).view(b, t, s.h, s.dh).transpose(1, 2)
        k = s.k_proj(x).view(b, t, s.kv, s.dh).transpose(1, 2)
        v = s.v_proj(x).view(b, t, s.kv, s.dh).transpose(1, 2)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        present = (k, v)
        k, v = repeat_kv(k, s.h // s.kv), repeat_kv(v, s.h // s.kv)
        if s.sdpa:  # torch 2's export of F.scaled_dot_product_attention(q, k, v, mask)
            sc = torch.sqrt(torch.sqrt(torch.tensor(1.0 / q.size(-1))))
            w = torch.matmul(q * sc, k.transpose(-2, -1) * sc) + mask
        else:
            w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(s.dh) + mask
        a = torch.matmul(F.softmax(w, dim=-1, dtype=torch.float32), v)
        return s.o_proj(a.transpose(1, 2).reshape(b, t, -1)), present


class DecoderLayer(nn.Module):
    def __init__(s, d, h, kv, ff, bias, sdpa):
        super().__init__()
        s.input_layernorm = RMSNorm(d, sqrt=sdpa)
        s.post_attention_layernorm = RMSNorm(d, sqrt=sdpa)
        s.self_attn = Attention(d, h, kv, bias, sdpa)
        s.gate_proj, s.up_proj = nn.Linear(d, ff, bias=False), nn.Linear(d, ff, bias=False)
        s.down_proj = nn.Linear(ff, d, bias=False)

    def forward(s, x, cos, sin, mask, past):
        a, present = s.self_attn(s.input_layernorm(x), cos, sin, mask, past)
        x = x + a
        y = s.post_attention_layernorm(x)
        return x + s.down_proj(F.silu(s.gate_proj(y)) * s.up_proj(y)), present


class Llama(nn.Module):
    """qwen=False: LLaMA (position_ids an input, eager attention, the
    AttentionMaskConverter mask); True: Qwen2 (positions from the past
    length, sdpa, the cache_position mask, tied head). causal: no
    attention_mask input, sdpa's is_causal mask. The forward takes past
    key/values after the other inputs when given."""

    def __init__(s, qwen=False, d=128, h=4, kv=2, ff=352, layers=2, v=V, causal=False,
                 cached=False):
        super().__init__()
        s.qwen, s.dh, s.causal, s.cached = qwen, d // h, causal, cached
        s.embed_tokens = nn.Embedding(v, d)
        s.layers = nn.ModuleList(DecoderLayer(d, h, kv, ff, qwen, qwen) for _ in range(layers))
        s.norm = RMSNorm(d, sqrt=qwen)
        s.lm_head = None if qwen else nn.Linear(d, v, bias=False)
        s.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, s.dh, 2).float() / s.dh)),
                          persistent=False)
        if cached:  # transformers < 4.38: tables of 2048 positions, made at init
            f = torch.outer(torch.arange(2048).float(), s.inv_freq)
            emb = torch.cat((f, f), dim=-1)
            s.register_buffer("cos_cached", emb.cos(), persistent=False)
            s.register_buffer("sin_cached", emb.sin(), persistent=False)

    def rotary(s, pos, length):
        if s.cached:  # the tables sliced to the length, gathered by the position ids
            return s.cos_cached[:length][pos], s.sin_cached[:length][pos]
        f = (s.inv_freq[None, :, None].expand(pos.shape[0], -1, 1) @ pos[:, None, :].float())
        emb = torch.cat((f.transpose(1, 2),) * 2, dim=-1)
        return emb.cos(), emb.sin()

    def mask_eager(s, mask, t, past):
        """AttentionMaskConverter: the causal [t, past + t] of finfo.min,
        then the padding's masked_fill."""
        b, src = mask.shape
        causal = torch.full((t, t), FMIN)
        cond = torch.arange(t)
        causal = causal.masked_fill(cond < (cond + 1).view(t, 1), 0)
        if past:
            causal = torch.cat([torch.zeros(t, past), causal], dim=-1)
        causal = causal[None, None].expand(b, 1, t, src)
        inv = 1.0 - mask[:, None, None, :].expand(b, 1, t, src).to(torch.float32)
        return causal.masked_fill(inv.bool(), FMIN)

    def mask_sdpa(s, mask, t, cache_position):
        """transformers' _update_causal_mask (4.38+)."""
        b, src = mask.shape
        causal = torch.full((t, src), FMIN)
        if t != 1:
            causal = torch.triu(causal, diagonal=1)
        causal = causal * (torch.arange(src) > cache_position.reshape(-1, 1))
        causal = causal[None, None, :, :].expand(b, 1, -1, -1)
        pad = (causal + mask[:, None, None, :]) == 0
        return causal.masked_fill(pad, FMIN)

    def forward(s, ids, *rest):
        mask, rest = (None, rest) if s.causal else (rest[0], rest[1:])
        if s.qwen:
            pos, pkv = None, rest
        else:
            pos, pkv = rest[0], rest[1:]
        past = [(pkv[2 * i], pkv[2 * i + 1]) for i in range(len(s.layers))] if pkv else None
        t = ids.shape[1]
        plen = pkv[0].shape[2] if pkv else 0
        if s.qwen:
            cache_position = torch.arange(plen, plen + t)
            pos = cache_position.unsqueeze(0).expand(ids.shape[0], -1)
        if s.causal:  # torch 2's export of sdpa(is_causal=True): -inf above the diagonal
            m = torch.ones(t, plen + t).tril(diagonal=plen)
            m = torch.where(m == 0, torch.tensor(float("-inf")), torch.tensor(0.0))
        else:
            m = s.mask_sdpa(mask, t, cache_position) if s.qwen else s.mask_eager(mask, t, plen)
        cos, sin = s.rotary(pos, plen + t)
        x = s.embed_tokens(ids)
        presents = []
        for i, layer in enumerate(s.layers):
            x, p = layer(x, cos, sin, m, past[i] if past else None)
            presents += p
        x = s.norm(x)
        logits = torch.matmul(x, s.embed_tokens.weight.t()) if s.qwen else s.lm_head(x)
        return (logits, *presents)


def sinusoids(length, d):
    inc = math.log(10000) / (d // 2 - 1)
    inv = torch.exp(-inc * torch.arange(d // 2))
    t = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


class WAttention(nn.Module):
    """Whisper's: q scaled, k without bias; kv from another sequence
    (cross) or the past's."""

    def __init__(s, d, h):
        super().__init__()
        s.h, s.dh = h, d // h
        s.q_proj, s.k_proj = nn.Linear(d, d), nn.Linear(d, d, bias=False)
        s.v_proj, s.out_proj = nn.Linear(d, d), nn.Linear(d, d)

    def heads(s, x):
        return x.view(x.shape[0], -1, s.h, s.dh).transpose(1, 2)

    def kv(s, x):
        return s.heads(s.k_proj(x)), s.heads(s.v_proj(x))

    def forward(s, x, k, v, mask=None):
        b, t, d = x.shape
        q = s.heads(s.q_proj(x) * s.dh ** -0.5)
        w = torch.matmul(q, k.transpose(2, 3))
        if mask is not None:
            w = w + mask
        a = torch.matmul(w.softmax(-1), v).transpose(1, 2).reshape(b, t, d)
        return s.out_proj(a)


class WLayer(nn.Module):
    def __init__(s, d, h, ff, cross):
        super().__init__()
        s.self_attn, s.self_attn_layer_norm = WAttention(d, h), nn.LayerNorm(d)
        s.encoder_attn = WAttention(d, h) if cross else None
        s.encoder_attn_layer_norm = nn.LayerNorm(d) if cross else None
        s.fc1, s.fc2, s.final_layer_norm = nn.Linear(d, ff), nn.Linear(ff, d), nn.LayerNorm(d)

    def forward(s, x, mask=None, past=None, enc=None, cross_kv=None):
        y = s.self_attn_layer_norm(x)
        k, v = s.self_attn.kv(y)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        x = x + s.self_attn(y, k, v, mask)
        present = [k, v]
        if s.encoder_attn is not None:
            y = s.encoder_attn_layer_norm(x)
            ck, cv = cross_kv if cross_kv is not None else s.encoder_attn.kv(enc)
            x = x + s.encoder_attn(y, ck, cv)
            present += [ck, cv]
        return x + s.fc2(F.gelu(s.fc1(s.final_layer_norm(x)))), present


class WhisperEnc(nn.Module):
    def __init__(s, d=64, h=2, ff=256, layers=2, mels=80, frames=1500):
        super().__init__()
        s.conv1 = nn.Conv1d(mels, d, 3, padding=1)
        s.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        s.register_buffer("embed_positions", sinusoids(frames, d))
        s.layers = nn.ModuleList(WLayer(d, h, ff, False) for _ in range(layers))
        s.layer_norm = nn.LayerNorm(d)

    def forward(s, feats):
        x = F.gelu(s.conv2(F.gelu(s.conv1(feats)))).permute(0, 2, 1)
        x = x + s.embed_positions
        for layer in s.layers:
            x, _ = layer(x)
        return s.layer_norm(x)


class WhisperDec(nn.Module):
    """past False: (input_ids, encoder_hidden_states) -> logits, present
    decoder and encoder key/values; True: (input_ids, past decoder and
    encoder key/values) -> logits, present decoder key/values."""

    def __init__(s, past=False, d=64, h=2, ff=256, layers=2, nctx=64):
        super().__init__()
        s.past = past
        s.embed_tokens, s.embed_positions = nn.Embedding(V, d), nn.Embedding(nctx, d)
        s.layers = nn.ModuleList(WLayer(d, h, ff, True) for _ in range(layers))
        s.layer_norm = nn.LayerNorm(d)

    def forward(s, ids, *rest):
        t = ids.shape[1]
        plen = rest[0].shape[2] if s.past else 0
        x = s.embed_tokens(ids) + s.embed_positions.weight[plen:plen + t]
        mask = None
        if t > 1:
            mask = torch.full((t, t), FMIN)
            cond = torch.arange(t)
            mask = mask.masked_fill(cond < (cond + 1).view(t, 1), 0)[None, None]
        presents = []
        for i, layer in enumerate(s.layers):
            if s.past:
                x, p = layer(x, mask, past=rest[4 * i:4 * i + 2],
                             cross_kv=rest[4 * i + 2:4 * i + 4])
                presents += p[:2]
            else:
                x, p = layer(x, mask, enc=rest[0])
                presents += p
        return (torch.matmul(s.layer_norm(x), s.embed_tokens.weight.t()), *presents)


def kv_names(prefix, layers, parts=("",)):
    return [f"{prefix}.{i}{p}.{kv}" for i in range(layers) for p in parts
            for kv in ("key", "value")]


LLAMA_PAST = kv_names("past_key_values", 2)
LLAMA_PRESENT = kv_names("present", 2)
W_PAST = kv_names("past_key_values", 2, (".decoder", ".encoder"))
W_PRESENT = kv_names("present", 2, (".decoder", ".encoder"))
W_PRESENT_DEC = kv_names("present", 2, (".decoder",))


def prompts(r, n, t, v=V):
    """ids, left-padding mask (every other sample), HF's position ids."""
    ids = r.integers(3, v, (n, t), dtype=np.int64)
    mask = np.ones((n, t), np.int64)
    for i in range(1, n, 2):
        mask[i, :r.integers(1, t // 3)] = 0
    ids[mask == 0] = 0
    pos = np.where(mask == 1, np.cumsum(mask, 1) - 1, 1).astype(np.int64)
    return ids, mask, pos


def llama_samples(qwen, past, seed, n, t=T, plen=PAST, **dims):
    """A prompt of length t, or a decode step after a prompt of length
    plen: its past the prefill's present key/values (Llama(qwen, **dims)
    of seed 0)."""
    r = np.random.default_rng(seed)
    v = dims.get("v", V)
    if not past:
        ids, mask, pos = prompts(r, n, t, v)
        s = {"input_ids": ids, "attention_mask": mask}
        if not qwen:
            s["position_ids"] = pos
        return s
    ids, mask, pos = prompts(r, n, plen, v)
    torch.manual_seed(0)
    m = Llama(qwen, **dims).eval()
    args = [torch.from_numpy(ids), torch.from_numpy(mask)]
    args += [] if qwen else [torch.from_numpy(pos)]
    with torch.no_grad():
        pres = m(*args)[1:]
    s = {"input_ids": r.integers(3, v, (n, 1), dtype=np.int64),
         "attention_mask": np.concatenate([mask, np.ones((n, 1), np.int64)], 1)}
    if not qwen:
        s["position_ids"] = pos[:, -1:] + 1
    s.update({k: p.numpy() for k, p in zip(kv_names("past_key_values", len(m.layers)), pres)})
    return s


def mel(r, n):
    return (r.standard_normal((n, 80, 3000)) * 0.5).astype(np.float32)


def whisper_samples(kind, seed, n):
    r = np.random.default_rng(seed)
    if kind == "enc":
        return {"input_features": mel(r, n)}
    torch.manual_seed(0)
    enc = WhisperEnc().eval()
    with torch.no_grad():
        hid = enc(torch.from_numpy(mel(r, n)))
    ids = r.integers(3, V, (n, 4), dtype=np.int64)
    if kind == "dec":
        return {"input_ids": ids, "encoder_hidden_states": hid.numpy()}
    torch.manual_seed(0)
    dec = WhisperDec().eval()
    with torch.no_grad():
        pres = dec(torch.from_numpy(ids), hid)[1:]
    s = {"input_ids": r.integers(3, V, (n, 1), dtype=np.int64)}
    s.update({k: p.numpy() for k, p in zip(W_PAST, pres)})
    return s


BS, SEQ, PSEQ = "batch_size", "sequence_length", "past_sequence_length"
LLAMA_AX = {"input_ids": {0: BS, 1: SEQ}, "attention_mask": {0: BS, 1: SEQ},
            "position_ids": {0: BS, 1: SEQ}, "logits": {0: BS, 1: SEQ}}
LLAMA_PAST_AX = {"input_ids": {0: BS}, "attention_mask": {0: BS, 1: PSEQ + " + 1"},
                 "position_ids": {0: BS}, "logits": {0: BS}}
LLAMA_PAST_AX.update({k: {0: BS, 2: PSEQ} for k in LLAMA_PAST})
LLAMA_PAST_AX.update({k: {0: BS, 2: PSEQ + " + 1"} for k in LLAMA_PRESENT})
LLAMA_AX.update({k: {0: BS, 2: SEQ} for k in LLAMA_PRESENT})
W_DEC_AX = {"input_ids": {0: BS, 1: "decoder_sequence_length"}, "encoder_hidden_states": {0: BS},
            "logits": {0: BS, 1: "decoder_sequence_length"}}
W_DEC_AX.update({k: {0: BS} for k in W_PRESENT})
W_PAST_AX = {"input_ids": {0: BS}, "logits": {0: BS}}
W_PAST_AX.update({k: {0: BS, 2: PSEQ} for k in W_PAST if "decoder" in k})
W_PAST_AX.update({k: {0: BS} for k in W_PAST if "encoder" in k})
W_PAST_AX.update({k: {0: BS, 2: PSEQ + " + 1"} for k in W_PRESENT_DEC})

LL_IN = ["input_ids", "attention_mask", "position_ids"]
# name: (builder, samples(seed, n), input names, output names, dynamic axes)
MODELS = {
    "llama": (lambda: Llama(), lambda sd, n: llama_samples(False, False, sd, n), LL_IN,
              ["logits"] + LLAMA_PRESENT, LLAMA_AX),
    "llama_cached": (lambda: Llama(cached=True), lambda sd, n: llama_samples(False, False, sd, n),
                     LL_IN, ["logits"] + LLAMA_PRESENT, LLAMA_AX),
    "llama_cached_past": (lambda: Llama(cached=True),
                          lambda sd, n: llama_samples(False, True, sd, n), LL_IN + LLAMA_PAST,
                          ["logits"] + LLAMA_PRESENT, LLAMA_PAST_AX),
    "llama_past": (lambda: Llama(), lambda sd, n: llama_samples(False, True, sd, n),
                   LL_IN + LLAMA_PAST, ["logits"] + LLAMA_PRESENT, LLAMA_PAST_AX),
    "qwen": (lambda: Llama(True), lambda sd, n: llama_samples(True, False, sd, n), LL_IN[:2],
             ["logits"] + LLAMA_PRESENT, LLAMA_AX),
    "qwen_causal": (lambda: Llama(True, causal=True),
                    lambda sd, n: llama_samples(True, False, sd, n), LL_IN[:1],
                    ["logits"] + LLAMA_PRESENT, LLAMA_AX),
    "qwen_past": (lambda: Llama(True), lambda sd, n: llama_samples(True, True, sd, n),
                  LL_IN[:2] + LLAMA_PAST, ["logits"] + LLAMA_PRESENT, LLAMA_PAST_AX),
    "whisper_enc": (WhisperEnc, lambda sd, n: whisper_samples("enc", sd, n), ["input_features"],
                    ["last_hidden_state"],
                    {"input_features": {0: BS, 1: "feature_size", 2: "encoder_sequence_length"},
                     "last_hidden_state": {0: BS, 1: "encoder_sequence_length / 2"}}),
    "whisper_dec": (WhisperDec, lambda sd, n: whisper_samples("dec", sd, n),
                    ["input_ids", "encoder_hidden_states"], ["logits"] + W_PRESENT, W_DEC_AX),
    "whisper_past": (lambda: WhisperDec(True), lambda sd, n: whisper_samples("past", sd, n),
                     ["input_ids"] + W_PAST, ["logits"] + W_PRESENT_DEC, W_PAST_AX),
}


def merge(prefill, step, path):
    """optimum's decoder_model_merged.onnx of the ONNX files prefill and
    step: one If on the bool input use_cache_branch [1], the step its then
    branch and the prefill its else branch, every name of theirs but the
    graph inputs prefixed ("cache/", "no_cache/"); the inputs the step's
    (those of the prefill too as the prefill declares them, of its symbolic
    length), the mask's length "past_sequence_length + sequence_length"."""
    a, b = onnx.load(prefill), onnx.load(step)
    outs = [copy.deepcopy(o) for o in b.graph.output]

    def branch(m, p):
        g = m.graph
        keep = {i.name for i in g.input}
        r = lambda n: n if n in keep or not n else p + n  # noqa: E731
        for n in g.node:
            n.input[:] = [r(x) for x in n.input]
            n.output[:] = [r(x) for x in n.output]
            n.name = p + n.name
        for t in g.initializer:
            t.name = r(t.name)
        for o in g.output:
            o.name = r(o.name)
        del g.value_info[:]
        ins = {i.name: copy.deepcopy(i) for i in g.input}
        del g.input[:]
        return g, ins

    ga, ia = branch(a, "no_cache/")
    gb, ib = branch(b, "cache/")
    ib.update(ia)  # the prompt's symbolic length
    ib["attention_mask"].type.tensor_type.shape.dim[1].dim_param = \
        "past_sequence_length + sequence_length"
    cond = helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])
    node = helper.make_node("If", ["use_cache_branch"], [o.name for o in outs], name="optimum::if",
                            then_branch=gb, else_branch=ga)
    g = helper.make_graph([node], "merged", list(ib.values()) + [cond], outs)
    m = helper.make_model(g, opset_imports=a.opset_import)
    m.ir_version = a.ir_version
    onnx.checker.check_model(m)
    onnx.save(m, path)


def export(name, opset, path):
    builder, smp, ins, outs, axes = MODELS[name]
    torch.manual_seed(0)
    m = builder().eval()
    s = smp(1, 2)
    with torch.no_grad():
        torch.onnx.export(m, tuple(torch.from_numpy(s[k]) for k in ins), path,
                          opset_version=opset, input_names=ins, output_names=outs,
                          dynamic_axes={k: v for k, v in axes.items() if k in ins + outs})


def io(name):
    """the input and output names"""
    return MODELS[name][2:4]


def samples(name, seed, n):
    return MODELS[name][1](seed, n)


def decisions(name, out, ref, got):
    """next-token argmax agreement at the last position of the logits (and
    at every position of a prompt's), the least cosine of a hidden state,
    else none."""
    if out == "logits":
        agree = ref.argmax(-1) == got.argmax(-1)
        every = f", every position {agree.sum()}/{agree.size}" if agree.shape[1] > 1 else ""
        return f"next-token argmax {agree[:, -1].sum()}/{agree.shape[0]}{every}"
    if out == "last_hidden_state":
        return nlp.decisions(name, out, ref, got)
    return None


if __name__ == "__main__":
    nlp.main(sys.modules[__name__])
