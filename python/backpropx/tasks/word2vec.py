"""`backpropx train word2vec`: skip-gram or CBOW with negative sampling, trained in C++ (not by the Trainer: there
is no autograd graph, the kernel updates the vectors in place, lock-free across threads as word2vec.c).

With no --data it trains on the built-in corpus; `--valid` may name a WordSim-style pairs file (word1 word2 score)
or analogy questions (`: section` lines, then `a b c d`).

    >>> task = Word2VecTask({"data": "ptb.train.txt", "valid": "wordsim353.tsv"}); task.fit("runs/w2v", epochs=5)
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Optional, TextIO

from backpropx.data import lm_corpus
from backpropx.data.readers import read_lines, read_text
from backpropx.data.text import write_text_atomic
from backpropx.models.word2vec import Word2Vec

from .base import Task

VECTORS = "vectors.txt"


def _is_analogy_file(path: str) -> bool:
    return any(line.startswith(":") for line in read_lines(path)[:1000])


class Word2VecTask(Task):
    name = "word2vec"
    defaults: Dict[str, Any] = {"model": "skipgram", "embed_dim": 100, "window": 5, "negative": 5, "sample": 1e-3,
                                "min_freq": None, "lr": None, "data": None, "valid": None, "workers": None}
    primary_metric = ("spearman", True)

    def __init__(self, config: Dict[str, Any], run_dir: Optional[str] = None) -> None:
        super().__init__(config, run_dir)
        c = self.config
        if c["model"] not in ("skipgram", "cbow"):
            raise ValueError(f"unknown word2vec model {c['model']!r} (expected skipgram or cbow)")
        if c["min_freq"] is None:  # word2vec's default 5 would leave little of the small built-in corpus
            c["min_freq"] = 5 if c["data"] else 2
        if c["lr"] is None:
            c["lr"] = 0.025 if c["model"] == "skipgram" else 0.05
        self.model: Optional[Word2Vec] = None
        self.optimizer = None

    def sentences(self):
        data = self.config["data"]
        return [line.split() for line in (read_text(data) if data else lm_corpus("train"))]

    def fit(self, out_dir: str, epochs: int, seed: int = 0, log: Optional[TextIO] = None) -> Dict[str, Any]:
        """Builds the vocabulary, trains `epochs` passes, writes vectors.txt, config.json and history.json."""
        log = log or sys.stdout
        c = self.config
        os.makedirs(out_dir, exist_ok=True)
        sentences = self.sentences()
        self.model = Word2Vec(vector_size=c["embed_dim"], window=c["window"], min_count=c["min_freq"],
                              sg=1 if c["model"] == "skipgram" else 0, negative=c["negative"], sample=c["sample"],
                              alpha=c["lr"], epochs=epochs, workers=c["workers"], seed=seed + 1)
        self.model.build_vocab(sentences)
        stats = self.model.train(sentences)
        log.write(f"{len(self.model):,} words in the vocabulary; {stats['words']:,} words trained in "
                  f"{stats['seconds']:.1f}s ({stats['words_per_sec']:,.0f} words/s)\n")
        metrics = self.evaluate()
        for key, value in metrics.items():
            log.write(f"  {key:<12} {value:.4f}\n")
        self.model.save_word2vec_format(os.path.join(out_dir, VECTORS))
        write_text_atomic(os.path.join(out_dir, "config.json"), json.dumps(c, indent=1, ensure_ascii=False))
        history = {"epochs": [{"epoch": epochs, **metrics, "words_per_sec": stats["words_per_sec"]}]}
        write_text_atomic(os.path.join(out_dir, "history.json"), json.dumps(history))
        self._show_neighbours(log)
        return history

    def _show_neighbours(self, log: TextIO, count: int = 4) -> None:
        words = [w for w in self.model.index_to_key[20:] if w.isalpha()][:count]
        for w in words:
            near = ", ".join(n for n, _ in self.model.most_similar(w, topn=5))
            log.write(f"  nearest to {w!r}: {near}\n")

    def load_best(self) -> None:
        self.model = Word2Vec.load_word2vec_format(os.path.join(self.run_dir, VECTORS))

    def evaluate(self, data: Optional[str] = None) -> Dict[str, float]:
        """Spearman/Pearson on a word-pair file, or analogy accuracy on a questions file ({} without one)."""
        data = data or self.config["valid"]
        if data is None:
            return {}
        if _is_analogy_file(data):
            return {"analogy_accuracy": float(self.model.evaluate_analogies(data))}
        spearman, pearson, oov = self.model.evaluate_word_pairs(data)
        return {"spearman": float(spearman), "pearson": float(pearson), "oov_ratio": float(oov)}
