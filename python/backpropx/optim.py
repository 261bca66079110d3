"""Optimizers; each update is one fused C++ pass over a parameter and its state.

    >>> opt = bx.optim.Adam(params, lr=1e-3); loss.backward(); opt.step(); opt.zero_grad()
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Union

from . import _C
from ._C import Tensor
from .autograd import no_grad


class Optimizer:
    """Holds param_groups (dicts with "params" and the hyper-parameters) and per-parameter state."""

    def __init__(self, params: Union[Iterable[Tensor], Iterable[Dict[str, Any]]], defaults: Dict[str, Any]):
        self.defaults = defaults
        self.state: Dict[Tensor, Dict[str, Any]] = {}
        self.param_groups: List[Dict[str, Any]] = []
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(dict(group))

    def add_param_group(self, group: Dict[str, Any]) -> None:
        group["params"] = list(group["params"])
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf tensor")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the gradients (set to None, or zeroed in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def _params_with_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, nesterov and weight decay (torch.optim.SGD)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr={lr}, momentum={momentum} or weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    @no_grad()
    def step(self) -> None:
        for group, p in self._params_with_grad():
            state = self.state.setdefault(p, {})
            first = "momentum_buffer" not in state
            if group["momentum"] != 0 and first:
                state["momentum_buffer"] = _C._full(list(p.shape), 0.0, p.dtype)
            _C._sgd_step(p, p.grad, state.get("momentum_buffer"), group["lr"], group["momentum"], group["dampening"],
                         group["weight_decay"], group["nesterov"], group["maximize"], first)


class Adam(Optimizer):
    """Adam (torch.optim.Adam): L2 weight decay added to the gradient; amsgrad optional."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, maximize: bool = False):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr={lr}, eps={eps} or betas={betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    @no_grad()
    def step(self) -> None:
        for group, p in self._params_with_grad():
            state = self.state.get(p)
            if state is None:
                zeros = lambda: _C._full(list(p.shape), 0.0, p.dtype)  # noqa: E731
                state = self.state[p] = {"step": 0, "exp_avg": zeros(), "exp_avg_sq": zeros()}
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros()
            state["step"] += 1
            beta1, beta2 = group["betas"]
            _C._adam_step(p, p.grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
                          state["step"], group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
                          self._decoupled, group["amsgrad"], group["maximize"])


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): decoupled weight decay, default 1e-2."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
