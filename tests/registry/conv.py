"""Registry entries: conv1d, max_pool1d, avg_pool1d, adaptive_max_pool1d, and the layers Conv1d, MaxPool1d,
AvgPool1d, AdaptiveMaxPool1d.

The references slide the window explicitly over a padded copy of the input (float64 inside): a sum of products
for conv1d, max / first argmax for the max pools (inputs are random normals, so no ties), and torch's divisor
rules for avg_pool1d. Sizes follow torch's output-length formula, ceil_mode included.
"""
import math

import numpy as np

import backpropx as bx

from .core import LayerInfo, OpInfo, Sample


def _op(name):
    return lambda *args, **kwargs: getattr(bx, name)(*args, **kwargs)


def _batched(x):
    return (x[None], True) if x.ndim == 2 else (x, False)


def _conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dtype = x.dtype
    x, unbatched = _batched(x.astype(np.float64))
    w = w.astype(np.float64)
    Fo, Cg, K = w.shape
    span = dilation * (K - 1)
    if padding == "same":
        pad = (span // 2, span - span // 2)
    elif padding == "valid":
        pad = (0, 0)
    else:
        pad = (padding, padding)
    xp = np.pad(x, ((0, 0), (0, 0), pad))
    L_out = (xp.shape[2] - span - 1) // stride + 1
    out = np.zeros((x.shape[0], Fo, L_out))
    fg = Fo // groups
    for f in range(Fo):
        g = f // fg
        for o in range(L_out):
            window = xp[:, g * Cg:(g + 1) * Cg, o * stride:o * stride + span + 1:dilation]  # [N, Cg, K]
            out[:, f, o] = (window * w[f]).sum(axis=(1, 2))
    if b is not None:
        out += b[None, :, None]
    return (out[0] if unbatched else out).astype(dtype)


def _out_len(L, K, pad, stride, dilation, ceil_mode):
    span = L + 2 * pad - dilation * (K - 1) - 1
    n = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (n - 1) * stride >= L + pad:
        n -= 1
    return n


def _max_pool1d_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    dtype = x.dtype
    x, unbatched = _batched(x.astype(np.float64))
    stride = stride or kernel_size
    L = x.shape[2]
    n = _out_len(L, kernel_size, padding, stride, dilation, ceil_mode)
    values = np.empty(x.shape[:2] + (n,))
    indices = np.empty(x.shape[:2] + (n,), np.int64)
    for o in range(n):
        pos = [o * stride - padding + k * dilation for k in range(kernel_size)]
        pos = np.array([p for p in pos if 0 <= p < L])
        arg = x[:, :, pos].argmax(-1)
        indices[:, :, o] = pos[arg]
        values[:, :, o] = x[:, :, pos].max(-1)
    if unbatched:
        values, indices = values[0], indices[0]
    return (values.astype(dtype), indices) if return_indices else values.astype(dtype)


def _avg_pool1d_ref(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    dtype = x.dtype
    x, unbatched = _batched(x.astype(np.float64))
    stride = stride or kernel_size
    L = x.shape[2]
    n = _out_len(L, kernel_size, padding, stride, 1, ceil_mode)
    out = np.empty(x.shape[:2] + (n,))
    for o in range(n):
        start = o * stride - padding
        end = min(start + kernel_size, L + padding)
        padded_size = end - start
        lo, hi = max(start, 0), min(end, L)
        out[:, :, o] = x[:, :, lo:hi].sum(-1) / (padded_size if count_include_pad else hi - lo)
    return (out[0] if unbatched else out).astype(dtype)


def _adaptive_max_pool1d_ref(x, output_size, return_indices=False):
    dtype = x.dtype
    x, unbatched = _batched(x.astype(np.float64))
    L = x.shape[2]
    values = np.empty(x.shape[:2] + (output_size,))
    indices = np.empty(x.shape[:2] + (output_size,), np.int64)
    for o in range(output_size):
        lo, hi = (o * L) // output_size, math.ceil((o + 1) * L / output_size)
        indices[:, :, o] = lo + x[:, :, lo:hi].argmax(-1)
        values[:, :, o] = x[:, :, lo:hi].max(-1)
    if unbatched:
        values, indices = values[0], indices[0]
    return (values.astype(dtype), indices) if return_indices else values.astype(dtype)


def _conv1d_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(2, 3, 7), x(4, 3, 3), x(4), desc="bias"),
        Sample(x(2, 3, 7), x(4, 3, 3), kwargs={"padding": 1}, desc="padding, no bias"),
        Sample(x(2, 3, 8), x(4, 3, 3), x(4), kwargs={"stride": 2, "padding": 1}, desc="stride 2"),
        Sample(x(2, 3, 9), x(2, 3, 3), x(2), kwargs={"dilation": 2, "padding": 2}, desc="dilation 2"),
        Sample(x(2, 3, 5), x(4, 3, 1), x(4), desc="K = 1"),
        Sample(x(2, 4, 6), x(6, 2, 3), x(6), kwargs={"groups": 2}, desc="groups 2"),
        Sample(x(1, 2, 6), x(3, 2, 4), kwargs={"padding": "same"}, desc="'same' with an even kernel"),
        Sample(x(3, 7), x(2, 3, 2), x(2), kwargs={"stride": 3}, desc="unbatched [C, L]"),
    ]


def _max_pool_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(2, 3, 8), 2, desc="kernel 2"),
        Sample(x(2, 3, 9), 3, kwargs={"stride": 2, "padding": 1}, desc="stride 2, padding 1"),
        Sample(x(2, 2, 10), 2, kwargs={"stride": 1, "dilation": 3, "padding": 1}, desc="dilation 3"),
        Sample(x(1, 3, 10), 3, kwargs={"stride": 2, "ceil_mode": True}, desc="ceil_mode"),
        Sample(x(2, 3, 7), 3, kwargs={"stride": 1, "return_indices": True}, desc="overlapping, with indices"),
        Sample(x(3, 6), 2, desc="unbatched"),
    ]


def _avg_pool_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(2, 3, 8), 2, desc="kernel 2"),
        Sample(x(2, 3, 9), 3, kwargs={"stride": 2, "padding": 1}, desc="padding counted"),
        Sample(x(2, 3, 9), 3, kwargs={"stride": 2, "padding": 1, "count_include_pad": False},
               desc="padding not counted"),
        Sample(x(1, 2, 10), 4, kwargs={"stride": 3, "padding": 2, "ceil_mode": True}, desc="ceil_mode"),
        Sample(x(3, 5), 3, kwargs={"stride": 1}, desc="unbatched, overlapping"),
    ]


def _adaptive_max_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(2, 3, 9), 1, desc="max over time"),
        Sample(x(2, 3, 9), 1, kwargs={"return_indices": True}, desc="max over time, with indices"),
        Sample(x(2, 3, 10), 4, desc="uneven windows"),
        Sample(x(2, 2, 5), 7, desc="more outputs than inputs"),
        Sample(x(3, 6), 3, kwargs={"return_indices": True}, desc="unbatched"),
    ]


OPS = [
    OpInfo("conv1d", op=_op("conv1d"), ref=_conv1d_ref, samples=_conv1d_samples),
    OpInfo("max_pool1d", op=_op("max_pool1d"), ref=_max_pool1d_ref, samples=_max_pool_samples),
    OpInfo("avg_pool1d", op=_op("avg_pool1d"), ref=_avg_pool1d_ref, samples=_avg_pool_samples),
    OpInfo("adaptive_max_pool1d", op=_op("adaptive_max_pool1d"), ref=_adaptive_max_pool1d_ref,
           samples=_adaptive_max_samples),
]

_x = lambda rng, *shape: rng.standard_normal(shape)  # noqa: E731

LAYERS = [
    LayerInfo("Conv1d", make=lambda: bx.nn.Conv1d(3, 4, 3, padding=2, dilation=2),
              inputs=lambda rng: (_x(rng, 2, 3, 8),),
              ref=lambda p, x: _conv1d_ref(x, p["weight"], p["bias"], padding=2, dilation=2)),
    LayerInfo("Conv1d-stride-groups-no-bias", make=lambda: bx.nn.Conv1d(4, 2, 2, stride=2, groups=2, bias=False),
              inputs=lambda rng: (_x(rng, 2, 4, 7),),
              ref=lambda p, x: _conv1d_ref(x, p["weight"], stride=2, groups=2)),
    LayerInfo("MaxPool1d", make=lambda: bx.nn.MaxPool1d(3, stride=2, padding=1),
              inputs=lambda rng: (_x(rng, 2, 3, 9),),
              ref=lambda p, x: _max_pool1d_ref(x, 3, 2, 1)),
    LayerInfo("AvgPool1d", make=lambda: bx.nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False),
              inputs=lambda rng: (_x(rng, 2, 3, 9),),
              ref=lambda p, x: _avg_pool1d_ref(x, 3, 2, 1, count_include_pad=False)),
    LayerInfo("AdaptiveMaxPool1d", make=lambda: bx.nn.AdaptiveMaxPool1d(1),
              inputs=lambda rng: (_x(rng, 2, 3, 9),),
              ref=lambda p, x: _adaptive_max_pool1d_ref(x, 1)),
    LayerInfo("AdaptiveMaxPool1d-indices", make=lambda: bx.nn.AdaptiveMaxPool1d(3, return_indices=True),
              inputs=lambda rng: (_x(rng, 2, 3, 8),),
              ref=lambda p, x: _adaptive_max_pool1d_ref(x, 3, return_indices=True)),
]
