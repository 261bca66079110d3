"""The built-in data files: format, coverage of the held-out splits, and that each
generator reproduces its shipped file byte for byte.  Reads the files directly, so it
needs neither a build nor an import of backpropx."""
from __future__ import annotations

import collections
import pathlib
import re
import subprocess
import sys
import unicodedata
from typing import List, Tuple

import pytest

DATA = pathlib.Path(__file__).resolve().parents[1] / "python/backpropx/data/builtin"
SEEDS = [("My name is", "Tên tôi là"), ("Hello", "Xin chào"), ("Thank you", "Cảm ơn"),
         ("How are you?", "Bạn khỏe không?"), ("I love programming", "Tôi yêu lập trình")]


def tokens(text: str) -> List[str]:
    """Lower-cased words or syllables with punctuation stripped."""
    return re.findall(r"[\w']+", text.lower())


def phrasebook() -> List[Tuple[str, str, str]]:
    lines = (DATA / "phrasebook_en_vi.tsv").read_text(encoding="utf-8").splitlines()
    rows = [tuple(line.split("\t")) for line in lines]
    assert all(len(r) == 3 for r in rows), "every line must be split<TAB>english<TAB>vietnamese"
    return rows  # type: ignore[return-value]


def test_phrasebook_format_and_splits():
    rows = phrasebook()
    assert len(set(rows)) == len(rows) >= 1000
    splits = collections.Counter(r[0] for r in rows)
    assert set(splits) == {"train", "valid", "test"}
    assert splits["valid"] >= 50 and splits["test"] >= 50
    assert splits["train"] > 0.8 * len(rows)
    english = [r[1] for r in rows]
    assert len(set(english)) == len(english), "duplicate English sentence"
    for split, en, vi in rows:
        assert en.strip() == en and vi.strip() == vi and en and vi
        assert unicodedata.is_normalized("NFC", en) and unicodedata.is_normalized("NFC", vi)


def test_phrasebook_seed_pairs_are_in_train():
    rows = set(phrasebook())
    for en, vi in SEEDS:
        assert ("train", en, vi) in rows


def test_phrasebook_held_out_pairs_use_only_known_words():
    rows = phrasebook()
    known_en = {w for s, en, _ in rows if s == "train" for w in tokens(en)}
    known_vi = {w for s, _, vi in rows if s == "train" for w in tokens(vi)}
    for split, en, vi in rows:
        if split != "train":
            assert set(tokens(en)) <= known_en, (en, set(tokens(en)) - known_en)
            assert set(tokens(vi)) <= known_vi, (vi, set(tokens(vi)) - known_vi)


def test_sentiment_file():
    lines = (DATA / "sentiment.tsv").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 400
    rows = [line.split("\t") for line in lines]
    assert all(len(r) == 2 and r[1].strip() for r in rows)
    counts = collections.Counter(label for label, _ in rows)
    assert set(counts) == {"positive", "negative"}
    assert abs(counts["positive"] - counts["negative"]) <= 0.1 * len(rows)
    assert len({text for _, text in rows}) == len(rows)


def test_lm_corpus_file():
    lines = (DATA / "lm_corpus.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 2000
    assert all(line and line == line.lower() and line.split() == line.split(" ") for line in lines)
    vocab = {w for line in lines for w in line.split()}
    assert 150 <= len(vocab) <= 600


@pytest.mark.parametrize("script, shipped", [("make_phrasebook.py", "phrasebook_en_vi.tsv"),
                                             ("make_sentiment.py", "sentiment.tsv"),
                                             ("make_lm_corpus.py", "lm_corpus.txt")])
def test_generator_reproduces_shipped_file(tmp_path, script, shipped):
    out = tmp_path / shipped
    subprocess.run([sys.executable, str(DATA / script), "--out", str(out)],
                   check=True, capture_output=True, timeout=120)
    assert out.read_bytes() == (DATA / shipped).read_bytes()
