"""The op registry's building blocks.

Every op reachable from Python is declared once, with sample inputs and a NumPy reference forward;
tests/test_registry.py walks the registry: forward vs NumPy in float32 and float64, float64 gradcheck
on every sample of every differentiable op.

    OpInfo("tanh", op=bx.tanh, ref=np.tanh, samples=lambda rng: [Sample(rng.standard_normal((2, 3)))])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np


class Sample:
    """One call of an op: positional args, keyword args and which float arrays get gradients.

    Float arrays become tensors of the dtype under test (float32 or float64); int64 and bool arrays
    stay as they are; a list of arrays becomes a list of tensors; anything else passes through.
    `grad`: indices of the positional args to differentiate (default: every float array, and
    every float array inside a list argument).
    """

    def __init__(self, *args: Any, kwargs: Optional[dict] = None, grad: Optional[tuple] = None, desc: str = ""):
        self.args = args
        self.kwargs = kwargs or {}
        self.grad = grad
        self.desc = desc

    def __repr__(self) -> str:
        def show(a):
            if isinstance(a, np.ndarray):
                return f"{a.dtype.name}{list(a.shape)}"
            if isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
                return "[" + ", ".join(show(x) for x in a) + "]"
            return repr(a)

        parts = [show(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return (self.desc + ": " if self.desc else "") + "(" + ", ".join(parts) + ")"


@dataclass
class OpInfo:
    """An op: how to call it (`op`, with bx tensors), its NumPy reference (`ref`, same args as
    NumPy arrays) and its samples (`samples(rng)` -> list of Sample)."""

    name: str
    op: Callable
    ref: Callable
    samples: Callable[[np.random.Generator], list]
    differentiable: bool = True
    method: Optional[str] = None          # also check Tensor.<method>(first arg, rest...)
    aliases: tuple = ()                   # other public names for the same op (bx.nn.functional, ...)
    atol32: float = 1e-5
    rtol32: float = 1e-4
    atol64: float = 1e-10
    rtol64: float = 1e-8
    gradcheck_atol: float = 1e-5
    gradcheck_rtol: float = 1e-3
    eps: float = 1e-6
    extra: dict = field(default_factory=dict)


def away_from(x: np.ndarray, points=(0.0,), margin: float = 0.1) -> np.ndarray:
    """x with every element moved at least `margin` away from the given kink points."""
    x = np.array(x, dtype=np.float64)
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin) * 2
    return x


@dataclass
class LayerInfo:
    """A layer (bx.nn module) in the registry: how to build it, its inputs, and a NumPy reference.

    `make()` builds the module (the walker seeds bx first and converts it to the dtype under test);
    `inputs(rng)` gives the forward's positional args (float arrays become tensors of that dtype,
    int arrays stay int64, None and other values pass through); `ref(params, *args, **kwargs)` gets
    the module's state_dict as NumPy arrays and the same args, and returns the expected outputs;
    `outputs(result)` picks the tensors to compare and differentiate from what forward returns
    (default: the result itself, or its tensors when it is a tuple).
        LayerInfo("Linear", make=lambda: bx.nn.Linear(3, 2), inputs=lambda rng: (rng.standard_normal((4, 3)),),
                  ref=lambda p, x: x @ p["weight"].T + p["bias"])
    """

    name: str
    make: Callable[[], Any]
    inputs: Callable[[np.random.Generator], tuple]
    ref: Callable
    kwargs: dict = field(default_factory=dict)
    outputs: Optional[Callable[[Any], list]] = None
    grad_inputs: Optional[tuple] = None   # positions of args to differentiate (default: every float array)
    atol32: float = 1e-5
    rtol32: float = 1e-4
    atol64: float = 1e-10
    rtol64: float = 1e-8
    gradcheck_atol: float = 1e-5
    gradcheck_rtol: float = 1e-3
    eps: float = 1e-6
