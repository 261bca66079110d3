"""bx.monitor: a training-health monitor: gradient norms, update/parameter ratios, loss plateau and non-finite
values, with a policy for the latter (raise, skip the update, or warn).

    >>> mon = bx.monitor.HealthMonitor(model, nonfinite="skip").attach(opt)
    >>> for x, y in data:
    ...     loss = F.cross_entropy(model(x), y); mon.record_loss(loss)
    ...     opt.zero_grad(); loss.backward(); opt.step()   # the monitor checks, steps (or skips), measures
    ...     print(mon.summary())

How it observes training: `attach(optimizer)` wraps `optimizer.step` (undo with `detach()`); `mon.step(optimizer)`
does the same for one call without wrapping. Before the update it reads every monitored parameter's `.grad`
(the accumulated gradient the optimizer is about to use; nothing is copied) and computes all the gradient norms
in one C++ call (one pass over each gradient, the clip_grad_norm_ kernel). Call `check_gradients()` yourself
right after backward() to see the norms before gradient clipping; the step then reuses them. When update ratios
are tracked, each parameter is copied into a reused buffer before the update and ||new - old|| and ||new|| are
reduced in one C++ pass after it.

Flags (the current step's in `flags`, every step's in `history["flags"]`):
  "vanishing_grad"  some parameter's gradient norm is below vanish_threshold (names in `flagged["vanishing_grad"]`)
  "exploding_grad"  the global gradient norm is above explode_threshold
  "plateau"         the loss has not improved by plateau_threshold (relative) for plateau_patience recorded losses
  "nonfinite_loss"  record_loss got NaN or inf
  "nonfinite_grad"  a gradient holds NaN or inf (names in `flagged["nonfinite_grad"]`)
Non-finite values follow `nonfinite`: "raise" raises NonFiniteError (before the update, so parameters stay
clean), "skip" skips that optimizer update, "warn" issues a RuntimeWarning and updates anyway.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _C
from ._C import Tensor
from .autograd import enable_grad, no_grad

__all__ = ["HealthMonitor", "NonFiniteError"]

_POLICIES = ("raise", "skip", "warn")


class NonFiniteError(RuntimeError):
    """A loss or gradient was NaN or infinite under nonfinite="raise"."""


def _named_parameters(model: Any) -> List[Tuple[str, Tensor]]:
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    if isinstance(model, Tensor):
        return [("0", model)]
    items = list(model)
    if items and isinstance(items[0], tuple):
        return [(str(n), p) for n, p in items]
    return [(str(i), p) for i, p in enumerate(items)]


def _finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))


class HealthMonitor:
    """Watches one model's training: per-parameter and global gradient norms, update-to-parameter ratios,
    the loss, and flags for vanishing/exploding gradients, loss plateaus and non-finite values.

        >>> mon = bx.monitor.HealthMonitor(model, explode_threshold=1e2).attach(opt)

    model: a Module, or an iterable of parameters or of (name, parameter) pairs. Only parameters that require
    grad are watched. track_updates=False saves the per-parameter snapshot copies (no update ratios);
    update_every=k measures them on every k-th step only.
    """

    def __init__(self, model: Any, vanish_threshold: float = 1e-7, explode_threshold: float = 1e3,
                 plateau_patience: int = 100, plateau_threshold: float = 1e-4, nonfinite: str = "raise",
                 track_updates: bool = True, update_every: int = 1):
        if nonfinite not in _POLICIES:
            raise ValueError(f"HealthMonitor: nonfinite must be one of {_POLICIES}, got {nonfinite!r}")
        if plateau_patience < 1 or update_every < 1:
            raise ValueError("HealthMonitor: plateau_patience and update_every must be >= 1")
        self.named_params = [(n, p) for n, p in _named_parameters(model) if p.requires_grad]
        if not self.named_params:
            raise ValueError("HealthMonitor: the model has no parameters that require grad")
        self.vanish_threshold = vanish_threshold
        self.explode_threshold = explode_threshold
        self.plateau_patience = plateau_patience
        self.plateau_threshold = plateau_threshold
        self.nonfinite = nonfinite
        self.track_updates = track_updates
        self.update_every = update_every

        self.step_count = 0                     # optimizer steps seen (skipped ones included)
        self.losses: List[float] = []           # every recorded loss
        self.best_loss = math.inf
        self.steps_since_best = 0
        self.flags: List[str] = []              # the current step's flags
        self.flagged: Dict[str, List[str]] = {}  # flag -> parameter names, for the per-parameter flags
        self.history: Dict[str, Any] = {
            "step": [], "loss": [], "lr": [], "grad_norm": [], "skipped": [], "flags": [],
            "grad_norms": {n: [] for n, _ in self.named_params},
            "update_ratios": {n: [] for n, _ in self.named_params},
        }
        self._pending_loss = math.nan
        self._pending_flags: List[str] = []
        self._skip_pending = False
        self._grad_stats: Optional[Tuple[Dict[str, float], float]] = None
        self._snapshots: Dict[int, Tensor] = {}
        self._attached: List[Tuple[Any, Callable]] = []

    # ---- hooking into the optimizer ------------------------------------------------------------

    def attach(self, optimizer: Any) -> "HealthMonitor":
        """Wraps optimizer.step so every step is checked and measured; returns self."""
        original = optimizer.step

        def step(closure: Optional[Callable[[], Any]] = None) -> Any:
            return self._run_step(original, closure)

        step.__doc__ = original.__doc__
        optimizer.step = step
        self._attached.append((optimizer, original))
        self._optimizer = optimizer
        return self

    def detach(self) -> None:
        """Restores the original step of every attached optimizer."""
        for optimizer, _ in self._attached:
            optimizer.__dict__.pop("step", None)
        self._attached.clear()

    def step(self, optimizer: Any, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Checks, runs (or skips) and measures one optimizer.step() without attaching."""
        self._optimizer = optimizer
        return self._run_step(optimizer.step, closure)

    # ---- observations --------------------------------------------------------------------------

    def record_loss(self, loss: Union[Tensor, float]) -> float:
        """Records this step's loss (a number or one-element tensor); applies the non-finite policy."""
        value = float(loss.item() if hasattr(loss, "item") else loss)
        self.losses.append(value)
        self._pending_loss = value
        if not _finite(value):
            self._pending_flags.append("nonfinite_loss")
            self._nonfinite(f"loss is {value} (step {self.step_count})")
            return value
        if value < self.best_loss - self.plateau_threshold * abs(self.best_loss) or math.isinf(self.best_loss):
            self.best_loss, self.steps_since_best = value, 0
        else:
            self.steps_since_best += 1
        return value

    @property
    def plateaued(self) -> bool:
        return self.steps_since_best >= self.plateau_patience

    def check_gradients(self) -> Dict[str, float]:
        """Gradient norms of this step ({name: norm}, parameters without a gradient left out); sets the flags
        and applies the non-finite policy. Computed once per step (the optimizer step reuses them)."""
        if self._grad_stats is None:
            names, grads = [], []
            for name, p in self.named_params:
                g = p.grad
                if g is not None:
                    names.append(name)
                    grads.append(g)
            norms, total = _C._tensor_norms(grads, 2.0) if grads else ([], 0.0)
            self._grad_stats = (dict(zip(names, norms)), total)
            self._flag_gradients()
        return self._grad_stats[0]

    @property
    def grad_norm(self) -> float:
        """The global (all-parameter) gradient 2-norm of this step."""
        self.check_gradients()
        return self._grad_stats[1]

    def _flag_gradients(self) -> None:
        norms, total = self._grad_stats
        bad = [n for n, v in norms.items() if not _finite(v)]
        vanishing = [n for n, v in norms.items() if v < self.vanish_threshold]
        if vanishing:
            self._pending_flags.append("vanishing_grad")
            self.flagged["vanishing_grad"] = vanishing
        if _finite(total) and total > self.explode_threshold:
            self._pending_flags.append("exploding_grad")
        if bad or not _finite(total):
            self._pending_flags.append("nonfinite_grad")
            self.flagged["nonfinite_grad"] = bad
            self._nonfinite(f"non-finite gradient in {', '.join(bad) or 'the global norm'} (step {self.step_count})")

    def _nonfinite(self, message: str) -> None:
        if self.nonfinite == "raise":
            raise NonFiniteError(f"HealthMonitor: {message}")
        if self.nonfinite == "warn":
            warnings.warn(f"HealthMonitor: {message}", RuntimeWarning, stacklevel=3)
        else:
            self._skip_pending = True

    # ---- one step --------------------------------------------------------------------------------

    def _run_step(self, original_step: Callable, closure: Optional[Callable[[], Any]]) -> Any:
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        try:
            self.check_gradients()
            if self.nonfinite == "raise" and {"nonfinite_loss", "nonfinite_grad"} & set(self._pending_flags):
                raise NonFiniteError(f"HealthMonitor: refusing to update with a non-finite loss or gradient "
                                     f"(step {self.step_count})")
            skip = self._skip_pending
            measure = self.track_updates and not skip and self.step_count % self.update_every == 0
            watched = [(n, p) for n, p in self.named_params if p.grad is not None] if measure else []
            if watched:
                self._snapshot(watched)
            if not skip:
                original_step()
            ratios = self._update_ratios(watched) if watched else {}
            self._finish_step(skip, ratios)
        except NonFiniteError:
            self._finish_step(True, {})
            raise
        return loss

    def _snapshot(self, watched: List[Tuple[str, Tensor]]) -> None:
        with no_grad():
            for _, p in watched:
                buf = self._snapshots.get(id(p))
                if buf is None or tuple(buf.shape) != tuple(p.shape) or buf.dtype != p.dtype:
                    buf = self._snapshots[id(p)] = _C._empty(list(p.shape), p.dtype)
                buf.copy_(p.detach())

    def _update_ratios(self, watched: List[Tuple[str, Tensor]]) -> Dict[str, float]:
        pairs = _C._update_norms([p for _, p in watched], [self._snapshots[id(p)] for _, p in watched])
        out = {}
        for (name, _), (delta, norm) in zip(watched, pairs):
            out[name] = delta / norm if norm > 0 else (0.0 if delta == 0 else math.inf)
        return out

    def _finish_step(self, skipped: bool, ratios: Dict[str, float]) -> None:
        norms, total = self._grad_stats if self._grad_stats is not None else ({}, math.nan)
        flags = list(dict.fromkeys(self._pending_flags))  # unique, in order
        if self.plateaued:
            flags.append("plateau")
        h = self.history
        h["step"].append(self.step_count)
        h["loss"].append(self._pending_loss)
        h["lr"].append(self._current_lr())
        h["grad_norm"].append(total)
        h["skipped"].append(skipped)
        h["flags"].append(flags)
        for name, _ in self.named_params:
            h["grad_norms"][name].append(norms.get(name, math.nan))
            h["update_ratios"][name].append(ratios.get(name, math.nan))
        self.flags = flags
        self.last_ratios = ratios
        self.step_count += 1
        self._pending_loss = math.nan
        self._pending_flags = []
        self._skip_pending = False
        self._grad_stats = None
        if "vanishing_grad" not in flags:
            self.flagged.pop("vanishing_grad", None)
        if "nonfinite_grad" not in flags:
            self.flagged.pop("nonfinite_grad", None)

    def _current_lr(self) -> float:
        opt = getattr(self, "_optimizer", None)
        if opt is None or not getattr(opt, "param_groups", None):
            return math.nan
        return float(opt.param_groups[0].get("lr", math.nan))

    # ---- reporting -------------------------------------------------------------------------------

    def summary(self) -> str:
        """One line about the last step: step, loss, lr, global gradient norm, largest update ratio, flags.

            >>> mon.summary()
            'step 41 | loss 2.3012 | lr 1.00e-03 | grad 4.21e-01 | update/param 2.1e-03 (fc.weight) | ok'
        """
        h = self.history
        if not h["step"]:
            last = self.losses[-1] if self.losses else math.nan
            return f"no steps yet | loss {last:.4g}"
        i = -1
        parts = [f"step {h['step'][i]}", f"loss {h['loss'][i]:.4g}", f"lr {h['lr'][i]:.2e}",
                 f"grad {h['grad_norm'][i]:.2e}"]
        ratios = {n: r[i] for n, r in h["update_ratios"].items() if not math.isnan(r[i])}
        if ratios:
            name = max(ratios, key=ratios.get)
            parts.append(f"update/param {ratios[name]:.1e} ({name})")
        if h["skipped"][i]:
            parts.append("SKIPPED")
        parts.append(", ".join(h["flags"][i]) or "ok")
        return " | ".join(parts)

    def __repr__(self) -> str:
        return (f"HealthMonitor({len(self.named_params)} parameters, {self.step_count} steps, "
                f"nonfinite={self.nonfinite!r})")
