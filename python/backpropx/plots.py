"""Pictures of a training run (matplotlib, an optional extra): `backpropx plot DIR`.

    >>> plot_run("runs/translate")   # -> [".../loss.png", ".../grad_norms.png", ".../lr.png"]
"""
from __future__ import annotations

import json
import os
from typing import List, Optional

import numpy as np

from .tasks.base import RunDirError


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or a clear error saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise RunDirError("pictures need matplotlib: pip install matplotlib (or pip install 'backpropx[plot]')") \
            from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _history(run_dir: str) -> dict:
    path = os.path.join(run_dir, "history.json")
    if not os.path.exists(path):
        raise RunDirError(f"{run_dir}: no history.json (not a run directory of `backpropx train`)")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunDirError(f"{path}: not valid JSON ({e})") from None


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window < 2:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_run(run_dir: str, out_dir: Optional[str] = None) -> List[str]:
    """Writes loss.png (train per step and per epoch, validation per epoch), grad_norms.png (log10 gradient norm
    of every parameter over the steps: vanishing layers show dark, exploding ones bright) and lr.png."""
    history = _history(run_dir)
    plt = pyplot()
    out_dir = out_dir or run_dir
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    steps, loss = np.array(history["step"]), np.array(history["loss"], dtype=float)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, loss, color="0.8", lw=0.8, label="train loss (step)")
    window = max(1, len(loss) // 50)
    ax.plot(steps[window - 1:] if window > 1 else steps, _smooth(loss, window), color="C0", label="train (smoothed)")
    epochs = history.get("epochs", [])
    if epochs and steps.size:
        per_epoch = len(steps) // max(len(epochs), 1)
        x = [per_epoch * (i + 1) for i in range(len(epochs))]
        if "valid_loss" in epochs[0]:
            ax.plot(x, [e["valid_loss"] for e in epochs], "o-", color="C1", label="valid loss (epoch)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.set_title(f"{os.path.basename(os.path.abspath(run_dir))}: loss")
    paths.append(_save(fig, plt, out_dir, "loss.png"))

    norms = history.get("grad_norms", {})
    if norms:
        names = list(norms)
        width = max(len(v) for v in norms.values())
        grid = np.full((len(names), width), np.nan)
        for i, name in enumerate(names):
            values = np.array([v for _, v in norms[name]], dtype=float)
            grid[i, :len(values)] = np.log10(np.maximum(values, 1e-12))
        fig, ax = plt.subplots(figsize=(8, 0.25 * len(names) + 1.5))
        im = ax.imshow(grid, aspect="auto", cmap="magma", interpolation="nearest")
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)
        ax.set_xlabel("recorded step")
        ax.set_title("log10 gradient norm per parameter")
        fig.colorbar(im, ax=ax)
        paths.append(_save(fig, plt, out_dir, "grad_norms.png"))

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(steps, history["lr"], color="C2")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    paths.append(_save(fig, plt, out_dir, "lr.png"))
    return paths


def _save(fig, plt, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
