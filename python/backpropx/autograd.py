"""Autograd entry points: grad mode, backward, grad and gradcheck (the check itself runs in C++).

    >>> x = bx.tensor([1.0, 2.0], dtype=bx.float64, requires_grad=True)
    >>> bx.autograd.gradcheck(lambda t: (t * t).sum(), (x,))
    True
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Sequence, Union

from . import _C
from ._C import Tensor


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytic gradient disagrees with finite differences."""


class _GradMode:
    """Base of no_grad / enable_grad: a context manager that is also a decorator."""

    mode = True

    def __enter__(self):
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc) -> None:
        _C._set_grad_enabled(self._prev)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Turns gradient recording off: `with bx.no_grad(): y = model(x)` (also a decorator)."""

    mode = False


class enable_grad(_GradMode):
    """Turns gradient recording on inside a no_grad region: `with bx.enable_grad(): ...`"""

    mode = True


class set_grad_enabled(_GradMode):
    """set_grad_enabled(False) switches recording off now; `with bx.set_grad_enabled(False):` for a scope."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = _C.is_grad_enabled()
        _C._set_grad_enabled(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        _C._set_grad_enabled(self._prev)


is_grad_enabled = _C.is_grad_enabled


def _as_list(x: Union[Tensor, Sequence, None]) -> list:
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def backward(tensors: Union[Tensor, Sequence[Tensor]], grad_tensors: Any = None,
             retain_graph: Optional[bool] = None) -> None:
    """Backward from several tensors at once; gradients accumulate into the leaves' .grad.

        >>> bx.autograd.backward([y1, y2], [g1, g2])
    """
    roots = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(roots)
    _C._backward(roots, grads, bool(retain_graph))


def grad(outputs: Union[Tensor, Sequence[Tensor]], inputs: Union[Tensor, Sequence[Tensor]],
         grad_outputs: Any = None, retain_graph: Optional[bool] = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """The gradients of outputs w.r.t. inputs, returned (no .grad is touched).

        >>> (gx,) = bx.autograd.grad((x * x).sum(), x)
    """
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (double backward) is not supported")
    roots = _as_list(outputs)
    grads = _as_list(grad_outputs) or [None] * len(roots)
    return tuple(_C._grad(roots, _as_list(inputs), grads, bool(retain_graph), allow_unused))


def gradcheck(fn: Callable, inputs: Union[Tensor, Sequence[Any]], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Checks the autograd Jacobian of fn at inputs against float64 central differences, element by
    element; raises GradcheckError naming the worst element (or returns False with raise_exception=False).

        >>> x = bx.randn(3, dtype=bx.float64, requires_grad=True)
        >>> bx.autograd.gradcheck(bx.tanh, (x,))
        True
    """
    args = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def call(tensors: list) -> list:
        full = list(args)
        for pos, t in zip(tensor_pos, tensors):
            full[pos] = t
        out = fn(*full)
        if isinstance(out, Tensor):
            return [out]
        return [o for o in out if isinstance(o, Tensor)]

    ok, message, _ = _C._gradcheck(call, [args[i] for i in tensor_pos], eps, atol, rtol)
    if not ok and raise_exception:
        raise GradcheckError(message)
    return ok
