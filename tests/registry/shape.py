"""Registry entries: shape ops. Samples with `transposed=True` run the op on a non-contiguous view."""
import numpy as np

import backpropx as bx

from .core import OpInfo, Sample


def _on_view(op):
    """op applied to x, or to x.T (a strided view) when transposed=True; the ref does the same."""
    def call(x, *args, transposed=False, **kwargs):
        return op(x.transpose(0, 1) if transposed else x, *args, **kwargs)
    return call


def _np_on_view(ref):
    def call(x, *args, transposed=False, **kwargs):
        return ref(np.swapaxes(x, 0, 1) if transposed else x, *args, **kwargs)
    return call


def _x(rng, *shape):
    return rng.standard_normal(shape)


def _reshape_samples(rng):
    return [Sample(_x(rng, 2, 3), (3, 2)), Sample(_x(rng, 2, 3, 4), (-1, 4), desc="infer"),
            Sample(_x(rng, 6), (1, 6, 1), desc="add size-1"), Sample(_x(rng, 1), (), desc="to 0-d"),
            Sample(_x(rng, 3, 4), (12,), kwargs={"transposed": True}, desc="non-contiguous (copies)")]


def _np_slice(x, dim, start=None, end=None, step=1):
    key = [slice(None)] * x.ndim
    key[dim] = slice(start, end, step)
    return x[tuple(key)]


def _np_split(x, size, dim=0):
    n = x.shape[dim]
    if isinstance(size, int):
        cuts = list(range(size, n, size))
    else:
        cuts = list(np.cumsum(size)[:-1])
    return tuple(np.split(x, cuts, axis=dim))


def _np_chunk(x, chunks, dim=0):
    n = x.shape[dim]
    return _np_split(x, max(1, -(-n // chunks)), dim)


def _np_squeeze(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=dim) if x.shape[dim] == 1 else x


def _np_flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


OPS = [
    OpInfo("reshape", op=_on_view(bx.reshape), ref=_np_on_view(np.reshape), samples=_reshape_samples),
    OpInfo("view", op=_on_view(bx.view), ref=_np_on_view(np.reshape), samples=lambda rng: [
        Sample(_x(rng, 2, 3), (3, 2)), Sample(_x(rng, 2, 3, 4), (6, -1)),
        Sample(_x(rng, 3, 4, 2), (4, 3, 2), kwargs={"transposed": True}, desc="view of a transposed view")]),
    OpInfo("flatten", op=_on_view(bx.flatten), ref=_np_on_view(_np_flatten), samples=lambda rng: [
        Sample(_x(rng, 2, 3, 4)), Sample(_x(rng, 2, 3, 4), kwargs={"start_dim": 1}),
        Sample(_x(rng, 2, 3, 4, 5), kwargs={"start_dim": 1, "end_dim": 2}), Sample(_x(rng), desc="0-d"),
        Sample(_x(rng, 3, 4), kwargs={"transposed": True})]),
    OpInfo("transpose", op=bx.transpose, ref=lambda x, a, b: np.swapaxes(x, a, b), method="transpose",
           samples=lambda rng: [Sample(_x(rng, 2, 3), 0, 1), Sample(_x(rng, 2, 3, 4), -1, 0),
                                Sample(_x(rng, 2, 3, 4), 1, 1, desc="same dim")]),
    OpInfo("t", op=bx.t, ref=lambda x: x.T, method="t",
           samples=lambda rng: [Sample(_x(rng, 2, 3)), Sample(_x(rng, 4), desc="1-D unchanged")]),
    OpInfo("permute", op=bx.permute, ref=np.transpose, samples=lambda rng: [
        Sample(_x(rng, 2, 3, 4), (2, 0, 1)), Sample(_x(rng, 2, 3, 4), (-1, 1, 0)), Sample(_x(rng, 3, 1), (1, 0))]),
    OpInfo("squeeze", op=bx.squeeze, ref=_np_squeeze, method="squeeze", samples=lambda rng: [
        Sample(_x(rng, 2, 1, 3, 1)), Sample(_x(rng, 2, 1, 3), kwargs={"dim": 1}),
        Sample(_x(rng, 2, 3), kwargs={"dim": 0}, desc="not size 1: unchanged"), Sample(_x(rng, 1, 1))]),
    OpInfo("unsqueeze", op=bx.unsqueeze, ref=np.expand_dims, method="unsqueeze", samples=lambda rng: [
        Sample(_x(rng, 2, 3), 0), Sample(_x(rng, 2, 3), 2), Sample(_x(rng, 2, 3), -1), Sample(_x(rng), 0)]),
    OpInfo("expand", op=bx.expand, ref=lambda x, size: np.broadcast_to(
        x, tuple(x.shape[i - (len(size) - x.ndim)] if s == -1 else s for i, s in enumerate(size))), samples=lambda rng: [
        Sample(_x(rng, 3, 1), (3, 4)), Sample(_x(rng, 1, 3), (2, 4, 3), desc="new leading dim"),
        Sample(_x(rng, 2, 1), (-1, 5), desc="-1 keeps"), Sample(_x(rng), (2, 2), desc="0-d")]),
    OpInfo("narrow", op=bx.narrow, ref=lambda x, d, s, n: _np_slice(x, d, s % x.shape[d], s % x.shape[d] + n),
           method="narrow", samples=lambda rng: [
               Sample(_x(rng, 5, 3), 0, 1, 3), Sample(_x(rng, 2, 6), 1, 4, 2), Sample(_x(rng, 2, 6), -1, -3, 2)]),
    OpInfo("select", op=bx.select, ref=lambda x, d, i: np.take(x, i, axis=d), method="select", samples=lambda rng: [
        Sample(_x(rng, 4, 3), 0, 2), Sample(_x(rng, 2, 3, 4), 2, -1), Sample(_x(rng, 5), 0, 0, desc="to 0-d")]),
    OpInfo("slice", op=bx._C.slice, ref=_np_slice, samples=lambda rng: [
        Sample(_x(rng, 6, 3), 0, 1, 5), Sample(_x(rng, 3, 8), 1, None, None, 3, desc="step"),
        Sample(_x(rng, 3, 8), -1, -5, None, 2, desc="negative start"), Sample(_x(rng, 4), 0, 2, 100, desc="clamped end"),
        Sample(_x(rng, 4, 3), 0, 3, 1, desc="empty")]),
    OpInfo("cat", op=bx.cat, ref=lambda ts, dim=0: np.concatenate(ts, axis=dim), samples=lambda rng: [
        Sample([_x(rng, 2, 3), _x(rng, 1, 3), _x(rng, 4, 3)]), Sample([_x(rng, 2, 3), _x(rng, 2, 2)], 1), Sample([_x(rng, 2, 3, 2), _x(rng, 2, 1, 2)], -2),
        Sample([_x(rng, 3)], 0, desc="one tensor")]),
    OpInfo("stack", op=bx.stack, ref=lambda ts, dim=0: np.stack(ts, axis=dim), samples=lambda rng: [
        Sample([_x(rng, 2, 3), _x(rng, 2, 3)]), Sample([_x(rng, 2, 3), _x(rng, 2, 3), _x(rng, 2, 3)], 2),
        Sample([_x(rng, 4), _x(rng, 4)], -1), Sample([_x(rng), _x(rng)], 0, desc="0-d")]),
    OpInfo("split", op=bx.split, ref=_np_split, method="split", samples=lambda rng: [
        Sample(_x(rng, 5, 3), 2), Sample(_x(rng, 5, 3), [1, 4]), Sample(_x(rng, 2, 6), [2, 1, 3], 1),
        Sample(_x(rng, 2, 6), 3, -1)]),
    OpInfo("chunk", op=bx.chunk, ref=_np_chunk, method="chunk", samples=lambda rng: [
        Sample(_x(rng, 5, 3), 2), Sample(_x(rng, 6, 3), 3), Sample(_x(rng, 2, 7), 3, 1)]),
]
