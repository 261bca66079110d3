"""The Tensor API: creation, dtypes, NumPy interop, repr, operators, indexing, in-place ops, RNG, threads."""
import numpy as np
import pytest

import backpropx as bx


def test_tensor_dtype_inference_follows_torch():
    assert bx.tensor([1.0, 2.0]).dtype == bx.float32
    assert bx.tensor([1, 2]).dtype == bx.int64
    assert bx.tensor([True, False]).dtype == bx.bool
    assert bx.tensor(np.zeros(2)).dtype == bx.float64  # NumPy arrays keep their dtype
    assert bx.tensor(np.zeros(2, np.int32)).dtype == bx.int64
    assert bx.tensor([1, 2], dtype=bx.float64).dtype == bx.float64
    assert bx.tensor(3.5).shape == () and bx.tensor(3.5).item() == 3.5


def test_shape_properties():
    t = bx.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.ndim == 3 and t.dim() == 3 and t.numel() == 24
    assert t.size() == (2, 3, 4) and t.size(-1) == 4 and len(t) == 2
    assert bx.zeros((2, 3)).shape == (2, 3)


def test_factories():
    np.testing.assert_array_equal(bx.arange(5).numpy(), np.arange(5))
    np.testing.assert_allclose(bx.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert bx.arange(0, 1, 0.25).dtype == bx.float32
    np.testing.assert_array_equal(bx.full((2,), 7).numpy(), [7, 7])
    assert bx.full((2,), 7).dtype == bx.int64 and bx.full((2,), 7.0).dtype == bx.float32
    assert bx.ones(3, dtype=bx.float64).dtype == bx.float64
    assert bx.empty(2, 2).shape == (2, 2)
    x = bx.randn(3, 2)
    assert bx.zeros_like(x).shape == (3, 2) and bx.ones_like(x).numpy().sum() == 6


def test_manual_seed_makes_random_repeatable():
    bx.manual_seed(123)
    a = bx.randn(5).numpy().copy()
    b = bx.rand(5).numpy().copy()
    c = bx.randint(0, 10, (5,)).numpy().copy()
    bx.manual_seed(123)
    np.testing.assert_array_equal(a, bx.randn(5).numpy())
    np.testing.assert_array_equal(b, bx.rand(5).numpy())
    np.testing.assert_array_equal(c, bx.randint(0, 10, (5,)).numpy())
    r = bx.rand(10000).numpy()
    assert 0 <= r.min() and r.max() < 1 and abs(r.mean() - 0.5) < 0.02
    n = bx.randn(10000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    i = bx.randint(3, 7, (1000,)).numpy()
    assert i.min() == 3 and i.max() == 6


def test_numpy_round_trip_is_zero_copy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = bx.from_numpy(a)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    view = t.numpy()
    view[1, 2] = -1
    assert a[1, 2] == -1
    assert np.shares_memory(t.numpy(), a)
    tt = bx.from_numpy(a.T)  # strided arrays wrap too
    assert tt.shape == (3, 2) and not tt.is_contiguous() and tt[2, 0].item() == 2.0


def test_numpy_of_tensor_requiring_grad_needs_detach():
    x = bx.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().sum() == 2


def test_item_and_conversions():
    assert bx.tensor([2.5]).item() == 2.5
    assert isinstance(bx.tensor(3).item(), int)
    assert float(bx.tensor(1.5)) == 1.5 and int(bx.tensor(7)) == 7
    assert bool(bx.tensor(True))
    assert bx.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert [v.item() for v in bx.tensor([1, 2, 3])] == [1, 2, 3]
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(bx.ones(2))
    with pytest.raises(RuntimeError, match="cannot be converted"):
        bx.ones(2).item()


def test_repr_shows_values_and_autograd_state():
    assert repr(bx.tensor([1.0, 2.5])) == "tensor([1.0, 2.5])"
    assert repr(bx.tensor([1, 2])) == "tensor([1, 2])"
    x = bx.tensor([1.0], requires_grad=True)
    assert repr(x) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "dtype=backpropx.float64" in repr(bx.zeros(1, dtype=bx.float64))
    assert repr(bx.zeros(2, 2)).startswith("tensor([[0., 0.],")


def test_python_operators():
    a = bx.tensor([1.0, 2.0, 3.0])
    b = bx.tensor([4.0, 5.0, 6.0])
    np.testing.assert_allclose((a + b).numpy(), [5, 7, 9])
    np.testing.assert_allclose((a - b).numpy(), [-3, -3, -3])
    np.testing.assert_allclose((a * b).numpy(), [4, 10, 18])
    np.testing.assert_allclose((b / a).numpy(), [4, 2.5, 2])
    np.testing.assert_allclose((a ** 2).numpy(), [1, 4, 9])
    np.testing.assert_allclose((2 ** a).numpy(), [2, 4, 8])
    np.testing.assert_allclose((-a).numpy(), [-1, -2, -3])
    np.testing.assert_allclose((1 - a).numpy(), [0, -1, -2])
    np.testing.assert_allclose((1 / a).numpy(), [1, 0.5, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(abs(-a).numpy(), [1, 2, 3])
    assert (a + 1).dtype == bx.float32 and (a + 1.5).dtype == bx.float32
    assert (bx.tensor([1, 2]) + 1).dtype == bx.int64
    assert (bx.tensor([1, 2]) + 0.5).dtype == bx.float32
    assert (bx.tensor([1, 2]) / 2).dtype == bx.float32  # true division


def test_comparisons_return_bool_masks():
    a = bx.tensor([1.0, 2.0, 3.0])
    assert (a > 1.5).dtype == bx.bool
    np.testing.assert_array_equal((a > 1.5).numpy(), [False, True, True])
    np.testing.assert_array_equal((a == 2).numpy(), [False, True, False])
    np.testing.assert_array_equal((a <= 2).numpy(), [True, True, False])
    np.testing.assert_array_equal(((a > 1) & (a < 3)).numpy(), [False, True, False])
    np.testing.assert_array_equal((~(a > 1)).numpy(), [True, False, False])
    assert not (a > 1).requires_grad
    d = {a: 1}  # tensors stay hashable
    assert d[a] == 1


def test_indexing():
    x = bx.arange(24).reshape(2, 3, 4)
    a = np.arange(24).reshape(2, 3, 4)
    for key in [1, (0, 2), (slice(None), 1), (..., 2), (1, slice(1, None), slice(None, None, 2)), (None, 0),
                (0, None, slice(None)), -1, slice(2), (..., None)]:
        np.testing.assert_array_equal(x[key].numpy(), a[key], err_msg=str(key))
    idx = [1, 0, 1]
    np.testing.assert_array_equal(x[bx.tensor(idx)].numpy(), a[idx])
    np.testing.assert_array_equal(x[:, [2, 0]].numpy(), a[:, [2, 0]])
    np.testing.assert_array_equal(x[0, [1, 2], [3, 0]].numpy(), a[0, [1, 2], [3, 0]])
    mask = a[0] % 2 == 0
    np.testing.assert_array_equal(x[0][bx.tensor(mask)].numpy(), a[0][mask])
    with pytest.raises(IndexError):
        x[2]
    with pytest.raises(IndexError):
        x[0, 0, 0, 0]


def test_setitem():
    x = bx.zeros(3, 4)
    x[1] = 1.0
    x[:, 0] = bx.tensor([5.0, 6.0, 7.0])
    x[x > 6] = -1.0
    expected = np.zeros((3, 4), np.float32)
    expected[1] = 1
    expected[:, 0] = [5, 6, 7]
    expected[expected > 6] = -1
    np.testing.assert_array_equal(x.numpy(), expected)


def test_inplace_ops_and_views():
    x = bx.zeros(2, 3)
    row = x[0]
    row.fill_(2.0)
    assert x.numpy()[0].tolist() == [2, 2, 2]
    x.add_(1.0)
    x.mul_(2.0)
    x += 1
    x -= 0.5
    np.testing.assert_allclose(x.numpy(), [[6.5] * 3, [2.5] * 3])
    x.zero_()
    assert x.numpy().sum() == 0
    x.copy_(bx.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.numpy(), [[1, 2, 3], [1, 2, 3]])
    v0 = x._version()
    x.add_(1.0)
    assert x._version() > v0


def test_views_share_storage():
    x = bx.arange(12, dtype=bx.float32).reshape(3, 4)
    assert x.t()._shares_storage(x) and not x.t().is_contiguous()
    assert x.transpose(0, 1).contiguous().is_contiguous()
    assert x.reshape(4, 3)._shares_storage(x)
    np.testing.assert_array_equal(x.t().reshape(12).numpy(), np.arange(12).reshape(3, 4).T.reshape(12))
    with pytest.raises(RuntimeError, match="view"):
        x.t().view(12)


def test_threads():
    n = bx.get_num_threads()
    assert n >= 1
    bx.set_num_threads(1)
    assert bx.get_num_threads() == 1
    bx.set_num_threads(n)
    with pytest.raises(ValueError):
        bx.set_num_threads(0)


def test_build_uses_simd():
    info = bx.build_info()
    assert "SIMD" in info and "OpenMP" in info


def test_large_elementwise_runs_threaded_and_correct():
    a = np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32)
    t = bx.from_numpy(a)
    np.testing.assert_allclose((bx.tanh(t) * t + 1).numpy(), np.tanh(a) * a + 1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.sum().item(), a.sum(dtype=np.float64), rtol=1e-4)


def test_sum_and_mean_over_a_middle_block_match_float64_and_any_thread_count():
    # [outer, red, inner] reductions run in place (no permuted copy), in a fixed order per output element
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 4000, 2, 300)).astype(np.float32)
    before = bx.get_num_threads()
    results = []
    for threads in (1, 2):
        bx.set_num_threads(threads)
        t = bx.tensor(a)
        results.append((t.sum(dim=(1, 2)).numpy(), t.mean(dim=1).numpy(), t.sum(dim=0, keepdim=True).numpy()))
    bx.set_num_threads(before)
    for got, want in zip(results[0], (a.astype(np.float64).sum((1, 2)), a.astype(np.float64).mean(1),
                                      a.astype(np.float64).sum(0, keepdims=True))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-4)
    for x, y in zip(*results):
        np.testing.assert_array_equal(x, y)
