"""RNN encoder-decoder with attention (Bahdanau 2015, Luong 2015) for translation.

Training is teacher-forced and has no Python loop over time: the decoder RNN reads the whole shifted target in
one fused GRU/LSTM op, then attention runs for all steps at once. Bahdanau attention queries with the state
before each step (s_{t-1}), Luong attention with the state after it (s_t); the output layer sees the state,
the context and the previous word.

    >>> model = Seq2Seq(len(src_vocab), len(tgt_vocab)); loss = model.loss(src, src_lengths, tgt)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

import backpropx as bx
import backpropx.nn as nn
import backpropx.nn.functional as F
from backpropx import Tensor

from .decoding import Translator

_ATTENTIONS = ("bahdanau", "dot", "general")


class Seq2Seq(Translator):
    """Encoder Embedding -> (bi)GRU/LSTM; decoder Embedding -> GRU/LSTM, attention, Linear over the target
    vocabulary. Sizes: src ids [B, S], tgt ids [B, T] (with <s> first and </s> last), logits [B, T-1, V].

        >>> model = Seq2Seq(1000, 1200, cell="gru", attention="bahdanau", bidirectional=True)
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_dim: int = 128, hidden_size: int = 256,
                 cell: str = "gru", attention: str = "bahdanau", bidirectional: bool = True,
                 dropout: float = 0.2, pad_id: int = 0) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"Seq2Seq: cell must be 'gru' or 'lstm', got {cell!r}")
        if attention not in _ATTENTIONS:
            raise ValueError(f"Seq2Seq: attention must be one of {_ATTENTIONS}, got {attention!r}")
        self.cell, self.attention_kind, self.pad_id = cell, attention, pad_id
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        enc_dim = hidden_size * (2 if bidirectional else 1)
        self.src_embedding = nn.Embedding(src_vocab_size, embed_dim, padding_idx=pad_id)
        self.encoder = rnn(embed_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.bridge = nn.Linear(enc_dim, hidden_size)      # encoder summary -> decoder initial state
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_dim, padding_idx=pad_id)
        self.decoder = rnn(embed_dim, hidden_size, batch_first=True)
        if attention == "bahdanau":
            self.attention = nn.AdditiveAttention(hidden_size, enc_dim, hidden_size)
        elif attention == "general":
            self.attention = nn.GeneralAttention(hidden_size, enc_dim)
        else:
            if enc_dim != hidden_size:
                self.key_proj = nn.Linear(enc_dim, hidden_size, bias=False)  # dot needs equal sizes
            self.attention = nn.DotAttention()
        self.combine = nn.Linear(hidden_size + enc_dim + embed_dim, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, tgt_vocab_size)

    # ---- encoder ---------------------------------------------------------------------------------

    def encode(self, src: Tensor, src_lengths: Sequence[int]):
        """-> (encoder outputs [B, S, enc_dim], keys [B, S, *], mask [B, S] True = a real token, decoder state)."""
        lengths = np.asarray(src_lengths, np.int64)
        embedded = self.dropout(self.src_embedding(src))                     # [B, S, E]
        outputs, final = self.encoder(embedded, lengths=lengths)              # [B, S, enc_dim]
        h = final[0] if self.cell == "lstm" else final                        # [dirs, B, H]
        summary = bx.cat([h[i] for i in range(h.shape[0])], 1)                # [B, enc_dim]
        h0 = bx.tanh(self.bridge(summary)).unsqueeze(0)                       # [1, B, H]
        state = (h0, bx.zeros_like(h0)) if self.cell == "lstm" else h0
        mask = bx.from_numpy(np.arange(src.shape[1])[None, :] < lengths[:, None])
        keys = self.key_proj(outputs) if hasattr(self, "key_proj") else outputs
        return outputs, keys, mask, state

    # ---- decoder: all steps at once ---------------------------------------------------------------

    def _decode(self, prev_ids: Tensor, memory, state):
        """prev_ids [B, T] -> (logits [B, T, V], new state, attention weights [B, T, S])."""
        outputs, keys, mask, _ = memory
        embedded = self.dropout(self.tgt_embedding(prev_ids))                # [B, T, E]
        dec_out, new_state = self.decoder(embedded, state)                    # [B, T, H]
        if self.attention_kind == "bahdanau":
            h_before = state[0] if self.cell == "lstm" else state             # [1, B, H]
            queries = bx.cat([h_before.transpose(0, 1), dec_out[:, :-1]], 1)  # s_{t-1}: [B, T, H]
        else:
            queries = dec_out
        context, weights = self.attention(queries, keys, outputs, mask)       # [B, T, enc_dim], [B, T, S]
        features = bx.tanh(self.combine(bx.cat([dec_out, context, embedded], 2)))
        return self.out(self.dropout(features)), new_state, weights

    def forward(self, src: Tensor, src_lengths: Sequence[int], tgt: Tensor) -> Tensor:
        """Teacher forcing: logits [B, T-1, V] for tgt[:, 1:] given tgt[:, :-1]."""
        memory = self.encode(src, src_lengths)
        logits, _, _ = self._decode(tgt[:, :-1], memory, memory[3])
        return logits

    def loss(self, src: Tensor, src_lengths: Sequence[int], tgt: Tensor, label_smoothing: float = 0.0) -> Tensor:
        """Mean cross-entropy over the real target tokens."""
        logits = self(src, src_lengths, tgt)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                               ignore_index=self.pad_id, label_smoothing=label_smoothing)

    # ---- one step at a time, for decoding -------------------------------------------------------

    def start(self, src: Tensor, src_lengths: Sequence[int]):
        memory = self.encode(src, src_lengths)
        return memory, memory[3]

    def step(self, prev: Tensor, state):
        memory, dec_state = state
        logits, dec_state, weights = self._decode(prev.unsqueeze(1), memory, dec_state)
        return F.log_softmax(logits[:, 0], -1), (memory, dec_state), weights[:, 0]

    def reorder(self, state, index: Tensor):
        memory, dec_state = state
        # every row of memory is the same encoded sentence: only its count follows the hypotheses
        if memory[0].shape[0] != index.shape[0]:
            memory = tuple(m.index_select(0, index) for m in memory[:3]) + (None,)
        if self.cell == "lstm":
            dec_state = tuple(s.index_select(1, index) for s in dec_state)
        else:
            dec_state = dec_state.index_select(1, index)
        return memory, dec_state
