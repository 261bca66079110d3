"""conv1d and the 1-D pools beyond the registry: torch's output-length rules (ceil_mode, 'same' padding), the
argmax indices, max-over-time, groups, unbatched inputs, big inputs on several threads, bad inputs, Conv1d's
initialisation, a text CNN end to end, and, when PyTorch is installed, the same outputs, indices and gradients
as torch (Conv1d from a torch state_dict, float32, 1e-5)."""
import math

import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F

RNG = np.random.default_rng(20240918)


def t64(a, requires_grad=False):
    return bx.tensor(np.asarray(a, dtype=np.float64), dtype=bx.float64, requires_grad=requires_grad)


@pytest.fixture
def threads():
    n = bx.get_num_threads()
    yield
    bx.set_num_threads(n)


def np_conv1d(x, w, b=None, stride=1, pad=(0, 0), dilation=1, groups=1):
    N, C, L = x.shape
    Fo, Cg, K = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pad))
    L_out = (xp.shape[2] - dilation * (K - 1) - 1) // stride + 1
    out = np.zeros((N, Fo, L_out))
    fg = Fo // groups
    for f in range(Fo):
        g = f // fg
        for o in range(L_out):
            window = xp[:, g * Cg:(g + 1) * Cg, o * stride:o * stride + dilation * (K - 1) + 1:dilation]
            out[:, f, o] = np.einsum("nck,ck->n", window, w[f])
    return out if b is None else out + b[None, :, None]


# ---- conv1d -----------------------------------------------------------------------------------------

def test_conv1d_same_and_valid_padding():
    x, w = RNG.standard_normal((2, 3, 9)), RNG.standard_normal((4, 3, 4))
    same = bx.conv1d(t64(x), t64(w), padding="same").numpy()
    assert same.shape == (2, 4, 9)
    np.testing.assert_allclose(same, np_conv1d(x, w, pad=(1, 2)), rtol=1e-12)  # the odd pad goes right, as torch
    same_d = bx.conv1d(t64(x), t64(w), padding="same", dilation=2).numpy()
    np.testing.assert_allclose(same_d, np_conv1d(x, w, pad=(3, 3), dilation=2), rtol=1e-12)
    np.testing.assert_allclose(bx.conv1d(t64(x), t64(w), padding="valid").numpy(), np_conv1d(x, w), rtol=1e-12)
    xt, wt = t64(x, True), t64(w, True)
    assert bx.autograd.gradcheck(lambda a, b: bx.conv1d(a, b, padding="same"), (xt, wt))


def test_conv1d_groups_and_strided_input():
    x = RNG.standard_normal((2, 10, 6))
    xv = t64(x).transpose(1, 2)  # a [2, 6, 10] view: channels strided
    w, b = RNG.standard_normal((4, 3, 2)), RNG.standard_normal(4)
    got = bx.conv1d(xv, t64(w), t64(b), groups=2, stride=3).numpy()
    np.testing.assert_allclose(got, np_conv1d(np.swapaxes(x, 1, 2), w, b, stride=3, groups=2), rtol=1e-12)


@pytest.mark.parametrize("padding", [0, 2, "same"])
def test_conv1d_on_a_time_major_input(padding):
    # The NLP layout: emb(x) is [N, L, C] and conv1d sees its transpose. Stride 1 runs without im2col on
    # that memory; the gradient keeps the layout, so it flows back through the transpose without a copy.
    x, w, b = RNG.standard_normal((3, 9, 5)), RNG.standard_normal((4, 5, 3)), RNG.standard_normal(4)
    pad = (1, 1) if padding == "same" else (padding, padding)
    xl = t64(x, True)
    y = bx.conv1d(xl.transpose(1, 2), t64(w), t64(b), padding=padding)
    np.testing.assert_allclose(y.detach().numpy(), np_conv1d(np.swapaxes(x, 1, 2), w, b, pad=pad), rtol=1e-12)
    y.backward(t64(RNG.standard_normal(tuple(y.shape))))
    assert xl.grad.is_contiguous() and tuple(xl.grad.shape) == (3, 9, 5)
    assert bx.autograd.gradcheck(lambda a, c, d: bx.conv1d(a.transpose(1, 2), c, d, padding=padding),
                                 (t64(x, True), t64(w, True), t64(b, True)))
    assert bx.autograd.gradcheck(lambda a, c: bx.conv1d(a.t(), c, padding=padding),  # unbatched [L, C] -> [C, L]
                                 (t64(x[0], True), t64(w, True)))


def test_conv1d_unbatched_input():
    x, w = RNG.standard_normal((3, 7)), RNG.standard_normal((2, 3, 3))
    got = bx.conv1d(t64(x), t64(w), padding=1)
    assert tuple(got.shape) == (2, 7)
    np.testing.assert_allclose(got.numpy(), np_conv1d(x[None], w, pad=(1, 1))[0], rtol=1e-12)
    assert bx.autograd.gradcheck(lambda a, b: bx.conv1d(a, b, padding=1), (t64(x, True), t64(w, True)))


def test_conv1d_big_input_on_several_threads(threads):
    x, w, b = RNG.standard_normal((8, 32, 200)), RNG.standard_normal((48, 32, 5)), RNG.standard_normal(48)
    g = RNG.standard_normal((8, 48, 200))
    results = []
    for n in (1, 2):
        bx.set_num_threads(n)
        xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
        y = bx.conv1d(xt, wt, bt, padding=2)
        y.backward(t64(g))
        results.append([y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()])
    np.testing.assert_allclose(results[0][0], np_conv1d(x, w, b, pad=(2, 2)), rtol=1e-10, atol=1e-10)
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-10)


def test_conv1d_bad_inputs_raise_clear_errors():
    x, w = bx.randn(2, 3, 8), bx.randn(4, 3, 3)
    with pytest.raises(ValueError, match=r"conv1d: input of shape \[2, 5, 8\] has 5 channels.*\[4, 3, 3\]"):
        bx.conv1d(bx.randn(2, 5, 8), w)
    with pytest.raises(ValueError, match="conv1d: weight must be 3-D"):
        bx.conv1d(x, bx.randn(4, 3))
    with pytest.raises(ValueError, match=r"conv1d: expected a 2-D \[C, L\] or 3-D \[N, C, L\] input"):
        bx.conv1d(bx.randn(2, 3, 8, 1), w)
    with pytest.raises(ValueError, match="shorter than the dilated kernel"):
        bx.conv1d(bx.randn(2, 3, 4), w, dilation=2)
    with pytest.raises(ValueError, match="strided"):
        bx.conv1d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        bx.conv1d(x, bx.randn(4, 1, 3), groups=3)
    with pytest.raises(ValueError, match="bias of shape"):
        bx.conv1d(x, w, bx.randn(3))
    with pytest.raises(TypeError, match="same dtype"):
        bx.conv1d(x, w.double())
    with pytest.raises(ValueError, match="stride"):
        bx.conv1d(x, w, stride=0)
    with pytest.raises(ValueError, match="invalid padding string"):
        bx.conv1d(x, w, padding="full")


def test_conv1d_module_init_and_shapes():
    bx.manual_seed(0)
    conv = bx.nn.Conv1d(16, 33, 3, stride=2, padding=1)
    assert tuple(conv.weight.shape) == (33, 16, 3) and tuple(conv.bias.shape) == (33,)
    bound = 1 / math.sqrt(16 * 3)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound and np.abs(conv.bias.detach().numpy()).max() <= bound
    assert np.abs(conv.weight.detach().numpy()).max() > 0.8 * bound  # uniform over the whole range
    assert tuple(conv(bx.randn(20, 16, 50)).shape) == (20, 33, 25)
    assert bx.nn.Conv1d(4, 4, 3, bias=False).bias is None
    assert tuple(bx.nn.Conv1d(4, 6, 3, padding="same", groups=2)(bx.randn(2, 4, 7)).shape) == (2, 6, 7)
    with pytest.raises(ValueError, match="divisible by groups"):
        bx.nn.Conv1d(4, 6, 3, groups=4)
    with pytest.raises(NotImplementedError, match="padding_mode"):
        bx.nn.Conv1d(4, 6, 3, padding_mode="reflect")
    assert "kernel_size=(3,)" in repr(conv)


# ---- pools ------------------------------------------------------------------------------------------

def test_max_pool1d_indices_and_gradient_to_the_argmax():
    x = t64([[[1.0, 5.0, 2.0, 7.0, 3.0, 0.0, 4.0]]], True)
    y, idx = bx.max_pool1d(x, 3, stride=2, padding=1, return_indices=True)
    np.testing.assert_array_equal(y.detach().numpy(), [[[5.0, 7.0, 7.0, 4.0]]])
    np.testing.assert_array_equal(idx.numpy(), [[[1, 3, 3, 6]]])
    assert idx.dtype == bx.int64 and not idx.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[0, 1, 0, 2, 0, 0, 1]]])  # overlapping windows add up


def test_ceil_mode_output_lengths():
    x = bx.randn(1, 2, 10)
    assert bx.max_pool1d(x, 3, stride=2).shape[-1] == 4
    assert bx.max_pool1d(x, 3, stride=2, ceil_mode=True).shape[-1] == 5
    assert bx.avg_pool1d(x, 3, stride=2, padding=1, ceil_mode=True).shape[-1] == 6
    # the 5th window would start in the right padding: dropped, as torch
    assert bx.avg_pool1d(x, 4, stride=3, padding=2, ceil_mode=True).shape[-1] == 4


def test_avg_pool1d_divisors():
    x = t64([[[1.0, 2.0, 3.0, 4.0]]])
    np.testing.assert_allclose(bx.avg_pool1d(x, 3, stride=2, padding=1).numpy(), [[[1.0, 3.0]]])
    np.testing.assert_allclose(bx.avg_pool1d(x, 3, stride=2, padding=1, count_include_pad=False).numpy(),
                               [[[1.5, 3.0]]])


def test_adaptive_max_pool1d_is_max_over_time():
    x = RNG.standard_normal((4, 6, 13))
    y, idx = bx.adaptive_max_pool1d(t64(x), 1, return_indices=True)
    assert tuple(y.shape) == (4, 6, 1)
    np.testing.assert_array_equal(y.numpy()[..., 0], x.max(-1))
    np.testing.assert_array_equal(idx.numpy()[..., 0], x.argmax(-1))
    windows = bx.adaptive_max_pool1d(t64(x), 4).numpy()
    bounds = [(i * 13 // 4, -(-(i + 1) * 13 // 4)) for i in range(4)]
    np.testing.assert_array_equal(windows, np.stack([x[..., a:b].max(-1) for a, b in bounds], -1))


def test_pools_propagate_nan_and_take_unbatched_input():
    x = t64([[1.0, np.nan, 3.0, 2.0]])
    assert np.isnan(bx.max_pool1d(x, 2).numpy()[0, 0])
    assert np.isnan(bx.adaptive_max_pool1d(x, 1).numpy()[0, 0])
    assert tuple(bx.avg_pool1d(bx.randn(3, 8), 2).shape) == (3, 4)
    assert tuple(bx.adaptive_max_pool1d(bx.randn(3, 8), 2).shape) == (3, 2)


def test_pools_on_strided_views_and_several_threads(threads):
    x = RNG.standard_normal((16, 200, 64))
    view = t64(x).transpose(1, 2)  # [16, 64, 200], not contiguous
    expected = np.swapaxes(x, 1, 2).max(-1, keepdims=True)
    for n in (1, 2):
        bx.set_num_threads(n)
        np.testing.assert_array_equal(bx.adaptive_max_pool1d(view, 1).numpy(), expected)


def test_pool_bad_inputs_raise_clear_errors():
    x = bx.randn(2, 3, 8)
    with pytest.raises(ValueError, match="max_pool1d: pad should be at most half of effective kernel size"):
        bx.max_pool1d(x, 2, padding=2)
    with pytest.raises(ValueError, match="avg_pool1d: pad should be at most half of kernel size"):
        bx.avg_pool1d(x, 2, padding=2)
    with pytest.raises(ValueError, match="max_pool1d.*too short"):
        bx.max_pool1d(bx.randn(2, 3, 2), 3)
    with pytest.raises(ValueError, match="adaptive_max_pool1d: output_size must be positive"):
        bx.adaptive_max_pool1d(x, 0)
    with pytest.raises(ValueError, match=r"max_pool1d: expected a 2-D \[C, L\] or 3-D \[N, C, L\] input"):
        bx.max_pool1d(bx.randn(8), 2)
    with pytest.raises(TypeError, match="avg_pool1d"):
        bx.avg_pool1d(bx.ones(2, 3, 8, dtype=bx.int64), 2)
    with pytest.raises(ValueError, match="1-element tuple"):
        bx.max_pool1d(x, (2, 2))


def test_pool_modules():
    x = bx.randn(4, 8, 10)
    assert tuple(bx.nn.MaxPool1d(2)(x).shape) == (4, 8, 5)
    values, idx = bx.nn.MaxPool1d(3, stride=1, padding=1, return_indices=True)(x)
    assert tuple(values.shape) == tuple(idx.shape) == (4, 8, 10)
    assert tuple(bx.nn.AvgPool1d(3, stride=2)(x).shape) == (4, 8, 4)
    assert tuple(bx.nn.AdaptiveMaxPool1d(1)(x).shape) == (4, 8, 1)
    assert len(bx.nn.AdaptiveMaxPool1d(3, return_indices=True)(x)) == 2


def test_text_cnn_end_to_end():
    bx.manual_seed(0)
    vocab, d, classes = 20, 8, 3
    emb = bx.nn.Parameter(bx.randn(vocab, d))
    convs = [bx.nn.Conv1d(d, 6, k, padding=k // 2) for k in (2, 3)]
    fc = bx.nn.Parameter(bx.randn(classes, 12) * 0.1)
    params = [emb, fc] + [p for c in convs for p in c.parameters()]
    opt = bx.optim.Adam(params, lr=0.05)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab, size=(16, 12))
    labels = bx.tensor(ids[:, 0] % classes)
    losses = []
    for _ in range(40):
        x = F.embedding(bx.tensor(ids), emb).transpose(1, 2)  # [N, d, L]
        feats = bx.cat([bx.adaptive_max_pool1d(F.relu(c(x)), 1).squeeze(2) for c in convs], 1)
        loss = F.cross_entropy(F.linear(feats, fc), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ---- against torch ----------------------------------------------------------------------------------

CONV_CASES = [
    ("plain", dict(in_channels=3, out_channels=4, kernel_size=3), (2, 3, 9)),
    ("stride_pad_dilation", dict(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=2, dilation=2),
     (2, 3, 11)),
    ("same", dict(in_channels=4, out_channels=4, kernel_size=4, padding="same"), (3, 4, 7)),
    ("groups_no_bias", dict(in_channels=4, out_channels=6, kernel_size=2, groups=2, bias=False), (2, 4, 8)),
    ("k1", dict(in_channels=5, out_channels=2, kernel_size=1), (2, 5, 6)),
    ("unbatched", dict(in_channels=3, out_channels=2, kernel_size=3, padding=1), (3, 6)),
]


@pytest.mark.parametrize("name,kw,shape", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv1d_module_against_torch(name, kw, shape):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Conv1d(**kw)
    ours = bx.nn.Conv1d(**kw)
    ours.load_state_dict({k: bx.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal(shape).astype(np.float32)
    xo, xt = bx.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = RNG.standard_normal(tuple(yt.shape)).astype(np.float32)
    yo.backward(bx.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=n)


POOL_CASES = [
    ("max_pool1d", dict(kernel_size=3)),
    ("max_pool1d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool1d", dict(kernel_size=2, stride=1, dilation=3, padding=1)),
    ("avg_pool1d", dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool1d", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)),
    ("avg_pool1d", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    ("adaptive_max_pool1d", dict(output_size=1)),
    ("adaptive_max_pool1d", dict(output_size=4)),
    ("adaptive_max_pool1d", dict(output_size=15)),
]


@pytest.mark.parametrize("name,kw", POOL_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(POOL_CASES)])
def test_pools_against_torch(name, kw):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 11)).astype(np.float32)
    xo, xt = bx.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    extra = dict(return_indices=True) if "max" in name else {}
    yo = getattr(bx, name)(xo, **kw, **extra)
    yt = getattr(torch.nn.functional, name)(xt, **kw, **extra)
    if extra:
        np.testing.assert_array_equal(yo[1].numpy(), yt[1].numpy())
        yo, yt = yo[0], yt[0]
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = RNG.standard_normal(tuple(yt.shape)).astype(np.float32)
    yo.backward(bx.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_conv1d_stride_one_matches_the_reference_on_random_shapes(seed):
    # the time-major path (no im2col) on edge shapes: one output position, padding wider than the input,
    # one sample, K = 1, with or without bias, gradient for only some inputs, both layouts of x
    rng = np.random.default_rng(seed)
    N, C, F, K = (int(v) for v in (rng.integers(1, 4), rng.integers(1, 6), rng.integers(1, 5), rng.integers(1, 5)))
    L = int(rng.integers(K, K + 4)) if seed % 2 else int(rng.integers(1, 3))
    pad = int(rng.integers(0, 4)) if seed % 2 == 0 else int(rng.integers(0, 2))
    if L + 2 * pad < K:
        pad = K
    x, w, b = rng.standard_normal((N, C, L)), rng.standard_normal((F, C, K)), rng.standard_normal(F)
    for time_major in (False, True):
        xt = t64(np.swapaxes(x, 1, 2).copy()).transpose(1, 2) if time_major else t64(x)
        got = bx.conv1d(xt, t64(w), t64(b) if seed % 3 else None, padding=pad).numpy()
        np.testing.assert_allclose(got, np_conv1d(x, w, b if seed % 3 else None, pad=(pad, pad)), rtol=1e-10,
                                   atol=1e-12)
    wanted = [(True, True), (True, False), (False, True)][seed % 3]
    xs, ws = t64(x, wanted[0]), t64(w, wanted[1])
    assert bx.autograd.gradcheck(lambda a, c: bx.conv1d(a, c, padding=pad), (xs, ws))


def test_conv1d_empty_batch_and_in_place_changes_after_forward():
    assert tuple(F.conv1d(bx.zeros(0, 3, 5), bx.ones(2, 3, 3)).shape) == (0, 2, 3)
    for stride in (1, 2):
        x, w = bx.randn(2, 3, 7, requires_grad=True), bx.randn(4, 3, 3, requires_grad=True)
        y = F.conv1d(x, w, stride=stride)
        with bx.no_grad():
            w.add_(1)
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            y.sum().backward()
