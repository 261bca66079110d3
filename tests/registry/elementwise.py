"""Registry entries: elementwise arithmetic, math, activations, selection, comparisons."""
import math

import numpy as np

import backpropx as bx

from .core import OpInfo, Sample, away_from

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _binary_samples(low=-1.0, high=1.0, b_low=None, b_high=None):
    b_low = low if b_low is None else b_low
    b_high = high if b_high is None else b_high

    def samples(rng):
        u = lambda shape, lo, hi: rng.uniform(lo, hi, shape)  # noqa: E731
        return [
            Sample(u((2, 3), low, high), u((2, 3), b_low, b_high), desc="same shape"),
            Sample(u((2, 3), low, high), u((3,), b_low, b_high), desc="broadcast row"),
            Sample(u((4, 1, 3), low, high), u((2, 1), b_low, b_high), desc="broadcast both"),
            Sample(u((1,), low, high), u((2, 3), b_low, b_high), desc="size-1 first"),
            Sample(u((), low, high), u((3, 2), b_low, b_high), desc="0-d first"),
            Sample(u((2, 3), low, high), 1.5 if b_low > 0 else 0.75, desc="python scalar"),
        ]
    return samples


def _unary_samples(low=-2.0, high=2.0, kinks=None):
    def samples(rng):
        def u(shape):
            x = rng.uniform(low, high, shape)
            return away_from(x, kinks) if kinks else x
        return [Sample(u((3, 4)), desc="2-D"), Sample(u((5,)), desc="1-D"), Sample(u(()), desc="0-d"),
                Sample(u((2, 1, 3)), desc="size-1 dim")]
    return samples


def _gelu_ref(x, approximate="none"):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return (0.5 * x * (1 + _erf(x / np.sqrt(2)))).astype(x.dtype)


def _softplus_ref(x, beta=1.0, threshold=20.0):
    bx_ = beta * x
    return np.where(bx_ > threshold, x, np.log1p(np.exp(np.minimum(bx_, threshold))) / beta).astype(x.dtype)


def _comparison_samples(rng):
    ints = lambda shape: rng.integers(0, 3, shape).astype(np.float64)  # noqa: E731  (ties on purpose)
    return [Sample(ints((3, 4)), ints((3, 4))), Sample(ints((2, 3)), ints((3,))), Sample(ints((4,)), 1.0),
            Sample(rng.integers(0, 3, (2, 2)), rng.integers(0, 3, (2, 2)), desc="int64")]


def _logic_samples(rng):
    b = lambda shape: rng.random(shape) < 0.5  # noqa: E731
    return [Sample(b((3, 4)), b((3, 4))), Sample(b((2, 3)), b((3,)))]


OPS = [
    OpInfo("add", op=bx.add, ref=lambda a, b, alpha=1.0: a + alpha * b, samples=lambda rng: _binary_samples()(rng) + [
        Sample(rng.standard_normal((2, 3)), rng.standard_normal((3,)), kwargs={"alpha": 2.5}, desc="alpha")],
        method="add"),
    OpInfo("sub", op=bx.sub, ref=lambda a, b, alpha=1.0: a - alpha * b, samples=lambda rng: _binary_samples()(rng) + [
        Sample(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), kwargs={"alpha": -0.5}, desc="alpha")],
        method="sub"),
    OpInfo("mul", op=bx.mul, ref=np.multiply, samples=_binary_samples(), method="mul"),
    OpInfo("div", op=bx.div, ref=np.divide, samples=_binary_samples(b_low=0.5, b_high=2.0), method="div"),
    OpInfo("pow", op=bx.pow, ref=np.power, method="pow", samples=lambda rng: [
        Sample(rng.uniform(0.5, 2.0, (2, 3)), 2.0, desc="square"),
        Sample(rng.uniform(-2.0, 2.0, (4,)), 3.0, desc="cube of negatives"),
        Sample(rng.uniform(0.5, 2.0, (3, 2)), 0.5, desc="sqrt"),
        Sample(rng.uniform(0.5, 2.0, (3, 2)), -1.5, desc="negative exponent"),
        Sample(rng.uniform(0.5, 2.0, (2, 3)), rng.uniform(-1.0, 2.0, (2, 3)), desc="tensor exponent"),
        Sample(rng.uniform(0.5, 2.0, (2, 1)), rng.uniform(-1.0, 2.0, (3,)), desc="broadcast exponent"),
    ]),
    OpInfo("maximum", op=bx.maximum, ref=np.maximum, samples=_binary_samples(), method="maximum"),
    OpInfo("minimum", op=bx.minimum, ref=np.minimum, samples=_binary_samples(), method="minimum"),
    OpInfo("neg", op=bx.neg, ref=np.negative, samples=_unary_samples(), method="neg"),
    OpInfo("exp", op=bx.exp, ref=np.exp, samples=_unary_samples(), method="exp"),
    OpInfo("log", op=bx.log, ref=np.log, samples=_unary_samples(0.2, 3.0), method="log"),
    OpInfo("sqrt", op=bx.sqrt, ref=np.sqrt, samples=_unary_samples(0.2, 3.0), method="sqrt"),
    OpInfo("abs", op=bx.abs, ref=np.abs, samples=_unary_samples(kinks=(0.0,)), method="abs"),
    OpInfo("tanh", op=bx.tanh, ref=np.tanh, samples=_unary_samples(), method="tanh"),
    OpInfo("sigmoid", op=bx.sigmoid, ref=lambda x: 1 / (1 + np.exp(-x)), method="sigmoid",
           samples=lambda rng: _unary_samples()(rng) + [Sample(np.array([-40.0, -5.0, 0.3, 5.0, 40.0]), desc="tails")]),
    OpInfo("relu", op=bx.relu, ref=lambda x: np.maximum(x, 0), samples=_unary_samples(kinks=(0.0,)), method="relu"),
    OpInfo("leaky_relu", op=bx.leaky_relu, ref=lambda x, negative_slope=0.01: np.where(x > 0, x, negative_slope * x),
           samples=lambda rng: _unary_samples(kinks=(0.0,))(rng) + [
               Sample(away_from(rng.uniform(-2, 2, (3, 3))), kwargs={"negative_slope": 0.2}, desc="slope 0.2")]),
    OpInfo("gelu", op=bx.gelu, ref=_gelu_ref, samples=lambda rng: _unary_samples(-3, 3)(rng) + [
        Sample(rng.uniform(-3, 3, (3, 4)), kwargs={"approximate": "tanh"}, desc="tanh approximation")]),
    OpInfo("softplus", op=bx.softplus, ref=_softplus_ref, samples=lambda rng: _unary_samples(-3, 3)(rng) + [
        Sample(rng.uniform(-3, 3, (3, 4)), kwargs={"beta": 2.0, "threshold": 4.0}, desc="beta and threshold")]),
    OpInfo("clamp", op=bx.clamp, ref=lambda x, min=None, max=None: np.clip(x, min, max), method="clamp",
           samples=lambda rng: [
               Sample(away_from(rng.uniform(-2, 2, (3, 4)), (-0.5, 0.5)), kwargs={"min": -0.5, "max": 0.5}),
               Sample(away_from(rng.uniform(-2, 2, (5,)), (0.0,)), kwargs={"min": 0.0}, desc="min only"),
               Sample(away_from(rng.uniform(-2, 2, (2, 3)), (1.0,)), kwargs={"max": 1.0}, desc="max only")]),
    OpInfo("where", op=bx.where, ref=np.where, samples=lambda rng: [
        Sample(rng.random((3, 4)) < 0.5, rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), grad=(1, 2)),
        Sample(rng.random((3, 1)) < 0.5, rng.standard_normal((1, 4)), rng.standard_normal((3, 4)), grad=(1, 2),
               desc="broadcast"),
        Sample(rng.random((2, 3)) < 0.5, rng.standard_normal((2, 3)), 0.0, grad=(1,), desc="scalar other")]),
    OpInfo("masked_fill", op=bx.masked_fill, ref=lambda x, m, v: np.where(m, np.asarray(v, x.dtype), x),
           method="masked_fill", samples=lambda rng: [
               Sample(rng.standard_normal((3, 4)), rng.random((3, 4)) < 0.5, -1e4, grad=(0,)),
               Sample(rng.standard_normal((2, 3, 4)), rng.random((3, 1)) < 0.5, 0.0, grad=(0,), desc="broadcast mask")]),
    *[OpInfo(name, op=getattr(bx, name), ref=ref, samples=_comparison_samples, differentiable=False, method=name)
      for name, ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                        ("gt", np.greater), ("ge", np.greater_equal)]],
    OpInfo("logical_not", op=bx.logical_not, ref=np.logical_not, differentiable=False,
           samples=lambda rng: [Sample(rng.random((3, 4)) < 0.5), Sample(rng.integers(0, 2, (5,)).astype(np.float64))]),
    OpInfo("logical_and", op=bx.logical_and, ref=np.logical_and, samples=_logic_samples, differentiable=False),
    OpInfo("logical_or", op=bx.logical_or, ref=np.logical_or, samples=_logic_samples, differentiable=False),
]
