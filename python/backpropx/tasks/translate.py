"""`backpropx train translate`: an RNN seq2seq with attention or a transformer on sentence pairs.

With no --data it trains on the built-in English-Vietnamese phrasebook (validated on its held-out pairs).

    >>> task = TranslateTask({"model": "seq2seq"}); Trainer(task, "runs/translate", epochs=30).fit()
"""
from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import backpropx as bx
from backpropx.data import (Vocab, batch_indices, pad_sequences, phrasebook, read_parallel_files, read_parallel_tsv,
                            tokenizer_from_config)
from backpropx.data.readers import DataError
from backpropx.models import Seq2Seq, TransformerTranslator

from .base import Task, split_off

Pair = Tuple[str, str]


def read_pairs(spec: str) -> List[Pair]:
    """`train.tsv` (source<TAB>target) or `train.en,train.vi` (two line-aligned files)."""
    if "," in spec and not os.path.exists(spec):
        src, tgt = spec.split(",", 1)
        return read_parallel_files(src, tgt)
    return read_parallel_tsv(spec)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """sacrebleu's corpus BLEU and chrF, or {} when sacrebleu is not installed."""
    try:
        import sacrebleu
    except ImportError:
        return {}
    return {"bleu": sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score,
            "chrf": sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score}


class TranslateTask(Task):
    name = "translate"
    defaults: Dict[str, Any] = {
        "model": "seq2seq", "cell": "gru", "attention": "bahdanau", "bidirectional": True,
        "embed_dim": 128, "hidden_size": 256, "layers": 2, "heads": 4, "ff_dim": 512, "dropout": 0.2,
        "batch_size": 32, "lr": None, "warmup": 400, "label_smoothing": 0.1, "min_freq": 1, "max_vocab": 30000,
        "max_len": 50, "lowercase": True, "tokenizer": "word", "share_vocab": False, "data": None, "valid": None,
    }
    primary_metric = ("valid_loss", False)

    def __init__(self, config: Dict[str, Any], run_dir: Optional[str] = None) -> None:
        super().__init__(config, run_dir)
        c = self.config
        self.tokenizer = tokenizer_from_config({"kind": c["tokenizer"], "lowercase": c["lowercase"]})
        if c["share_vocab"] and c["model"] != "transformer":
            raise ValueError("--share-vocab (one vocabulary and embedding for both sides) needs --model transformer")
        if run_dir is not None:  # a trained model: the vocabularies come from its directory
            self.src_vocab = Vocab.load(os.path.join(run_dir, "src_vocab.json"))
            self.tgt_vocab = Vocab.load(os.path.join(run_dir, "tgt_vocab.json"))
        else:
            self._read_data()
            if c["share_vocab"]:
                both = self._tok(self.train_pairs, 0) + self._tok(self.train_pairs, 1)
                self.src_vocab = self.tgt_vocab = Vocab.build(both, c["min_freq"], c["max_vocab"])
            else:
                self.src_vocab = Vocab.build(self._tok(self.train_pairs, 0), c["min_freq"], c["max_vocab"])
                self.tgt_vocab = Vocab.build(self._tok(self.train_pairs, 1), c["min_freq"], c["max_vocab"])
        self.model = self._build_model()
        if c["lr"] is None:
            c["lr"] = 1e-3 if c["model"] == "seq2seq" else 5e-4
        self.optimizer = self.make_optimizer(self.model.parameters(), c["lr"])
        if c["model"] == "transformer":
            self.scheduler = bx.optim.lr_scheduler.InverseSqrt(self.optimizer, warmup_steps=c["warmup"])

    # ---- data ---------------------------------------------------------------------------------

    def _read_data(self) -> None:
        c = self.config
        if c["data"] is None:
            self.train_pairs, self.valid_pairs = phrasebook("train"), phrasebook("valid")
            c["data_name"] = "built-in English-Vietnamese phrasebook"
        else:
            pairs = read_pairs(c["data"])
            if c["valid"] is not None:
                self.train_pairs, self.valid_pairs = pairs, read_pairs(c["valid"])
            else:
                self.train_pairs, self.valid_pairs = split_off(pairs)
            c["data_name"] = c["data"]
        if not self.train_pairs:
            raise DataError(f"{c['data']}: no sentence pairs to train on")

    def _tok(self, pairs: Sequence[Pair], side: int) -> List[List[str]]:
        return [self.tokenizer.tokenize(p[side]) for p in pairs]

    def encode_source(self, sentence: str) -> List[int]:
        return self.src_vocab.encode(self.tokenizer.tokenize(sentence)[:self.config["max_len"]])

    def _examples(self, pairs: Sequence[Pair]):
        src = [self.encode_source(s) for s, _ in pairs]
        tgt = [self.tgt_vocab.encode(self.tokenizer.tokenize(t)[:self.config["max_len"]], bos=True, eos=True)
               for _, t in pairs]
        keep = [i for i in range(len(pairs)) if src[i]]
        return [src[i] for i in keep], [tgt[i] for i in keep]

    def _batches(self, pairs: Sequence[Pair], shuffle: bool, seed: int):
        src, tgt = self.encoded(pairs, self._examples)
        for idx in batch_indices([len(s) for s in src], self.config["batch_size"], shuffle=shuffle, seed=seed):
            s_ids, s_len = pad_sequences([src[i] for i in idx])
            t_ids, _ = pad_sequences([tgt[i] for i in idx])
            yield bx.from_numpy(s_ids), s_len, bx.from_numpy(t_ids)

    def train_batches(self, epoch: int):
        return list(self._batches(self.train_pairs, True, epoch))

    def _datasets(self) -> tuple:
        return (getattr(self, "train_pairs", None), getattr(self, "valid_pairs", None))

    # ---- model --------------------------------------------------------------------------------

    def _build_model(self):
        c = self.config
        if c["model"] == "seq2seq":
            return Seq2Seq(len(self.src_vocab), len(self.tgt_vocab), c["embed_dim"], c["hidden_size"], c["cell"],
                           c["attention"], c["bidirectional"], c["dropout"])
        if c["model"] == "transformer":
            return TransformerTranslator(len(self.src_vocab), len(self.tgt_vocab), c["embed_dim"], c["heads"],
                                         c["layers"], c["layers"], c["ff_dim"], c["dropout"],
                                         share_embeddings=c["share_vocab"])
        raise ValueError(f"unknown translation model {c['model']!r} (expected seq2seq or transformer)")

    def loss(self, batch) -> bx.Tensor:
        src, lengths, tgt = batch
        return self.model.loss(src, lengths, tgt, label_smoothing=self.config["label_smoothing"])

    def evaluate(self, pairs: Optional[Sequence[Pair]] = None, bleu: bool = True) -> Dict[str, float]:
        """valid_loss (plain cross-entropy per token), its perplexity, and BLEU/chrF of greedy translations."""
        pairs = self.valid_pairs if pairs is None else pairs
        self.model.eval()
        total, count = 0.0, 0
        with bx.no_grad():
            for src, lengths, tgt in self._batches(pairs, False, 0):
                n = int((tgt[:, 1:] != 0).sum().item())
                total += self.model.loss(src, lengths, tgt, label_smoothing=0.0).item() * n
                count += n
        metrics = {"valid_loss": total / max(count, 1)}
        metrics["valid_ppl"] = math.exp(min(metrics["valid_loss"], 50))
        if bleu:
            hyps = self.translate([s for s, _ in pairs])
            metrics.update(corpus_bleu(hyps, [self.tokenizer.detokenize(self.tokenizer.tokenize(t))
                                              for _, t in pairs]))
        return metrics

    # ---- translating --------------------------------------------------------------------------

    def translate(self, sentences: Sequence[str], beam_size: int = 1, max_len: Optional[int] = None) -> List[str]:
        """Translations of raw sentences (greedy in batches, or beam search one by one)."""
        max_len = max_len or self.config["max_len"] + 10
        ids = [self.encode_source(s) or [self.src_vocab.unk_id] for s in sentences]
        if beam_size == 1:
            outs = self.model.translate_batch(ids, Vocab.bos_id, Vocab.eos_id, max_len)
        else:
            outs = [self.model.translate_ids(i, Vocab.bos_id, Vocab.eos_id, beam_size, max_len)[0] for i in ids]
        return [self.tokenizer.detokenize(self.tgt_vocab.decode(o)) for o in outs]

    def attention(self, sentence: str, beam_size: int = 1) -> Tuple[List[str], List[str], Optional[np.ndarray]]:
        """(source tokens, output tokens, attention [out, src]) for one sentence."""
        src = self.tokenizer.tokenize(sentence)[:self.config["max_len"]]
        out, attn = self.model.translate_ids(self.src_vocab.encode(src), Vocab.bos_id, Vocab.eos_id, beam_size,
                                             self.config["max_len"] + 10)
        return src, self.tgt_vocab.decode(out), attn

    def save_vocab(self, out_dir: str) -> None:
        self.src_vocab.save(os.path.join(out_dir, "src_vocab.json"))
        self.tgt_vocab.save(os.path.join(out_dir, "tgt_vocab.json"))
