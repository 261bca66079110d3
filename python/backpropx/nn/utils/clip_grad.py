"""Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_); the norms and the scaling run in C++.

    >>> loss.backward(); total = bx.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0); opt.step()

Non-finite gradients: with error_if_nonfinite=False (the default) clip_grad_norm_ does what torch does: the
gradients are multiplied by max_norm / (total + 1e-6) clamped to 1, so a NaN total norm turns every gradient
into NaN, and an infinite one turns finite entries into 0 and infinite ones into NaN; the returned norm is the
non-finite value, for the caller to check (or use bx.monitor.HealthMonitor to skip such steps). With
error_if_nonfinite=True a RuntimeError is raised and the gradients are left untouched.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Union

from ... import _C
from ..._C import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]

TensorOrTensors = Union[Tensor, Iterable[Tensor]]


def _grads(parameters: TensorOrTensors) -> List[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [g for g in (p.grad for p in parameters) if g is not None]


def _as_list(tensors: TensorOrTensors) -> List[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]


def _norm_tensor(value: float, tensors: List[Tensor]) -> Tensor:
    dtype = tensors[0].dtype if tensors else _C.dtype.float32
    return _C._full([], value, dtype)


def get_total_norm(tensors: TensorOrTensors, norm_type: Union[float, str] = 2.0, error_if_nonfinite: bool = False,
                   foreach: Optional[bool] = None) -> Tensor:
    """The norm of all tensors together (as if concatenated into one vector), a 0-d tensor.

        >>> bx.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    total = _C._tensor_norms(tensors, norm_type)[1]
    if error_if_nonfinite and not _finite(total):
        raise RuntimeError(f"get_total_norm: the total norm of order {norm_type} is non-finite ({total})")
    return _norm_tensor(total, tensors)


def clip_grads_with_norm_(parameters: TensorOrTensors, max_norm: float, total_norm: Union[Tensor, float],
                          foreach: Optional[bool] = None) -> None:
    """Scales the gradients by min(1, max_norm / (total_norm + 1e-6)), given an already computed total norm."""
    grads = _grads(parameters)
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    coef = float(max_norm) / (total + 1e-6)
    coef = coef if coef != coef else min(coef, 1.0)  # NaN stays NaN, as torch's clamp
    if grads and coef != 1.0:
        _C._scale_(grads, coef)


def clip_grad_norm_(parameters: TensorOrTensors, max_norm: float, norm_type: Union[float, str] = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Rescales the gradients in place so that their total norm is at most max_norm; returns the total norm
    (before clipping) as a 0-d tensor. norm_type may be float("inf") for the largest |g|.

        >>> total = bx.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    """
    grads = _grads(parameters)
    if not grads:
        return _C._full([], 0.0, _C.dtype.float32)
    total = _C._clip_grad_norm_(grads, float(max_norm), float(norm_type), bool(error_if_nonfinite))
    return _norm_tensor(total, grads)


def clip_grad_norm(parameters: TensorOrTensors, max_norm: float, norm_type: Union[float, str] = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    """Deprecated alias of clip_grad_norm_ (as in torch)."""
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: TensorOrTensors, clip_value: float, foreach: Optional[bool] = None) -> None:
    """Clamps every gradient in place to [-clip_value, clip_value] (NaN entries stay NaN).

        >>> bx.nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    grads = _grads(parameters)
    if grads:
        _C._clip_grad_value_(grads, float(clip_value))


def _finite(x: float) -> bool:
    return x == x and x not in (float("inf"), float("-inf"))
