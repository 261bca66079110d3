"""Optimizer updates against hand-written NumPy reference steps."""
import numpy as np
import pytest

import backpropx as bx


def run(opt_cls, steps=4, **kw):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(steps)]
    w = bx.tensor(w0, dtype=bx.float64, requires_grad=True)
    opt = opt_cls([w], **kw)
    for g in grads:
        w.grad = bx.tensor(g, dtype=bx.float64)
        opt.step()
    return w0, grads, w.detach().numpy()


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True),
                                dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01)])
def test_sgd_matches_reference(kw):
    w, grads, got = run(bx.optim.SGD, **kw)
    lr, mom, damp = kw["lr"], kw.get("momentum", 0), kw.get("dampening", 0)
    wd, nest = kw.get("weight_decay", 0), kw.get("nesterov", False)
    buf = None
    for g in grads:
        d = g + wd * w
        if mom:
            buf = d if buf is None else mom * buf + (1 - damp) * d
            d = d + mom * buf if nest else buf
        w = w - lr * d
    np.testing.assert_allclose(got, w, rtol=1e-12)


@pytest.mark.parametrize("cls,kw", [(bx.optim.Adam, dict(lr=0.01)), (bx.optim.Adam, dict(lr=0.01, weight_decay=0.1)),
                                    (bx.optim.Adam, dict(lr=0.01, amsgrad=True, betas=(0.8, 0.9))),
                                    (bx.optim.AdamW, dict(lr=0.01, weight_decay=0.1))])
def test_adam_matches_reference(cls, kw):
    w, grads, got = run(cls, **kw)
    lr, (b1, b2) = kw["lr"], kw.get("betas", (0.9, 0.999))
    wd, eps = kw.get("weight_decay", 0.01 if cls is bx.optim.AdamW else 0.0), 1e-8
    m = v = vmax = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if cls is bx.optim.AdamW:
            w = w * (1 - lr * wd)
        else:
            g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vv = vmax if kw.get("amsgrad") else v
        w = w - lr / (1 - b1 ** t) * m / (np.sqrt(vv) / np.sqrt(1 - b2 ** t) + eps)
    np.testing.assert_allclose(got, w, rtol=1e-12)


def test_zero_grad_and_bad_arguments():
    w = bx.ones(2, requires_grad=True)
    (w * 2).sum().backward()
    opt = bx.optim.SGD([w], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert w.grad.numpy().sum() == 0
    opt.zero_grad()
    assert w.grad is None
    with pytest.raises(ValueError):
        bx.optim.SGD([w], lr=-1)
    with pytest.raises(ValueError):
        bx.optim.Adam([], lr=1e-3)
