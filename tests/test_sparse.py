"""Row-sparse gradients: Embedding(sparse=True) gives a .grad holding only the looked-up rows, the engine adds
them to dense gradients, and SGD, Adagrad and SparseAdam update only those rows (checked against NumPy and the
dense path); ops that need dense data refuse a sparse tensor with a clear error."""
import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F

IDS = [[1, 4, 1, 0], [7, 4, 0, 2]]  # repeated ids (1, 4) and padding (0)


def _dense_and_sparse_grads(padding_idx=0, dtype=bx.float64):
    bx.manual_seed(0)
    w = bx.randn(9, 3, dtype=dtype)
    grads = []
    for sparse in (False, True):
        p = w.clone().requires_grad_()
        out = F.embedding(bx.tensor(IDS), p, padding_idx=padding_idx, sparse=sparse)
        (out * out).sum().backward()
        grads.append(p.grad)
    return w, grads[0], grads[1]


def test_sparse_gradient_holds_the_looked_up_rows():
    w, dense, sparse = _dense_and_sparse_grads()
    assert sparse.is_sparse and not dense.is_sparse
    assert tuple(sparse.shape) == (9, 3)
    assert sparse._indices().numpy().tolist() == [[1, 4, 1, 7, 4, 2]]  # padding rows left out
    assert tuple(sparse._values().shape) == (6, 3)
    np.testing.assert_array_equal(sparse.to_dense().numpy(), dense.numpy())
    c = sparse.coalesce()
    assert c.is_coalesced() and not sparse.is_coalesced()
    assert c.indices().numpy().tolist() == [[1, 2, 4, 7]]
    wn = w.numpy()
    np.testing.assert_allclose(c.values().numpy()[0], 2 * 2 * wn[1])  # id 1 looked up twice: rows summed
    assert "layout=row_sparse" in repr(sparse) and "nnz=6" in repr(sparse)


def test_sparse_gradients_accumulate_across_backward_calls():
    bx.manual_seed(1)
    p = bx.randn(6, 2, dtype=bx.float64, requires_grad=True)
    for ids in ([1, 2], [2, 5]):
        F.embedding(bx.tensor(ids), p, sparse=True).sum().backward()
    assert p.grad.is_sparse
    expected = np.zeros((6, 2))
    for r in (1, 2, 2, 5):
        expected[r] += 1
    np.testing.assert_array_equal(p.grad.to_dense().numpy(), expected)


def test_tied_weight_sparse_plus_dense_gradient_is_dense_and_right():
    bx.manual_seed(2)
    w = bx.randn(5, 3, dtype=bx.float64)
    grads = []
    for sparse in (False, True):
        p = w.clone().requires_grad_()
        h = F.embedding(bx.tensor([0, 3, 3]), p, sparse=sparse)  # [3, 3]
        logits = F.linear(h, p)  # the same weight as the decoder (weight tying)
        F.cross_entropy(logits, bx.tensor([1, 2, 4])).backward()
        grads.append(p.grad)
    assert not grads[1].is_sparse
    np.testing.assert_allclose(grads[1].numpy(), grads[0].numpy(), rtol=1e-12, atol=1e-14)


def test_dense_grad_then_sparse_grad_accumulate():
    p = bx.zeros(4, 2, dtype=bx.float64, requires_grad=True)
    (p * 2.0).sum().backward()  # dense .grad of 2s
    F.embedding(bx.tensor([3]), p, sparse=True).sum().backward()
    assert not p.grad.is_sparse
    expected = np.full((4, 2), 2.0)
    expected[3] += 1
    np.testing.assert_array_equal(p.grad.numpy(), expected)
    F.embedding(bx.tensor([0]), p, sparse=True).sum().backward()  # sparse, then dense again
    p2 = bx.zeros(4, 2, dtype=bx.float64, requires_grad=True)
    F.embedding(bx.tensor([0]), p2, sparse=True).sum().backward()
    (p2 * 3.0).sum().backward()
    assert not p2.grad.is_sparse
    expected2 = np.full((4, 2), 3.0)
    expected2[0] += 1
    np.testing.assert_array_equal(p2.grad.numpy(), expected2)


def test_autograd_grad_and_gradcheck_with_sparse_embedding():
    bx.manual_seed(3)
    w = bx.randn(7, 4, dtype=bx.float64, requires_grad=True)
    (g,) = bx.autograd.grad(F.embedding(bx.tensor([1, 1, 6]), w, sparse=True).sum(), w)
    assert g.is_sparse
    assert bx.autograd.gradcheck(lambda t: F.embedding(bx.tensor([[1, 3], [3, 6]]), t, padding_idx=0, sparse=True),
                                 (w,))


def test_sgd_on_sparse_gradient_matches_dense_sgd():
    bx.manual_seed(4)
    w = bx.randn(9, 3)
    results = []
    for sparse in (False, True):
        emb = bx.nn.Embedding(9, 3, padding_idx=0, sparse=sparse, _weight=w.clone())
        opt = bx.optim.SGD(emb.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (emb(bx.tensor(IDS)) ** 2).sum().backward()
            opt.step()
        results.append(emb.weight.detach().numpy().copy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(results[1][[3, 5, 6, 8]], w.numpy()[[3, 5, 6, 8]])  # rows never looked up


@pytest.mark.parametrize("options", [dict(momentum=0.9), dict(weight_decay=0.01), dict(momentum=0.9, nesterov=True)])
def test_sgd_with_momentum_or_decay_on_sparse_gradient_matches_dense(options):
    bx.manual_seed(5)
    w = bx.randn(9, 3, dtype=bx.float64)
    results = []
    for sparse in (False, True):
        p = w.clone().requires_grad_()
        opt = bx.optim.SGD([p], lr=0.05, **options)
        for _ in range(3):
            opt.zero_grad()
            (F.embedding(bx.tensor(IDS), p, sparse=sparse) ** 2).sum().backward()
            opt.step()
        results.append(p.detach().numpy().copy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


@pytest.mark.parametrize("options", [dict(), dict(lr_decay=0.1, initial_accumulator_value=0.2), dict(maximize=True)])
def test_adagrad_on_sparse_gradient_matches_dense_adagrad(options):
    # Dense Adagrad leaves rows with a zero gradient unchanged too, so the two must agree exactly.
    bx.manual_seed(6)
    w = bx.randn(9, 3, dtype=bx.float64)
    results = []
    for sparse in (False, True):
        p = w.clone().requires_grad_()
        opt = bx.optim.Adagrad([p], lr=0.1, **options)
        for _ in range(4):
            opt.zero_grad()
            (F.embedding(bx.tensor(IDS), p, padding_idx=0, sparse=sparse) ** 2).sum().backward()
            opt.step()
        results.append(p.detach().numpy().copy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def _numpy_sparse_adam(w, batches, lr, betas, eps, steps_grad):
    """Lazy Adam: the moments and values of the rows in each step's gradient only."""
    w = w.copy()
    m, v = np.zeros_like(w), np.zeros_like(w)
    for step, ids in enumerate(batches, start=1):
        g = steps_grad(w, ids)
        rows = sorted(set(ids))
        b1, b2 = betas
        for r in rows:
            m[r] = b1 * m[r] + (1 - b1) * g[r]
            v[r] = b2 * v[r] + (1 - b2) * g[r] ** 2
            step_size = lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
            w[r] -= step_size * m[r] / (np.sqrt(v[r]) + eps)
    return w


def test_sparse_adam_matches_numpy_lazy_adam():
    bx.manual_seed(7)
    w = bx.randn(8, 3, dtype=bx.float64)
    batches = [[1, 2, 2], [2, 5], [7, 1, 1, 1]]
    p = w.clone().requires_grad_()
    opt = bx.optim.SparseAdam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6)
    for ids in batches:
        opt.zero_grad()
        (F.embedding(bx.tensor(ids), p, sparse=True) ** 2).sum().backward()
        opt.step()

    def grad_of_sum_of_squares(wn, ids):
        g = np.zeros_like(wn)
        for r in ids:
            g[r] += 2 * wn[r]
        return g

    expected = _numpy_sparse_adam(w.numpy(), batches, 0.01, (0.8, 0.9), 1e-6, grad_of_sum_of_squares)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-12)


def test_sparse_adam_against_torch():
    torch = pytest.importorskip("torch")
    bx.manual_seed(8)
    w = np.asarray(bx.randn(10, 4, dtype=bx.float64).numpy())
    batches = [[[1, 2], [2, 9]], [[0, 0], [3, 1]], [[9, 9], [9, 4]]]
    p = bx.tensor(w, requires_grad=True)
    tp = torch.tensor(w, requires_grad=True)
    opt = bx.optim.SparseAdam([p], lr=0.02)
    topt = torch.optim.SparseAdam([tp], lr=0.02)
    for ids in batches:
        opt.zero_grad()
        topt.zero_grad()
        (F.embedding(bx.tensor(ids), p, sparse=True) ** 3).sum().backward()
        (torch.nn.functional.embedding(torch.tensor(ids), tp, sparse=True) ** 3).sum().backward()
        np.testing.assert_allclose(p.grad.to_dense().numpy(), tp.grad.to_dense().numpy(), rtol=1e-12)
        opt.step()
        topt.step()
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-10)


def test_optimizers_without_sparse_support_refuse_clearly():
    for make in (lambda ps: bx.optim.Adam(ps), lambda ps: bx.optim.AdamW(ps), lambda ps: bx.optim.RMSprop(ps)):
        p = bx.randn(5, 2, requires_grad=True)
        F.embedding(bx.tensor([1]), p, sparse=True).sum().backward()
        with pytest.raises(RuntimeError, match="does not support sparse gradients"):
            make([p]).step()
    dense = bx.randn(5, 2, requires_grad=True)
    dense.sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
        bx.optim.SparseAdam([dense]).step()
    p = bx.randn(5, 2, requires_grad=True)
    F.embedding(bx.tensor([1]), p, sparse=True).sum().backward()
    with pytest.raises(RuntimeError, match="weight_decay"):
        bx.optim.Adagrad([p], weight_decay=0.1).step()


def test_clipping_and_norms_see_the_summed_rows():
    _, dense, sparse = _dense_and_sparse_grads()
    total_dense = bx.nn.utils.clip_grad_norm_([bx.zeros(1, requires_grad=True)], 1.0)  # no gradient: norm 0
    assert float(total_dense) == 0.0
    p_dense = bx.zeros(9, 3, dtype=bx.float64, requires_grad=True)
    p_dense.grad = dense.clone()
    p_sparse = bx.zeros(9, 3, dtype=bx.float64, requires_grad=True)
    p_sparse.grad = sparse
    n_dense = float(bx.nn.utils.clip_grad_norm_([p_dense], 0.5))
    n_sparse = float(bx.nn.utils.clip_grad_norm_([p_sparse], 0.5))
    assert n_sparse == pytest.approx(n_dense, rel=1e-12)
    np.testing.assert_allclose(p_sparse.grad.to_dense().numpy(), p_dense.grad.numpy(), rtol=1e-12)
    bx.nn.utils.clip_grad_value_([p_dense], 0.3)
    bx.nn.utils.clip_grad_value_([p_sparse], 0.3)
    np.testing.assert_allclose(p_sparse.grad.to_dense().numpy(), p_dense.grad.numpy(), rtol=1e-12)


def test_health_monitor_reads_sparse_gradients():
    emb = bx.nn.Embedding(9, 3, sparse=True, dtype=bx.float64)
    monitor = bx.monitor.HealthMonitor(emb)
    (emb(bx.tensor(IDS)) ** 2).sum().backward()
    norms = monitor.check_gradients()
    expected = np.linalg.norm(emb.weight.grad.to_dense().numpy())
    assert norms["weight"] == pytest.approx(expected, rel=1e-12)


def test_zero_grad_keeps_or_drops_sparse_gradients():
    emb = bx.nn.Embedding(9, 3, sparse=True)
    emb(bx.tensor(IDS)).sum().backward()
    emb.zero_grad(set_to_none=False)
    assert emb.weight.grad.is_sparse and emb.weight.grad._nnz() == 0
    np.testing.assert_array_equal(emb.weight.grad.to_dense().numpy(), np.zeros((9, 3), np.float32))
    emb.zero_grad()
    assert emb.weight.grad is None


def test_ops_that_need_dense_data_refuse_a_sparse_tensor():
    _, _, sparse = _dense_and_sparse_grads()
    for bad in (lambda: sparse + 1, lambda: sparse.numpy(), lambda: sparse.sum(), lambda: sparse @ bx.randn(3, 2, dtype=bx.float64),
                lambda: bx.tanh(sparse), lambda: sparse.clone()):
        with pytest.raises(RuntimeError, match="row-sparse"):
            bad()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        sparse.indices()
    with pytest.raises(RuntimeError, match="expected a row-sparse tensor"):
        bx.zeros(2)._values()


def test_embedding_module_sparse_flag_and_repr():
    emb = bx.nn.Embedding(9, 3, sparse=True)
    assert "sparse=True" in repr(emb)
    pre = bx.nn.Embedding.from_pretrained(bx.randn(4, 2), freeze=False, sparse=True)
    pre(bx.tensor([1, 2])).sum().backward()
    assert pre.weight.grad.is_sparse
