"""`backpropx train classify`: a bag-of-words or CNN text classifier on labelled sentences.

With no --data it trains on the built-in sentiment sample.

    >>> task = ClassifyTask({"model": "cnn", "data": "stsa.binary.train", "valid": "stsa.binary.dev"})
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import backpropx as bx
import backpropx.nn.functional as F
from backpropx.data import Vocab, batch_indices, pad_sequences, read_labelled, sentiment, tokenizer_from_config
from backpropx.data.readers import DataError
from backpropx.data.text import write_text_atomic
from backpropx.models import BowClassifier, TextCNN

from .base import Task, split_off

Example = Tuple[str, str]  # (label, text)


def accuracy_and_f1(predicted: Sequence[int], gold: Sequence[int], num_classes: int) -> Dict[str, float]:
    """Accuracy and macro-F1 (classes absent from both gold and predictions left out of the mean)."""
    p, g = np.asarray(predicted), np.asarray(gold)
    f1s = []
    for c in range(num_classes):
        tp = int(((p == c) & (g == c)).sum())
        fp, fn = int(((p == c) & (g != c)).sum()), int(((p != c) & (g == c)).sum())
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"accuracy": float((p == g).mean()) if len(g) else 0.0, "macro_f1": float(np.mean(f1s)) if f1s else 0.0}


class ClassifyTask(Task):
    name = "classify"
    defaults: Dict[str, Any] = {
        "model": "bow", "embed_dim": 64, "hidden_size": 64, "num_filters": 100, "widths": [3, 4, 5],
        "dropout": 0.3, "batch_size": 32, "lr": 1e-3, "min_freq": 1, "max_vocab": 30000, "max_len": 100,
        "lowercase": True, "tokenizer": "word", "coarse": False, "data": None, "valid": None,
    }
    primary_metric = ("accuracy", True)

    def __init__(self, config: Dict[str, Any], run_dir: Optional[str] = None) -> None:
        super().__init__(config, run_dir)
        c = self.config
        self.tokenizer = tokenizer_from_config({"kind": c["tokenizer"], "lowercase": c["lowercase"]})
        if run_dir is not None:
            self.vocab = Vocab.load(os.path.join(run_dir, "vocab.json"))
            with open(os.path.join(run_dir, "labels.json"), encoding="utf-8") as f:
                self.labels: List[str] = json.load(f)
        else:
            self._read_data()
            self.vocab = Vocab.build([self.tokenizer.tokenize(t) for _, t in self.train], c["min_freq"],
                                     c["max_vocab"])
            self.labels = sorted({label for label, _ in self.train})
            if len(self.labels) < 2:
                raise DataError(f"{c['data'] or 'the data'}: only one label ({self.labels}); a classifier needs two "
                                f"or more")
        self.model = self._build_model()
        self.optimizer = self.make_optimizer(self.model.parameters(), c["lr"])

    def _read_data(self) -> None:
        c = self.config
        if c["data"] is None:
            self.train, self.valid = sentiment("train"), sentiment("valid")
        else:
            examples = read_labelled(c["data"], coarse=c["coarse"])
            self.train, self.valid = (examples, read_labelled(c["valid"], coarse=c["coarse"])) \
                if c["valid"] is not None else split_off(examples, every=10)

    def _build_model(self):
        c = self.config
        if c["model"] == "bow":
            return BowClassifier(len(self.vocab), len(self.labels), c["embed_dim"], c["hidden_size"], c["dropout"])
        if c["model"] == "cnn":
            return TextCNN(len(self.vocab), len(self.labels), c["embed_dim"], c["widths"], c["num_filters"],
                           c["dropout"])
        raise ValueError(f"unknown classifier {c['model']!r} (expected bow or cnn)")

    def encode(self, text: str) -> List[int]:
        return self.vocab.encode(self.tokenizer.tokenize(text)[:self.config["max_len"]]) or [self.vocab.unk_id]

    def _examples(self, examples: Sequence[Example]) -> Tuple[List[List[int]], List[int]]:
        index = {label: i for i, label in enumerate(self.labels)}
        return [self.encode(t) for _, t in examples], [index.get(label, -1) for label, _ in examples]

    def _datasets(self) -> tuple:
        return (getattr(self, "train", None), getattr(self, "valid", None))

    def _batches(self, examples: Sequence[Example], shuffle: bool, seed: int):
        ids, gold = self.encoded(examples, self._examples)
        for idx in batch_indices([len(s) for s in ids], self.config["batch_size"], shuffle=shuffle, seed=seed):
            x, _ = pad_sequences([ids[i] for i in idx])
            yield bx.from_numpy(x), bx.tensor([gold[i] for i in idx])

    def train_batches(self, epoch: int):
        return list(self._batches(self.train, True, epoch))

    def loss(self, batch) -> bx.Tensor:
        x, y = batch
        return F.cross_entropy(self.model(x), y)

    def evaluate(self, examples: Optional[Sequence[Example]] = None) -> Dict[str, float]:
        examples = self.valid if examples is None else examples
        unknown = sorted({label for label, _ in examples} - set(self.labels))
        if unknown:
            raise DataError(f"labels not seen in training: {unknown[:5]}")
        self.model.eval()
        predicted, gold = [], []
        with bx.no_grad():
            for x, y in self._batches(examples, False, 0):
                predicted += np.argmax(self.model(x).numpy(), 1).tolist()
                gold += y.tolist()
        return accuracy_and_f1(predicted, gold, len(self.labels))

    def predict(self, texts: Sequence[str]) -> List[str]:
        self.model.eval()
        with bx.no_grad():
            out = []
            for x, _ in self._batches([(self.labels[0], t) for t in texts], False, 0):
                out += [self.labels[i] for i in np.argmax(self.model(x).numpy(), 1)]
        return out

    def saliency(self, text: str) -> Tuple[List[str], np.ndarray, str]:
        """Gradient x input per token for the predicted class: (tokens, scores [T], label). The score of token
        t is sum_e grad[t, e] * embedding[t, e] of the class logit: how much the token pushed the decision."""
        tokens = self.tokenizer.tokenize(text)[:self.config["max_len"]] or [self.vocab.itos[self.vocab.unk_id]]
        ids = bx.tensor([self.vocab.encode(tokens)])
        self.model.eval()
        if isinstance(self.model, TextCNN) and ids.shape[1] < max(self.model.widths):
            pad = max(self.model.widths) - ids.shape[1]
            ids = bx.cat([ids, bx.zeros((1, pad), dtype=bx.int64)], 1)
        embedded = self.model.embed(ids).detach().requires_grad_(True)      # [1, T, E]
        logits = self.model.classify(embedded, ids != 0)                     # [1, C]
        label = int(np.argmax(logits.detach().numpy()[0]))
        logits[0, label].backward()
        scores = (embedded.grad * embedded.detach()).sum(2).numpy()[0][:len(tokens)]
        return tokens, scores, self.labels[label]

    def save_vocab(self, out_dir: str) -> None:
        self.vocab.save(os.path.join(out_dir, "vocab.json"))
        write_text_atomic(os.path.join(out_dir, "labels.json"), json.dumps(self.labels, ensure_ascii=False))
