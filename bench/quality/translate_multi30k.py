#!/usr/bin/env python3
"""English -> German on Multi30k task 1 (../shared/data/multi30k): the seq2seq of `backpropx train translate`
(bidirectional GRU encoder, GRU decoder, Bahdanau attention) in backpropx and its PyTorch twin, with the same
data, vocabularies, batches, initial weights, optimizer and budget; val BLEU (and chrF), greedy decoding.

    python bench/quality/translate_multi30k.py                # defaults: first 10,000 pairs, 4 epochs, 2 threads
    python bench/quality/translate_multi30k.py --train-size 29000 --epochs 10 --only bx

SUBSAMPLED by default: to fit both frameworks into about six minutes on two cores, training uses the first
--train-size pairs of train.en/train.de (10,000 of 29,000; vocabularies built from them); the full val set
(1,014 pairs) is scored. The bx side is TranslateTask + Trainer (what `backpropx train translate --data
train.en,train.de --valid val.en,val.de` runs, on that subset), with TranslateTask's defaults: embed 128, hidden
256, dropout 0.2, batch 32, Adam 1e-3, label smoothing 0.1 on both sides, clip 1.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

EPOCHS, TRAIN_SIZE = 4, 10000


def main() -> int:
    ap = common.parser(__doc__, EPOCHS)
    ap.add_argument("--train-size", type=int, default=TRAIN_SIZE,
                    help=f"train on the first N pairs (default {TRAIN_SIZE}; 29000 = all)")
    args = ap.parse_args()
    d = "multi30k"
    run_one = common.translation_run(
        args, common.data_path(d, "train.en") + "," + common.data_path(d, "train.de"),
        common.data_path(d, "val.en") + "," + common.data_path(d, "val.de"),
        {"model": "seq2seq", "cell": "gru", "attention": "bahdanau"}, train_limit=args.train_size)
    common.benchmark(args, "translate en->de, Multi30k (seq2seq GRU + Bahdanau)", common.TRANSLATION_COLUMNS,
                     run_one)
    return 0


if __name__ == "__main__":
    sys.exit(main())
