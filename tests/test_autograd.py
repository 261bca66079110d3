"""Autograd semantics: accumulation, shared sub-expressions, freed graphs, no_grad, hooks,
version counters, deep graphs, autograd.grad."""
import numpy as np
import pytest

import backpropx as bx


def leaf(values, dtype=bx.float64):
    return bx.tensor(values, dtype=dtype, requires_grad=True)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 3])


def test_shared_subexpression_sums_both_paths():
    x = leaf([0.5, -1.5])
    y = bx.tanh(x)
    z = (y * y + y).sum()  # y used three times
    z.backward()
    t = np.tanh(x.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), (2 * t + 1) * (1 - t ** 2))


def test_same_tensor_as_both_inputs():
    x = leaf([3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0])


def test_second_backward_through_freed_graph_raises():
    x = leaf([1.0, 2.0])
    y = (bx.exp(x) * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (bx.exp(x) * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_no_grad_context_and_decorator():
    x = leaf([1.0])
    with bx.no_grad():
        y = x * 2
        assert not bx.is_grad_enabled()
    assert bx.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @bx.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with bx.no_grad():
        with bx.enable_grad():
            assert (x * 2).requires_grad


def test_set_grad_enabled():
    x = leaf([1.0])
    with bx.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_requires_grad_and_leaves():
    a = bx.ones(2)
    assert not a.requires_grad and a.is_leaf
    a.requires_grad_()
    b = a * 2
    assert b.requires_grad and not b.is_leaf and b.grad_fn == "MulBackward"
    with pytest.raises(RuntimeError, match="leaf"):
        b.requires_grad_(False)
    d = b.detach()
    assert not d.requires_grad and d.is_leaf and d._shares_storage(b)
    with pytest.raises(RuntimeError, match="float"):
        bx.ones(2, dtype=bx.int64).requires_grad_()


def test_hook_sees_and_replaces_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    y = x * 3
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        bx.ones(2).register_hook(lambda g: g)


def test_retain_grad_keeps_intermediate_gradient():
    x = leaf([1.0, 2.0])
    y = x * x
    y.retain_grad()
    (y * 2).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_inplace_modification_of_saved_tensor_raises():
    x = leaf([1.0, 2.0])
    a = x * 1.0  # non-leaf
    w = bx.tensor([0.5, 0.5], dtype=bx.float64)
    y = (w * x).sum()  # MulBackward saves w
    with bx.no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
    assert a.requires_grad


def test_inplace_through_a_view_is_seen():
    x = leaf([1.0, 2.0, 3.0])
    w = bx.tensor([1.0, 2.0, 3.0], dtype=bx.float64)
    y = bx.tanh(w)  # TanhBackward saves its output y
    loss = (y * x).sum()  # MulBackward saves y
    view = y[1:]
    view.fill_(0.0)  # y needs no grad, so the in-place op is allowed... and must be detected
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="in-place"):
        x.add_(1.0)
    with bx.no_grad():
        x.add_(1.0)
    assert x.item() == 2.0


def test_deep_chain_does_not_overflow_the_stack():
    x = leaf([1.0])
    y = x
    for _ in range(20000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0)


def test_backward_of_non_scalar_needs_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(bx.tensor([1.0, 0.5], dtype=bx.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0])


def test_backward_gradient_shape_mismatch_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(bx.ones(3, dtype=bx.float64))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        bx.ones(2).sum().backward()


def test_autograd_grad_returns_without_touching_dot_grad():
    x = leaf([1.0, 2.0])
    y = leaf([3.0])
    z = (x * x).sum() * y
    gx, gy = bx.autograd.grad(z, [x, y])
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gy.numpy(), [5.0])
    assert x.grad is None and y.grad is None


def test_autograd_grad_unused_input():
    x, u = leaf([1.0]), leaf([1.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        bx.autograd.grad((x * 2).sum(), [x, u])
    gx, gu = bx.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_autograd_grad_wrt_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = bx.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())


def test_multiple_roots_backward():
    x = leaf([1.0, 2.0])
    bx.autograd.backward([(x * 2).sum(), (x * 3).sum()])
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_mixed_dtype_gradient_returns_input_dtype():
    x32 = bx.tensor([1.0, 2.0], requires_grad=True)
    x64 = bx.tensor([3.0, 4.0], dtype=bx.float64, requires_grad=True)
    y = x32 * x64
    assert y.dtype == bx.float64
    y.sum().backward()
    assert x32.grad.dtype == bx.float32 and x64.grad.dtype == bx.float64
    np.testing.assert_allclose(x32.grad.numpy(), [3.0, 4.0])


def test_gradient_of_broadcast_is_reduced():
    b = leaf([1.0, 2.0, 3.0])
    x = leaf(np.ones((4, 3)))
    (x * b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [4.0, 4.0, 4.0])


def test_indexing_is_differentiable():
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x[1, ::2].sum() + x[:, 1].sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1, 0], [1, 1, 1]])


def test_gradcheck_of_a_composite_function():
    a = bx.randn(3, 4, dtype=bx.float64, requires_grad=True)
    b = bx.randn(4, dtype=bx.float64, requires_grad=True)
    assert bx.autograd.gradcheck(lambda a, b: (bx.tanh(a * b) / (1.0 + b.abs())).mean(dim=0), (a, b))


def test_amax_and_amin_share_the_gradient_among_ties_over_any_dims():
    x = bx.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    bx.amax(x, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    y = bx.tensor([[1.0, 3.0], [1.0, 2.0]], requires_grad=True)
    y.t().amin(dim=0).sum().backward()  # reduced dim not last in memory
    np.testing.assert_allclose(y.grad.numpy(), [[1, 0], [1, 0]])
    z = bx.tensor([[[4.0, 1.0], [4.0, 0.0]]], requires_grad=True)
    bx.amax(z, dim=(0, 1)).backward(bx.tensor([2.0, 3.0]))
    np.testing.assert_allclose(z.grad.numpy(), [[[1.0, 3.0], [1.0, 0.0]]])


def test_amax_backward_sees_an_in_place_change_of_its_input():
    x = bx.randn(3, 4, requires_grad=True)
    m = bx.amax(x, dim=0)
    with bx.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        m.sum().backward()
