"""What every task shares: its configuration, the run directory it reads back, the optimizer it builds.

    >>> task = load_task("runs/translate")        # config.json + vocabularies + best.safetensors
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

import backpropx as bx
from backpropx.data.readers import DataError


class RunDirError(ValueError):
    """A --model directory that is missing or is not a backpropx run."""


class Task:
    """One kind of training run. Subclasses set `name`, `defaults` and `primary_metric` and build `model`,
    `optimizer` and `scheduler` in __init__; data is read only when training or evaluating."""

    name = ""
    defaults: Dict[str, Any] = {}
    primary_metric: Tuple[str, bool] = ("valid_loss", False)  # (metric, higher is better)

    def __init__(self, config: Dict[str, Any], run_dir: Optional[str] = None) -> None:
        self.config = {**self.defaults, **{k: v for k, v in config.items() if v is not None}, "task": self.name}
        self.run_dir = run_dir
        self.scheduler = None

    def make_optimizer(self, params, lr: float) -> "bx.optim.Optimizer":
        kind = self.config.get("optimizer", "adam")
        if kind == "adam":
            return bx.optim.Adam(params, lr=lr)
        if kind == "sgd":
            return bx.optim.SGD(params, lr=lr)
        raise ValueError(f"unknown optimizer {kind!r} (expected adam or sgd)")

    def encoded(self, items: list, encode) -> Any:
        """encode(items), kept for the task's own train and valid lists: they are tokenised once, not every epoch."""
        if not any(items is own for own in self._datasets()):
            return encode(items)
        cache = self.__dict__.setdefault("_encoded", {})
        if id(items) not in cache:
            cache[id(items)] = encode(items)
        return cache[id(items)]

    def _datasets(self) -> tuple:
        return ()

    def load_best(self) -> None:
        """Loads best.safetensors of run_dir into the model."""
        self.model.load_state_dict(bx.load(os.path.join(self.run_dir, "best.safetensors")))
        self.model.eval()

    def save_vocab(self, out_dir: str) -> None:
        """Writes the vocabularies beside the checkpoint (tasks without one do nothing)."""


def read_config(run_dir: str) -> Dict[str, Any]:
    if not os.path.isdir(run_dir):
        raise RunDirError(f"{run_dir}: no such model directory (train one with `backpropx train ... --out DIR`)")
    path = os.path.join(run_dir, "config.json")
    weights = [os.path.join(run_dir, name) for name in ("best.safetensors", "vectors.txt")]
    if not os.path.exists(path) or not any(os.path.exists(w) for w in weights):
        raise RunDirError(f"{run_dir}: not a backpropx model directory (config.json and best.safetensors missing)")
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunDirError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(config, dict) or "task" not in config:
        raise RunDirError(f"{path}: no task named in the config")
    return config


def load_task(run_dir: str, expect: Optional[str] = None) -> Task:
    """The task of a trained run directory with its best weights loaded, ready to predict."""
    from . import TASKS
    config = read_config(run_dir)
    if config["task"] not in TASKS:
        raise RunDirError(f"{run_dir}: unknown task {config['task']!r}")
    if expect is not None and config["task"] != expect:
        raise RunDirError(f"{run_dir} holds a {config['task']} model, not a {expect} model")
    task = TASKS[config["task"]](config, run_dir=run_dir)
    task.load_best()
    return task


def split_off(items: list, every: int = 20) -> Tuple[list, list]:
    """(train, valid): every `every`-th item held out, for data that comes without a validation split."""
    if len(items) < 2:
        raise DataError(f"need at least 2 examples to hold some out for validation, got {len(items)}")
    held = set(range(every - 1, len(items), every)) or {len(items) - 1}
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]
