"""Creating tensors: bx.tensor, zeros/ones/full/empty/arange, rand/randn/randint (seeded by bx.manual_seed).

    >>> bx.manual_seed(0); bx.randn(2, 3).shape
    (2, 3)
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _C
from ._C import Tensor

float32 = _C.dtype.float32
float64 = _C.dtype.float64
int64 = _C.dtype.int64
bool_ = _C.dtype.bool

_TO_NUMPY = {float32: np.float32, float64: np.float64, int64: np.int64, bool_: np.bool_}


def check_device(device: Any) -> None:
    """Accepts None, "cpu" or a CPU device (torch's device= arguments); other devices raise."""
    if device is None:
        return
    name = str(device)
    if name != "cpu" and not name.startswith("cpu:"):
        raise RuntimeError(f"device {name!r}: backpropx was built for the CPU only (the CUDA backend is a build "
                           f"option that is not written yet)")


def _size(size: Sequence) -> list:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        return [int(s) for s in size]
    except TypeError:
        raise TypeError(f"size must be ints or a tuple of ints, got {size!r}") from None


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def numpy_dtype(dtype) -> type:
    """The NumPy scalar type of a backpropx dtype."""
    return _TO_NUMPY[dtype]


def tensor(data: Any, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of data (nested lists, numbers, NumPy arrays or tensors).

        >>> bx.tensor([[1.0, 2.0]], requires_grad=True).shape
        (1, 2)
    """
    check_device(device)
    if isinstance(data, Tensor):
        arr = data.detach().numpy()
    elif isinstance(data, np.ndarray):
        arr = data
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64:  # Python floats become float32, as torch's default dtype
            arr = arr.astype(np.float32)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f" and arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float32)
    elif arr.dtype.kind not in "fb":
        raise TypeError(f"tensor: can't make a tensor from data of type {arr.dtype} ({type(data).__name__})")
    if dtype is not None:
        arr = arr.astype(_TO_NUMPY[dtype] if isinstance(dtype, _C.dtype) else np.dtype(dtype))
    t = _C.from_numpy(np.array(arr, order="C", copy=True))
    return _finish(t, requires_grad)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """data itself if it is already a tensor of that dtype, else bx.tensor(data, dtype)."""
    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        return data
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (float32, float64, int64 or bool).

        >>> a = np.zeros(3, np.float32); t = bx.from_numpy(a); t += 1; a
        array([1., 1., 1.], dtype=float32)
    """
    return _C.from_numpy(array)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor. `bx.empty(2, 3)`"""
    check_device(device)
    return _finish(_C._empty(_size(size), dtype), requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros. `bx.zeros(2, 3)`"""
    check_device(device)
    return _finish(_C._full(_size(size), 0.0, dtype), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones. `bx.ones(2, 3, dtype=bx.float64)`"""
    check_device(device)
    return _finish(_C._full(_size(size), 1.0, dtype), requires_grad)


def full(size: Sequence[int], fill_value: Union[int, float, bool], dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with fill_value; the dtype follows the value (bool, int64 or float32), as torch.

        >>> bx.full((2,), 7)
        tensor([7, 7])
    """
    check_device(device)
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else float32
    return _finish(_C._full(_size((size,) if isinstance(size, int) else tuple(size)), float(fill_value), dtype),
                   requires_grad)


def arange(start: float, end: Optional[float] = None, step: float = 1, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from start to end (exclusive) by step; int64 when all arguments are ints. `bx.arange(5)`"""
    check_device(device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, (int, np.integer)) for v in (start, end, step)) else float32
    return _finish(_C._arange(float(start), float(end), float(step), dtype), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1). `bx.rand(2, 3)`"""
    check_device(device)
    return _finish(_C._rand(_size(size), dtype), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples. `bx.randn(2, 3)`"""
    check_device(device)
    return _finish(_C._randn(_size(size), dtype), requires_grad)


def randint(*args, size=None, dtype=None, device=None) -> Tensor:
    """Random integers in [low, high): randint(high, size) or randint(low, high, size). `bx.randint(10, (3,))`"""
    check_device(device)
    if size is not None:
        args = args + (size,)
    if len(args) == 2:
        low, high, size = 0, args[0], args[1]
    elif len(args) == 3:
        low, high, size = args
    else:
        raise TypeError("randint expects (high, size) or (low, high, size)")
    return _C._randint(int(low), int(high), _size((size,) if isinstance(size, int) else tuple(size)), dtype)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape and dtype."""
    check_device(device)
    return zeros(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape and dtype."""
    check_device(device)
    return ones(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """t's shape filled with fill_value."""
    check_device(device)
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised, t's shape."""
    check_device(device)
    return empty(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples of t's shape."""
    check_device(device)
    return rand(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of t's shape."""
    check_device(device)
    return randn(*t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)
