"""`backpropx train lm`: an LSTM/GRU language model trained with truncated BPTT; perplexity on valid.

With no --data it trains on the built-in corpus.

    >>> task = LMTask({"data": "ptb.train.txt", "valid": "ptb.valid.txt", "hidden_size": 200, "layers": 2})
"""
from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import backpropx as bx
from backpropx.data import EOS, Vocab, lm_corpus, read_text
from backpropx.data.readers import DataError
from backpropx.models import RNNLanguageModel, batchify, bptt_chunks, detach_state, perplexity

from .base import Task, split_off


class LMTask(Task):
    name = "lm"
    defaults: Dict[str, Any] = {
        "cell": "lstm", "embed_dim": 200, "hidden_size": 200, "layers": 2, "dropout": 0.0, "tie_weights": False,
        "batch_size": 20, "bptt": 35, "lr": 2e-3, "min_freq": 1, "max_vocab": 50000, "data": None,
        "valid": None,
    }
    primary_metric = ("valid_ppl", False)

    def __init__(self, config: Dict[str, Any], run_dir: Optional[str] = None) -> None:
        super().__init__(config, run_dir)
        c = self.config
        if run_dir is not None:
            self.vocab = Vocab.load(os.path.join(run_dir, "vocab.json"))
        else:
            if c["data"] is None:
                train, valid = lm_corpus("train"), lm_corpus("valid")
            else:
                lines = read_text(c["data"])
                train, valid = (lines, read_text(c["valid"])) if c["valid"] is not None else split_off(lines)
            self.vocab = Vocab.build([line.split() for line in train], c["min_freq"], c["max_vocab"])
            self.train_stream = batchify(self.ids(train), c["batch_size"])
            self.valid_stream = batchify(self.ids(valid), min(c["batch_size"], 10))
        self.model = RNNLanguageModel(len(self.vocab), c["embed_dim"], c["hidden_size"], c["layers"], c["cell"],
                                      c["dropout"], c["tie_weights"])
        self.optimizer = self.make_optimizer(self.model.parameters(), c["lr"])
        self._state = None

    def ids(self, lines: Sequence[str]) -> np.ndarray:
        """One stream of ids: the words of each line (split on spaces) followed by </s>."""
        ids: List[int] = []
        for line in lines:
            ids += self.vocab.encode(line.split() + [EOS])
        if len(ids) < 4:
            raise DataError("the corpus has too few tokens to train a language model")
        return np.asarray(ids, np.int64)

    def train_batches(self, epoch: int):
        self._state = None  # each epoch starts the text from its beginning with a zero state
        return list(bptt_chunks(self.train_stream, self.config["bptt"]))

    def loss(self, batch) -> bx.Tensor:
        inputs, targets = batch
        loss, state = self.model.loss(inputs, targets, self._state)
        self._state = detach_state(state)  # truncated BPTT: carry the values, cut the graph
        return loss

    def evaluate(self, lines: Optional[Sequence[str]] = None) -> Dict[str, float]:
        stream = self.valid_stream if lines is None else batchify(self.ids(lines), 10)
        ppl = perplexity(self.model, stream, self.config["bptt"])
        return {"valid_ppl": ppl, "valid_loss": math.log(ppl)}

    def save_vocab(self, out_dir: str) -> None:
        self.vocab.save(os.path.join(out_dir, "vocab.json"))
