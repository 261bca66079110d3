"""Encoder-decoder transformer for translation (Vaswani et al. 2017) on bx.nn.Transformer.

    >>> model = TransformerTranslator(len(src_vocab), len(tgt_vocab), d_model=128, nhead=4)
    >>> loss = model.loss(src, src_lengths, tgt, label_smoothing=0.1)
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

import backpropx as bx
import backpropx.nn as nn
import backpropx.nn.functional as F
from backpropx import Tensor

from .decoding import Translator


class TransformerTranslator(Translator):
    """Token embeddings scaled by sqrt(d_model) plus sinusoidal positions -> nn.Transformer (batch_first) ->
    Linear over the target vocabulary. share_embeddings=True uses one embedding for both sides and the output
    layer (one joint vocabulary: src_vocab_size must equal tgt_vocab_size).

        >>> model = TransformerTranslator(1000, 1000, share_embeddings=True)
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int = 128, nhead: int = 4,
                 num_encoder_layers: int = 2, num_decoder_layers: int = 2, dim_feedforward: int = 256,
                 dropout: float = 0.1, share_embeddings: bool = False, norm_first: bool = True,
                 max_len: int = 512, pad_id: int = 0) -> None:
        super().__init__()
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            raise ValueError(f"TransformerTranslator: share_embeddings needs one vocabulary, got sizes "
                             f"{src_vocab_size} and {tgt_vocab_size}")
        self.d_model, self.pad_id, self.share_embeddings = d_model, pad_id, share_embeddings
        self.src_embedding = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_id)
        nn.init.normal_(self.src_embedding.weight, 0.0, d_model ** -0.5)
        if not share_embeddings:
            self.tgt_embedding = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_id)
            nn.init.normal_(self.tgt_embedding.weight, 0.0, d_model ** -0.5)
        self.positions = nn.PositionalEncoding(d_model, dropout, max_len=max_len, batch_first=True)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True, norm_first=norm_first)
        self.out = nn.Linear(d_model, tgt_vocab_size)
        if share_embeddings:
            self.out.weight = self.src_embedding.weight  # tied input and output embeddings

    def _embed(self, ids: Tensor, embedding: nn.Embedding) -> Tensor:
        return self.positions(embedding(ids) * math.sqrt(self.d_model))     # [B, L, d]

    def _tgt_embedding(self) -> nn.Embedding:
        return self.src_embedding if self.share_embeddings else self.tgt_embedding

    def encode(self, src: Tensor, src_lengths: Sequence[int]):
        """-> (memory [B, S, d], padding mask [B, S] True = padding)."""
        lengths = np.asarray(src_lengths, np.int64)
        pad_mask = bx.from_numpy(np.arange(src.shape[1])[None, :] >= lengths[:, None])
        memory = self.transformer.encoder(self._embed(src, self.src_embedding), src_key_padding_mask=pad_mask)
        return memory, pad_mask

    def _decode(self, prev_ids: Tensor, memory: Tensor, pad_mask: Tensor) -> Tensor:
        """prev_ids [B, T] -> logits [B, T, V], each position seeing only itself and earlier ones."""
        T = prev_ids.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(T)
        tgt_pad = prev_ids == self.pad_id
        hidden = self.transformer.decoder(self._embed(prev_ids, self._tgt_embedding()), memory, tgt_mask=causal,
                                          tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=pad_mask)
        return self.out(hidden)

    def forward(self, src: Tensor, src_lengths: Sequence[int], tgt: Tensor) -> Tensor:
        """Teacher forcing: logits [B, T-1, V] for tgt[:, 1:] given tgt[:, :-1]."""
        memory, pad_mask = self.encode(src, src_lengths)
        return self._decode(tgt[:, :-1], memory, pad_mask)

    def loss(self, src: Tensor, src_lengths: Sequence[int], tgt: Tensor, label_smoothing: float = 0.1) -> Tensor:
        logits = self(src, src_lengths, tgt)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                               ignore_index=self.pad_id, label_smoothing=label_smoothing)

    # ---- decoding: the state is the encoded source and the prefix so far -----------------------

    def start(self, src: Tensor, src_lengths: Sequence[int]):
        memory, pad_mask = self.encode(src, src_lengths)
        return memory, pad_mask, None

    def step(self, prev: Tensor, state):
        memory, pad_mask, prefix = state
        prefix = prev.unsqueeze(1) if prefix is None else bx.cat([prefix, prev.unsqueeze(1)], 1)  # [N, t]
        logits = self._decode(prefix, memory, pad_mask)[:, -1]              # [N, V]
        # no attention matrix: the cross-attention weights stay inside the decoder layers
        return F.log_softmax(logits, -1), (memory, pad_mask, prefix), None

    def reorder(self, state, index: Tensor):
        memory, pad_mask, prefix = state
        if memory.shape[0] != index.shape[0]:
            memory, pad_mask = memory.index_select(0, index), pad_mask.index_select(0, index)
        return memory, pad_mask, prefix.index_select(0, index)
