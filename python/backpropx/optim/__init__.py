"""Optimizers with torch.optim's names, defaults and state_dict format; each update is one fused C++ pass over a
parameter, its gradient and its state.

    >>> opt = bx.optim.Adam(model.parameters(), lr=1e-3); loss.backward(); opt.step(); opt.zero_grad()

Parameters whose .grad is None (frozen ones, or ones the loss did not reach) are skipped. Gradients accumulate
over several backward() calls as in PyTorch, so micro-batching is: backward on each micro-batch, then one step().
`state_dict()` / `load_state_dict()` use torch's layout ({"state": {index: {...}}, "param_groups": [{..., "params":
[indices]}]}), so `bx.save(opt.state_dict(), path)` and `opt.load_state_dict(bx.load(path))` resume training exactly.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from .. import _C
from .._C import Tensor
from ..autograd import enable_grad, no_grad

ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]]]


def _zeros_like(p: Tensor, value: float = 0.0) -> Tensor:
    return _C._full(list(p.shape), value, p.dtype)


class Optimizer:
    """Holds param_groups (dicts with "params" and the hyper-parameters) and per-parameter state.

        >>> opt = bx.optim.SGD([{"params": enc.parameters()}, {"params": dec.parameters(), "lr": 1e-2}], lr=1e-3)
    """

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]):
        self.defaults = defaults
        self.state: Dict[Tensor, Dict[str, Any]] = {}
        self.param_groups: List[Dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of Tensors or dicts, got a Tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(dict(group))

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyper-parameters (missing ones take the defaults).

            >>> opt.add_param_group({"params": new_layer.parameters(), "lr": 1e-4})
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}: a param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if params and isinstance(params[0], tuple) and isinstance(params[0][0], str):  # named, as torch >= 2.6
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        group["params"] = params
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf tensor")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in group["params"]}) != len(group["params"]) or any(id(p) in seen for p in group["params"]):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group "
                             "(or twice in one)")
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

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every parameter that has a gradient; closure (optional) re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: Dict[str, Any]) -> None:
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                self._update(group, p, grad)

    def _update(self, group: Dict[str, Any], p: Tensor, grad: Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} has no update rule")

    def _params_with_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p

    # ---- state -----------------------------------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """{"state": {param index: {name: value}}, "param_groups": [{hyper-parameters..., "params": [indices]}]}.

        The state tensors are the optimizer's own (not copies), as in torch; save them before the next step.
        """
        index: Dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restores hyper-parameters and state saved by state_dict() (ours or torch's, converted to bx tensors).

            >>> opt.load_state_dict(bx.load("opt.safetensors"))
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has {len(saved_groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        by_index: Dict[int, Tensor] = {}
        for group, saved in zip(self.param_groups, saved_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a saved parameter group has "
                                 f"{len(saved['params'])} parameters, the optimizer's has {len(group['params'])}")
            for i, p in zip(saved["params"], group["params"]):
                by_index[int(i)] = p
        new_state: Dict[Tensor, Dict[str, Any]] = {}
        for key, saved in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                continue  # torch ignores state of parameters that are not in any group
            new_state[p] = {name: self._cast_state(p, name, value) for name, value in saved.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            params = group["params"]
            group.clear()
            group.update({k: (tuple(v) if k == "betas" else v) for k, v in saved.items() if k != "params"})
            group["params"] = params
        self.state = new_state

    def _cast_state(self, p: Tensor, name: str, value: Any) -> Any:
        if not isinstance(value, Tensor):
            return value
        if name == "step":
            return int(round(value.item()))
        if tuple(value.shape) != tuple(p.shape):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state {name!r} has shape {list(value.shape)} "
                             f"but its parameter has shape {list(p.shape)}")
        out = _C._empty(list(p.shape), p.dtype)  # a private contiguous copy in the parameter's dtype
        out.copy_(value.detach())
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, nesterov and weight decay (torch.optim.SGD).

        >>> opt = bx.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr={lr}, momentum={momentum} or weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, group, p, grad):
        state = self.state.setdefault(p, {})
        first = state.get("momentum_buffer") is None
        if group["momentum"] != 0 and first:
            state["momentum_buffer"] = _zeros_like(p)
        _C._sgd_step(p, grad, state.get("momentum_buffer"), group["lr"], group["momentum"], group["dampening"],
                     group["weight_decay"], group["nesterov"], group["maximize"], first)


class Adam(Optimizer):
    """Adam (torch.optim.Adam): L2 weight decay added to the gradient; amsgrad optional.

        >>> opt = bx.optim.Adam(model.parameters(), lr=3e-4, betas=(0.9, 0.98))
    """

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False):
        if lr < 0 or eps < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"{type(self).__name__}: invalid lr={lr}, eps={eps}, weight_decay={weight_decay} "
                             f"or betas={betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _step_group(self, group):
        # the whole group in one C++ call: one parallel loop over all its parameters (as torch's fused Adam)
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        states = [self._state_of(group, p) for p in params]
        beta1, beta2 = group["betas"]
        _C._adam_step_multi(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                            [s["exp_avg_sq"] for s in states],
                            [s["max_exp_avg_sq"] for s in states] if group["amsgrad"] else [],
                            [s["step"] + 1 for s in states], group["lr"], beta1, beta2, group["eps"],
                            group["weight_decay"], self._decoupled, group["amsgrad"], group["maximize"])
        for s in states:  # counted once the update went through: a failed step changes nothing
            s["step"] += 1

    def _state_of(self, group, p):
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
        if group["amsgrad"] and state.get("max_exp_avg_sq") is None:
            state["max_exp_avg_sq"] = _zeros_like(p)
        return state


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): decoupled weight decay (param *= 1 - lr * weight_decay), default 1e-2.

        >>> opt = bx.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    """

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop): optional momentum, centered variance and L2 weight decay.

        >>> opt = bx.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.99, momentum=0.9, centered=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False):
        if lr < 0 or eps < 0 or momentum < 0 or weight_decay < 0 or alpha < 0:
            raise ValueError(f"RMSprop: invalid lr={lr}, alpha={alpha}, eps={eps}, momentum={momentum} or "
                             f"weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, group, p, grad):
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, "square_avg": _zeros_like(p)}
        if group["momentum"] > 0 and state.get("momentum_buffer") is None:
            state["momentum_buffer"] = _zeros_like(p)
        if group["centered"] and state.get("grad_avg") is None:
            state["grad_avg"] = _zeros_like(p)
        state["step"] += 1
        _C._rmsprop_step(p, grad, state["square_avg"], state.get("momentum_buffer") if group["momentum"] > 0 else None,
                         state.get("grad_avg") if group["centered"] else None, group["lr"], group["alpha"],
                         group["eps"], group["weight_decay"], group["momentum"], group["centered"], group["maximize"])


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad): per-element learning rates lr / (1 + (step - 1) * lr_decay) / sqrt(sum g^2).

        >>> opt = bx.optim.Adagrad(model.parameters(), lr=1e-2, initial_accumulator_value=0.1)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False):
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0 or eps < 0:
            raise ValueError(f"Adagrad: invalid lr={lr}, lr_decay={lr_decay}, weight_decay={weight_decay}, "
                             f"initial_accumulator_value={initial_accumulator_value} or eps={eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))

    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]  # torch creates Adagrad's state eagerly, as here
        for p in group["params"]:
            self.state[p] = {"step": 0, "sum": _zeros_like(p, group["initial_accumulator_value"])}

    def _update(self, group, p, grad):
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, "sum": _zeros_like(p, group["initial_accumulator_value"])}
        state["step"] += 1
        _C._adagrad_step(p, grad, state["sum"], state["step"], group["lr"], group["lr_decay"],
                         group["weight_decay"], group["eps"], group["maximize"])


class SparseAdam(Optimizer):
    """SparseAdam (torch.optim.SparseAdam): lazy Adam for row-sparse gradients (Embedding(sparse=True)); only the
    rows a batch looked up have their moments and values updated. Dense gradients raise.

        >>> opt = bx.optim.SparseAdam(bx.nn.Embedding(1000, 64, sparse=True).parameters(), lr=1e-3)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, *,
                 maximize: bool = False):
        if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"SparseAdam: invalid lr={lr}, eps={eps} or betas={betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, maximize=maximize))

    def _update(self, group, p, grad):
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
        state["step"] += 1
        beta1, beta2 = group["betas"]
        _C._sparse_adam_step(p, grad, state["exp_avg"], state["exp_avg_sq"], state["step"], group["lr"], beta1, beta2,
                             group["eps"], group["maximize"])


__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "SparseAdam", "lr_scheduler"]

from . import lr_scheduler  # noqa: E402  (bx.optim.lr_scheduler, as torch.optim.lr_scheduler)
