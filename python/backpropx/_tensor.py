"""Python-side methods of Tensor: repr, backward, hooks, indexing, iteration, conversions.

The math lives in C++; these are thin adapters from Python protocols to C++ ops.

    >>> x = bx.arange(6).reshape(2, 3); x[1, ::2]
    tensor([3, 5])
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import _C
from ._C import Tensor
from ._factory import check_device

_NUMPY_DTYPES = {
    _C.dtype.float32: np.float32,
    _C.dtype.float64: np.float64,
    _C.dtype.int64: np.int64,
    _C.dtype.bool: np.bool_,
}


# ---- repr -----------------------------------------------------------------------------------------

def _repr(self: Tensor) -> str:
    if self.is_sparse:  # torch's layout for a sparse COO tensor with one sparse dimension
        return (f"tensor(indices={_repr(self._indices())},\n       values={_repr(self._values())},\n"
                f"       size={tuple(self.shape)}, nnz={self._nnz()}, layout=row_sparse)")
    arr = self.detach().numpy()
    prefix = "tensor("
    if arr.size == 0:
        body = "[]" if arr.ndim <= 1 else f"size={tuple(arr.shape)}"
    else:
        body = np.array2string(arr, separator=", ", prefix=prefix, threshold=1000, edgeitems=3,
                               precision=4, floatmode="maxprec_equal" if arr.dtype.kind == "f" else "maxprec",
                               suppress_small=False)
    extras = []
    if self.dtype == _C.dtype.float64 or (arr.size == 0 and self.dtype != _C.dtype.float32):
        extras.append(f"dtype={self.dtype!r}")
    if self.grad_fn is not None:
        extras.append(f"grad_fn=<{self.grad_fn}>")
    elif self.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"


# ---- autograd -------------------------------------------------------------------------------------

class RemovableHandle:
    """Returned by register_hook; `handle.remove()` unregisters the hook."""

    def __init__(self, tensor: Tensor, hook_id: int):
        self._tensor = tensor
        self._id = hook_id

    def remove(self) -> None:
        if self._tensor is not None:
            self._tensor._remove_hook(self._id)
            self._tensor = None


def _backward(self: Tensor, gradient: Any = None, retain_graph: Optional[bool] = None,
              create_graph: bool = False, inputs: Any = None) -> None:
    """Computes the gradient of this tensor w.r.t. graph leaves; accumulates into their .grad.

        >>> x = bx.tensor([3.0], requires_grad=True); (x * x).sum().backward(); x.grad
        tensor([6.])
    """
    if create_graph:
        raise NotImplementedError("backward: create_graph=True (double backward) is not supported: backward "
                                  "passes are hand-written kernels that do not record a graph")
    if inputs is not None:
        raise NotImplementedError("backward: inputs= is not supported; use backpropx.autograd.grad")
    self._backward(gradient, bool(retain_graph))


def _register_hook(self: Tensor, hook: Callable[[Tensor], Optional[Tensor]]) -> RemovableHandle:
    """Calls hook(grad) whenever the gradient of this tensor is computed; a returned tensor replaces it.

        >>> h = w.register_hook(lambda g: print(g.abs().max())); h.remove()
    """
    return RemovableHandle(self, self._register_hook(hook))


# ---- indexing -------------------------------------------------------------------------------------

def _as_index_tensor(obj: Any) -> Tensor:
    if isinstance(obj, Tensor):
        return obj
    arr = np.asarray(obj)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind != "b":
        raise IndexError(f"tensors used as indices must be integer or bool, got {arr.dtype}")
    return _C.from_numpy(np.ascontiguousarray(arr))


def _expand_key(self: Tensor, key: Any) -> list:
    if not isinstance(key, tuple):
        key = (key,)
    used = sum(1 for k in key if k is not None and k is not Ellipsis and not _is_mask(k))
    used += sum(_mask_ndim(k) for k in key if _is_mask(k))
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (self.ndim - used))
        else:
            out.append(k)
    if used > self.ndim:
        raise IndexError(f"too many indices for tensor of dimension {self.ndim} (shape {list(self.shape)})")
    return out


def _is_mask(k: Any) -> bool:
    if isinstance(k, Tensor):
        return k.dtype == _C.dtype.bool
    if isinstance(k, np.ndarray):
        return k.dtype == np.bool_
    return False


def _mask_ndim(k: Any) -> int:
    return max(k.ndim, 1) if _is_mask(k) else 0


def _getitem(self: Tensor, key: Any) -> Tensor:
    """Indexing with ints, slices, None, ..., integer index tensors/lists and bool masks.

        >>> bx.arange(10)[bx.tensor([1, 1, 3])]
        tensor([1, 1, 3])
    """
    t = self
    dim = 0
    advanced = {}  # result dim -> index tensor
    for k in _expand_key(self, key):
        if k is None:
            t = _C.unsqueeze(t, dim)
            dim += 1
        elif isinstance(k, (bool, np.bool_)):
            raise IndexError("indexing with a Python bool is not supported")
        elif isinstance(k, (int, np.integer)):
            if dim >= t.ndim:
                raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
            t = _C.select(t, dim, int(k))
        elif isinstance(k, slice):
            if dim >= t.ndim:
                raise IndexError(f"too many indices for tensor of dimension {self.ndim}")
            step = 1 if k.step is None else int(k.step)
            if step <= 0:
                raise ValueError("step must be greater than zero (negative slicing steps are not supported)")
            t = _C.slice(t, dim, k.start, k.stop, step)
            dim += 1
        elif _is_mask(k):
            mask = _as_index_tensor(k)
            if mask.ndim == 0:
                raise IndexError("indexing with a 0-d bool mask is not supported")
            if list(mask.shape) != list(t.shape[dim:dim + mask.ndim]):
                raise IndexError(f"the shape of the mask {list(mask.shape)} does not match the shape of the "
                                 f"indexed tensor {list(t.shape)} at dim {dim}")
            nz = _C.nonzero(mask)
            for j in range(mask.ndim):
                advanced[dim + j] = _C.select(nz, 1, j)
            dim += mask.ndim
        else:
            idx = _as_index_tensor(k)
            if idx.dtype == _C.dtype.bool:
                raise IndexError("bool index arrays must match the indexed dims")
            advanced[dim] = idx
            dim += 1
    if not advanced:
        return t
    indices = [advanced.get(d) for d in range(t.ndim)]
    return _C.index(t, indices)


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    """In-place assignment x[key] = value (tensors that need no gradient, or under no_grad)."""
    if _C.is_grad_enabled() and self.requires_grad:
        raise RuntimeError("__setitem__: a tensor that requires grad is being used in an in-place operation; "
                           "wrap it in `with bx.no_grad():` or build the result out of place")
    simple = all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice))
                 for k in (key if isinstance(key, tuple) else (key,)))
    if simple:
        view = _getitem(self, key)
        view.copy_(value)
        return
    # Advanced keys: write through NumPy into the shared memory, then bump the version counter.
    arr = self.numpy(force=True)
    np_key = _key_to_numpy(key)
    arr[np_key] = value.detach().numpy() if isinstance(value, Tensor) else value
    self._bump_version()


def _key_to_numpy(key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(_key_to_numpy(k) for k in key)
    if isinstance(key, Tensor):
        return key.numpy(force=True)
    return key


# ---- Python protocols -----------------------------------------------------------------------------

def _len(self: Tensor) -> int:
    if self.ndim == 0:
        raise TypeError("len() of a 0-d tensor")
    return self.shape[0]


def _iter(self: Tensor):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (_C.select(self, 0, i) for i in range(self.shape[0]))


def _bool(self: Tensor) -> bool:
    if self.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {self.numel()} values is ambiguous")
    return bool(self.item())


def _index(self: Tensor) -> int:
    if self.dtype != _C.dtype.int64 or self.numel() != 1:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return int(self.item())


def _array(self: Tensor, dtype=None, copy=None) -> np.ndarray:
    arr = self.detach().numpy()
    return arr.astype(dtype) if dtype is not None else arr


def _tolist(self: Tensor):
    return self.detach().numpy().tolist()


def _new_tensor_like(fill: str):
    def method(self: Tensor, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        from . import _factory
        return getattr(_factory, fill)(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)
    return method


def _split_to_args(args: tuple, dtype: Any, device: Any) -> Any:
    """torch's to(dtype), to(device), to(device, dtype), to(other): returns the dtype (None: unchanged)."""
    for a in args:
        if isinstance(a, _C.dtype):
            dtype = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, str) or type(a).__name__ == "device":
            device = a
        else:
            raise TypeError(f"to: expected a dtype, a device or a tensor, got {a!r}")
    check_device(device)
    return dtype


def _to(self: Tensor, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False,
        copy: bool = False) -> Tensor:
    """The tensor in another dtype (differentiable); on the CPU, device= is accepted and changes nothing.

        >>> bx.ones(2).to(bx.float64).dtype
        backpropx.float64
    """
    dtype = _split_to_args(args, dtype, device)
    out = self if dtype is None else _TO_DTYPE(self, dtype)
    return out.clone() if copy and out is self else out


def install() -> None:
    """Attaches the Python-side methods to the C++ Tensor class (once, at import)."""
    global _TO_DTYPE
    _TO_DTYPE = Tensor.to
    Tensor.to = _to
    Tensor.__repr__ = _repr
    Tensor.__str__ = _repr
    Tensor.backward = _backward
    Tensor.register_hook = _register_hook
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem
    Tensor.__len__ = _len
    Tensor.__iter__ = _iter
    Tensor.__bool__ = _bool
    Tensor.__float__ = lambda self: float(self.item())
    Tensor.__int__ = lambda self: int(self.item())
    Tensor.__index__ = _index
    Tensor.__array__ = _array
    Tensor.__array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__
    Tensor.tolist = _tolist
    Tensor.new_zeros = _new_tensor_like("zeros")
    Tensor.new_ones = _new_tensor_like("ones")
    Tensor.new_empty = _new_tensor_like("empty")
    Tensor.numpy_dtype = property(lambda self: _NUMPY_DTYPES[self.dtype])
