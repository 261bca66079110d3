"""Registry entries: gathering ops with int64 index tensors. Repeated indices test the scatter-add
backward; negative indices wrap as in torch. Index arrays stay int64 tensors (no gradient).
Samples with transposed=True run the op on a strided view (x with dims 0 and 1 swapped); they sit
in a second OpInfo of the same name without `method` (the Tensor method takes no such flag)."""
import numpy as np

import backpropx as bx

from .core import OpInfo, Sample


def _x(rng, *shape):
    return rng.standard_normal(shape)


def _i(*values):
    return np.array(values, dtype=np.int64)


def _wrap(idx, n):
    return np.where(idx < 0, idx + n, idx)


def _on_view(op):
    """op on x, or on x.T (dims 0 and 1 swapped: a strided view) when transposed=True."""
    def call(x, *args, transposed=False, **kwargs):
        return op(x.transpose(0, 1) if transposed else x, *args, **kwargs)
    return call


def _np_on_view(ref):
    def call(x, *args, transposed=False, **kwargs):
        return ref(np.swapaxes(x, 0, 1) if transposed else x, *args, **kwargs)
    return call


def _np_index_select(x, dim, index):
    return np.take(x, _wrap(index, x.shape[dim]), axis=dim)


def _np_gather(x, dim, index):
    d = dim % x.ndim
    # index.size(k) <= x.size(k) for k != dim: gather reads the leading part of x along those dims.
    sub = x[tuple(slice(None) if k == d else slice(0, index.shape[k]) for k in range(x.ndim))]
    return np.take_along_axis(sub, _wrap(index, x.shape[d]), axis=d)


def _np_index(x, indices):
    key = tuple(slice(None) if i is None else i for i in indices)
    return x[key]


def _index(x, indices, transposed=False):
    return bx._C.index(x.transpose(0, 1) if transposed else x, indices)


def _np_index_t(x, indices, transposed=False):
    return _np_index(np.swapaxes(x, 0, 1) if transposed else x, indices)


def _gather_samples(rng):
    return [
        Sample(_x(rng, 3, 4), 1, _i([0, 0, 3], [1, -1, 1], [2, 2, 2]), grad=(0,), desc="dim 1, repeats, negative"),
        Sample(_x(rng, 3, 4), 0, _i([2, 0, 2, -3], [1, 1, 0, 2]), grad=(0,), desc="dim 0, smaller index"),
        Sample(_x(rng, 2, 3, 4), -1, rng.integers(-4, 4, size=(2, 2, 6)), grad=(0,), desc="3-D, longer than dim"),
        Sample(_x(rng, 2, 3, 4), 1, rng.integers(0, 3, size=(1, 5, 4)), grad=(0,), desc="3-D middle dim"),
    ]


def _gather_view_samples(rng):
    return [
        Sample(_x(rng, 4, 3), 1, _i([2, 2], [0, 1], [1, 1]), kwargs={"transposed": True}, grad=(0,),
               desc="transposed view"),
        Sample(_x(rng, 4, 3), 0, _i([1, 0, -1, 2], [0, 0, 0, 0]), kwargs={"transposed": True}, grad=(0,),
               desc="transposed view, dim 0"),
    ]


def _index_samples(rng):
    x = _x(rng, 4, 5, 6)
    return [
        Sample(x, [_i(0, 3, 3, -1)], grad=(0,), desc="dim 0, repeated, negative"),
        Sample(x, [None, _i(1, -2, 1, 4)], grad=(0,), desc="middle dim"),
        Sample(x, [None, None, _i([5, 0], [0, 0])], grad=(0,), desc="last dim, 2-D index"),
        Sample(x, [_i(0, 3, 3), _i(1, -1, 1)], grad=(0,), desc="two adjacent dims (in place)"),
        Sample(x, [_i([0], [3]), None, _i(2, 2, 5)], grad=(0,), desc="non-adjacent dims broadcast (go first)"),
        Sample(x, [None, _i([0], [4]), _i(1, 1, 0)], grad=(0,), desc="adjacent, broadcast"),
        Sample(x, [_i(1, 1), _i(0, 4), _i(5, 5)], grad=(0,), desc="all dims"),
        Sample(x, [np.array(2, dtype=np.int64), None, _i(0, -1)], grad=(0,), desc="0-d index tensor"),
        Sample(_x(rng, 5, 3), [None, _i(0, 0, 2)], kwargs={"transposed": True}, grad=(0,), desc="transposed view"),
        Sample(x, [x[:, :, 0] > 0], grad=(0,), desc="bool mask"),
    ]


def _np_nonzero(x):
    return np.argwhere(x).astype(np.int64)


def _nonzero_samples(rng):
    x = rng.standard_normal((3, 4))
    x[x < 0.3] = 0
    return [
        Sample(x),
        Sample(np.array([0.0, 1.5, 0.0, -2.0])),
        Sample(np.zeros((2, 3)), desc="all zero"),
        Sample(np.array([[True, False], [True, True]]), desc="bool"),
        Sample(np.array([0, 3, 0, 7], dtype=np.int64), desc="int64"),
        Sample(np.array(2.0), desc="0-d"),
    ]


OPS = [
    OpInfo("index_select", op=bx.index_select, ref=_np_index_select, method="index_select", samples=lambda rng: [
        Sample(_x(rng, 5, 3), 0, _i(4, 0, 4, -1, 2), grad=(0,), desc="dim 0, repeated, negative"),
        Sample(_x(rng, 2, 5, 3), 1, _i(1, 1, 1), grad=(0,), desc="middle dim, all the same"),
        Sample(_x(rng, 2, 3), -1, _i(2, -3), grad=(0,), desc="last dim via -1"),
        Sample(_x(rng, 4, 1), 1, _i(0, 0, -1), grad=(0,), desc="size-1 dim"),
        Sample(_x(rng, 3, 4), 1, np.zeros(0, dtype=np.int64), grad=(0,), desc="empty index"),
    ]),
    OpInfo("index_select", op=_on_view(bx.index_select), ref=_np_on_view(_np_index_select), samples=lambda rng: [
        Sample(_x(rng, 4, 3), 1, _i(3, 0, 3), kwargs={"transposed": True}, grad=(0,), desc="transposed view"),
    ]),
    OpInfo("gather", op=bx.gather, ref=_np_gather, method="gather", samples=_gather_samples),
    OpInfo("gather", op=_on_view(bx.gather), ref=_np_on_view(_np_gather), samples=_gather_view_samples),
    OpInfo("index", op=_index, ref=_np_index_t, samples=_index_samples),
    OpInfo("nonzero", op=bx.nonzero, ref=_np_nonzero, method="nonzero", differentiable=False,
           samples=_nonzero_samples),
    OpInfo("nonzero", op=_on_view(bx.nonzero), ref=_np_on_view(_np_nonzero), differentiable=False,
           samples=lambda rng: [Sample(rng.standard_normal((3, 4)) * (rng.random((3, 4)) > 0.5),
                                       kwargs={"transposed": True}, desc="transposed view")]),
]
