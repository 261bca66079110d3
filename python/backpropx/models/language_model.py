"""RNN language model trained by truncated backpropagation through time.

    >>> model = RNNLanguageModel(10000, embed_dim=200, hidden_size=200, num_layers=2, cell="lstm")
    >>> logits, state = model(ids, state)          # ids [B, T] -> logits [B, T, V]
    >>> state = detach_state(state)                # the next chunk starts from here, with no gradient path back
"""
from __future__ import annotations

import math
from typing import Iterator, Optional, Tuple, Union

import numpy as np

import backpropx as bx
import backpropx.nn as nn
import backpropx.nn.functional as F
from backpropx import Tensor

State = Union[Tensor, Tuple[Tensor, Tensor], None]


def detach_state(state: State) -> State:
    """The same values cut from the graph: truncated BPTT sends no gradient into earlier chunks."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


class RNNLanguageModel(nn.Module):
    """Embedding -> dropout -> multi-layer LSTM/GRU (one fused op over the chunk) -> dropout -> Linear.
    tie_weights=True shares the embedding and output matrices (Press & Wolf 2017; needs embed_dim ==
    hidden_size).

        >>> RNNLanguageModel(10000, 200, 200, num_layers=2, cell="lstm", tie_weights=True)
    """

    def __init__(self, vocab_size: int, embed_dim: int = 200, hidden_size: int = 200, num_layers: int = 2,
                 cell: str = "lstm", dropout: float = 0.0, tie_weights: bool = False) -> None:
        super().__init__()
        rnns = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in rnns:
            raise ValueError(f"RNNLanguageModel: cell must be 'lstm' or 'gru', got {cell!r}")
        if tie_weights and embed_dim != hidden_size:
            raise ValueError(f"RNNLanguageModel: tie_weights needs embed_dim == hidden_size, got {embed_dim} and "
                             f"{hidden_size}")
        self.cell = cell
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.rnn = rnns[cell](embed_dim, hidden_size, num_layers, batch_first=True,
                              dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.out.weight = self.embedding.weight

    def forward(self, ids: Tensor, state: State = None) -> Tuple[Tensor, State]:
        """ids [B, T] -> (logits [B, T, V], state after the last step)."""
        hidden, state = self.rnn(self.dropout(self.embedding(ids)), state)  # [B, T, H]
        return self.out(self.dropout(hidden)), state

    def loss(self, ids: Tensor, targets: Tensor, state: State = None) -> Tuple[Tensor, State]:
        """Mean next-token cross-entropy of a chunk and the state to carry on."""
        logits, state = self(ids, state)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)), state


def batchify(ids: np.ndarray, batch_size: int) -> np.ndarray:
    """A long stream of token ids [N] -> [batch_size, N // batch_size]: each row a contiguous part of the text,
    so a state carried from one chunk to the next continues the same text."""
    if batch_size < 1:
        raise ValueError(f"batchify: batch_size must be >= 1, got {batch_size}")
    columns = len(ids) // batch_size
    if columns < 2:
        raise ValueError(f"batchify: {len(ids)} tokens are too few for {batch_size} rows")
    return np.ascontiguousarray(np.asarray(ids, np.int64)[:columns * batch_size].reshape(batch_size, columns))


def bptt_chunks(stream: np.ndarray, bptt: int) -> Iterator[Tuple[Tensor, Tensor]]:
    """(inputs [B, t], next-token targets [B, t]) chunks of at most bptt steps, in order."""
    for i in range(0, stream.shape[1] - 1, bptt):
        t = min(bptt, stream.shape[1] - 1 - i)
        yield bx.from_numpy(stream[:, i:i + t].copy()), bx.from_numpy(stream[:, i + 1:i + 1 + t].copy())


def perplexity(model: RNNLanguageModel, stream: np.ndarray, bptt: int = 35) -> float:
    """exp(mean next-token cross-entropy) over a batchified stream, the state carried across chunks."""
    was_training = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with bx.no_grad():
        for inputs, targets in bptt_chunks(stream, bptt):
            loss, state = model.loss(inputs, targets, state)
            total += loss.item() * targets.numel()
            count += targets.numel()
    model.train(was_training)
    return math.exp(total / max(count, 1))
