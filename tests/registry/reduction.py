"""Registry entries: reductions."""
import numpy as np

import backpropx as bx

from .core import OpInfo, Sample


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def _dim_samples(rng, with_none=True):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    out = [Sample(x(3, 4), kwargs={"dim": 1}, desc="last dim"),
           Sample(x(3, 4), kwargs={"dim": 0, "keepdim": True}, desc="keepdim"),
           Sample(x(2, 3, 4), kwargs={"dim": [0, 2]}, desc="two dims"),
           Sample(x(2, 3, 4), kwargs={"dim": -2, "keepdim": True}, desc="negative dim"),
           Sample(x(5, 1), kwargs={"dim": 1}, desc="size-1 dim")]
    if with_none:
        out += [Sample(x(3, 4), desc="all"), Sample(x(), desc="0-d")]
    return out


def _sum_ref(x, dim=None, keepdim=False):
    return np.sum(x, axis=_axis(dim), keepdims=keepdim)


def _mean_ref(x, dim=None, keepdim=False):
    return np.mean(x, axis=_axis(dim), keepdims=keepdim)


def _var_ref(x, dim=None, unbiased=None, keepdim=False, correction=None):
    ddof = correction if correction is not None else (0 if unbiased is False else 1)
    return np.var(x, axis=_axis(dim), ddof=ddof, keepdims=keepdim)


def _std_ref(*args, **kwargs):
    return np.sqrt(_var_ref(*args, **kwargs))


def _lse_ref(x, dim, keepdim=False):
    m = np.max(x, axis=_axis(dim), keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=_axis(dim), keepdims=True))
    return r if keepdim else np.squeeze(r, axis=_axis(dim))


def _var_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [Sample(x(3, 4), desc="all, unbiased"), Sample(x(3, 4), kwargs={"dim": 1}),
            Sample(x(2, 3, 4), kwargs={"dim": [0, 2], "keepdim": True}),
            Sample(x(4, 5), kwargs={"dim": 0, "correction": 0}, desc="population"),
            Sample(x(4, 5), kwargs={"dim": 1, "unbiased": False}, desc="unbiased=False")]


def _max_ref(fn, arg):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            return fn(x)
        return fn(x, axis=dim, keepdims=keepdim), np.expand_dims(arg(x, axis=dim), dim) if keepdim else arg(x, axis=dim)
    return ref


def _max_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731  (continuous: no ties)
    return [Sample(x(3, 4), desc="all"), Sample(x(3, 4), kwargs={"dim": 1}), Sample(x(2, 3, 4), kwargs={"dim": 0}),
            Sample(x(2, 3, 4), kwargs={"dim": -1, "keepdim": True}), Sample(x(6), kwargs={"dim": 0})]


def _amax_ref(fn):
    return lambda x, dim=None, keepdim=False: fn(x, axis=_axis(dim), keepdims=keepdim)


def _arg_ref(fn):
    def ref(x, dim=None, keepdim=False):
        if dim is None:
            r = fn(x)
            return np.reshape(r, (1,) * x.ndim) if keepdim else np.asarray(r)
        r = fn(x, axis=dim)
        return np.expand_dims(r, dim) if keepdim else r
    return ref


OPS = [
    OpInfo("sum", op=bx.sum, ref=_sum_ref, samples=_dim_samples, method="sum"),
    OpInfo("mean", op=bx.mean, ref=_mean_ref, samples=_dim_samples, method="mean"),
    OpInfo("var", op=bx.var, ref=_var_ref, samples=_var_samples, method="var"),
    OpInfo("std", op=bx.std, ref=_std_ref, samples=_var_samples, method="std"),
    OpInfo("logsumexp", op=bx.logsumexp, ref=_lse_ref, method="logsumexp",
           samples=lambda rng: _dim_samples(rng, with_none=False) + [
               Sample(rng.standard_normal((2, 3)) * 30, kwargs={"dim": 1}, desc="large values")]),
    OpInfo("amax", op=bx.amax, ref=_amax_ref(np.max), samples=_dim_samples, method="amax"),
    OpInfo("amin", op=bx.amin, ref=_amax_ref(np.min), samples=_dim_samples, method="amin"),
    OpInfo("max", op=bx.max, ref=_max_ref(np.max, np.argmax), samples=_max_samples, method="max"),
    OpInfo("min", op=bx.min, ref=_max_ref(np.min, np.argmin), samples=_max_samples, method="min"),
    OpInfo("argmax", op=bx.argmax, ref=_arg_ref(np.argmax), samples=_max_samples, differentiable=False, method="argmax"),
    OpInfo("argmin", op=bx.argmin, ref=_arg_ref(np.argmin), samples=_max_samples, differentiable=False, method="argmin"),
]
