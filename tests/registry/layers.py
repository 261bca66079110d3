"""Registry entries: basic layers, activations, containers and loss modules (bx.nn)."""
import math

import numpy as np

import backpropx as bx

from .core import LayerInfo, away_from

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _x(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _linear(p, x, prefix=""):
    y = x @ p[prefix + "weight"].T
    return y + p[prefix + "bias"] if prefix + "bias" in p else y


def _layer_norm(p, x):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * p["weight"] + p["bias"]


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _cross_entropy(p, logits, target):
    return -_log_softmax(logits)[np.arange(len(target)), target].mean()


LAYERS = [
    LayerInfo("Linear", make=lambda: bx.nn.Linear(4, 3), inputs=_x(5, 4), ref=_linear),
    LayerInfo("Linear-no-bias-3d", make=lambda: bx.nn.Linear(4, 2, bias=False), inputs=_x(2, 3, 4), ref=_linear),
    LayerInfo("Embedding", make=lambda: bx.nn.Embedding(7, 3), inputs=lambda rng: (rng.integers(0, 7, (2, 5)),),
              ref=lambda p, ids: p["weight"][ids]),
    LayerInfo("Embedding-padding_idx", make=lambda: bx.nn.Embedding(7, 3, padding_idx=0),
              inputs=lambda rng: (rng.integers(1, 7, (4,)),), ref=lambda p, ids: p["weight"][ids]),
    LayerInfo("Embedding-sparse", make=lambda: bx.nn.Embedding(7, 3, sparse=True),
              inputs=lambda rng: (rng.integers(0, 7, (3, 4)),), ref=lambda p, ids: p["weight"][ids]),
    LayerInfo("EmbeddingBag-mean", make=lambda: bx.nn.EmbeddingBag(7, 3),
              inputs=lambda rng: (rng.integers(0, 7, (3, 4)),), ref=lambda p, ids: p["weight"][ids].mean(1)),
    LayerInfo("EmbeddingBag-sum-offsets", make=lambda: bx.nn.EmbeddingBag(7, 3, mode="sum"),
              inputs=lambda rng: (rng.integers(0, 7, (6,)), np.array([0, 2], dtype=np.int64)),
              ref=lambda p, ids, off: np.stack([p["weight"][ids[:2]].sum(0), p["weight"][ids[2:]].sum(0)])),
    LayerInfo("Dropout-eval", make=lambda: bx.nn.Dropout(0.5).eval(), inputs=_x(3, 4), ref=lambda p, x: x),
    LayerInfo("LayerNorm", make=lambda: bx.nn.LayerNorm(5), inputs=_x(2, 3, 5), ref=_layer_norm, atol32=2e-5),
    LayerInfo("Tanh", make=bx.nn.Tanh, inputs=_x(3, 4), ref=lambda p, x: np.tanh(x)),
    LayerInfo("Sigmoid", make=bx.nn.Sigmoid, inputs=_x(3, 4), ref=lambda p, x: 1 / (1 + np.exp(-x))),
    LayerInfo("ReLU", make=bx.nn.ReLU, inputs=lambda rng: (away_from(rng.standard_normal((3, 4))),),
              ref=lambda p, x: np.maximum(x, 0)),
    LayerInfo("GELU", make=bx.nn.GELU, inputs=_x(3, 4), ref=lambda p, x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    LayerInfo("Identity", make=bx.nn.Identity, inputs=_x(2, 2), ref=lambda p, x: x),
    LayerInfo("Sequential-MLP", make=lambda: bx.nn.Sequential(bx.nn.Linear(4, 6), bx.nn.Tanh(), bx.nn.Linear(6, 2)),
              inputs=_x(3, 4), ref=lambda p, x: _linear(p, np.tanh(_linear(p, x, "0.")), "2.")),
    LayerInfo("CrossEntropyLoss", make=bx.nn.CrossEntropyLoss,
              inputs=lambda rng: (rng.standard_normal((4, 3)), rng.integers(0, 3, (4,))), ref=_cross_entropy),
    LayerInfo("LeakyReLU", make=lambda: bx.nn.LeakyReLU(0.2), inputs=lambda rng: (away_from(rng.standard_normal((3, 4))),),
              ref=lambda p, x: np.where(x > 0, x, 0.2 * x)),
    LayerInfo("Softmax", make=lambda: bx.nn.Softmax(dim=1), inputs=_x(2, 4, 3),
              ref=lambda p, x: np.exp(_log_softmax(np.moveaxis(x, 1, -1))).transpose(0, 2, 1)),
    LayerInfo("LogSoftmax", make=lambda: bx.nn.LogSoftmax(dim=-1), inputs=_x(3, 5), ref=lambda p, x: _log_softmax(x)),
    LayerInfo("Flatten", make=bx.nn.Flatten, inputs=_x(2, 3, 4), ref=lambda p, x: x.reshape(2, 12)),
    LayerInfo("NLLLoss-sum-ignore_index", make=lambda: bx.nn.NLLLoss(ignore_index=1, reduction="sum"),
              inputs=lambda rng: (rng.standard_normal((5, 3)), np.array([0, 1, 2, 2, 1])),
              ref=lambda p, x, t: -(x[np.arange(5), t] * (t != 1)).sum()),
    LayerInfo("MSELoss", make=bx.nn.MSELoss, inputs=lambda rng: (rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
              ref=lambda p, x, y: ((x - y) ** 2).mean(), grad_inputs=(0, 1)),
    LayerInfo("BCEWithLogitsLoss", make=bx.nn.BCEWithLogitsLoss,
              inputs=lambda rng: (rng.standard_normal((4, 3)), rng.random((4, 3))),
              ref=lambda p, x, y: (np.logaddexp(0, x) - x * y).mean(), grad_inputs=(0,)),
]
