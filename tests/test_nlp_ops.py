"""The NLP ops beyond the registry: dropout's random mask (rate, scaling, repeatability, gradient),
embedding's padding row, cross_entropy's torch semantics at the edges (all-ignored batch, legacy
arguments), inputs big enough to run the multithreaded kernels, thread-count independence, bad
inputs, and a comparison with PyTorch when it is installed."""
import warnings

import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F

RNG = np.random.default_rng(20240611)


def t64(a, requires_grad=False):
    return bx.tensor(np.asarray(a, dtype=np.float64), dtype=bx.float64, requires_grad=requires_grad)


def ids(a):
    return bx.tensor(np.asarray(a, dtype=np.int64))


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.fixture
def threads():
    """Restores the thread count after a test that changes it."""
    n = bx.get_num_threads()
    yield
    bx.set_num_threads(n)


# ---- dropout ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_zeroes_about_p_and_scales_survivors(p):
    bx.manual_seed(123)
    y = bx.dropout(bx.ones(200_000, dtype=bx.float64), p).numpy()
    assert abs(np.mean(y == 0) - p) < 0.01  # 9 standard deviations at n = 200k
    np.testing.assert_allclose(y[y != 0], 1.0 / (1.0 - p), rtol=1e-15)


def test_dropout_float32_scaling():
    bx.manual_seed(1)
    y = bx.dropout(bx.ones(1000), 0.2).numpy()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[y != 0], np.float32(1 / 0.8))


def test_dropout_same_seed_same_mask_new_draws_differ():
    x = bx.ones(4096, dtype=bx.float64)
    bx.manual_seed(7)
    a = bx.dropout(x, 0.5).numpy()
    b = bx.dropout(x, 0.5).numpy()  # the generator moved on
    bx.manual_seed(7)
    c = bx.dropout(x, 0.5).numpy()
    bx.manual_seed(8)
    d = bx.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, d)


def test_dropout_mask_does_not_depend_on_thread_count(threads):
    x = bx.ones(100_000, dtype=bx.float64)
    bx.set_num_threads(1)
    bx.manual_seed(3)
    a = bx.dropout(x, 0.3).numpy()
    bx.set_num_threads(max(2, bx.get_num_threads()))
    bx.manual_seed(3)
    b = bx.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_gradient_is_the_scaled_mask():
    x = t64(RNG.uniform(0.5, 1.5, (50, 40)), requires_grad=True)
    g = RNG.standard_normal((50, 40))
    bx.manual_seed(11)
    y = bx.dropout(x, 0.4)
    y.backward(t64(g))
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, g / 0.6, 0.0), rtol=1e-14)
    np.testing.assert_allclose(y.detach().numpy(), np.where(kept, x.detach().numpy() / 0.6, 0.0), rtol=1e-14)


def test_dropout_gradcheck_with_reseeding():
    def op(x):
        bx.manual_seed(0)
        return bx.dropout(x, 0.3)

    assert bx.autograd.gradcheck(op, (t64(RNG.standard_normal((4, 5)), requires_grad=True),))


def test_dropout_identity_cases_return_the_input_itself():
    x = bx.randn(3, 4)
    assert bx.dropout(x, 0.0)._same(x)
    assert bx.dropout(x, 0.7, training=False)._same(x)
    assert bx.dropout(x, 0.7, False)._same(x)


def test_dropout_p_one_gives_zeros_and_zero_gradient():
    x = t64(RNG.standard_normal((3, 4)), requires_grad=True)
    y = bx.dropout(x, 1.0)
    np.testing.assert_array_equal(y.detach().numpy(), np.zeros((3, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_rejects_p_outside_0_1(p):
    with pytest.raises(ValueError, match="dropout"):
        bx.dropout(bx.randn(3), p)


def test_dropout_rejects_integer_input_and_inplace():
    with pytest.raises(TypeError, match="dropout"):
        bx.dropout(ids([1, 2, 3]), 0.5)
    with pytest.raises(NotImplementedError, match="inplace"):
        bx.dropout(bx.randn(3), 0.5, inplace=True)


# ---- embedding -------------------------------------------------------------------------------------

@pytest.mark.parametrize("padding_idx,row", [(0, 0), (-1, 4), (2, 2)])
def test_embedding_padding_row_gets_no_gradient(padding_idx, row):
    w_np = RNG.standard_normal((5, 3))
    id_np = np.array([[0, 2, 0], [4, 2, 2], [1, 4, 0]])
    w = t64(w_np, requires_grad=True)
    out = bx.embedding(ids(id_np), w, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.detach().numpy(), w_np[id_np])  # the forward still reads the row
    g = RNG.standard_normal((3, 3, 3))
    out.backward(t64(g))
    expected = np.zeros((5, 3))
    np.add.at(expected, id_np, g)  # repeated ids sum
    expected[row] = 0
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-14, atol=1e-15)


def test_embedding_large_backward_matches_numpy(threads):
    V, D = 1000, 64
    w_np = RNG.standard_normal((V, D))
    id_np = RNG.integers(0, V, (32, 128))
    g = RNG.standard_normal((32, 128, D))
    expected = np.zeros((V, D))
    np.add.at(expected, id_np, g)
    grads = []
    for n in (1, 2):
        bx.set_num_threads(n)
        w = t64(w_np, requires_grad=True)
        out = bx.embedding(ids(id_np), w)
        np.testing.assert_array_equal(out.detach().numpy(), w_np[id_np])
        out.backward(t64(g))
        grads.append(w.grad.numpy())
        np.testing.assert_allclose(grads[-1], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(grads[0], grads[1])  # summation order fixed by position


def test_embedding_errors():
    w = bx.randn(10, 4)
    with pytest.raises(IndexError) as e:
        bx.embedding(ids([1, 12, 3]), w)
    assert str(e.value) == "embedding: index 12 is out of range for a weight of shape [10, 4]"
    with pytest.raises(IndexError, match="-1"):
        bx.embedding(ids([-1]), w)
    with pytest.raises(TypeError, match="int64"):
        bx.embedding(bx.tensor([1.0, 2.0]), w)
    with pytest.raises(ValueError, match=r"\[10\]"):
        bx.embedding(ids([1]), bx.randn(10))
    with pytest.raises(ValueError, match="padding_idx"):
        bx.embedding(ids([1]), w, padding_idx=10)
    with pytest.raises(ValueError, match="padding_idx"):
        bx.embedding(ids([1]), w, padding_idx=-11)
    with pytest.raises(NotImplementedError, match="max_norm"):
        bx.embedding(ids([1]), w, max_norm=1.0)  # torch.embedding has no max_norm either: F.embedding does


def test_functional_embedding_max_norm_renormalises_looked_up_rows():
    w = bx.tensor(np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]]))
    out = F.embedding(bx.tensor([0, 1, 0]), w, max_norm=1.0)
    np.testing.assert_allclose(w.numpy()[0], [0.6, 0.8], rtol=1e-5)  # renormalised in place
    np.testing.assert_allclose(w.numpy()[1], [0.3, 0.4])  # under max_norm: unchanged
    np.testing.assert_allclose(w.numpy()[2], [6.0, 8.0])  # not looked up: unchanged
    np.testing.assert_allclose(out.numpy(), w.numpy()[[0, 1, 0]])
    emb = bx.nn.Embedding(3, 2, max_norm=2.0, norm_type=1.0, _weight=bx.tensor(np.array([[3.0, 1.0]] * 3)))
    emb(bx.tensor([2]))
    np.testing.assert_allclose(np.abs(emb.weight.detach().numpy()[2]).sum(), 2.0, rtol=1e-5)
    np.testing.assert_allclose(emb.weight.detach().numpy()[0], [3.0, 1.0])


# ---- softmax / log_softmax -------------------------------------------------------------------------

def test_softmax_requires_dim():
    with pytest.raises(TypeError, match="dim"):
        bx.softmax(bx.randn(3, 4))
    with pytest.raises(TypeError, match="dim"):
        bx.log_softmax(bx.randn(3, 4))


def test_softmax_errors():
    with pytest.raises(IndexError, match="softmax"):
        bx.softmax(bx.randn(3, 4), 2)
    with pytest.raises(TypeError, match="softmax"):
        bx.softmax(ids([1, 2]), 0)


def test_softmax_method_and_dtype():
    x_np = RNG.standard_normal((3, 4)).astype(np.float32)
    x = bx.tensor(x_np)
    np.testing.assert_allclose(x.softmax(1).numpy(), np_softmax(x_np, 1), rtol=1e-5)
    np.testing.assert_allclose(x.log_softmax(dim=0).numpy(), np.log(np_softmax(x_np, 0)), rtol=1e-5, atol=1e-6)
    y = bx.softmax(x, dim=1, dtype=bx.float64)
    assert y.dtype == bx.float64
    np.testing.assert_allclose(y.numpy(), np_softmax(x_np.astype(np.float64), 1), rtol=1e-12)


@pytest.mark.parametrize("shape,dim", [((600, 300), -1), ((4, 200, 300), 1), ((300, 3, 70), 0)])
def test_softmax_large_forward_and_backward(shape, dim):
    x_np = RNG.standard_normal(shape) * 3
    g = RNG.standard_normal(shape)
    for fn, log in ((bx.softmax, False), (bx.log_softmax, True)):
        x = t64(x_np, requires_grad=True)
        y = fn(x, dim)
        p = np_softmax(x_np, dim)
        np.testing.assert_allclose(y.detach().numpy(), np.log(p) if log else p, rtol=1e-12, atol=1e-14)
        y.backward(t64(g))
        # J^T g with J = diag(p) - p p^T (softmax) or I - 1 p^T (log_softmax)
        expected = g - p * g.sum(dim, keepdims=True) if log else p * (g - (g * p).sum(dim, keepdims=True))
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_softmax_is_stable_and_handles_minus_inf():
    x = t64([[1000.0, 999.0, -1000.0], [-np.inf, 0.0, -np.inf]])
    y = bx.softmax(x, 1).numpy()
    np.testing.assert_allclose(y[0], np_softmax(np.array([1000.0, 999.0, -1000.0]), 0))
    np.testing.assert_array_equal(y[1], [0.0, 1.0, 0.0])
    ly = bx.log_softmax(x, 1).numpy()
    assert np.isfinite(ly[0]).all() and ly[1, 1] == 0.0 and ly[1, 0] == -np.inf


# ---- cross_entropy / nll_loss ----------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_equals_nll_of_log_softmax(reduction, weighted):
    x_np = RNG.standard_normal((3, 5, 4))
    t_np = RNG.integers(0, 5, (3, 4))
    t_np[0, 1] = t_np[2, 3] = -100
    w = t64(RNG.uniform(0.5, 2, 5)) if weighted else None
    g = RNG.standard_normal((3, 4)) if reduction == "none" else None
    xa = t64(x_np, requires_grad=True)
    xb = t64(x_np, requires_grad=True)
    a = bx.cross_entropy(xa, ids(t_np), w, reduction=reduction)
    b = bx.nll_loss(bx.log_softmax(xb, 1), ids(t_np), w, reduction=reduction)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    a.backward(t64(g) if g is not None else None)
    b.backward(t64(g) if g is not None else None)
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert np.all(xa.grad.numpy()[0, :, 1] == 0)  # the ignored position gets no gradient


def test_cross_entropy_all_ignored():
    x = t64(RNG.standard_normal((3, 4)), requires_grad=True)
    t = ids([-100, -100, -100])
    assert np.isnan(bx.cross_entropy(x, t).item())
    assert np.isnan(bx.nll_loss(x, t).item())
    assert bx.cross_entropy(x, t, reduction="sum").item() == 0.0
    np.testing.assert_array_equal(bx.cross_entropy(x, t, reduction="none").detach().numpy(), np.zeros(3))
    bx.cross_entropy(x, t, reduction="sum", label_smoothing=0.1).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_cross_entropy_large_batch_matches_numpy(threads):
    N, C = 4096, 50
    x_np = RNG.standard_normal((N, C)) * 2
    t_np = RNG.integers(0, C, N)
    t_np[::7] = -100
    valid = t_np != -100
    p = np_softmax(x_np, 1)
    ref = -np.log(p[np.arange(N), np.where(valid, t_np, 0)])[valid].mean()
    losses = []
    for n in (1, 2):
        bx.set_num_threads(n)
        x = t64(x_np, requires_grad=True)
        loss = bx.cross_entropy(x, ids(t_np))
        loss.backward()
        losses.append(loss.item())
        onehot = np.zeros((N, C))
        onehot[np.arange(N)[valid], t_np[valid]] = 1
        expected = np.where(valid[:, None], p - onehot, 0.0) / valid.sum()
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(losses[0], ref, rtol=1e-12)
    assert losses[0] == losses[1]  # blocked summation: bitwise the same for any thread count


def test_cross_entropy_label_smoothing_gradient_matches_numpy():
    N, C, eps = 6, 5, 0.1
    x_np = RNG.standard_normal((N, C))
    t_np = np.array([0, 4, -100, 2, 2, 1])
    w_np = RNG.uniform(0.5, 2, C)
    x = t64(x_np, requires_grad=True)
    bx.cross_entropy(x, ids(t_np), t64(w_np), label_smoothing=eps).backward()
    valid = t_np != -100
    ts = np.where(valid, t_np, 0)
    p = np_softmax(x_np, 1)
    onehot = np.eye(C)[ts]
    # d/dx of (1-e) w_t (-log p_t) + e/C sum_c w_c (-log p_c), divided by sum of w_t over valid rows
    d = (1 - eps) * w_np[ts][:, None] * (p - onehot) + eps / C * (w_np.sum() * p - w_np[None, :])
    expected = np.where(valid[:, None], d, 0.0) / w_np[ts][valid].sum()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    x = t64([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], requires_grad=True)
    loss = bx.cross_entropy(x, ids([1, 2]), reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [2e4, 0.0])
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_loss_legacy_size_average_and_reduce():
    x = t64(RNG.standard_normal((4, 3)))
    t = ids([0, 1, 2, 1])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        s = bx.cross_entropy(x, t, size_average=False)
    np.testing.assert_allclose(s.item(), bx.cross_entropy(x, t, reduction="sum").item())
    with pytest.warns(UserWarning, match="reduction='none'"):
        n = bx.nll_loss(x, t, reduce=False)
    assert n.shape == (4,)


@pytest.mark.parametrize("op", ["cross_entropy", "nll_loss"])
def test_class_loss_errors(op):
    f = getattr(bx, op)
    x = bx.randn(4, 5)
    with pytest.raises(TypeError, match="class"):
        f(x, bx.randn(4, 5))  # probabilities as targets
    with pytest.raises(IndexError) as e:
        f(x, ids([0, 7, 1, 2]))
    assert op in str(e.value) and "7" in str(e.value) and "5 classes" in str(e.value)
    with pytest.raises(IndexError, match="-3"):
        f(x, ids([0, -3, 1, 2]))
    with pytest.raises(ValueError, match=r"\[4\]"):
        f(x, ids([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[2, 4\]"):
        f(bx.randn(2, 5, 4), ids([[0, 1, 2], [0, 1, 2]]))
    with pytest.raises(ValueError, match="avg"):
        f(x, ids([0, 1, 2, 3]), reduction="avg")
    with pytest.raises(ValueError, match="weight"):
        f(x, ids([0, 1, 2, 3]), bx.ones(4))
    with pytest.raises(ValueError, match=op):
        f(bx.tensor(1.0), ids(0))
    with pytest.raises(TypeError, match=op):
        f(ids([[1, 2]]), ids([0]))


def test_cross_entropy_label_smoothing_range():
    with pytest.raises(ValueError, match="label_smoothing"):
        bx.cross_entropy(bx.randn(2, 3), ids([0, 1]), label_smoothing=1.5)


def test_nll_loss_ignore_index_class_in_range():
    x = t64(np.log(np_softmax(RNG.standard_normal((4, 3)), 1)), requires_grad=True)
    loss = bx.nll_loss(x, ids([0, 1, 1, 2]), ignore_index=1)
    xn = x.detach().numpy()
    np.testing.assert_allclose(loss.item(), -(xn[0, 0] + xn[3, 2]) / 2)
    loss.backward()
    expected = np.zeros((4, 3))
    expected[0, 0] = expected[3, 2] = -0.5
    np.testing.assert_array_equal(x.grad.numpy(), expected)


# ---- mse_loss / binary_cross_entropy_with_logits ---------------------------------------------------

def test_mse_loss_broadcasts_with_a_warning_and_sums_gradients():
    a_np, b_np = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    a, b = t64(a_np, requires_grad=True), t64(b_np, requires_grad=True)
    with pytest.warns(UserWarning, match="different to the input size"):
        loss = bx.mse_loss(a, b)
    np.testing.assert_allclose(loss.item(), np.mean((a_np - b_np) ** 2))
    loss.backward()
    d = 2 * (a_np - b_np) / 12
    np.testing.assert_allclose(a.grad.numpy(), d)
    np.testing.assert_allclose(b.grad.numpy(), -d.sum(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bx.mse_loss(a, t64(a_np))  # same shapes: no warning
    with pytest.raises(ValueError, match="mse_loss"):
        bx.mse_loss(bx.randn(2, 3), bx.randn(4, 3))


def test_mse_loss_large_is_thread_independent(threads):
    a, b = bx.randn(300, 400), bx.randn(300, 400)
    bx.set_num_threads(1)
    r1 = bx.mse_loss(a, b).item()
    bx.set_num_threads(2)
    r2 = bx.mse_loss(a, b).item()
    assert r1 == r2
    np.testing.assert_allclose(r1, np.mean((a.numpy().astype(np.float64) - b.numpy()) ** 2), rtol=1e-6)


def test_bce_with_logits_is_stable_and_matches_numpy():
    x_np = np.array([[-200.0, -30.0, 0.0, 30.0, 200.0]])
    t_np = np.array([[0.0, 1.0, 0.5, 0.0, 1.0]])
    x = t64(x_np, requires_grad=True)
    loss = bx.binary_cross_entropy_with_logits(x, t64(t_np), reduction="none")
    ref = t_np * np.logaddexp(0, -x_np) + (1 - t_np) * np.logaddexp(0, x_np)
    np.testing.assert_allclose(loss.detach().numpy(), ref, rtol=1e-12)
    loss.sum().backward()
    sig = lambda z: np.exp(-np.logaddexp(0, -z))  # noqa: E731  (accurate in both tails)
    # sigmoid(x) - t, written so that neither tail cancels
    np.testing.assert_allclose(x.grad.numpy(), (1 - t_np) * sig(x_np) - t_np * sig(-x_np), rtol=1e-12, atol=1e-300)


def test_bce_with_logits_pos_weight_and_target_gradient():
    x_np, t_np = RNG.standard_normal((8, 3)), RNG.uniform(size=(8, 3))
    pw = RNG.uniform(0.5, 3, 3)
    x, t = t64(x_np, requires_grad=True), t64(t_np, requires_grad=True)
    loss = bx.binary_cross_entropy_with_logits(x, t, pos_weight=t64(pw))
    lsig, lsig_neg = -np.logaddexp(0, -x_np), -np.logaddexp(0, x_np)
    np.testing.assert_allclose(loss.item(), np.mean(-(pw * t_np * lsig + (1 - t_np) * lsig_neg)), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(t.grad.numpy(), -(pw * lsig - lsig_neg) / 24, rtol=1e-10)


def test_bce_with_logits_errors():
    with pytest.raises(ValueError, match=r"\[3\]"):
        bx.binary_cross_entropy_with_logits(bx.randn(2, 3), bx.rand(3))
    with pytest.raises(TypeError, match="float"):
        bx.binary_cross_entropy_with_logits(bx.randn(3), ids([0, 1, 1]))
    with pytest.raises(ValueError, match="pos_weight"):
        bx.binary_cross_entropy_with_logits(bx.randn(2, 3), bx.rand(2, 3), pos_weight=bx.ones(2))
    with pytest.raises(ValueError, match="weight"):
        bx.binary_cross_entropy_with_logits(bx.randn(2, 3), bx.rand(2, 3), bx.ones(4))


# ---- layer_norm ------------------------------------------------------------------------------------

def np_layer_norm_grads(x, w, dy, axes, eps=1e-5):
    """dx, dw, db of y = xhat * w + b, from the chain rule written out in NumPy."""
    n = np.prod([x.shape[a] for a in axes])
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * rstd
    dxhat = dy * w
    # d xhat_i / d x_j = rstd (delta_ij - 1/n - xhat_i xhat_j / n)
    dx = rstd * (dxhat - dxhat.sum(axis=axes, keepdims=True) / n - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True) / n)
    lead = tuple(range(x.ndim - len(axes)))
    return dx, (dy * xhat).sum(axis=lead), dy.sum(axis=lead)


@pytest.mark.parametrize("shape,k", [((4096, 32), 1), ((64, 16, 24), 2), ((3, 50000), 1)])
def test_layer_norm_large_forward_and_backward(shape, k, threads):
    x_np = RNG.standard_normal(shape) * 2 + 1
    nshape = shape[-k:]
    w_np, b_np = RNG.standard_normal(nshape), RNG.standard_normal(nshape)
    dy = RNG.standard_normal(shape)
    axes = tuple(range(len(shape) - k, len(shape)))
    dx_ref, dw_ref, db_ref = np_layer_norm_grads(x_np, w_np, dy, axes)
    results = []
    for n in (1, 2):
        bx.set_num_threads(n)
        x, w, b = t64(x_np, True), t64(w_np, True), t64(b_np, True)
        y = bx.layer_norm(x, nshape, w, b)
        mu = x_np.mean(axis=axes, keepdims=True)
        ref = (x_np - mu) / np.sqrt(x_np.var(axis=axes, keepdims=True) + 1e-5) * w_np + b_np
        np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-10, atol=1e-12)
        y.backward(t64(dy))
        np.testing.assert_allclose(x.grad.numpy(), dx_ref, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(w.grad.numpy(), dw_ref, rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(b.grad.numpy(), db_ref, rtol=1e-8, atol=1e-9)
        results.append((w.grad.numpy(), b.grad.numpy()))
    np.testing.assert_array_equal(results[0][0], results[1][0])  # fixed row blocks: thread-independent
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_layer_norm_only_weight_requires_grad():
    x_np, w_np = RNG.standard_normal((5, 4)), RNG.standard_normal(4)
    w = t64(w_np, True)
    bx.layer_norm(t64(x_np), [4], w).sum().backward()
    xhat = (x_np - x_np.mean(1, keepdims=True)) / np.sqrt(x_np.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(w.grad.numpy(), xhat.sum(0), rtol=1e-12)


def test_layer_norm_errors():
    with pytest.raises(ValueError) as e:
        bx.layer_norm(bx.randn(2, 3), (4,))
    assert "layer_norm" in str(e.value) and "[2, 3]" in str(e.value) and "[4]" in str(e.value)
    with pytest.raises(ValueError, match="weight"):
        bx.layer_norm(bx.randn(2, 3), (3,), bx.ones(4))
    with pytest.raises(ValueError, match="bias"):
        bx.layer_norm(bx.randn(2, 3, 4), (3, 4), bx.ones(3, 4), bx.ones(4))
    with pytest.raises(ValueError, match="layer_norm"):
        bx.layer_norm(bx.randn(3), (2, 3))
    with pytest.raises(ValueError, match="layer_norm"):
        bx.layer_norm(bx.randn(3), ())
    with pytest.raises(TypeError, match="layer_norm"):
        bx.layer_norm(ids([1, 2]), (2,))


def test_saved_input_modified_in_place_is_detected():
    x = t64(RNG.standard_normal((3, 4)))  # needs no grad: in-place is allowed
    w = t64(np.ones(4), True)
    y = bx.layer_norm(x, (4,), w)
    x.add_(t64(np.ones((3, 4))))
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_backward_twice_without_retain_graph_raises():
    x = t64(RNG.standard_normal((3, 4)), True)
    loss = bx.cross_entropy(x, ids([0, 1, 2]))
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


# ---- against PyTorch (optional) --------------------------------------------------------------------

def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x_np = RNG.standard_normal((3, 5, 4))
    t_np = RNG.integers(0, 5, (3, 4))
    t_np[1, 2] = -100
    w_np = RNG.uniform(0.5, 2, 5)
    for kwargs in ({}, {"label_smoothing": 0.1}, {"reduction": "none"}, {"reduction": "sum", "label_smoothing": 0.2}):
        for weighted in (False, True):
            xt = torch.tensor(x_np, requires_grad=True)
            ref = F.cross_entropy(xt, torch.tensor(t_np), torch.tensor(w_np) if weighted else None, **kwargs)
            xb = t64(x_np, True)
            got = bx.cross_entropy(xb, ids(t_np), t64(w_np) if weighted else None, **kwargs)
            np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
            ref.sum().backward()
            got.sum().backward()
            np.testing.assert_allclose(xb.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for dim in (0, 1, -1):
        np.testing.assert_allclose(bx.softmax(t64(x_np), dim).numpy(), F.softmax(torch.tensor(x_np), dim).numpy(),
                                   rtol=1e-12)
        np.testing.assert_allclose(bx.log_softmax(t64(x_np), dim).numpy(),
                                   F.log_softmax(torch.tensor(x_np), dim).numpy(), rtol=1e-12)
    w_ln, b_ln = RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))
    xt = torch.tensor(x_np, requires_grad=True)
    wt, bt = torch.tensor(w_ln, requires_grad=True), torch.tensor(b_ln, requires_grad=True)
    ref = F.layer_norm(xt, (5, 4), wt, bt)
    xb, wb, bb = t64(x_np, True), t64(w_ln, True), t64(b_ln, True)
    got = bx.layer_norm(xb, (5, 4), wb, bb)
    np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = RNG.standard_normal(x_np.shape)
    ref.backward(torch.tensor(g))
    got.backward(t64(g))
    for a, b in ((xb, xt), (wb, wt), (bb, bt)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_against_torch_other_losses_and_embedding():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def both(a):
        return torch.tensor(a, requires_grad=True), t64(a, True)

    def check(got, ref, pairs):
        np.testing.assert_allclose(got.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = RNG.standard_normal(ref.shape)
        ref.backward(torch.tensor(g))
        got.backward(t64(g))
        for b, t in pairs:
            np.testing.assert_allclose(b.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)

    logp = np.log(np_softmax(RNG.standard_normal((6, 4, 3)), 1))
    t_np = RNG.integers(0, 4, (6, 3))
    t_np[2, 1] = -100
    w_np = RNG.uniform(0.5, 2, 4)
    for reduction in ("mean", "sum", "none"):
        xt, xb = both(logp)
        check(bx.nll_loss(xb, ids(t_np), t64(w_np), reduction=reduction),
              F.nll_loss(xt, torch.tensor(t_np), torch.tensor(w_np), reduction=reduction), [(xb, xt)])
        at, ab = both(RNG.standard_normal((4, 5)))
        bt, bb = both(RNG.standard_normal((4, 5)))
        check(bx.mse_loss(ab, bb, reduction=reduction), F.mse_loss(at, bt, reduction=reduction), [(ab, at), (bb, bt)])
        xt, xb = both(RNG.standard_normal((4, 5)) * 3)
        tt, tb = both(RNG.uniform(size=(4, 5)))
        w, pw = RNG.uniform(0.5, 2, (4, 1)), RNG.uniform(0.5, 3, 5)
        check(bx.binary_cross_entropy_with_logits(xb, tb, t64(w), reduction=reduction, pos_weight=t64(pw)),
              F.binary_cross_entropy_with_logits(xt, tt, torch.tensor(w), reduction=reduction,
                                                 pos_weight=torch.tensor(pw)), [(xb, xt), (tb, tt)])
    id_np = np.array([[0, 3, 3], [1, 0, 4]])
    for padding_idx in (None, 0, -2):
        wt, wb = both(RNG.standard_normal((5, 4)))
        check(bx.embedding(ids(id_np), wb, padding_idx=padding_idx),
              F.embedding(torch.tensor(id_np), wt, padding_idx=padding_idx), [(wb, wt)])
    x_np = RNG.standard_normal((3, 4))
    for p, training in ((0.0, True), (0.5, False), (1.0, True)):
        np.testing.assert_array_equal(bx.dropout(t64(x_np), p, training).numpy(),
                                      F.dropout(torch.tensor(x_np), p, training).numpy())
