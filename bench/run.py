#!/usr/bin/env python3
"""Benchmarks backpropx against PyTorch in the same run (workloads of ../shared/bench/WORKLOADS.md).

    python bench/run.py                              # W1-W4, W6 and W7, 1 and 2 threads
    python bench/run.py --only W2,W3 --threads 1 --steps 20

A step = forward + loss + backward + optimizer update on a fixed seeded batch; the time is the median
of >= --steps timed steps after --warmup warm-up steps. Both sides run the same model definition
(bench/workloads/, written once against a `lib` argument that is `torch` or `backpropx`) on the same
batch, and backpropx starts from torch's initial weights, so the first-step losses agree (exactly
without dropout). After the warm-up, bx and torch steps alternate in --blocks blocks so both see the
same machine state. PyTorch is optional: without it the tables show backpropx alone.

Columns: "step MiB" = peak RSS of 3 training steps above the RSS after building the model, in a fresh
process per side (gradients, optimizer state, activations, temporaries; --no-memory skips it);
"loss0" = the first step's loss; "load" = average cores used by other processes while the timed steps
ran (the machine may be shared: a row loaded above --max-load is rerun, up to --retries times, and the
least-loaded attempt is shown).
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional, TypeVar

import numpy as np

import backpropx as bx
from workloads import WORKLOADS

try:
    from threadpoolctl import threadpool_limits  # limits numpy's BLAS threads for the numpy rows
except ImportError:
    threadpool_limits = None

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None

T = TypeVar("T")
TRAINING = list(WORKLOADS)
ALL = TRAINING + ["W7"]


# ---- measurements ------------------------------------------------------------------------------

def timed(step: Callable[[], object], steps: int, min_s: float = 0.0, cap: int = 300) -> List[float]:
    """Per-step wall times (ms): at least `steps` steps, more (up to `cap`) until `min_s` seconds."""
    times: List[float] = []
    while len(times) < steps or (sum(times) < min_s * 1e3 and len(times) < cap):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _proc_status_kb(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=None)  # once per workload and side, whatever the thread count
def step_memory(key: str, impl: str, steps: int = 3) -> Optional[float]:
    """Peak RSS (MiB) of `steps` training steps above the RSS after building the model, measured in a fresh
    process (parameters' gradients, optimizer state, activations and temporaries); None if unavailable."""
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-probe", f"{key}:{impl}:{steps}"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
        return float(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return None


def memory_probe(spec: str) -> int:
    """Child side of step_memory(): prints the step's peak RSS growth in MiB."""
    key, impl, steps = spec.split(":")
    workload, lib = WORKLOADS[key], {"bx": bx, "torch": torch}[impl]
    step, _ = workload.make_step(lib, workload.make_batch(seed=0))
    base = _proc_status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
        f.write("5")
    for _ in range(int(steps)):
        step()
    print((_proc_status_kb("VmHWM") - base) / 1024)
    return 0


def _busy_seconds() -> float:
    """Busy CPU seconds of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


class ForeignLoad:
    """Average number of cores that other processes kept busy inside the block."""

    def __enter__(self):
        self.t, self.busy, self.own = time.perf_counter(), _busy_seconds(), sum(os.times()[:2])
        return self

    def __exit__(self, *exc):
        wall = max(time.perf_counter() - self.t, 1e-9)
        own = sum(os.times()[:2]) - self.own
        self.cores = max(0.0, (_busy_seconds() - self.busy - own) / wall)


# ---- training workloads (W1-W4, W6) ------------------------------------------------------------

def build_steps(workload) -> Dict[str, Callable[[], object]]:
    """{"bx": step, "torch": step}: torch's model first (seeded), backpropx loading its weights."""
    batch = workload.make_batch(seed=0)
    torch_step, state = None, None
    if torch is not None:
        torch.manual_seed(0)
        torch_step, model = workload.make_step(torch, batch)
        state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    bx.manual_seed(0)
    steps = {"bx": workload.make_step(bx, batch, state)[0]}
    if torch_step is not None:
        steps["torch"] = torch_step
    return steps


def run_training(key: str, args) -> Dict[str, dict]:
    """Warm-up (the first step's loss kept), then alternating blocks of timed steps per side; then each
    side's step memory, in a fresh process."""
    steps = build_steps(WORKLOADS[key])
    res = {impl: {"times": []} for impl in steps}
    for impl, step in steps.items():
        res[impl]["loss0"] = float(step().item())
        for _ in range(args.warmup - 1):
            step()
    per_block = -(-args.steps // args.blocks)
    with ForeignLoad() as load:
        for _ in range(args.blocks):
            for impl, step in steps.items():
                res[impl]["times"] += timed(step, per_block, args.min_time / args.blocks)
    for impl, r in res.items():
        r["load"] = load.cores
        r["rss"] = step_memory(key, impl) if args.memory else None
    return res


TRAIN_HEADER = ("| workload | thr | bx median ms | bx min | bx max | torch median ms | torch min | torch max | "
                "ratio bx/torch | bx step MiB | torch step MiB | loss0 bx | loss0 torch | steps | load |")


def _fmt(x: Optional[float], spec: str) -> str:
    return "" if x is None else format(x, spec)


def training_row(name: str, threads: int, res: Dict[str, dict]) -> str:
    b, t = res["bx"], res.get("torch")
    bmed = statistics.median(b["times"])
    tmed = statistics.median(t["times"]) if t else None
    cells = [name, str(threads), f"{bmed:.2f}", f"{min(b['times']):.2f}", f"{max(b['times']):.2f}",
             _fmt(tmed, ".2f"), _fmt(t and min(t["times"]), ".2f"), _fmt(t and max(t["times"]), ".2f"),
             _fmt(tmed and bmed / tmed, ".2f"), _fmt(b["rss"], ".1f"), _fmt(t and t["rss"], ".1f"),
             f"{b['loss0']:.4f}", _fmt(t and t["loss0"], ".4f"),
             str(len(b["times"])) + (f"/{len(t['times'])}" if t else ""), f"{b['load']:.2f}"]
    return "| " + " | ".join(cells) + " |"


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


def _openblas_thread_setter() -> Optional[Callable[[int], None]]:
    """numpy's bundled OpenBLAS set_num_threads, found through ctypes (used when threadpoolctl is missing)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
        for lib in sorted(libs):
            handle = ctypes.CDLL(lib)
            for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                         "openblas_set_num_threads64_", "openblas_set_num_threads"):
                fn = getattr(handle, name, None)
                if fn is not None:
                    return lambda n: fn(ctypes.c_int(n))
    except OSError:
        pass
    return None


@contextlib.contextmanager
def numpy_blas_threads(n: int) -> Iterator[bool]:
    """Limits numpy's BLAS to n threads inside the block; yields whether it could."""
    if threadpool_limits is not None:
        with threadpool_limits(limits=n):
            yield True
        return
    setter = _openblas_thread_setter()
    if setter is None:
        yield False
        return
    setter(n)
    try:
        yield True
    finally:
        setter(os.cpu_count() or 1)


def gemm_times(make: Callable[[int], Callable[[], None]], n: int, steps: int, warmup: int) -> List[float]:
    step = make(n)
    for _ in range(warmup):
        step()
    return timed(step, steps)


GEMM_HEADER = "| workload | thr | impl | median ms | min ms | max ms | GFLOP/s | ratio bx/torch | load |"


def gemm_row(name: str, threads: int, impl: str, times: List[float], flops: float, ref: Optional[float],
             load: float) -> str:
    med = statistics.median(times)
    ratio = f"{med / ref:.2f}" if ref else ""
    return (f"| {name} | {threads} | {impl} | {med:.3f} | {min(times):.3f} | {max(times):.3f} | "
            f"{flops / med / 1e6:.1f} | {ratio} | {load:.2f} |")


def measure_gemm(n: int, threads: int, args) -> dict:
    steps = max(args.steps, 30) if n < 2048 else max(10, args.steps // 2)
    res = {}
    with ForeignLoad() as load:
        res["backpropx"] = gemm_times(w7_backpropx, n, steps, args.warmup)
        if torch is not None:
            res["torch"] = gemm_times(w7_torch, n, steps, args.warmup)
        with numpy_blas_threads(threads) as limited:
            res["numpy" if limited else "numpy (BLAS threads not limited)"] = \
                gemm_times(w7_numpy, n, steps, args.warmup)
    return {"times": res, "load": load.cores}


def run_gemm(sizes: List[int], threads: int, args) -> None:
    for n in sizes:
        res = least_loaded(lambda: measure_gemm(n, threads, args), lambda r: r["load"], args)
        ref = statistics.median(res["times"]["torch"]) if "torch" in res["times"] else None
        for impl, times in res["times"].items():
            print(gemm_row(f"W7 gemm {n}", threads, impl, times, 2.0 * n ** 3, ref if impl == "backpropx" else None,
                           res["load"]))
        sys.stdout.flush()


# ---- driver ------------------------------------------------------------------------------------

def least_loaded(attempt: Callable[[], T], load_of: Callable[[T], float], args) -> T:
    """Runs attempt() again (up to --retries times) while other processes loaded the machine by more than
    --max-load cores; returns the least-loaded attempt."""
    best = attempt()
    for _ in range(args.retries):
        if load_of(best) <= args.max_load:
            break
        print(f"# load {load_of(best):.2f} cores > --max-load {args.max_load}: retrying", file=sys.stderr)
        again = attempt()
        best = again if load_of(again) < load_of(best) else best
    return best


def set_threads(n: int) -> None:
    bx.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts, e.g. 1,2")
    ap.add_argument("--steps", type=int, default=20, help="timed steps per side (>= 20 for reported figures)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up steps per side")
    ap.add_argument("--blocks", type=int, default=2, help="alternating bx/torch blocks the timed steps split into")
    ap.add_argument("--min-time", type=float, default=2.0,
                    help="fast workloads keep timing until this many seconds per side (at most 300 steps a block)")
    ap.add_argument("--sizes", default="256,512,1024,2048", help="W7 matrix sizes")
    ap.add_argument("--max-load", type=float, default=0.15,
                    help="retry a row when other processes kept more than this many cores busy meanwhile")
    ap.add_argument("--retries", type=int, default=2, help="at most this many retries per row (0: none)")
    ap.add_argument("--no-memory", dest="memory", action="store_false",
                    help="skip the step-memory columns (each is a fresh process running 3 steps)")
    ap.add_argument("--memory-probe", metavar="KEY:IMPL:STEPS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in args.only if w not in ALL]
    if unknown:
        ap.error(f"unknown workloads {unknown}; choose from {ALL}")
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.steps < 1 or args.warmup < 1 or args.blocks < 1:
        ap.error("--steps, --warmup and --blocks must be >= 1")
    return args


def print_header() -> None:
    print(f"# backpropx {bx.__version__} vs PyTorch {torch.__version__ if torch else '(not installed)'}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
          f" numpy {np.__version__}; backpropx: {bx.build_info()}")
    if torch is None:
        print("# PyTorch is not installed: showing backpropx alone (pip install torch==2.13.0 for the ratios)")
    print()


def main() -> int:
    args = parse_args()
    if args.memory_probe:
        return memory_probe(args.memory_probe)
    print_header()
    training = [w for w in args.only if w in TRAINING]
    if training:
        print(TRAIN_HEADER)
        print("|---" * (TRAIN_HEADER.count(" | ") + 1) + "|")
        for nt in args.threads:
            set_threads(nt)
            for key in training:
                res = least_loaded(lambda: run_training(key, args), lambda r: r["bx"]["load"], args)
                print(training_row(WORKLOADS[key].NAME, nt, res), flush=True)
        print()
    if "W7" in args.only:
        print(GEMM_HEADER)
        print("|---" * (GEMM_HEADER.count(" | ") + 1) + "|")
        for nt in args.threads:
            set_threads(nt)
            run_gemm([int(s) for s in args.sizes.split(",")], nt, args)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
