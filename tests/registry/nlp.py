"""Registry entries: the NLP ops (embedding, softmax, log_softmax, cross_entropy, nll_loss, mse_loss,
binary_cross_entropy_with_logits, dropout, layer_norm).

Every reference is written from the definition in NumPy (float64 inside, cast back to the input's
dtype); class targets and ids are int64 arrays, which get no gradient. Class weights and
pos_weight get no gradient either (as torch), so samples that pass them pick `grad=` explicitly.
"""
import numpy as np

import backpropx as bx
import backpropx.nn.functional as F

from .core import OpInfo, Sample


def _op(name):
    # looked up at call time, so importing the registry never depends on the build being current
    return lambda *args, **kwargs: getattr(bx, name)(*args, **kwargs)


def _reduce(loss, reduction, denom=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    return np.sum(loss) / (loss.size if denom is None else denom)


def _legacy(reduction, size_average, reduce):
    if size_average is None and reduce is None:
        return reduction
    sa = True if size_average is None else size_average
    rd = True if reduce is None else reduce
    return "mean" if sa and rd else "sum" if rd else "none"


# ---- embedding ------------------------------------------------------------------------------------

def _embedding_ref(ids, weight, padding_idx=None, *rest, **kwargs):
    return weight[ids]


def _embedding_samples(rng):
    w = lambda v, d: rng.standard_normal((v, d))  # noqa: E731
    ids = lambda high, *shape: rng.integers(0, high, shape).astype(np.int64)  # noqa: E731
    return [
        Sample(ids(10, 2, 3), w(10, 4), desc="batch of sequences"),
        Sample(np.array([1, 3, 1, 1, 0, 3], dtype=np.int64), w(5, 3), desc="repeated ids"),
        Sample(np.array(2, dtype=np.int64), w(4, 3), desc="0-d id"),
        Sample(np.array([[0], [2]], dtype=np.int64), w(3, 1), desc="size-1 dims"),
        # padding_idx: the padding row gets no gradient, so it must not appear here for finite
        # differences to agree; tests/test_nlp_ops.py checks the padding row's zero gradient.
        Sample(np.array([[1, 2, 2], [3, 1, 2]], dtype=np.int64), w(5, 3), kwargs={"padding_idx": 0}, desc="padding_idx"),
        Sample(np.array([0, 1, 1, 2], dtype=np.int64), w(4, 2), kwargs={"padding_idx": -1}, desc="negative padding_idx"),
        # sparse=True: the weight's gradient is row-sparse (tests/test_sparse.py); gradcheck densifies it.
        Sample(ids(6, 3, 4), w(6, 3), kwargs={"sparse": True}, desc="sparse gradient"),
        Sample(np.array([[1, 2, 2], [3, 1, 2]], dtype=np.int64), w(5, 3), kwargs={"padding_idx": 0, "sparse": True},
               desc="sparse gradient with padding_idx"),
    ]


def _functional_embedding_samples(rng):
    w = rng.standard_normal((6, 3)) * 0.1  # row norms well under max_norm
    return [
        Sample(rng.integers(0, 6, (2, 4)).astype(np.int64), w, kwargs={"max_norm": 5.0}, desc="max_norm, rows under it"),
        Sample(rng.integers(1, 6, (5,)).astype(np.int64), w, kwargs={"padding_idx": 0, "max_norm": 3.0, "norm_type": 1.0},
               desc="max_norm with norm_type 1 and padding_idx"),
        Sample(rng.integers(0, 6, (3,)).astype(np.int64), w, kwargs={"sparse": True}, desc="sparse, no max_norm"),
    ]


# ---- softmax / log_softmax ------------------------------------------------------------------------

def _softmax_ref(x, dim, *rest, **kwargs):
    x64 = x.astype(np.float64)
    e = np.exp(x64 - np.max(x64, axis=dim, keepdims=True))
    return (e / np.sum(e, axis=dim, keepdims=True)).astype(x.dtype)


def _log_softmax_ref(x, dim, *rest, **kwargs):
    x64 = x.astype(np.float64)
    s = x64 - np.max(x64, axis=dim, keepdims=True)
    return (s - np.log(np.sum(np.exp(s), axis=dim, keepdims=True))).astype(x.dtype)


def _softmax_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(3, 5), kwargs={"dim": -1}, desc="rows"),
        Sample(x(2, 3, 4), kwargs={"dim": 0}, desc="3-D, dim 0"),
        Sample(x(2, 3, 4), kwargs={"dim": -1}, desc="3-D, dim -1"),
        Sample(x(2, 3, 4), kwargs={"dim": 1}, desc="3-D, middle dim"),
        Sample(x(4, 1), kwargs={"dim": 1}, desc="size-1 softmax dim"),
        Sample(x(1, 6), kwargs={"dim": 0}, desc="size-1 dim 0"),
        Sample(x(5) * 30, kwargs={"dim": 0}, desc="large logits (stability)"),
        Sample(x(), kwargs={"dim": 0}, desc="0-d"),
    ]


# ---- cross_entropy / nll_loss ---------------------------------------------------------------------

def _class_last(x, t):
    """x [C] / [N, C] / [N, C, d...] -> ([..., C] with rows first, targets of the same leading shape)."""
    if x.ndim == 1:
        return x[None, :], np.asarray(t).reshape(1)
    return np.moveaxis(x, 1, -1), t


def _nll_core(logp, t, weight, ignore_index):
    """Per-row weighted nll and the target weights (0 for ignored rows)."""
    C = logp.shape[-1]
    w = np.ones(C) if weight is None else weight.astype(np.float64)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    wt = np.where(valid, w[safe], 0.0)
    return -picked * wt, wt, w, valid


def _cross_entropy_ref(x, t, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                       label_smoothing=0.0):
    reduction = _legacy(reduction, size_average, reduce)
    xl, tl = _class_last(x.astype(np.float64), t)
    m = np.max(xl, axis=-1, keepdims=True)
    logp = xl - m - np.log(np.sum(np.exp(xl - m), axis=-1, keepdims=True))
    nll, wt, w, valid = _nll_core(logp, tl, weight, ignore_index)
    C = xl.shape[-1]
    smooth = np.where(valid, -np.sum(logp * w, axis=-1), 0.0)  # -sum_c w_c log p_c
    loss = (1 - label_smoothing) * nll + label_smoothing / C * smooth
    if x.ndim == 1:
        loss = loss.reshape(())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(_reduce(loss, reduction, np.sum(wt))).astype(x.dtype)


def _nll_loss_ref(x, t, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    reduction = _legacy(reduction, size_average, reduce)
    xl, tl = _class_last(x.astype(np.float64), t)
    nll, wt, _, _ = _nll_core(xl, tl, weight, ignore_index)
    if x.ndim == 1:
        nll = nll.reshape(())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(_reduce(nll, reduction, np.sum(wt))).astype(x.dtype)


def _targets(rng, C, *shape, ignore=0):
    t = rng.integers(0, C, shape).astype(np.int64)
    flat = t.reshape(-1)
    if ignore:
        flat[rng.choice(flat.size, size=ignore, replace=False)] = -100
    return t


def _class_samples(rng, log_probs=False):
    def x(*shape):
        a = rng.standard_normal(shape)
        if log_probs:  # nll_loss takes log-probabilities
            ax = 0 if a.ndim == 1 else 1
            a = a - np.log(np.sum(np.exp(a), axis=ax, keepdims=True))
        return a

    w = lambda C: rng.uniform(0.5, 2.0, C)  # noqa: E731
    out = [
        Sample(x(4, 5), _targets(rng, 5, 4), desc="[N, C], mean"),
        Sample(x(4, 5), _targets(rng, 5, 4), kwargs={"reduction": "sum"}, desc="sum"),
        Sample(x(4, 5), _targets(rng, 5, 4), kwargs={"reduction": "none"}, desc="none"),
        Sample(x(6, 3), _targets(rng, 3, 6, ignore=2), desc="ignore_index rows, mean"),
        Sample(x(6, 3), _targets(rng, 3, 6, ignore=2), kwargs={"reduction": "none"}, desc="ignore_index rows, none"),
        Sample(x(5, 4), np.array([0, 2, 1, 1, 3], dtype=np.int64), kwargs={"ignore_index": 1},
               desc="ignore_index is a real class"),
        Sample(x(5, 4), _targets(rng, 4, 5, ignore=1), w(4), grad=(0,), desc="class weights, mean"),
        Sample(x(5, 4), _targets(rng, 4, 5), w(4), kwargs={"reduction": "sum"}, grad=(0,), desc="class weights, sum"),
        Sample(x(5, 4), _targets(rng, 4, 5, ignore=1), w(4), kwargs={"reduction": "none"}, grad=(0,),
               desc="class weights, none"),
        Sample(x(2, 3, 4), _targets(rng, 3, 2, 4, ignore=2), desc="[N, C, d] (batched sequence)"),
        Sample(x(2, 3, 2, 2), _targets(rng, 3, 2, 2, 2), w(3), kwargs={"reduction": "none"}, grad=(0,),
               desc="[N, C, d1, d2], weights, none"),
        Sample(x(5), np.array(3, dtype=np.int64), desc="[C] with a 0-d target"),
        Sample(x(1, 4), _targets(rng, 4, 1), desc="N = 1"),
        Sample(x(3, 1), np.zeros(3, dtype=np.int64), desc="C = 1"),
    ]
    if not log_probs:
        out += [
            Sample(x(6, 4), _targets(rng, 4, 6, ignore=1), kwargs={"label_smoothing": 0.1}, desc="label smoothing"),
            Sample(x(6, 4), _targets(rng, 4, 6, ignore=2), w(4), kwargs={"label_smoothing": 0.1}, grad=(0,),
                   desc="label smoothing + weights, mean"),
            Sample(x(6, 4), _targets(rng, 4, 6, ignore=1), w(4), kwargs={"label_smoothing": 0.1, "reduction": "sum"},
                   grad=(0,), desc="label smoothing + weights, sum"),
            Sample(x(2, 4, 3), _targets(rng, 4, 2, 3, ignore=1), kwargs={"label_smoothing": 0.2, "reduction": "none"},
                   desc="label smoothing, [N, C, d], none"),
            Sample(x(3, 5) * 40, _targets(rng, 5, 3), desc="large logits (stability)"),
        ]
    return out


# ---- mse_loss / binary_cross_entropy_with_logits --------------------------------------------------

def _mse_ref(a, b, size_average=None, reduce=None, reduction="mean"):
    reduction = _legacy(reduction, size_average, reduce)
    d = a.astype(np.float64) - b.astype(np.float64)
    return np.asarray(_reduce(d * d, reduction)).astype(np.result_type(a, b))


def _mse_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(3, 4), x(3, 4), desc="mean"),
        Sample(x(3, 4), x(3, 4), kwargs={"reduction": "sum"}, desc="sum"),
        Sample(x(2, 3, 1), x(2, 3, 1), kwargs={"reduction": "none"}, desc="none, size-1 dim"),
        Sample(x(5), x(5), desc="1-D"),
        Sample(x(), x(), kwargs={"reduction": "none"}, desc="0-d"),
    ]


def _bce_ref(x, t, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
    reduction = _legacy(reduction, size_average, reduce)
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    pw = 1.0 if pos_weight is None else pos_weight.astype(np.float64)
    # -[pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], with log sigmoid(x) = -logaddexp(0, -x)
    loss = pw * t64 * np.logaddexp(0.0, -x64) + (1 - t64) * np.logaddexp(0.0, x64)
    if weight is not None:
        loss = loss * weight.astype(np.float64)
    return np.asarray(_reduce(loss, reduction)).astype(x.dtype)


def _bce_op(x, t, weight=None, pos_weight=None, **kwargs):
    return bx.binary_cross_entropy_with_logits(x, t, weight, pos_weight=pos_weight, **kwargs)


def _bce_ref_op(x, t, weight=None, pos_weight=None, **kwargs):
    return _bce_ref(x, t, weight, pos_weight=pos_weight, **kwargs)


def _bce_samples(rng):
    x = lambda *shape: rng.standard_normal(shape) * 2  # noqa: E731
    p = lambda *shape: rng.uniform(0.05, 0.95, shape)  # noqa: E731
    return [
        Sample(x(3, 4), p(3, 4), desc="mean"),
        Sample(x(3, 4), (rng.uniform(size=(3, 4)) > 0.5).astype(np.float64), kwargs={"reduction": "sum"},
               desc="hard 0/1 targets, sum"),
        Sample(x(2, 3), p(2, 3), kwargs={"reduction": "none"}, desc="none"),
        Sample(x(4, 3), p(4, 3), rng.uniform(0.5, 2, (4, 3)), grad=(0, 1), desc="elementwise weight"),
        Sample(x(4, 3), p(4, 3), rng.uniform(0.5, 2, 3), None, kwargs={"reduction": "none"}, grad=(0, 1),
               desc="broadcast weight"),
        Sample(x(4, 3), p(4, 3), None, rng.uniform(0.5, 3, 3), grad=(0, 1), desc="pos_weight"),
        Sample(x(4, 3), p(4, 3), rng.uniform(0.5, 2, (4, 1)), rng.uniform(0.5, 3, 3), kwargs={"reduction": "sum"},
               grad=(0, 1), desc="weight + pos_weight"),
        Sample(rng.standard_normal((2, 3)) * 40, p(2, 3), kwargs={"reduction": "none"}, desc="large logits (stability)"),
        Sample(x(5, 1), p(5, 1), desc="size-1 dim"),
    ]


# ---- dropout ----------------------------------------------------------------------------------------

def _dropout_op(x, **kwargs):
    bx.manual_seed(0)  # the same mask on every call (gradcheck calls the op many times)
    return bx.dropout(x, **kwargs)


def _dropout_ref(x, p=0.5, training=True, inplace=False):
    # Only the deterministic cases are checkable against an independent reference; the random mask
    # (rate, scaling, repeatability, gradient) is tested in tests/test_nlp_ops.py.
    if not training or p == 0:
        return x
    assert p == 1, "dropout registry samples must be deterministic"
    return np.zeros_like(x)


def _dropout_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(3, 4), kwargs={"p": 0.0}, desc="p = 0"),
        Sample(x(3, 4), kwargs={"p": 0.5, "training": False}, desc="eval mode"),
        Sample(x(2, 1, 3), kwargs={"p": 1.0}, desc="p = 1: zeros"),
        Sample(x(5), kwargs={"p": 0.3, "training": False}, desc="1-D eval"),
    ]


# ---- layer_norm -------------------------------------------------------------------------------------

def _layer_norm_ref(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    x64 = x.astype(np.float64)
    mu = np.mean(x64, axis=axes, keepdims=True)
    var = np.mean((x64 - mu) ** 2, axis=axes, keepdims=True)
    y = (x64 - mu) / np.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype)


def _layer_norm_samples(rng):
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    return [
        Sample(x(3, 5), (5,), desc="1 trailing dim, no affine"),
        Sample(x(2, 3, 4), (4,), x(4), x(4), desc="1 trailing dim, weight + bias"),
        Sample(x(2, 3, 4), (3, 4), x(3, 4), x(3, 4), desc="2 trailing dims, weight + bias"),
        Sample(x(2, 3, 4), [3, 4], desc="2 trailing dims, no affine"),
        Sample(x(4, 6), 6, x(6), None, desc="int normalized_shape, weight only"),
        Sample(x(4, 6), (6,), None, x(6), desc="bias only"),
        Sample(x(3, 1, 4), (1, 4), x(1, 4), x(1, 4), desc="size-1 normalized dim"),
        Sample(x(2, 5) * 100 + 50, (5,), x(5), x(5), kwargs={"eps": 1e-3}, desc="large offset, eps"),
    ]


# ---- embedding_bag ------------------------------------------------------------------------------------

def _embedding_bag_ref(ids, weight, offsets=None, mode="mean", per_sample_weights=None, include_last_offset=False,
                       padding_idx=None):
    if ids.ndim == 2:
        bags = [ids[b] for b in range(ids.shape[0])]
        psw = None if per_sample_weights is None else [per_sample_weights[b] for b in range(ids.shape[0])]
    else:
        ends = list(offsets[1:]) + ([] if include_last_offset else [len(ids)])
        starts = list(offsets[:len(ends)])
        bags = [ids[s:e] for s, e in zip(starts, ends)]
        psw = None if per_sample_weights is None else [per_sample_weights[s:e] for s, e in zip(starts, ends)]
    out = np.zeros((len(bags), weight.shape[1]), weight.dtype)
    for b, bag in enumerate(bags):
        keep = bag != padding_idx if padding_idx is not None else np.ones(len(bag), bool)
        rows = weight[bag[keep]]
        if len(rows) == 0:
            continue
        if mode == "max":
            out[b] = rows.max(axis=0)
        else:
            scale = psw[b][keep][:, None] if psw is not None else 1.0
            out[b] = (rows * scale).sum(axis=0) / (len(rows) if mode == "mean" else 1)
    return out


def _embedding_bag_samples(rng):
    w = lambda v, d: rng.standard_normal((v, d))  # noqa: E731
    ids = lambda *shape: rng.integers(0, 6, shape)  # noqa: E731
    flat = np.array([1, 1, 4, 0, 5, 2, 2, 3], dtype=np.int64)
    offsets = np.array([0, 3, 3, 5], dtype=np.int64)
    return [
        Sample(ids(3, 4), w(6, 3), grad=(1,), desc="2-D bags, mean"),
        Sample(ids(2, 5), w(6, 4), kwargs={"mode": "sum"}, grad=(1,), desc="sum"),
        Sample(ids(3, 4), w(6, 3), kwargs={"mode": "max"}, grad=(1,), desc="max"),
        Sample(flat, w(6, 3), offsets, grad=(1,), desc="1-D with offsets, an empty bag, repeated ids"),
        Sample(flat, w(6, 2), np.array([0, 2, 8], dtype=np.int64), kwargs={"include_last_offset": True}, grad=(1,),
               desc="include_last_offset"),
        Sample(flat, w(6, 3), offsets, rng.uniform(0.5, 2, 8), kwargs={"mode": "sum"}, grad=(1, 3),
               desc="per-sample weights (differentiated too)"),
        Sample(np.array([[1, 0, 2], [0, 0, 3]], dtype=np.int64), w(6, 3), kwargs={"padding_idx": 0}, grad=(1,),
               desc="padding skipped"),
    ]


OPS = [
    OpInfo("embedding", op=_op("embedding"), ref=_embedding_ref, samples=_embedding_samples),
    # F.embedding: the C++ op plus max_norm (an in-place renorm of the looked-up rows before the lookup,
    # no gradient of its own, as in torch); the samples keep the rows under max_norm so gradcheck applies.
    OpInfo("functional.embedding", op=F.embedding, ref=_embedding_ref, samples=_functional_embedding_samples),
    OpInfo("embedding_bag", op=lambda ids, w, offsets=None, psw=None, **kw: bx.embedding_bag(
        ids, w, offsets, per_sample_weights=psw, **kw), ref=lambda ids, w, offsets=None, psw=None, **kw:
        _embedding_bag_ref(ids, w, offsets, per_sample_weights=psw, **kw), samples=_embedding_bag_samples),
    OpInfo("softmax", op=_op("softmax"), ref=_softmax_ref, samples=_softmax_samples, method="softmax"),
    OpInfo("log_softmax", op=_op("log_softmax"), ref=_log_softmax_ref, samples=_softmax_samples, method="log_softmax"),
    OpInfo("cross_entropy", op=_op("cross_entropy"), ref=_cross_entropy_ref, samples=_class_samples),
    OpInfo("nll_loss", op=_op("nll_loss"), ref=_nll_loss_ref, samples=lambda rng: _class_samples(rng, log_probs=True)),
    OpInfo("mse_loss", op=_op("mse_loss"), ref=_mse_ref, samples=_mse_samples),
    OpInfo("binary_cross_entropy_with_logits", op=_bce_op, ref=_bce_ref_op, samples=_bce_samples),
    OpInfo("dropout", op=_dropout_op, ref=_dropout_ref, samples=_dropout_samples),
    OpInfo("layer_norm", op=_op("layer_norm"), ref=_layer_norm_ref, samples=_layer_norm_samples, atol32=2e-5),
]
