"""Registry entries: scaled_dot_product_attention, and the attention and transformer layers (MultiheadAttention,
TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, PositionalEncoding, AdditiveAttention,
DotAttention, GeneralAttention).

The NumPy references are written from the definitions (float64 inside, cast back to the input's dtype): scores,
masks (bool and additive, torch's conventions for each API), a softmax whose fully masked rows are zeros, heads
split and merged by reshapes, layer norm, the feed-forward block. Layers run with dropout 0 so gradcheck is
deterministic; sdpa's random dropout is tested in tests/test_attention.py.
"""
import math

import numpy as np

import backpropx as bx

from .core import LayerInfo, OpInfo, Sample


def _op(name):
    return lambda *args, **kwargs: getattr(bx, name)(*args, **kwargs)


def _softmax_rows(s):
    """softmax over the last axis; a row of all -inf gives zeros (as backpropx, where torch gives NaN)."""
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    z = e.sum(-1, keepdims=True)
    return np.where(z > 0, e / np.where(z > 0, z, 1.0), 0.0)


# ---- scaled_dot_product_attention -------------------------------------------------------------------

def _sdpa_ref(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    dtype = q.dtype
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    if enable_gqa:
        k = np.repeat(k, q.shape[-3] // k.shape[-3], axis=-3)
        v = np.repeat(v, q.shape[-3] // v.shape[-3], axis=-3)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    L, S = s.shape[-2:]
    if is_causal:
        s = np.where(np.tril(np.ones((L, S), bool)), s, -np.inf)
    if attn_mask is not None:
        s = np.where(attn_mask, s, -np.inf) if attn_mask.dtype == bool else s + attn_mask
    p = _softmax_rows(s)
    if dropout_p == 1.0:
        p = np.zeros_like(p)
    else:
        assert dropout_p == 0.0, "sdpa registry samples must be deterministic"
    return np.matmul(p, v).astype(dtype)


def _sdpa_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    keep = rng.random((3, 5)) > 0.3
    keep[:, 0] = True  # every row keeps a key
    dead_row = np.ones((2, 3, 5), bool)
    dead_row[1, 1] = False
    float_mask = x(2, 3, 5)
    float_mask[0, 2, 1:3] = -np.inf
    return [
        Sample(x(2, 3, 4), x(2, 5, 4), x(2, 5, 4), desc="3-D"),
        Sample(x(2, 3, 4), x(2, 5, 4), x(2, 5, 4), keep, desc="bool mask broadcast over the batch"),
        Sample(x(2, 3, 4), x(2, 5, 4), x(2, 5, 4), float_mask, desc="float mask (with -inf), gets a gradient"),
        Sample(x(2, 4, 3), x(2, 4, 3), x(2, 4, 3), kwargs={"is_causal": True}, desc="causal"),
        Sample(x(3, 4), x(6, 4), x(6, 4), kwargs={"is_causal": True}, desc="causal, L != S"),
        Sample(x(2, 2, 3, 4), x(2, 2, 5, 4), x(2, 2, 5, 4), (rng.random((2, 1, 3, 5)) > 0.2) | np.eye(3, 5, dtype=bool),
               desc="batched 4-D [B, H, L, E] with a per-batch mask"),
        Sample(x(4, 3), x(6, 3), x(6, 5), desc="unbatched, L != S, E != Ev"),
        Sample(x(2, 3, 4), x(2, 5, 4), x(2, 5, 2), kwargs={"scale": 0.3}, desc="explicit scale"),
        Sample(x(2, 3, 4), x(2, 5, 4), x(2, 5, 3), dead_row, desc="a fully masked row gives zeros"),
        Sample(x(3, 2, 4), x(1, 5, 4), x(3, 1, 5, 2), desc="broadcast batch dims"),
        Sample(x(1, 4, 3, 4), x(1, 2, 5, 4), x(1, 2, 5, 2), kwargs={"enable_gqa": True}, desc="grouped-query"),
        Sample(x(2, 3, 4), x(2, 5, 4), x(2, 5, 4), kwargs={"dropout_p": 1.0}, desc="dropout_p = 1: zeros"),
    ]


OPS = [
    OpInfo("scaled_dot_product_attention", op=_op("scaled_dot_product_attention"), ref=_sdpa_ref,
           samples=_sdpa_samples),
]


# ---- layer references ---------------------------------------------------------------------------------

def _linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def _layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps) * w
    return y if b is None else y + b


def _gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def _mha_ref(p, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
             average_attn_weights=True, is_causal=False, *, num_heads, batch_first=False, prefix=""):
    """torch.nn.MultiheadAttention's forward from its definition; masks: True (or -inf) = blocked."""
    dtype = query.dtype
    get = lambda name: None if p.get(prefix + name) is None else p[prefix + name].astype(np.float64)  # noqa: E731
    query, key, value = (a.astype(np.float64) for a in (query, key, value))
    if batch_first:
        query, key, value = (np.swapaxes(a, 0, 1) for a in (query, key, value))
    L, N, E = query.shape
    S = key.shape[0]
    H, Dh = num_heads, E // num_heads
    if get("in_proj_weight") is not None:
        wq, wk, wv = np.split(get("in_proj_weight"), 3)
    else:
        wq, wk, wv = get("q_proj_weight"), get("k_proj_weight"), get("v_proj_weight")
    b = get("in_proj_bias")
    bq, bk, bv = (None, None, None) if b is None else np.split(b, 3)
    heads = lambda t, n: t.reshape(n, N, H, Dh).transpose(1, 2, 0, 3)  # noqa: E731  -> [N, H, n, Dh]
    q = heads(_linear(query, wq, bq), L)
    k = heads(_linear(key, wk, bk), S)
    v = heads(_linear(value, wv, bv), S)
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(Dh)  # [N, H, L, S]
    for m in (attn_mask, None if key_padding_mask is None else key_padding_mask[:, None, None, :]):
        if m is None:
            continue
        if m.ndim == 3:
            m = m.reshape(N, H, L, S)
        scores = np.where(m, -np.inf, scores) if m.dtype == bool else scores + m
    w = _softmax_rows(scores)
    out = (w @ v).transpose(2, 0, 1, 3).reshape(L, N, E)
    out = _linear(out, get("out_proj.weight"), get("out_proj.bias"))
    if batch_first:
        out = np.swapaxes(out, 0, 1)
    if average_attn_weights:
        w = w.mean(1)
    return out.astype(dtype), (w.astype(dtype) if need_weights else None)


def _encoder_layer_ref(p, src, src_mask=None, src_key_padding_mask=None, is_causal=False, *, nhead, norm_first,
                       activation="relu", prefix=""):
    dtype = src.dtype
    get = lambda name: p[prefix + name].astype(np.float64)  # noqa: E731
    act = _gelu if activation == "gelu" else (lambda t: np.maximum(t, 0.0))
    x = src.astype(np.float64)

    def sa(y):
        return _mha_ref(p, y, y, y, src_key_padding_mask, attn_mask=src_mask, num_heads=nhead,
                        prefix=prefix + "self_attn.")[0]

    def ff(y):
        return _linear(act(_linear(y, get("linear1.weight"), get("linear1.bias"))), get("linear2.weight"),
                       get("linear2.bias"))

    n1 = lambda y: _layer_norm(y, get("norm1.weight"), get("norm1.bias"))  # noqa: E731
    n2 = lambda y: _layer_norm(y, get("norm2.weight"), get("norm2.bias"))  # noqa: E731
    if norm_first:
        x = x + sa(n1(x))
        x = x + ff(n2(x))
    else:
        x = n1(x + sa(x))
        x = n2(x + ff(x))
    return x.astype(dtype)


def _decoder_layer_ref(p, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                       memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False, *, nhead,
                       norm_first):
    dtype = tgt.dtype
    get = lambda name: p[name].astype(np.float64)  # noqa: E731
    x, mem = tgt.astype(np.float64), memory.astype(np.float64)
    sa = lambda y: _mha_ref(p, y, y, y, tgt_key_padding_mask, attn_mask=tgt_mask, num_heads=nhead,  # noqa: E731
                            prefix="self_attn.")[0]
    ca = lambda y: _mha_ref(p, y, mem, mem, memory_key_padding_mask, attn_mask=memory_mask,  # noqa: E731
                            num_heads=nhead, prefix="multihead_attn.")[0]
    ff = lambda y: _linear(np.maximum(_linear(y, get("linear1.weight"), get("linear1.bias")), 0.0),  # noqa: E731
                           get("linear2.weight"), get("linear2.bias"))
    norm = [lambda y, i=i: _layer_norm(y, get(f"norm{i}.weight"), get(f"norm{i}.bias")) for i in (1, 2, 3)]
    if norm_first:
        x = x + sa(norm[0](x))
        x = x + ca(norm[1](x))
        x = x + ff(norm[2](x))
    else:
        x = norm[0](x + sa(x))
        x = norm[1](x + ca(x))
        x = norm[2](x + ff(x))
    return x.astype(dtype)


def _encoder_ref(p, src, mask=None, src_key_padding_mask=None, *, nhead, num_layers):
    x = src
    for i in range(num_layers):
        x = _encoder_layer_ref(p, x, mask, src_key_padding_mask, nhead=nhead, norm_first=False,
                               prefix=f"layers.{i}.")
    return _layer_norm(x.astype(np.float64), p["norm.weight"], p["norm.bias"]).astype(src.dtype)


def _under(p, prefix):
    return {k[len(prefix):]: v for k, v in p.items() if k.startswith(prefix)}


def _transformer_ref(p, src, tgt, src_mask=None, tgt_mask=None, *, nhead, layers, norm_first):
    """nn.Transformer: encoder stack + final norm, decoder stack (over the encoder's memory) + final norm."""
    mem = src
    for i in range(layers):
        mem = _encoder_layer_ref(p, mem, src_mask, nhead=nhead, norm_first=norm_first, prefix=f"encoder.layers.{i}.")
    mem = _layer_norm(mem.astype(np.float64), p["encoder.norm.weight"], p["encoder.norm.bias"])
    x = tgt
    for i in range(layers):
        x = _decoder_layer_ref(_under(p, f"decoder.layers.{i}."), x, mem, tgt_mask, nhead=nhead, norm_first=norm_first)
    return _layer_norm(x.astype(np.float64), p["decoder.norm.weight"], p["decoder.norm.bias"]).astype(src.dtype)


def _seq2seq_ref(scores_fn):
    """(query [B, Dq] or [B, T, Dq], keys, values, mask [B, S] True = keep) -> (context, weights)."""
    def ref(p, query, keys, values, mask=None):
        dtype = query.dtype
        single = query.ndim == 2
        q = (query[:, None] if single else query).astype(np.float64)
        s = scores_fn(p, q, keys.astype(np.float64))  # [B, T, S]
        if mask is not None:
            s = np.where(mask[:, None, :], s, -np.inf)
        w = _softmax_rows(s)
        c = w @ values.astype(np.float64)
        if single:
            c, w = c[:, 0], w[:, 0]
        return c.astype(dtype), w.astype(dtype)
    return ref


def _additive_scores(p, q, k):
    qp = q @ p["query_proj.weight"].T            # [B, T, H]
    kp = k @ p["key_proj.weight"].T              # [B, S, H]
    return (np.tanh(qp[:, :, None, :] + kp[:, None, :, :]) @ p["v.weight"].T)[..., 0]


def _positional_ref(p, x):
    L, _, d = x.shape
    pe = np.zeros((L, d))
    pos = np.arange(L)[:, None]
    for i in range(0, d, 2):
        angle = pos[:, 0] / 10000 ** (i / d)
        pe[:, i] = np.sin(angle)
        if i + 1 < d:
            pe[:, i + 1] = np.cos(angle)
    return (x.astype(np.float64) + pe[:, None, :]).astype(x.dtype)


def _kept(rng, B, S):
    keep = rng.random((B, S)) > 0.35
    keep[:, 0] = True
    return keep


def _padding(rng, N, S):
    pad = np.zeros((N, S), bool)
    pad[0, -2:] = True
    pad[-1, -1] = True
    return pad


def _causal_bool(n):
    return np.triu(np.ones((n, n), bool), 1)


_x = lambda rng, *shape: rng.standard_normal(shape)  # noqa: E731

LAYERS = [
    LayerInfo("MultiheadAttention-padding", make=lambda: bx.nn.MultiheadAttention(6, 2),
              inputs=lambda rng: (_x(rng, 3, 2, 6), _x(rng, 5, 2, 6), _x(rng, 5, 2, 6), _padding(rng, 2, 5)),
              ref=lambda p, q, k, v, kpm: _mha_ref(p, q, k, v, kpm, num_heads=2)),
    LayerInfo("MultiheadAttention-causal-batch_first",
              make=lambda: bx.nn.MultiheadAttention(6, 3, batch_first=True),
              inputs=lambda rng: (_x(rng, 2, 4, 6), _x(rng, 2, 4, 6), _x(rng, 2, 4, 6), None, True, _causal_bool(4),
                                  False),
              ref=lambda p, q, k, v, kpm, nw, am, avg: _mha_ref(p, q, k, v, kpm, nw, am, avg, num_heads=3,
                                                                batch_first=True)),
    LayerInfo("MultiheadAttention-kdim-vdim-float-mask",
              make=lambda: bx.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False),
              inputs=lambda rng: (_x(rng, 3, 2, 4), _x(rng, 4, 2, 3), _x(rng, 4, 2, 5), None, True,
                                  _x(rng, 4, 3, 4)),
              ref=lambda p, q, k, v, kpm, nw, am: _mha_ref(p, q, k, v, kpm, nw, am, num_heads=2),
              grad_inputs=(0, 1, 2)),
    LayerInfo("TransformerEncoderLayer-post-norm",
              make=lambda: bx.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0),
              inputs=lambda rng: (_x(rng, 4, 2, 4), None, _padding(rng, 2, 4)),
              ref=lambda p, x, m, kpm: _encoder_layer_ref(p, x, m, kpm, nhead=2, norm_first=False)),
    LayerInfo("TransformerEncoderLayer-pre-norm-gelu",
              make=lambda: bx.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0, norm_first=True,
                                                         activation="gelu"),
              inputs=lambda rng: (_x(rng, 4, 2, 4), _causal_bool(4)),
              ref=lambda p, x, m: _encoder_layer_ref(p, x, m, nhead=2, norm_first=True, activation="gelu")),
    LayerInfo("TransformerDecoderLayer-causal",
              make=lambda: bx.nn.TransformerDecoderLayer(4, 2, dim_feedforward=8, dropout=0.0),
              inputs=lambda rng: (_x(rng, 3, 2, 4), _x(rng, 5, 2, 4), _causal_bool(3), None, None,
                                  _padding(rng, 2, 5), True),
              ref=lambda p, t, m, tm, mm, tk, mk, c: _decoder_layer_ref(p, t, m, tm, mm, tk, mk, c, nhead=2,
                                                                        norm_first=False)),
    LayerInfo("TransformerDecoderLayer-pre-norm",
              make=lambda: bx.nn.TransformerDecoderLayer(4, 2, dim_feedforward=8, dropout=0.0, norm_first=True),
              inputs=lambda rng: (_x(rng, 3, 2, 4), _x(rng, 5, 2, 4), _causal_bool(3)),
              ref=lambda p, t, m, tm: _decoder_layer_ref(p, t, m, tm, nhead=2, norm_first=True)),
    LayerInfo("TransformerEncoder-2-layers",
              make=lambda: bx.nn.TransformerEncoder(
                  bx.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0), 2,
                  norm=bx.nn.LayerNorm(4)),
              inputs=lambda rng: (_x(rng, 3, 2, 4),),
              ref=lambda p, x: _encoder_ref(p, x, nhead=2, num_layers=2)),
    LayerInfo("TransformerDecoder-2-layers-norm",
              make=lambda: bx.nn.TransformerDecoder(
                  bx.nn.TransformerDecoderLayer(4, 2, dim_feedforward=8, dropout=0.0), 2, norm=bx.nn.LayerNorm(4)),
              inputs=lambda rng: (_x(rng, 3, 2, 4), _x(rng, 5, 2, 4), _causal_bool(3)),
              ref=lambda p, t, m, tm: _layer_norm(_decoder_layer_ref(
                  _under(p, "layers.1."), _decoder_layer_ref(_under(p, "layers.0."), t, m, tm, nhead=2, norm_first=False),
                  m, tm, nhead=2, norm_first=False).astype(np.float64), p["norm.weight"], p["norm.bias"]).astype(t.dtype)),
    LayerInfo("Transformer-post-norm",
              make=lambda: bx.nn.Transformer(4, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=8,
                                             dropout=0.0),
              inputs=lambda rng: (_x(rng, 5, 2, 4), _x(rng, 3, 2, 4), None, _causal_bool(3)),
              ref=lambda p, s, t, sm, tm: _transformer_ref(p, s, t, sm, tm, nhead=2, layers=2, norm_first=False)),
    LayerInfo("Transformer-pre-norm",
              make=lambda: bx.nn.Transformer(4, 2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8,
                                             dropout=0.0, norm_first=True),
              inputs=lambda rng: (_x(rng, 4, 2, 4), _x(rng, 3, 2, 4), None, _causal_bool(3)),
              ref=lambda p, s, t, sm, tm: _transformer_ref(p, s, t, sm, tm, nhead=2, layers=1, norm_first=True)),
    LayerInfo("PositionalEncoding", make=lambda: bx.nn.PositionalEncoding(5, dropout=0.0, max_len=16),
              inputs=lambda rng: (_x(rng, 6, 2, 5),), ref=_positional_ref,
              atol64=1e-7, rtol64=1e-6),  # the pe buffer is built in float32 (as torch's), then converted
    LayerInfo("AdditiveAttention", make=lambda: bx.nn.AdditiveAttention(3, 4, 5),
              inputs=lambda rng: (_x(rng, 2, 3), _x(rng, 2, 6, 4), _x(rng, 2, 6, 2), _kept(rng, 2, 6)),
              ref=_seq2seq_ref(_additive_scores)),
    LayerInfo("AdditiveAttention-query-sequence", make=lambda: bx.nn.AdditiveAttention(3, 4, 5),
              inputs=lambda rng: (_x(rng, 2, 3, 3), _x(rng, 2, 6, 4), _x(rng, 2, 6, 2)),
              ref=_seq2seq_ref(_additive_scores)),
    LayerInfo("DotAttention", make=lambda: bx.nn.DotAttention(),
              inputs=lambda rng: (_x(rng, 2, 4), _x(rng, 2, 6, 4), _x(rng, 2, 6, 3), _kept(rng, 2, 6)),
              ref=_seq2seq_ref(lambda p, q, k: q @ np.swapaxes(k, 1, 2))),
    LayerInfo("DotAttention-query-sequence", make=lambda: bx.nn.DotAttention(),
              inputs=lambda rng: (_x(rng, 2, 3, 4), _x(rng, 2, 6, 4), _x(rng, 2, 6, 3), _kept(rng, 2, 6)),
              ref=_seq2seq_ref(lambda p, q, k: q @ np.swapaxes(k, 1, 2))),
    LayerInfo("GeneralAttention", make=lambda: bx.nn.GeneralAttention(3, 4),
              inputs=lambda rng: (_x(rng, 2, 3), _x(rng, 2, 5, 4), _x(rng, 2, 5, 2), _kept(rng, 2, 5)),
              ref=_seq2seq_ref(lambda p, q, k: q @ p["weight"] @ np.swapaxes(k, 1, 2))),
]
