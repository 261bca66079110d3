"""Registry entries: matrix products. Samples with ta/tb=True (matmul, mm, bmm) or tw=True (linear)
run the op on a transposed view of that operand (a non-contiguous tensor folded into the GEMM as a
transpose); the NumPy reference transposes the same operand. Those samples sit in a second OpInfo of
the same name without `method` (the Tensor method takes no such flag)."""
import numpy as np

import backpropx as bx

from .core import OpInfo, Sample


def _t(x):
    return x.transpose(-1, -2)


def _np_t(x):
    return np.swapaxes(x, -1, -2)


def _on_views(op):
    def call(a, b, ta=False, tb=False):
        return op(_t(a) if ta else a, _t(b) if tb else b)
    return call


def _np_on_views(ref):
    def call(a, b, ta=False, tb=False):
        return ref(_np_t(a) if ta else a, _np_t(b) if tb else b)
    return call


def _x(rng, *shape):
    return rng.standard_normal(shape)


def _matmul_samples(rng):
    return [
        Sample(_x(rng, 4), _x(rng, 4), desc="1-D . 1-D dot"),
        Sample(_x(rng, 3, 4), _x(rng, 4, 5), desc="2-D, non-square"),
        Sample(_x(rng, 4), _x(rng, 4, 2), desc="1-D @ 2-D (prepend 1)"),
        Sample(_x(rng, 3, 4), _x(rng, 4), desc="2-D @ 1-D (append 1)"),
        Sample(_x(rng, 2, 3, 4), _x(rng, 4, 5), desc="N-D @ 2-D (batch folded into rows)"),
        Sample(_x(rng, 3, 4), _x(rng, 2, 4, 5), desc="2-D @ N-D"),
        Sample(_x(rng, 2, 1, 3, 4), _x(rng, 3, 4, 2), desc="broadcast batch dims"),
        Sample(_x(rng, 1, 3, 4), _x(rng, 2, 4, 1), desc="size-1 batch and size-1 n"),
        Sample(_x(rng, 3), _x(rng, 2, 3, 4), desc="1-D @ batched"),
        Sample(_x(rng, 2, 2, 3, 4), _x(rng, 4), desc="batched @ 1-D"),
        Sample(_x(rng, 1, 1), _x(rng, 1, 1), desc="1x1"),
    ]


def _matmul_view_samples(rng):
    return [
        Sample(_x(rng, 4, 3), _x(rng, 4, 5), kwargs={"ta": True}, desc="A transposed view"),
        Sample(_x(rng, 3, 4), _x(rng, 5, 4), kwargs={"tb": True}, desc="B transposed view"),
        Sample(_x(rng, 2, 4, 3), _x(rng, 2, 5, 4), kwargs={"ta": True, "tb": True}, desc="both transposed, batched"),
        Sample(_x(rng, 4, 3), _x(rng, 2, 4, 5), kwargs={"ta": True}, desc="transposed, broadcast"),
    ]


def _np_linear(x, w, b=None, tw=False):
    w = w.T if tw else w
    y = x @ w.T
    return y if b is None else y + b


def _linear(x, w, b=None, tw=False):
    return bx.linear(x, w.transpose(0, 1) if tw else w, b)


def _linear_samples(rng):
    return [
        Sample(_x(rng, 3, 5), _x(rng, 4, 5), _x(rng, 4), desc="2-D with bias"),
        Sample(_x(rng, 2, 3, 5), _x(rng, 4, 5), _x(rng, 4), desc="3-D input (rows folded)"),
        Sample(_x(rng, 5), _x(rng, 4, 5), _x(rng, 4), desc="1-D input"),
        Sample(_x(rng, 3, 5), _x(rng, 4, 5), desc="no bias"),
        Sample(_x(rng, 1, 1), _x(rng, 1, 1), _x(rng, 1), desc="size-1"),
        Sample(_x(rng, 2, 1, 3), _x(rng, 6, 3), _x(rng, 6), desc="size-1 dim in the batch"),
        Sample(_x(rng, 3, 5), _x(rng, 5, 4), _x(rng, 4), kwargs={"tw": True}, desc="transposed weight view"),
    ]


OPS = [
    OpInfo("matmul", op=bx.matmul, ref=np.matmul, method="matmul", samples=_matmul_samples),
    OpInfo("matmul", op=_on_views(bx.matmul), ref=_np_on_views(np.matmul), samples=_matmul_view_samples),
    OpInfo("mm", op=bx.mm, ref=np.matmul, method="mm", samples=lambda rng: [
        Sample(_x(rng, 3, 4), _x(rng, 4, 2)),
        Sample(_x(rng, 1, 4), _x(rng, 4, 1), desc="row @ column"),
    ]),
    OpInfo("mm", op=_on_views(bx.mm), ref=_np_on_views(np.matmul), samples=lambda rng: [
        Sample(_x(rng, 4, 3), _x(rng, 2, 4), kwargs={"ta": True, "tb": True}, desc="both transposed views"),
    ]),
    OpInfo("bmm", op=bx.bmm, ref=np.matmul, method="bmm", samples=lambda rng: [
        Sample(_x(rng, 2, 3, 4), _x(rng, 2, 4, 5)),
        Sample(_x(rng, 1, 3, 1), _x(rng, 1, 1, 2), desc="size-1 dims"),
    ]),
    OpInfo("bmm", op=_on_views(bx.bmm), ref=_np_on_views(np.matmul), samples=lambda rng: [
        Sample(_x(rng, 3, 4, 2), _x(rng, 3, 4, 5), kwargs={"ta": True}, desc="transposed view"),
    ]),
    OpInfo("linear", op=_linear, ref=_np_linear, samples=_linear_samples),
]
