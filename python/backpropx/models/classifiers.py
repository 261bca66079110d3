"""Text classifiers: the seed's bag-of-words network and Kim's (2014) CNN.

Both split forward into `embed(ids)` and `classify(embedded, mask)`, so `backpropx explain` can take the
gradient of a class score with respect to each token's embedding (saliency = gradient x input).

    >>> model = BowClassifier(vocab_size=5000, num_classes=2); logits = model(ids)   # ids [B, T]
"""
from __future__ import annotations

from typing import Optional, Sequence

import backpropx as bx
import backpropx.nn as nn
import backpropx.nn.functional as F
from backpropx import Tensor


class TextClassifier(nn.Module):
    """ids [B, T] (pad_id = padding) -> logits [B, num_classes]."""

    pad_id = 0

    def embed(self, ids: Tensor) -> Tensor:
        return self.embedding(ids)                                   # [B, T, E]

    def forward(self, ids: Tensor) -> Tensor:
        return self.classify(self.embed(ids), ids != self.pad_id)


class BowClassifier(TextClassifier):
    """The seed's NLPClassifier: embedding, mean over the real tokens, a hidden ReLU layer, dropout, Linear.

        >>> BowClassifier(5000, 2, embed_dim=64, hidden=64)
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 64, hidden: int = 64,
                 dropout: float = 0.3, pad_id: int = 0) -> None:
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.hidden = nn.Linear(embed_dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_classes)

    def classify(self, embedded: Tensor, mask: Tensor) -> Tensor:
        weights = mask.to(embedded.dtype)                            # [B, T]
        counts = bx.clamp(weights.sum(1, keepdim=True), min=1.0)     # [B, 1]
        pooled = (embedded * weights.unsqueeze(2)).sum(1) / counts   # [B, E]
        return self.out(self.dropout(bx.relu(self.hidden(pooled))))


class TextCNN(TextClassifier):
    """Kim (2014): embedding -> Conv1d of each width (num_filters each) -> ReLU -> max over time -> concat ->
    dropout -> Linear. Inputs shorter than the widest filter are padded.

        >>> TextCNN(20000, 2, embed_dim=128, widths=(3, 4, 5), num_filters=100)
    """

    def __init__(self, vocab_size: int, num_classes: int, embed_dim: int = 128, widths: Sequence[int] = (3, 4, 5),
                 num_filters: int = 100, dropout: float = 0.5, pad_id: int = 0) -> None:
        super().__init__()
        self.pad_id, self.widths = pad_id, tuple(widths)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, w) for w in self.widths])
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(num_filters * len(self.widths), num_classes)

    def forward(self, ids: Tensor) -> Tensor:
        short = max(self.widths) - ids.shape[1]
        if short > 0:
            ids = bx.cat([ids, bx.full((ids.shape[0], short), self.pad_id, dtype=ids.dtype)], 1)
        return super().forward(ids)

    def classify(self, embedded: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        x = embedded.transpose(1, 2)                                 # [B, E, T]
        pooled = [bx.amax(bx.relu(conv(x)), 2) for conv in self.convs]  # each [B, num_filters]
        return self.out(self.dropout(bx.cat(pooled, 1)))
