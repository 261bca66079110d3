#!/usr/bin/env python3
"""Penn Treebank word-level language model (../shared/data/ptb): the 2x200 LSTM of `backpropx train lm`
(Zaremba et al. 2014 "small" sizes, no dropout) trained with truncated BPTT 35, batch 20, in backpropx and its
PyTorch twin, with the same vocabulary, batches, initial weights, optimizer and budget; valid perplexity.

    python bench/quality/lm_ptb.py                            # defaults: 1 epoch over all of train, 2 threads
    python bench/quality/lm_ptb.py --epochs 6 --only bx
    python bench/quality/lm_ptb.py --train-fraction 0.5 --epochs 2

FEWER EPOCHS than the reference: one epoch (1,327 steps) per framework by default, so both fit into about six
minutes on two cores; Zaremba's 114.5 test perplexity is after 13 epochs of SGD. The bx side is LMTask + Trainer,
i.e. the same run as
    backpropx train lm --data ../shared/data/ptb/ptb.train.txt --valid ../shared/data/ptb/ptb.valid.txt \\
        --epochs 1 --threads 2
(LMTask's defaults: LSTM, embed 200, hidden 200, 2 layers, dropout 0, untied, batch 20, bptt 35, Adam 2e-3,
clip 1; the state is carried from chunk to chunk, detached, and reset at each epoch).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

EPOCHS = 1


def main() -> int:
    ap = common.parser(__doc__, EPOCHS)
    ap.add_argument("--train-fraction", type=float, default=1.0,
                    help="train on the first part of PTB train's lines (default 1.0 = all)")
    args = ap.parse_args()
    run_one = common.lm_run(args, common.data_path("ptb", "ptb.train.txt"), common.data_path("ptb", "ptb.valid.txt"),
                            {"cell": "lstm", "embed_dim": 200, "hidden_size": 200, "layers": 2, "batch_size": 20,
                             "bptt": 35}, args.train_fraction)
    common.benchmark(args, "language model PTB (2x200 LSTM, bptt 35, batch 20)", common.LM_COLUMNS, run_one)
    return 0


if __name__ == "__main__":
    sys.exit(main())
