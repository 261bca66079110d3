#!/usr/bin/env python3
"""TREC question classification, 6 coarse classes (../shared/data/trec, Latin-1): the TextCNN of
`backpropx train classify --model cnn --coarse` in backpropx and its PyTorch twin, same data, vocabulary,
batches, initial weights, optimizer and budget; accuracy on a fixed held-out 10% of TREC's training file
(every 10th line: ClassifyTask's own split when no --valid is given; TREC's test set is not in shared/data).

    python bench/quality/classify_trec.py                     # defaults: 8 epochs, seeds 0,1,2, 2 threads
    python bench/quality/classify_trec.py --epochs 15 --only bx

The bx side is ClassifyTask + Trainer, i.e. the same run as
    backpropx train classify --model cnn --coarse --data ../shared/data/trec/TREC.train.all \
        --epochs 8 --threads 2 --seed 0
(ClassifyTask's defaults: embed 64, widths 3,4,5 x 100 filters, dropout 0.3, batch 32, Adam 1e-3, clip 1).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

EPOCHS, SEEDS = 8, "0,1,2"


def main() -> int:
    args = common.parser(__doc__, EPOCHS, SEEDS).parse_args()
    run_one = common.classification_run(args, common.data_path("trec", "TREC.train.all"),
                                        None, {"model": "cnn", "coarse": True}, "held-out")
    common.benchmark(args, "classify TREC-6 coarse (TextCNN)",
                     [("held-out acc", "accuracy", ".4f"), ("macro-F1", "macro_f1", ".4f")], run_one,
                     notes=["held-out = every 10th line of TREC.train.all (lines 10, 20, ...), trained on the "
                            "other 90%; not TREC's standard test set"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
