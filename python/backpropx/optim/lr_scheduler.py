"""Learning-rate schedules (bx.optim.lr_scheduler), with torch.optim.lr_scheduler's names and semantics.

    >>> sched = bx.optim.lr_scheduler.LinearWarmupCosine(opt, warmup_steps=100, total_steps=10_000)
    >>> for batch in data: loss = step(batch); opt.step(); sched.step()

A scheduler sets every param group's "lr" when it is built (step 0) and on each step(); `last_epoch` counts the
step() calls. `state_dict()` holds everything but the optimizer (and LambdaLR's functions), so a schedule resumes
exactly after `load_state_dict()`.
"""
from __future__ import annotations

import math
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from . import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "ExponentialLR", "ReduceLROnPlateau", "LinearWarmupCosine",
           "InverseSqrt"]


def _per_group(value: Union[float, Sequence[float]], optimizer: Optimizer, name: str) -> List[float]:
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} values of {name}, got {len(value)}")
        return [float(v) for v in value]
    return [float(value)] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: subclasses define get_lr() (the lrs for self.last_epoch, which step() has just advanced)."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                                   "an optimizer")
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> List[float]:
        raise NotImplementedError

    def step(self, epoch: Optional[int] = None) -> None:
        """Advances the schedule one step (or to `epoch`) and writes the new lrs into the optimizer."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            lrs = self._closed_form_lr() if hasattr(self, "_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> List[float]:
        """The lrs set by the last step() (one per param group)."""
        return self._last_lr

    def state_dict(self) -> Dict[str, Any]:
        """Every attribute except the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


_LRScheduler = LRScheduler  # torch's old name


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(step), with one function or one per param group.

        >>> sched = LambdaLR(opt, lambda step: 0.95 ** step)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Union[Callable[[int], float], Sequence[Callable]],
                 last_epoch: int = -1):
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"LambdaLR: expected {len(optimizer.param_groups)} lr_lambdas, got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> Dict[str, Any]:
        """As the base class; lr_lambdas holds None for plain functions and the __dict__ of callable objects."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas", None) or []
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class StepLR(LRScheduler):
    """Multiplies the lr by gamma every step_size steps.

        >>> sched = StepLR(opt, step_size=30, gamma=0.1)
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if int(step_size) <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _closed_form_lr(self) -> List[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiplies the lr by gamma every step.

        >>> sched = ExponentialLR(opt, gamma=0.99)
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _closed_form_lr(self) -> List[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class LinearWarmupCosine(LRScheduler):
    """Linear warmup from 0 to the base lr over warmup_steps, then a cosine decay to min_lr at total_steps
    (and min_lr after). At step s: s / warmup_steps * base_lr while s < warmup_steps, else
    min_lr + (base_lr - min_lr) * (1 + cos(pi * (s - warmup_steps) / (total_steps - warmup_steps))) / 2.
    As transformers' get_cosine_schedule_with_warmup (min_lr=0), the first step() of the optimizer uses lr 0.

        >>> sched = LinearWarmupCosine(opt, warmup_steps=100, total_steps=10_000, min_lr=1e-5)
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, total_steps: int,
                 min_lr: Union[float, Sequence[float]] = 0.0, last_epoch: int = -1):
        if warmup_steps < 0 or total_steps <= 0 or warmup_steps > total_steps:
            raise ValueError(f"LinearWarmupCosine: need 0 <= warmup_steps <= total_steps and total_steps > 0, got "
                             f"warmup_steps={warmup_steps}, total_steps={total_steps}")
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.min_lrs = _per_group(min_lr, optimizer, "min_lr")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        s = self.last_epoch
        if s < self.warmup_steps:
            return [base * s / self.warmup_steps for base in self.base_lrs]
        progress = min(1.0, (s - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return [lo + (base - lo) * cosine for base, lo in zip(self.base_lrs, self.min_lrs)]

    _closed_form_lr = get_lr


class InverseSqrt(LRScheduler):
    """The transformer schedule: linear warmup from 0 to the base lr over warmup_steps, then
    base_lr * sqrt(warmup_steps / step) (fairseq's inverse_sqrt).

        >>> sched = InverseSqrt(opt, warmup_steps=4000)
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, last_epoch: int = -1):
        if warmup_steps < 1:
            raise ValueError(f"InverseSqrt: warmup_steps must be >= 1, got {warmup_steps}")
        self.warmup_steps = int(warmup_steps)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> List[float]:
        s = self.last_epoch
        if s < self.warmup_steps:
            return [base * s / self.warmup_steps for base in self.base_lrs]
        return [base * math.sqrt(self.warmup_steps / s) for base in self.base_lrs]

    _closed_form_lr = get_lr


class ReduceLROnPlateau:
    """Multiplies the lr by factor when a metric has stopped improving for patience steps (torch semantics:
    threshold_mode "rel" or "abs", cooldown steps after a reduction, lrs never below min_lr, changes smaller
    than eps ignored).

        >>> sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2); sched.step(val_loss)
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: Union[float, Sequence[float]] = 0.0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an Optimizer")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown (use 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode {threshold_mode!r} is unknown (use 'rel' or 'abs')")
        self.optimizer = optimizer
        self.factor = factor
        self.min_lrs = _per_group(min_lr, optimizer, "min_lr")
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: Any) -> None:
        """Feeds one value of the monitored metric (a number or a one-element tensor)."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new

    def get_last_lr(self) -> List[float]:
        return self._last_lr

    def state_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
