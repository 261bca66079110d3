#!/usr/bin/env python3
"""English -> Vietnamese on Tatoeba (../shared/data/en-vi-tatoeba): the seq2seq of `backpropx train translate`
(bidirectional GRU encoder, GRU decoder, Bahdanau attention) in backpropx and its PyTorch twin, with the same
data, vocabularies, batches, initial weights, optimizer and budget; valid BLEU and chrF (greedy decoding).

    python bench/quality/translate_tatoeba.py                 # defaults: 10 epochs, 2 threads, bx and torch
    python bench/quality/translate_tatoeba.py --epochs 30 --only bx

The bx side is TranslateTask + Trainer, i.e. the same run as
    backpropx train translate --data ../shared/data/en-vi-tatoeba/train.tsv \\
        --valid ../shared/data/en-vi-tatoeba/valid.tsv --epochs 10 --threads 2
(TranslateTask's defaults: embed 128, hidden 256, dropout 0.2, batch 32, Adam 1e-3, label smoothing 0.1 on both
sides, clip 1; all 8,458 training pairs).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

EPOCHS = 10


def main() -> int:
    args = common.parser(__doc__, EPOCHS).parse_args()
    run_one = common.translation_run(args, common.data_path("en-vi-tatoeba", "train.tsv"),
                                     common.data_path("en-vi-tatoeba", "valid.tsv"),
                                     {"model": "seq2seq", "cell": "gru", "attention": "bahdanau"})
    common.benchmark(args, "translate en->vi, Tatoeba (seq2seq GRU + Bahdanau)", common.TRANSLATION_COLUMNS, run_one)
    return 0


if __name__ == "__main__":
    sys.exit(main())
