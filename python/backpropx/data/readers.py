"""Readers for parallel corpora, labelled text and plain-text corpora. Errors name the file and the line.

    >>> pairs = read_parallel_tsv("train.tsv")   # [("Hello", "Xin chào"), ...]
"""
from __future__ import annotations

import os
from typing import List, Optional, Tuple

from .text import normalize


class DataError(ValueError):
    """A data file that is missing, empty or not in the expected format."""


def read_lines(path: str, encoding: Optional[str] = None) -> List[str]:
    """The file's lines, NFC-normalised, without line ends. encoding None: UTF-8, else Latin-1 (as TREC's)."""
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, expected a text file")
    with open(path, "rb") as f:
        raw = f.read()
    if encoding is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw.decode(encoding)
    return [normalize(line) for line in text.splitlines()]


def _nonempty(path: str, lines: List[str], what: str) -> List[str]:
    if not any(line.strip() for line in lines):
        raise DataError(f"{path}: empty, expected {what}")
    return lines


def read_parallel_tsv(path: str, src_column: int = 0, tgt_column: int = 1) -> List[Tuple[str, str]]:
    """Pairs from `source<TAB>target[<TAB>...]` lines; blank lines are skipped."""
    pairs = []
    for n, line in enumerate(_nonempty(path, read_lines(path), "source<TAB>target lines"), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) <= max(src_column, tgt_column):
            raise DataError(f"{path}:{n}: expected source<TAB>target, got {line[:60]!r}")
        src, tgt = cols[src_column].strip(), cols[tgt_column].strip()
        if not src or not tgt:
            raise DataError(f"{path}:{n}: an empty side in {line[:60]!r}")
        pairs.append((src, tgt))
    return pairs


def read_parallel_files(src_path: str, tgt_path: str) -> List[Tuple[str, str]]:
    """Pairs from two line-aligned files (Multi30k's train.en / train.de)."""
    src = _nonempty(src_path, read_lines(src_path), "one sentence per line")
    tgt = _nonempty(tgt_path, read_lines(tgt_path), "one sentence per line")
    while src and not src[-1].strip() and tgt and not tgt[-1].strip():
        src, tgt = src[:-1], tgt[:-1]
    if len(src) != len(tgt):
        raise DataError(f"{src_path} has {len(src)} lines but {tgt_path} has {len(tgt)}: not line-aligned")
    return [(s.strip(), t.strip()) for s, t in zip(src, tgt) if s.strip() and t.strip()]


def read_labelled(path: str, encoding: Optional[str] = None, coarse: bool = False) -> List[Tuple[str, str]]:
    """(label, text) from `label<TAB>text` or `label text` lines (SST's `1 a gripping film`). coarse=True keeps
    the label up to its first ':' (TREC's `DESC:manner` -> `DESC`)."""
    examples = []
    for n, line in enumerate(_nonempty(path, read_lines(path, encoding), "label<TAB>text lines"), 1):
        if not line.strip():
            continue
        label, sep, text = line.partition("\t") if "\t" in line else line.strip().partition(" ")
        label, text = label.strip(), text.strip()
        if not sep or not label or not text:
            raise DataError(f"{path}:{n}: expected label<TAB>text or 'label text', got {line[:60]!r}")
        if coarse:
            label = label.split(":", 1)[0]
        examples.append((label, text))
    return examples


def read_text(path: str) -> List[str]:
    """The non-blank lines of a plain-text corpus (PTB: one sentence per line)."""
    lines = [line.strip() for line in read_lines(path)]
    return [line for line in _nonempty(path, lines, "text") if line]
