"""Batches of token ids: padding, bucketing by length, seeded shuffling.

    >>> ids, lengths = pad_sequences([[5, 6, 7], [8]], pad_id=0)   # ids [[5, 6, 7], [8, 0, 0]]
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np


def pad_sequences(seqs: Sequence[Sequence[int]], pad_id: int = 0,
                  max_len: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """[B, T] int64 ids (longer sequences cut to max_len) and their [B] lengths."""
    if len(seqs) == 0:
        raise ValueError("pad_sequences: no sequences")
    lengths = np.array([len(s) if max_len is None else min(len(s), max_len) for s in seqs], np.int64)
    T = max(int(lengths.max()), 1)
    ids = np.full((len(seqs), T), pad_id, np.int64)
    for i, (s, n) in enumerate(zip(seqs, lengths)):
        ids[i, :n] = s[:n]
    return ids, lengths


def batch_indices(lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0,
                  bucket: bool = True) -> Iterator[List[int]]:
    """Index lists of at most batch_size examples. With bucket=True, examples of similar length share a batch
    (less padding): sorted by length inside windows of 50 batches; batch order is shuffled with the seed."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths)) if shuffle else np.arange(len(lengths))
    if bucket:
        lengths = np.asarray(lengths)
        window = batch_size * 50
        order = np.concatenate([chunk[np.argsort(lengths[chunk], kind="stable")]
                                for chunk in np.array_split(order, max(1, -(-len(order) // window)))]) \
            if len(order) else order
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if shuffle and bucket:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    yield from batches
