#!/usr/bin/env python3
"""Runs the quality benchmarks one after another (each with its own defaults) and prints one combined table:
the headline metric and the training time of backpropx and PyTorch per task.

    python bench/quality/run_all.py                           # all five, about 15 minutes on an idle two-core machine
    python bench/quality/run_all.py --tasks sst2,trec --only bx
    python bench/quality/run_all.py --threads 1

Each script's own output (per-epoch lines and its table) is shown as it runs. Options other than --tasks are
passed on to every script (--threads, --only, --torch-init).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = {"tatoeba": "translate_tatoeba.py", "multi30k": "translate_multi30k.py", "sst2": "classify_sst2.py",
           "trec": "classify_trec.py", "ptb": "lm_ptb.py"}


def _fmt(rs, key, fmt):
    xs = [r["metrics"][key] for r in rs]
    s = format(float(np.mean(xs)), fmt)
    return s + (f" ± {format(float(np.std(xs, ddof=1)), fmt)}" if len(xs) > 1 else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default=",".join(SCRIPTS), help=f"comma-separated, from {','.join(SCRIPTS)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=("bx", "torch"))
    ap.add_argument("--torch-init", choices=("bx", "own"))
    args = ap.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in SCRIPTS]
    if unknown:
        ap.error(f"unknown task(s) {unknown}; choose from {list(SCRIPTS)}")
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="bxq-all-") as tmp:
        for t in tasks:
            out = os.path.join(tmp, t + ".json")
            cmd = [sys.executable, os.path.join(HERE, SCRIPTS[t]), "--threads", str(args.threads), "--json", out]
            cmd += ["--only", args.only] if args.only else []
            cmd += ["--torch-init", args.torch_init] if args.torch_init else []
            print(f"\n=== {t}: {' '.join(cmd[1:])}", flush=True)
            if subprocess.call(cmd) != 0 or not os.path.exists(out):
                failed.append(t)
                continue
            with open(out, encoding="utf-8") as f:
                rows.append((t, json.load(f)))
    print("\n## quality: backpropx beside PyTorch (same model, data, batches, initial weights, optimizer and budget)")
    print(f"# {args.threads} threads; each task's settings are in its own table above; train s excludes validation")
    print("| task | metric | bx | torch | bx train s | torch train s | load bx / torch | epochs, data |")
    print("|---|---|---|---|---|---|---|---|")
    for t, res in rows:
        header, key, fmt = res["columns"][0]
        runs = res["runs"]
        cells = [t, header]
        cells += [_fmt(runs[s], key, fmt) if runs.get(s) else "-" for s in ("bx", "torch")]
        cells += [f"{np.mean([r['train_s'] for r in runs[s]]):.1f}" if runs.get(s) else "-" for s in ("bx", "torch")]
        cells.append(" / ".join(f"{np.mean([r['load'] for r in runs[s]]):.2f}" if runs.get(s) else "-"
                                for s in ("bx", "torch")))
        tail = res["settings"].rsplit("; ", 1)[-1]
        sub = [n.split(":", 1)[0].lower() for n in res["notes"] if n.startswith("SUBSAMPLED")]
        cells.append(tail + (" (" + sub[0] + ")" if sub else ""))
        print("| " + " | ".join(cells) + " |")
    if failed:
        print(f"# failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
