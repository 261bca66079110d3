"""The seed's two feedforward examples as modules.

    >>> net = SimpleNLPNetwork(input_size=100, hidden_size=32, output_size=2); scores = net(bags)
"""
from __future__ import annotations

import backpropx as bx
import backpropx.nn as nn
from backpropx import Tensor


class SimpleNLPNetwork(nn.Module):
    """x [B, input_size] (a bag of words) -> Linear -> tanh -> Linear -> scores [B, output_size].

        >>> SimpleNLPNetwork(100, 32, 2)
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(input_size, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(bx.tanh(self.hidden(x)))


class SimpleTranslationModel(nn.Module):
    """The seed's bag-of-words translator: an English bag of words -> tanh hidden layer -> for each of max_len
    output positions a score over the Vietnamese vocabulary. x [B, src_vocab] -> [B, max_len, tgt_vocab].

        >>> SimpleTranslationModel(src_vocab_size=40, tgt_vocab_size=50, max_len=6, hidden_size=32)
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, max_len: int, hidden_size: int = 32) -> None:
        super().__init__()
        self.max_len, self.tgt_vocab_size = max_len, tgt_vocab_size
        self.hidden = nn.Linear(src_vocab_size, hidden_size)
        self.out = nn.Linear(hidden_size, max_len * tgt_vocab_size)

    def forward(self, bags: Tensor) -> Tensor:
        scores = self.out(bx.tanh(self.hidden(bags)))
        return scores.reshape(bags.shape[0], self.max_len, self.tgt_vocab_size)
