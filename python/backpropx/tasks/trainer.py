"""The training loop behind `backpropx train`: progress bar, gradient clipping, the health monitor, validation
each epoch, the best checkpoint and an exact resume.

A task (translate, classify, lm, word2vec) gives the model, its optimizer and schedule, the batches of an epoch,
the loss of a batch and the validation metrics; the Trainer does the rest and writes into the run directory:

    config.json        the task's configuration (enough to rebuild the model)
    best.safetensors   the model's state_dict at the best validation score
    last.safetensors   model, optimizer, schedule and epoch after the last finished epoch (for --resume)
    history.json       per-step loss, learning rate, gradient norm (global and per parameter) and per-epoch
                       validation metrics (for `backpropx plot`)

    >>> Trainer(task, "runs/translate", epochs=30).fit()
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, TextIO

import backpropx as bx
from backpropx.data.text import write_text_atomic
from backpropx.monitor import HealthMonitor

BEST, LAST, HISTORY, CONFIG = "best.safetensors", "last.safetensors", "history.json", "config.json"


def _progress(batches: List[Any], desc: str, enabled: bool):
    """tqdm's bar when tqdm is installed and wanted, else the plain list."""
    if enabled:
        try:
            from tqdm import tqdm
            return tqdm(batches, desc=desc, leave=False, dynamic_ncols=True, file=sys.stderr)
        except ImportError:
            pass
    return batches


class Trainer:
    """Trains task.model for `epochs` epochs; see the module docstring for what a task provides."""

    def __init__(self, task: Any, out_dir: str, epochs: int, clip: Optional[float] = 1.0, seed: int = 0,
                 log: Optional[TextIO] = None, progress: bool = True, grad_norms_every: int = 1) -> None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self.task, self.out_dir, self.epochs, self.clip, self.seed = task, out_dir, epochs, clip, seed
        self.log = log if log is not None else sys.stdout
        self.progress, self.grad_norms_every = progress, max(1, grad_norms_every)
        os.makedirs(out_dir, exist_ok=True)

    def _say(self, text: str) -> None:
        self.log.write(text + "\n")
        self.log.flush()

    def fit(self, resume: bool = False) -> Dict[str, Any]:
        """Runs the epochs (from where the last run stopped when resume=True); returns the history."""
        task, model, opt, sched = self.task, self.task.model, self.task.optimizer, self.task.scheduler
        history: Dict[str, Any] = {"step": [], "loss": [], "lr": [], "grad_norm": [], "grad_norms": {},
                                   "epochs": [], "flags": {}}
        start, best = 1, None
        if resume:
            start, best, history = self._restore()
        write_text_atomic(os.path.join(self.out_dir, CONFIG), json.dumps(task.config, indent=1, ensure_ascii=False))
        task.save_vocab(self.out_dir)
        monitor = HealthMonitor(model, nonfinite="skip", track_updates=False, plateau_patience=10 ** 9)
        params = [p for p in model.parameters() if p.requires_grad]
        step = history["step"][-1] if history["step"] else 0
        if start > self.epochs:
            self._say(f"nothing to do: {self.out_dir} already holds {start - 1} epochs (asked for {self.epochs})")
        for epoch in range(start, self.epochs + 1):
            bx.manual_seed(self.seed * 100003 + epoch)  # dropout and shuffling depend on the epoch only: resume is exact
            model.train()
            batches = task.train_batches(epoch)
            t0, total, count = time.perf_counter(), 0.0, 0
            bar = _progress(batches, f"epoch {epoch}/{self.epochs}", self.progress)
            for batch in bar:
                loss = task.loss(batch)
                value = monitor.record_loss(loss)
                opt.zero_grad()
                loss.backward()
                norms = monitor.check_gradients()
                grad_norm = monitor.grad_norm
                if self.clip:  # the monitor already has the total norm: scale without a second pass
                    bx.nn.utils.clip_grads_with_norm_(params, self.clip, grad_norm)
                monitor.step(opt)
                if sched is not None:
                    sched.step()
                step += 1
                lr = opt.param_groups[0]["lr"]
                history["step"].append(step)
                history["loss"].append(value)
                history["lr"].append(lr)
                history["grad_norm"].append(grad_norm)
                if step % self.grad_norms_every == 0:
                    for name, norm in norms.items():
                        history["grad_norms"].setdefault(name, []).append([step, norm])
                for flag in monitor.flags:
                    history["flags"].setdefault(flag, []).append(step)
                    if len(history["flags"][flag]) == 1 or flag.startswith("nonfinite"):
                        self._say(f"  health: step {step}: {flag} "
                                  f"{', '.join(monitor.flagged.get(flag, [])[:3])}".rstrip())
                if math.isfinite(value):
                    total, count = total + value, count + 1
                if hasattr(bar, "set_postfix_str"):
                    bar.set_postfix_str(f"loss {value:.3f} lr {lr:.2e} grad {grad_norm:.2e}")
            metrics = task.evaluate()
            train_loss = total / max(count, 1)
            history["epochs"].append({"epoch": epoch, "train_loss": train_loss, "seconds": time.perf_counter() - t0,
                                      **metrics})
            key, higher = task.primary_metric
            improved = best is None or (metrics[key] > best if higher else metrics[key] < best)
            if improved:
                best = metrics[key]
                bx.save(model.state_dict(), os.path.join(self.out_dir, BEST))
            shown = "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            self._say(f"epoch {epoch:>3}  train loss {train_loss:.4f}  {shown}  "
                      f"({time.perf_counter() - t0:.1f}s){'  *best' if improved else ''}")
            bx.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": sched.state_dict() if sched is not None else None,
                     "epoch": epoch, "best": best}, os.path.join(self.out_dir, LAST))
            write_text_atomic(os.path.join(self.out_dir, HISTORY), json.dumps(history))
        return history

    def _restore(self):
        path = os.path.join(self.out_dir, LAST)
        if not os.path.exists(path):
            raise FileNotFoundError(f"--resume: {path} does not exist (no earlier run in {self.out_dir})")
        state = bx.load(path)
        self.task.model.load_state_dict(state["model"])
        self.task.optimizer.load_state_dict(state["optimizer"])
        if self.task.scheduler is not None and state["scheduler"] is not None:
            self.task.scheduler.load_state_dict(state["scheduler"])
        with open(os.path.join(self.out_dir, HISTORY), encoding="utf-8") as f:
            history = json.load(f)
        self._say(f"resuming {self.out_dir} after epoch {state['epoch']}")
        return state["epoch"] + 1, state["best"], history
