#!/usr/bin/env python3
"""Benchmarks backpropx against PyTorch in the same run (workloads of ../shared/bench/WORKLOADS.md).

    python bench/run.py                 # W1 and W7, 1 and 2 threads
    python bench/run.py --only W7 --threads 1

A step = forward + loss + backward + optimizer update on a fixed seeded batch; the time is the median
of >= 20 steps after 5 warm-up steps. bx and torch steps alternate in blocks so both see the same
machine state. PyTorch is optional: without it the table shows backpropx alone.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np

import backpropx as bx
import backpropx.nn.functional as F

try:
    from threadpoolctl import threadpool_limits  # limits numpy's BLAS threads for the numpy rows
except ImportError:
    threadpool_limits = None

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # PyTorch is optional
    torch = None


def median_ms(step: Callable[[], None], steps: int, warmup: int) -> List[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


# ---- W1: bag-of-words classifier ---------------------------------------------------------------

W1 = dict(vocab=20000, dim=128, hidden=64, classes=2, batch=64, seq=50, lr=1e-3)


def w1_batch(seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, W1["vocab"], (W1["batch"], W1["seq"]))
    labels = rng.integers(0, W1["classes"], (W1["batch"],))
    return ids, labels


def w1_init(seed: int = 0) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    d, h, c = W1["dim"], W1["hidden"], W1["classes"]
    u = lambda shape, fan_in: rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), shape).astype(np.float32)  # noqa
    return {"emb": rng.standard_normal((W1["vocab"], d)).astype(np.float32), "W1": u((h, d), d), "b1": u((h,), d),
            "W2": u((c, h), h), "b2": u((c,), h)}


def w1_backpropx() -> Callable[[], None]:
    ids, labels = w1_batch()
    ids, labels = bx.tensor(ids), bx.tensor(labels)
    params = {k: bx.tensor(v, requires_grad=True) for k, v in w1_init().items()}
    opt = bx.optim.Adam(params.values(), lr=W1["lr"])

    def step():
        p = params
        pooled = F.embedding(ids, p["emb"]).mean(dim=1)
        hidden = F.dropout(F.relu(F.linear(pooled, p["W1"], p["b1"])), 0.5, training=True)
        loss = F.cross_entropy(F.linear(hidden, p["W2"], p["b2"]), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def w1_torch() -> Callable[[], None]:
    ids, labels = w1_batch()
    ids, labels = torch.from_numpy(ids), torch.from_numpy(labels)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in w1_init().items()}
    opt = torch.optim.Adam(params.values(), lr=W1["lr"])

    def step():
        p = params
        pooled = TF.embedding(ids, p["emb"]).mean(dim=1)
        hidden = TF.dropout(TF.relu(TF.linear(pooled, p["W1"], p["b1"])), 0.5, training=True)
        loss = TF.cross_entropy(TF.linear(hidden, p["W2"], p["b2"]), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


# ---- W7: GEMM ----------------------------------------------------------------------------------

def gemm_operands(n: int):
    rng = np.random.default_rng(n)
    return rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal((n, n)).astype(np.float32)


def w7_backpropx(n: int) -> Callable[[], None]:
    a, b = (bx.from_numpy(x) for x in gemm_operands(n))
    return lambda: bx.matmul(a, b)


def w7_torch(n: int) -> Callable[[], None]:
    a, b = (torch.from_numpy(x) for x in gemm_operands(n))
    c = torch.empty(n, n)
    return lambda: torch.mm(a, b, out=c)


def w7_numpy(n: int) -> Callable[[], None]:
    a, b = gemm_operands(n)
    c = np.empty((n, n), np.float32)
    return lambda: np.matmul(a, b, out=c)


# ---- driver ------------------------------------------------------------------------------------

def set_threads(n: int) -> None:
    bx.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


def row(name: str, threads: int, impl: str, times: List[float], flops: Optional[float], ref: Optional[float]) -> str:
    med = statistics.median(times)
    gflops = f"{flops / med / 1e6:.1f}" if flops else ""
    ratio = f"{med / ref:.2f}" if ref else ""
    return (f"| {name} | {threads} | {impl} | {med:.3f} | {min(times):.3f} | {max(times):.3f} | {gflops} | "
            f"{ratio} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="W1,W7")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--sizes", default="256,512,1024,2048")
    args = ap.parse_args()
    only = {w.strip().upper() for w in args.only.split(",")}
    threads = [int(t) for t in args.threads.split(",")]

    print(f"# backpropx {bx.__version__} vs PyTorch {torch.__version__ if torch else '(not installed)'}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
          f" numpy {np.__version__}; backpropx: {bx.build_info()}")
    if torch is None:
        print("# PyTorch is not installed: showing backpropx alone (pip install torch==2.13.0 for the ratios)")
    print()
    print("| workload | threads | impl | median ms | min ms | max ms | GFLOP/s | ratio bx/torch |")
    print("|---|---|---|---|---|---|---|---|")
    for nt in threads:
        set_threads(nt)
        if "W1" in only:
            bx.manual_seed(0)
            # alternate blocks: bx, torch, bx, torch; keep the medians of all blocks
            tb, tt = [], []
            bx_step = w1_backpropx()
            t_step = w1_torch() if torch else None
            for _ in range(2):
                tb += median_ms(bx_step, args.steps // 2, args.warmup)
                if t_step:
                    tt += median_ms(t_step, args.steps // 2, args.warmup)
            ref = statistics.median(tt) if tt else None
            print(row("W1 bow-classifier step", nt, "backpropx", tb, None, ref))
            if tt:
                print(row("W1 bow-classifier step", nt, "torch", tt, None, None))
        if "W7" in only:
            for n in [int(s) for s in args.sizes.split(",")]:
                flops = 2.0 * n ** 3
                steps = args.steps if n < 2048 else max(10, args.steps // 3)
                tb = median_ms(w7_backpropx(n), steps, args.warmup)
                tt = median_ms(w7_torch(n), steps, args.warmup) if torch else []
                if threadpool_limits:
                    with threadpool_limits(limits=nt):
                        tn = median_ms(w7_numpy(n), steps, args.warmup)
                else:
                    tn = median_ms(w7_numpy(n), steps, args.warmup)
                ref = statistics.median(tt) if tt else None
                print(row(f"W7 gemm {n}", nt, "backpropx", tb, flops, ref))
                if tt:
                    print(row(f"W7 gemm {n}", nt, "torch", tt, flops, None))
                print(row(f"W7 gemm {n}", nt, "numpy", tn, flops, None))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
