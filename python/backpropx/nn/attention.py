"""Attention layers (bx.nn): MultiheadAttention with torch.nn.MultiheadAttention's parameters, arguments and
mask conventions, on the fused scaled_dot_product_attention kernel; and the attentions of RNN encoder-decoders:
AdditiveAttention (Bahdanau), DotAttention and GeneralAttention (Luong).

    >>> mha = bx.nn.MultiheadAttention(16, 4); out, weights = mha(x, x, x)   # x [L, N, 16]

Mask conventions, as torch: MultiheadAttention's key_padding_mask and bool attn_mask mark with True what may
NOT be attended; bx.scaled_dot_product_attention's bool attn_mask marks with True what MAY be attended; the
seq2seq attentions take mask [B, S] with True = keep. A query row whose every key is masked out gets zero
weights and a zero context (torch gives NaN there).
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

from .. import _C
from .._C import Tensor
from .._factory import empty, zeros
from . import functional as F
from . import init
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "AdditiveAttention", "DotAttention", "GeneralAttention"]


def _neg_inf_where(mask: Tensor, dtype) -> Tensor:
    """A bool mask (True = masked out) as an additive float mask: -inf where True, 0 elsewhere."""
    return _C.masked_fill(zeros(*mask.shape, dtype=dtype), mask, float("-inf"))


def _pad_last(mask: Optional[Tensor]) -> Optional[Tensor]:
    """mask [..., S] -> [..., S + 1], the new key not masked (for bias_k / add_zero_attn)."""
    if mask is None:
        return None
    pad = zeros(*mask.shape[:-1], 1, dtype=mask.dtype)
    return _C.cat([mask, pad], mask.dim() - 1)


class MultiheadAttention(Module):
    """Multi-head attention as torch.nn.MultiheadAttention: the same parameters (in_proj_weight [3E, E] and
    in_proj_bias [3E], or q/k/v_proj_weight when kdim / vdim differ; out_proj.weight / .bias), arguments and
    masks; all heads run in one fused attention kernel.

        >>> mha = bx.nn.MultiheadAttention(16, 4, batch_first=True); out, w = mha(x, x, x)  # x [N, L, 16]
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: Optional[int] = None,
                 vdim: Optional[int] = None, batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads}")
        if embed_dim % num_heads != 0:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim))
            self.bias_v = Parameter(empty(1, 1, embed_dim))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """q, k, v = the input projections (three GEMMs on slices of in_proj_weight: their gradients are
        written into one [3E, E] gradient, and q / k / v come out contiguous for the head split)."""
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Optional[Tensor] = None,
                need_weights: bool = True, attn_mask: Optional[Tensor] = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
        """query [L, N, E] (batch_first: [N, L, E]; unbatched: [L, E]), key [S, N, kdim], value [S, N, vdim]
        -> (output like query, weights [N, L, S] averaged over heads, [N, H, L, S] if not average_attn_weights,
        or None when not need_weights). key_padding_mask [N, S]: True (or -inf) = ignore that key; attn_mask
        [L, S] or [N * num_heads, L, S]: True = may not attend, a float mask is added to the scores.
        is_causal is a hint that attn_mask is the causal mask (which must be given), as torch."""
        if query.dim() not in (2, 3):
            raise ValueError(f"MultiheadAttention: query should be unbatched 2-D or batched 3-D, got shape "
                             f"{list(query.shape)}")
        if key.dim() != query.dim() or value.dim() != query.dim():
            raise ValueError(f"MultiheadAttention: query, key and value must all be 2-D or all 3-D, got shapes "
                             f"{list(query.shape)}, {list(key.shape)} and {list(value.shape)}")
        if is_causal and attn_mask is None:
            raise RuntimeError("MultiheadAttention: need attn_mask if specifying the is_causal hint (pass the "
                               "causal mask, e.g. bx.nn.Transformer.generate_square_subsequent_mask(L))")
        batched = query.dim() == 3
        seq_dim, batch_dim = (1, 0) if (self.batch_first and batched) else (0, 1)
        if not batched:
            query, key, value = (_C.unsqueeze(t, 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = _C.unsqueeze(key_padding_mask, 0)
        L, N = query.shape[seq_dim], query.shape[batch_dim]
        S = key.shape[seq_dim]
        E, H, Dh = self.embed_dim, self.num_heads, self.head_dim
        if query.shape[2] != E or key.shape[2] != self.kdim or value.shape[2] != self.vdim:
            raise ValueError(f"MultiheadAttention: expected query [.., {E}], key [.., {self.kdim}] and value "
                             f"[.., {self.vdim}], got shapes {list(query.shape)}, {list(key.shape)} and "
                             f"{list(value.shape)}")
        if key.shape[batch_dim] != N or value.shape[batch_dim] != N or value.shape[seq_dim] != S:
            raise ValueError(f"MultiheadAttention: query, key and value disagree on the batch size or key and value "
                             f"on the sequence length: shapes {list(query.shape)}, {list(key.shape)} and "
                             f"{list(value.shape)} (batch_first={self.batch_first})")

        q, k, v = self._project(query, key, value)
        if self.bias_k is not None:  # one more key / value: the learned bias_k / bias_v
            shape = [N, 1, E] if seq_dim == 1 else [1, N, E]
            k = _C.cat([k, _C.expand(self.bias_k.reshape(1, 1, E), shape)], seq_dim)
            v = _C.cat([v, _C.expand(self.bias_v.reshape(1, 1, E), shape)], seq_dim)
            attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
            S += 1

        # heads: [L, N, E] (or [N, L, E]) -> [N, H, L, Dh] views
        def heads(t: Tensor, length: int) -> Tensor:
            if seq_dim == 0:
                return _C.permute(t.reshape(length, N, H, Dh), [1, 2, 0, 3])
            return _C.transpose(t.reshape(N, length, H, Dh), 1, 2)

        q, k, v = heads(q, L), heads(k, S), heads(v, S)
        if self.add_zero_attn:  # one more key / value of zeros
            k = _C.cat([k, zeros(N, H, 1, Dh, dtype=k.dtype)], 2)
            v = _C.cat([v, zeros(N, H, 1, Dh, dtype=v.dtype)], 2)
            attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
            S += 1

        causal = is_causal and key_padding_mask is None and self.bias_k is None and not self.add_zero_attn
        mask = None if causal else self._merge_masks(attn_mask, key_padding_mask, N, L, S, q.dtype)
        p = self.dropout if self.training else 0.0
        out, weights = _C._attention_with_weights(q, k, v, mask, p, causal, None, need_weights)

        # [N, H, L, Dh] -> [L, N, E] (or [N, L, E]): out is laid out like q, so this is a view
        if seq_dim == 0:
            out = _C.permute(out, [2, 0, 1, 3]).reshape(L, N, E)
        else:
            out = _C.transpose(out, 1, 2).reshape(N, L, E)
        out = self.out_proj(out)
        if weights is not None and average_attn_weights:
            weights = _C.mean(weights, 1)
        if not batched:
            out = _C.squeeze(out, 1)
            if weights is not None:
                weights = _C.squeeze(weights, 0)
        return out, weights

    def _merge_masks(self, attn_mask: Optional[Tensor], key_padding_mask: Optional[Tensor], N: int, L: int, S: int,
                     dtype) -> Optional[Tensor]:
        """attn_mask and key_padding_mask (torch's conventions) as one mask for the fused kernel, broadcastable
        to [N, H, L, S]: bool with True = may attend when both are bool, else an additive float mask."""
        H = self.num_heads
        masks = []
        if attn_mask is not None:
            if attn_mask.dim() == 2:
                if tuple(attn_mask.shape) != (L, S):
                    raise RuntimeError(f"MultiheadAttention: the shape of the 2D attn_mask is {list(attn_mask.shape)}, "
                                       f"but should be {[L, S]}")
                masks.append(attn_mask)
            elif attn_mask.dim() == 3:
                if tuple(attn_mask.shape) != (N * H, L, S):
                    raise RuntimeError(f"MultiheadAttention: the shape of the 3D attn_mask is {list(attn_mask.shape)}, "
                                       f"but should be {[N * H, L, S]}")
                masks.append(attn_mask.reshape(N, H, L, S))
            else:
                raise RuntimeError(f"MultiheadAttention: attn_mask must be 2-D [L, S] or 3-D [N * num_heads, L, S], "
                                   f"got shape {list(attn_mask.shape)}")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise ValueError(f"MultiheadAttention: expected key_padding_mask of shape {[N, S]}, got "
                                 f"{list(key_padding_mask.shape)}")
            masks.append(key_padding_mask.reshape(N, 1, 1, S))
        for m in masks:
            if m.dtype != _C.dtype.bool and not m.is_floating_point():
                raise TypeError(f"MultiheadAttention: only bool and float masks are supported, got {m.dtype}")
        if not masks:
            return None
        if all(m.dtype == _C.dtype.bool for m in masks):
            blocked = masks[0] if len(masks) == 1 else _C.logical_or(masks[0], masks[1])
            return _C.logical_not(blocked)
        floats = [_neg_inf_where(m, dtype) if m.dtype == _C.dtype.bool else m for m in masks]
        return floats[0] if len(floats) == 1 else floats[0] + floats[1]


# ---- seq2seq attention (RNN encoder-decoders) -----------------------------------------------------

def _as_query_sequence(query: Tensor, keys: Tensor, values: Tensor, mask: Optional[Tensor],
                       name: str) -> Tuple[Tensor, bool]:
    """query [B, Dq] -> [B, 1, Dq] (single step) or [B, T, Dq] as is; checks the shapes."""
    if query.dim() not in (2, 3) or keys.dim() != 3 or values.dim() != 3:
        raise ValueError(f"{name}: expected query [B, Dq] or [B, T, Dq], keys [B, S, Dk] and values [B, S, Dv], got "
                         f"shapes {list(query.shape)}, {list(keys.shape)} and {list(values.shape)}")
    B, S = keys.shape[0], keys.shape[1]
    if query.shape[0] != B or values.shape[0] != B or values.shape[1] != S:
        raise ValueError(f"{name}: query {list(query.shape)}, keys {list(keys.shape)} and values "
                         f"{list(values.shape)} disagree on the batch size or the source length")
    if mask is not None and (tuple(mask.shape) != (B, S) or mask.dtype != _C.dtype.bool):
        raise ValueError(f"{name}: mask must be a bool tensor of shape {[B, S]} (True = keep), got "
                         f"{mask.dtype} {list(mask.shape)}")
    single = query.dim() == 2
    return (_C.unsqueeze(query, 1) if single else query), single


def _dot_attention(query: Tensor, keys: Tensor, values: Tensor, mask: Optional[Tensor],
                   single: bool) -> Tuple[Tensor, Tensor]:
    """softmax(query keys^T) values in the fused kernel (scale 1); mask [B, S] True = keep."""
    m = None if mask is None else _C.unsqueeze(mask, 1)  # [B, 1, S]: every query step
    context, weights = _C._attention_with_weights(query, keys, values, m, 0.0, False, 1.0, True)
    if single:
        return _C.squeeze(context, 1), _C.squeeze(weights, 1)
    return context, weights


class DotAttention(Module):
    """Luong dot attention: score(h_t, h_s) = h_t . h_s, weights = softmax over the source, context = weights
    @ values. forward(query [B, D] or [B, T, D], keys [B, S, D], values [B, S, Dv], mask [B, S] True = keep)
    -> (context [B, Dv] / [B, T, Dv], weights [B, S] / [B, T, S]).

        >>> context, weights = bx.nn.DotAttention()(h_t, encoder_outputs, encoder_outputs)
    """

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        q, single = _as_query_sequence(query, keys, values, mask, "DotAttention")
        if q.shape[2] != keys.shape[2]:
            raise ValueError(f"DotAttention: query {list(query.shape)} and keys {list(keys.shape)} need the same "
                             f"feature size (use GeneralAttention to attend across sizes)")
        return _dot_attention(q, keys, values, mask, single)


class GeneralAttention(Module):
    """Luong general attention: score(h_t, h_s) = h_t^T W_a h_s with weight W_a [query_dim, key_dim].
    forward as DotAttention's.

        >>> attn = bx.nn.GeneralAttention(256, 512); context, weights = attn(h_t, enc_out, enc_out)
    """

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.query_dim = query_dim
        self.key_dim = key_dim
        self.weight = Parameter(empty(query_dim, key_dim))
        bound = 1.0 / math.sqrt(query_dim) if query_dim > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        q, single = _as_query_sequence(query, keys, values, mask, "GeneralAttention")
        if q.shape[2] != self.query_dim or keys.shape[2] != self.key_dim:
            raise ValueError(f"GeneralAttention({self.query_dim}, {self.key_dim}): got query {list(query.shape)} and "
                             f"keys {list(keys.shape)}")
        # h_t^T W_a h_s = (h_t^T W_a) . h_s: one GEMM on the (usually shorter) query side
        return _dot_attention(_C.matmul(q, self.weight), keys, values, mask, single)

    def extra_repr(self) -> str:
        return f"query_dim={self.query_dim}, key_dim={self.key_dim}"


class AdditiveAttention(Module):
    """Bahdanau (additive) attention: score(q, k) = v^T tanh(W_q q + W_k k), with query_proj.weight
    [hidden_dim, query_dim], key_proj.weight [hidden_dim, key_dim] and v.weight [1, hidden_dim] (no biases).
    forward as DotAttention's.

        >>> attn = bx.nn.AdditiveAttention(256, 512, 128); context, weights = attn(s_prev, enc_out, enc_out)
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_proj = Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = Linear(key_dim, hidden_dim, bias=False)
        self.v = Linear(hidden_dim, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor, values: Tensor,
                mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        q, single = _as_query_sequence(query, keys, values, mask, "AdditiveAttention")
        qp = _C.unsqueeze(self.query_proj(q), 2)        # [B, T, 1, H]
        kp = _C.unsqueeze(self.key_proj(keys), 1)       # [B, 1, S, H]
        scores = _C.squeeze(self.v(_C.tanh(qp + kp)), 3)  # [B, T, S]
        if mask is not None:
            # masked keys get -inf; a row with no key left gets finite scores and then zero weights, so
            # neither the weights nor any gradient see a NaN
            blocked = _C.unsqueeze(_C.logical_not(mask), 1)  # [B, 1, S]
            any_kept = _C.unsqueeze(_C.amax(mask.to(scores.dtype), [1], True) > 0.5, 1)  # [B, 1, 1]
            scores = _C.masked_fill(scores, _C.logical_and(blocked, any_kept), float("-inf"))
            weights = _C.masked_fill(_C.softmax(scores, -1), blocked, 0.0)
        else:
            weights = _C.softmax(scores, -1)
        context = _C.matmul(weights, values)            # [B, T, Dv]
        if single:
            return _C.squeeze(context, 1), _C.squeeze(weights, 1)
        return context, weights
