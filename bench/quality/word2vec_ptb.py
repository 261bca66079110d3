#!/usr/bin/env python3
"""W5 quality: WordSim-353 Spearman (and Google-analogy accuracy) of skip-gram vectors trained 5 epochs on PTB
train, backpropx beside gensim (optional) trained alike (bench/workloads/word2vec.py's CFG).

    python bench/quality/word2vec_ptb.py                     # seeds 1,2,3, 2 workers
    python bench/quality/word2vec_ptb.py --seeds 1 --workers 1

Both sides' vectors are scored by the same code (backpropx's evaluate_word_pairs / evaluate_analogies:
case-insensitive, pairs and questions with a word outside the vocabulary left out); "gensim's own" is gensim's
evaluate_word_pairs on its vectors, a cross-check of the scorer. PTB is small (887k tokens, a third of the
WordSim pairs out of vocabulary), so the figure is a regression check beside gensim, not an absolute target.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from workloads.word2vec import CFG, PTB, gensim, load_corpus, make_bx, make_gensim  # noqa: E402

from backpropx.models.word2vec import Word2Vec  # noqa: E402

DATA = os.path.normpath(os.path.join(os.path.dirname(PTB), "..", "word-similarity"))
WORDSIM = os.path.join(DATA, "wordsim353.tsv")
ANALOGIES = os.path.join(DATA, "questions-words.txt")


def as_bx(keys, vectors) -> Word2Vec:
    """A backpropx model holding someone else's vectors, for scoring them with the same code."""
    m = Word2Vec(vector_size=vectors.shape[1], min_count=1, workers=1)
    m.index_to_key = list(keys)
    m.key_to_index = {w: i for i, w in enumerate(m.index_to_key)}
    m.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return m


def score(m: Word2Vec) -> dict:
    sp, pe, oov = m.evaluate_word_pairs(WORDSIM)
    return {"spearman": sp, "pearson": pe, "oov": oov, "analogy": m.evaluate_analogies(ANALOGIES)}


def _mean_sd(xs) -> str:
    xs = [x for x in xs if x is not None]
    if not xs:
        return ""
    return f"{statistics.mean(xs):.3f} ± {statistics.stdev(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (one model per seed and side)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data", default=PTB, help="PTB train file")
    args = ap.parse_args()
    for path in (WORDSIM, ANALOGIES):
        if not os.path.isfile(path):
            sys.exit(f"word2vec_ptb: {path}: no such file (the word-similarity data of ../shared/data)")
    sentences = load_corpus(args.data)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = {"backpropx": [], "gensim": []}
    for seed in seeds:
        t0 = time.perf_counter()
        m = make_bx(sentences, args.workers, args.epochs, seed)
        m.train(sentences)
        rows["backpropx"].append(dict(score(m), seconds=time.perf_counter() - t0, own=None))
        if gensim is not None:
            t0 = time.perf_counter()
            g = make_gensim(sentences, args.workers, args.epochs, seed)
            g.train(sentences, total_examples=len(sentences), epochs=args.epochs)
            seconds = time.perf_counter() - t0
            own = float(g.wv.evaluate_word_pairs(WORDSIM)[1][0])
            rows["gensim"].append(dict(score(as_bx(g.wv.index_to_key, g.wv.vectors)), seconds=seconds, own=own))
    print(f"# W5 quality: skip-gram {CFG}, {args.epochs} epochs on PTB train, {args.workers} workers, "
          f"seeds {seeds}; mean ± sd over seeds")
    if gensim is None:
        print("# gensim is not installed: showing backpropx alone (pip install gensim for the comparison)")
    header = ("| side | WordSim-353 Spearman | Pearson | gensim's own Spearman | pairs OOV | analogy acc (in vocab) | "
              "build + train s |")
    print(header)
    print("|---" * (header.count(" | ") + 1) + "|")
    for side, rs in rows.items():
        if not rs:
            continue
        print(f"| {side} | {_mean_sd(r['spearman'] for r in rs)} | {_mean_sd(r['pearson'] for r in rs)} | "
              f"{_mean_sd(r['own'] for r in rs)} | {rs[0]['oov']:.1%} | {_mean_sd(r['analogy'] for r in rs)} | "
              f"{_mean_sd(r['seconds'] for r in rs)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
