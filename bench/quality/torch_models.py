"""PyTorch twins of the backpropx models the quality benchmarks train (bx.models.Seq2Seq, TextCNN, BowClassifier,
RNNLanguageModel).

Each twin copies the structure of its backpropx model layer for layer, with the same parameter names and shapes,
so a backpropx state_dict loads into it with strict=True (common.load_bx_state) and, without dropout, gives the
same outputs. Read beside python/backpropx/models/{seq2seq,classifiers,language_model}.py.

    >>> model = Seq2Seq(len(src_vocab), len(tgt_vocab)); loss = model.loss(src, src_lengths, tgt)
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["AdditiveAttention", "GeneralAttention", "Seq2Seq", "BowClassifier", "TextCNN", "RNNLanguageModel",
           "greedy_translate", "detach_state"]


# ---- seq2seq attentions (bx.nn.AdditiveAttention / DotAttention / GeneralAttention) ----------------------------

def _masked_softmax(scores: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """softmax over the source of scores [B, T, S]; mask [B, S] True = keep (every row keeps >= 1 key here)."""
    if mask is not None:
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
    return torch.softmax(scores, -1)


class AdditiveAttention(nn.Module):
    """Bahdanau: score(q, k) = v^T tanh(W_q q + W_k k); query_proj [H, Dq], key_proj [H, Dk], v [1, H], no
    biases. query [B, T, Dq], keys [B, S, Dk], values [B, S, Dv] -> (context [B, T, Dv], weights [B, T, S])."""

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values, mask=None):
        qp = self.query_proj(query).unsqueeze(2)               # [B, T, 1, H]
        kp = self.key_proj(keys).unsqueeze(1)                  # [B, 1, S, H]
        scores = self.v(torch.tanh(qp + kp)).squeeze(3)        # [B, T, S]
        weights = _masked_softmax(scores, mask)
        return torch.bmm(weights, values), weights


class DotAttention(nn.Module):
    """Luong dot: score = q . k (no scaling)."""

    def forward(self, query, keys, values, mask=None):
        weights = _masked_softmax(torch.bmm(query, keys.transpose(1, 2)), mask)
        return torch.bmm(weights, values), weights


class GeneralAttention(nn.Module):
    """Luong general: score = q^T W k, weight [query_dim, key_dim] (one parameter named `weight`)."""

    def __init__(self, query_dim: int, key_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(query_dim, key_dim))
        bound = 1.0 / query_dim ** 0.5
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, query, keys, values, mask=None):
        weights = _masked_softmax(torch.bmm(query @ self.weight, keys.transpose(1, 2)), mask)
        return torch.bmm(weights, values), weights


# ---- seq2seq -----------------------------------------------------------------------------------------------

class Seq2Seq(nn.Module):
    """bx.models.Seq2Seq in PyTorch. Encoder Embedding -> dropout -> (bi)GRU/LSTM over the packed source; bridge
    Linear + tanh of the final states -> the decoder's initial state; decoder Embedding -> dropout -> GRU/LSTM over
    the whole shifted target in one call; attention with query s_{t-1} (Bahdanau: the initial state, then the
    decoder outputs shifted by one) or s_t (Luong); combine Linear over [dec_out, context, embedded] + tanh;
    dropout; output Linear. src [B, S], tgt [B, T] (<s> first) -> logits [B, T-1, V]."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_dim: int = 128, hidden_size: int = 256,
                 cell: str = "gru", attention: str = "bahdanau", bidirectional: bool = True, dropout: float = 0.2,
                 pad_id: int = 0) -> None:
        super().__init__()
        if cell not in ("gru", "lstm") or attention not in ("bahdanau", "dot", "general"):
            raise ValueError(f"Seq2Seq: unsupported cell {cell!r} or attention {attention!r}")
        self.cell, self.attention_kind, self.pad_id = cell, attention, pad_id
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        enc_dim = hidden_size * (2 if bidirectional else 1)
        self.src_embedding = nn.Embedding(src_vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = rnn(embed_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.bridge = nn.Linear(enc_dim, hidden_size)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_dim, padding_idx=pad_id)
        self.decoder = rnn(embed_dim, hidden_size, batch_first=True)
        if attention == "bahdanau":
            self.attention = AdditiveAttention(hidden_size, enc_dim, hidden_size)
        elif attention == "general":
            self.attention = GeneralAttention(hidden_size, enc_dim)
        else:
            if enc_dim != hidden_size:
                self.key_proj = nn.Linear(enc_dim, hidden_size, bias=False)
            self.attention = DotAttention()
        self.combine = nn.Linear(hidden_size + enc_dim + embed_dim, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, tgt_vocab_size)

    def encode(self, src: torch.Tensor, src_lengths: Sequence[int]):
        """-> (outputs [B, S, enc_dim], keys, mask [B, S] True = real token, decoder initial state)."""
        lengths = torch.as_tensor(np.asarray(src_lengths, np.int64))
        embedded = self.dropout(self.src_embedding(src))
        packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        packed_out, final = self.encoder(packed)
        outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=src.shape[1])
        h = final[0] if self.cell == "lstm" else final                # [dirs, B, H]
        summary = torch.cat([h[i] for i in range(h.shape[0])], 1)     # [B, enc_dim]
        h0 = torch.tanh(self.bridge(summary)).unsqueeze(0)            # [1, B, H]
        state = (h0, torch.zeros_like(h0)) if self.cell == "lstm" else h0
        mask = torch.arange(src.shape[1])[None, :] < lengths[:, None]
        keys = self.key_proj(outputs) if hasattr(self, "key_proj") else outputs
        return outputs, keys, mask, state

    def _decode(self, prev_ids: torch.Tensor, memory, state):
        outputs, keys, mask, _ = memory
        embedded = self.dropout(self.tgt_embedding(prev_ids))         # [B, T, E]
        dec_out, new_state = self.decoder(embedded, state)            # [B, T, H]
        if self.attention_kind == "bahdanau":
            h_before = state[0] if self.cell == "lstm" else state     # [1, B, H]
            queries = torch.cat([h_before.transpose(0, 1), dec_out[:, :-1]], 1)
        else:
            queries = dec_out
        context, weights = self.attention(queries, keys, outputs, mask)
        features = torch.tanh(self.combine(torch.cat([dec_out, context, embedded], 2)))
        return self.out(self.dropout(features)), new_state, weights

    def forward(self, src, src_lengths, tgt):
        memory = self.encode(src, src_lengths)
        logits, _, _ = self._decode(tgt[:, :-1], memory, memory[3])
        return logits

    def loss(self, src, src_lengths, tgt, label_smoothing: float = 0.0):
        logits = self(src, src_lengths, tgt)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                               ignore_index=self.pad_id, label_smoothing=label_smoothing)


@torch.no_grad()
def greedy_translate(model: Seq2Seq, sentences: Sequence[Sequence[int]], bos_id: int, eos_id: int,
                     max_len: int = 60, batch_size: int = 64) -> List[List[int]]:
    """Greedy translations of id lists, as bx's Translator.translate_batch: sorted by length, batch_size at a
    time, <pad> and <s> never generated, each sentence stopped at its first </s> (left out), at most max_len."""
    was_training = model.training
    model.eval()
    results: List[List[int]] = [[] for _ in sentences]
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
    banned = [model.pad_id, bos_id]
    try:
        for k in range(0, len(order), batch_size):
            idx = order[k:k + batch_size]
            lengths = [len(sentences[i]) for i in idx]
            src = torch.full((len(idx), max(lengths)), model.pad_id, dtype=torch.long)
            for row, i in enumerate(idx):
                src[row, :lengths[row]] = torch.as_tensor(sentences[i])
            memory = model.encode(src, lengths)
            state = memory[3]
            prev = torch.full((len(idx),), bos_id, dtype=torch.long)
            done = torch.zeros(len(idx), dtype=torch.bool)
            tokens: List[List[int]] = [[] for _ in idx]
            for _ in range(max_len):
                logits, state, _ = model._decode(prev.unsqueeze(1), memory, state)
                log_probs = F.log_softmax(logits[:, 0], -1)
                log_probs[:, banned] = float("-inf")
                prev = log_probs.argmax(1)
                for row in torch.nonzero(~done).flatten().tolist():
                    if prev[row].item() == eos_id:
                        done[row] = True
                    else:
                        tokens[row].append(int(prev[row]))
                if bool(done.all()):
                    break
            for row, i in enumerate(idx):
                results[i] = tokens[row]
    finally:
        model.train(was_training)
    return results


# ---- classifiers -------------------------------------------------------------------------------------------

class BowClassifier(nn.Module):
    """Embedding, mean over the real (non-pad) tokens, hidden Linear + ReLU, dropout, output Linear."""

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 64, hidden: int = 64,
                 dropout: float = 0.3, pad_id: int = 0) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.hidden = nn.Linear(embed_dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        embedded = self.embedding(ids)
        weights = (ids != self.pad_id).to(embedded.dtype)
        counts = weights.sum(1, keepdim=True).clamp(min=1.0)
        pooled = (embedded * weights.unsqueeze(2)).sum(1) / counts
        return self.out(self.dropout(torch.relu(self.hidden(pooled))))


class TextCNN(nn.Module):
    """Kim (2014): Embedding -> Conv1d per width -> ReLU -> max over time -> concat -> dropout -> Linear; inputs
    shorter than the widest filter padded with pad_id (as bx's TextCNN)."""

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 128, widths: Sequence[int] = (3, 4, 5),
                 num_filters: int = 100, dropout: float = 0.5, pad_id: int = 0) -> None:
        super().__init__()
        self.pad_id, self.widths = pad_id, tuple(widths)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, w) for w in self.widths])
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(num_filters * len(self.widths), num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        short = max(self.widths) - ids.shape[1]
        if short > 0:
            ids = torch.cat([ids, torch.full((ids.shape[0], short), self.pad_id, dtype=ids.dtype)], 1)
        x = self.embedding(ids).transpose(1, 2)                        # [B, E, T]
        pooled = [torch.relu(conv(x)).amax(2) for conv in self.convs]  # each [B, num_filters]
        return self.out(self.dropout(torch.cat(pooled, 1)))


# ---- language model ----------------------------------------------------------------------------------------

State = Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor], None]


def detach_state(state: State) -> State:
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class RNNLanguageModel(nn.Module):
    """Embedding (U(-0.1, 0.1)) -> dropout -> multi-layer LSTM/GRU -> dropout -> Linear; optional weight tying."""

    def __init__(self, vocab_size: int, embed_dim: int = 200, hidden_size: int = 200, num_layers: int = 2,
                 cell: str = "lstm", dropout: float = 0.0, tie_weights: bool = False) -> None:
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.rnn = rnn(embed_dim, hidden_size, num_layers, batch_first=True,
                       dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.out.weight = self.embedding.weight

    def forward(self, ids: torch.Tensor, state: State = None):
        hidden, state = self.rnn(self.dropout(self.embedding(ids)), state)
        return self.out(self.dropout(hidden)), state

    def loss(self, ids, targets, state: State = None):
        logits, state = self(ids, state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)), state
