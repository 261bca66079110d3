"""The data shipped inside the package, written by us: an English-Vietnamese phrasebook, a sentiment sample
and a small language-modelling corpus (the defaults of `backpropx train`).

    >>> train = phrasebook("train"); train[0]   # ("My name is", "Tên tôi là") or another pair
"""
from __future__ import annotations

import os
from typing import List, Tuple

from .readers import read_lines

_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "builtin")
PHRASEBOOK = os.path.join(_DIR, "phrasebook_en_vi.tsv")
SENTIMENT = os.path.join(_DIR, "sentiment.tsv")
LM_CORPUS = os.path.join(_DIR, "lm_corpus.txt")

SEED_PAIRS = [("My name is", "Tên tôi là"), ("Hello", "Xin chào"), ("Thank you", "Cảm ơn"),
              ("How are you?", "Bạn khỏe không?"), ("I love programming", "Tôi yêu lập trình")]


def phrasebook(split: str = "train") -> List[Tuple[str, str]]:
    """(english, vietnamese) pairs of one split: train, valid or test (held-out new combinations of known
    words), or all."""
    if split not in ("train", "valid", "test", "all"):
        raise ValueError(f"phrasebook: split must be train, valid, test or all, got {split!r}")
    pairs = []
    for line in read_lines(PHRASEBOOK):
        if line:
            which, en, vi = line.split("\t")
            if split in (which, "all"):
                pairs.append((en, vi))
    return pairs


def _split(items: list, valid_every: int = 10) -> Tuple[list, list]:
    """Every valid_every-th item to valid, deterministically."""
    return ([x for i, x in enumerate(items) if i % valid_every != valid_every - 1],
            [x for i, x in enumerate(items) if i % valid_every == valid_every - 1])


def sentiment(split: str = "train") -> List[Tuple[str, str]]:
    """(label, text) of the built-in sentiment sample: train (90%) or valid (every tenth line)."""
    from .readers import read_labelled
    train, valid = _split(read_labelled(SENTIMENT))
    return {"train": train, "valid": valid}[_check_split(split)]


def lm_corpus(split: str = "train") -> List[str]:
    """Sentences of the built-in language-modelling corpus: train (90%) or valid (every tenth line)."""
    train, valid = _split([line for line in read_lines(LM_CORPUS) if line.strip()])
    return {"train": train, "valid": valid}[_check_split(split)]


def _check_split(split: str) -> str:
    if split not in ("train", "valid"):
        raise ValueError(f"split must be train or valid, got {split!r}")
    return split
