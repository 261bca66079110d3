"""Greedy and beam-search decoding for any model with a one-step decoder.

A model gives `start(src_ids, src_lengths) -> state` and `step(prev_ids [N], state) -> (log_probs [N, V],
state, attention [N, S] or None)`, and `reorder(state, index)` to follow the surviving hypotheses. Decoding runs
one sentence at a time; the per-step math is a few NumPy calls on [beam, V] scores.

    >>> tokens, attention = greedy_decode(model, src_ids, bos_id=2, eos_id=3, max_len=40)
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

import backpropx as bx
import backpropx.nn as nn


def _rank(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest, ties to the lowest index (so beam 1 is exactly greedy's argmax)."""
    return np.argsort(-scores, kind="stable")[:k]


def _scores(log_probs, banned: Sequence[int]) -> np.ndarray:
    lp = log_probs.numpy().astype(np.float64)  # [N, V]
    lp[:, list(banned)] = -np.inf               # <pad> and <s> are never generated
    return lp


def greedy_decode_batch(model, src: np.ndarray, lengths: Sequence[int], bos_id: int, eos_id: int,
                        max_len: int = 50, banned: Sequence[int] = (0,)
                        ) -> List[Tuple[List[int], Optional[np.ndarray]]]:
    """Greedy decoding of a padded batch src [B, S] at once: per sentence (token ids, attention [T, len])."""
    B = src.shape[0]
    with bx.no_grad():
        state = model.start(bx.from_numpy(np.ascontiguousarray(src, np.int64)), list(lengths))
        prev = np.full(B, bos_id, np.int64)
        done = np.zeros(B, bool)
        tokens: List[List[int]] = [[] for _ in range(B)]
        attns: List[List[np.ndarray]] = [[] for _ in range(B)]
        for _ in range(max_len):
            log_probs, state, weights = model.step(bx.from_numpy(prev), state)
            prev = np.argmax(_scores(log_probs, tuple(banned) + (bos_id,)), axis=1)
            w = None if weights is None else weights.numpy()
            for i in np.flatnonzero(~done):
                if w is not None:
                    attns[i].append(w[i, :lengths[i]])
                if prev[i] == eos_id:
                    done[i] = True
                else:
                    tokens[i].append(int(prev[i]))
            if done.all():
                break
    return [(t, np.stack(a) if a else None) for t, a in zip(tokens, attns)]


def greedy_decode(model, src_ids: np.ndarray, bos_id: int, eos_id: int, max_len: int = 50,
                  banned: Sequence[int] = (0,)) -> Tuple[List[int], Optional[np.ndarray]]:
    """The most likely next token at each step until </s>. src_ids [S] -> (token ids, attention [T, S])."""
    src = np.asarray(src_ids, np.int64)
    return greedy_decode_batch(model, src[None], [len(src)], bos_id, eos_id, max_len, banned)[0]


def length_penalty(length: int, alpha: float) -> float:
    """GNMT's ((5 + length) / 6) ** alpha; alpha 0 ranks by the plain sum of log-probabilities."""
    return ((5.0 + length) / 6.0) ** alpha


def beam_search(model, src_ids: np.ndarray, bos_id: int, eos_id: int, beam_size: int = 5, max_len: int = 50,
                alpha: float = 0.6, banned: Sequence[int] = (0,)) -> Tuple[List[int], Optional[np.ndarray]]:
    """Keeps the beam_size best prefixes; a hypothesis ends at </s> and is ranked by log-prob / length_penalty.
    src_ids [S] -> (the best token ids, its attention [T, S])."""
    if beam_size < 1:
        raise ValueError(f"beam_search: beam_size must be >= 1, got {beam_size}")
    with bx.no_grad():
        state = model.start(bx.from_numpy(np.asarray(src_ids, np.int64)[None]), [len(src_ids)])
        prefixes: List[List[int]] = [[]]
        attns: List[List[np.ndarray]] = [[]]
        scores = np.zeros(1)
        prev = [bos_id]
        finished: List[Tuple[float, List[int], List[np.ndarray]]] = []
        for t in range(max_len):
            log_probs, state, weights = model.step(bx.tensor(prev), state)
            lp = _scores(log_probs, tuple(banned) + (bos_id,))           # [N, V]
            V = lp.shape[1]
            total = (scores[:, None] + lp).reshape(-1)                 # [N * V]
            best = _rank(total, beam_size)
            keep_rows, keep_prefix, keep_attn, keep_scores, keep_prev = [], [], [], [], []
            w = None if weights is None else weights.numpy()
            for flat in best:
                row, tok = divmod(int(flat), V)
                step_attn = attns[row] + ([w[row]] if w is not None else [])
                if tok == eos_id:
                    finished.append((total[flat] / length_penalty(t + 1, alpha), prefixes[row], step_attn))
                else:
                    keep_rows.append(row)
                    keep_prefix.append(prefixes[row] + [tok])
                    keep_attn.append(step_attn)
                    keep_scores.append(total[flat])
                    keep_prev.append(tok)
            best_done = max((f[0] for f in finished), default=-np.inf)
            # stop when beam_size hypotheses ended, or no live prefix can still beat the best ended one
            # (log-probs only fall, and the length penalty at most reaches its max_len value)
            if not keep_rows or len(finished) >= beam_size or \
                    max(keep_scores) / length_penalty(max_len, alpha) < best_done:
                break
            state = model.reorder(state, bx.tensor(keep_rows))
            prefixes, attns, scores, prev = keep_prefix, keep_attn, np.array(keep_scores), keep_prev
        else:
            for s, p, a in zip(scores, prefixes, attns):
                finished.append((s / length_penalty(max_len, alpha), p, a))
        if not finished:  # every prefix was cut by max_len on the first iteration's break
            finished = [(s / length_penalty(len(p), alpha), p, a) for s, p, a in zip(keep_scores, keep_prefix,
                                                                                     keep_attn)]
        _, tokens, attn = max(finished, key=lambda f: f[0])
    return tokens, (np.stack(attn) if attn else None)


class Translator(nn.Module):
    """A model with start/step/reorder (see the module docstring) that translates token ids."""

    pad_id = 0

    def translate_ids(self, src_ids: Sequence[int], bos_id: int, eos_id: int, beam_size: int = 1,
                      max_len: int = 50, alpha: float = 0.6) -> Tuple[List[int], Optional[np.ndarray]]:
        """Token ids of the translation and its attention [T, S]; beam_size 1 is greedy decoding.

            >>> ids, attention = model.translate_ids(src_vocab.encode(["hello"]), 2, 3, beam_size=5)
        """
        if len(src_ids) == 0:
            raise ValueError("translate: the source sentence is empty")
        was_training = self.training
        self.eval()
        try:
            src = np.asarray(src_ids, np.int64)
            if beam_size == 1:
                return greedy_decode(self, src, bos_id, eos_id, max_len, (self.pad_id,))
            return beam_search(self, src, bos_id, eos_id, beam_size, max_len, alpha, (self.pad_id,))
        finally:
            self.train(was_training)

    def translate_batch(self, sentences: Sequence[Sequence[int]], bos_id: int, eos_id: int, max_len: int = 50,
                        batch_size: int = 64) -> List[List[int]]:
        """Greedy translations of many id lists, decoded batch_size at a time (sorted by length)."""
        from backpropx.data.batching import pad_sequences
        was_training = self.training
        self.eval()
        results: List[List[int]] = [[] for _ in sentences]
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        try:
            for k in range(0, len(order), batch_size):
                idx = order[k:k + batch_size]
                src, lengths = pad_sequences([sentences[i] for i in idx], self.pad_id)
                for i, (tokens, _) in zip(idx, greedy_decode_batch(self, src, lengths, bos_id, eos_id, max_len,
                                                                    (self.pad_id,))):
                    results[i] = tokens
        finally:
            self.train(was_training)
        return results
