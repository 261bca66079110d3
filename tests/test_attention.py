"""Attention and transformers beyond the registry: scaled_dot_product_attention's masks (fully masked rows give
zeros and no NaN in any gradient), dropout, strided and broadcast inputs, grouped-query attention, multithreaded
sizes and bad inputs; MultiheadAttention's masks (padded keys and future positions get zero weight) and bad
arguments; the transformer stacks; PositionalEncoding; the seq2seq attentions; and, when PyTorch is installed,
torch modules' state_dicts loaded into ours giving the same outputs and gradients (float32, 1e-5)."""
import math

import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F

RNG = np.random.default_rng(20240917)


def t64(a, requires_grad=False):
    return bx.tensor(np.asarray(a, dtype=np.float64), dtype=bx.float64, requires_grad=requires_grad)


def np_sdpa(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T scale + mask) v in float64; a row with every key masked out gives zeros."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    m = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))
    z = e.sum(-1, keepdims=True)
    p = np.where(z > 0, e / np.where(z > 0, z, 1), 0)
    return p @ v, p


@pytest.fixture
def threads():
    n = bx.get_num_threads()
    yield
    bx.set_num_threads(n)


# ---- scaled_dot_product_attention -------------------------------------------------------------------

def test_sdpa_fully_masked_row_gives_zeros_and_no_nan_gradient():
    q, k, v = (t64(RNG.standard_normal(s), True) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 6)])
    mask = np.ones((2, 3, 5), bool)
    mask[1, 2] = False  # query row 2 of batch 1 may attend nothing
    out = bx.scaled_dot_product_attention(q, k, v, attn_mask=bx.tensor(mask))
    np.testing.assert_array_equal(out.detach().numpy()[1, 2], 0.0)
    expected, _ = np_sdpa(q.detach().numpy(), k.detach().numpy(), v.detach().numpy(), mask)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    for t in (q, k, v):
        assert np.isfinite(t.grad.numpy()).all()
    np.testing.assert_array_equal(q.grad.numpy()[1, 2], 0.0)


def test_sdpa_float_mask_of_all_minus_inf_row_gives_zeros():
    q, k, v = (t64(RNG.standard_normal(s), True) for s in [(3, 4), (5, 4), (5, 2)])
    m = np.zeros((3, 5))
    m[0] = -np.inf
    m[1, :2] = -np.inf
    mask = t64(m, True)
    out = bx.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_array_equal(out.detach().numpy()[0], 0.0)
    out.sum().backward()
    assert np.isfinite(mask.grad.numpy()).all() and np.isfinite(q.grad.numpy()).all()
    np.testing.assert_array_equal(mask.grad.numpy()[1, :2], 0.0)


def test_sdpa_causal_with_more_queries_than_keys_is_top_left_aligned():
    q, k, v = (RNG.standard_normal(s) for s in [(6, 3), (4, 3), (4, 2)])
    out = bx.scaled_dot_product_attention(t64(q), t64(k), t64(v), is_causal=True).numpy()
    np.testing.assert_allclose(out, np_sdpa(q, k, v, causal=True)[0], rtol=1e-12)


def test_sdpa_reads_strided_views_without_changing_the_result():
    # a head split: [B, L, H, D] memory seen as [B, H, L, D]
    x = RNG.standard_normal((2, 5, 3, 4))
    q = t64(x).transpose(1, 2)
    kv = RNG.standard_normal((2, 3, 4, 6))
    k = t64(kv)[..., :4]  # every other column block: a narrow view
    v = t64(kv)[..., 2:]
    assert not q.is_contiguous() and not k.is_contiguous()
    got = bx.scaled_dot_product_attention(q, k, v).numpy()
    expected = np_sdpa(np.swapaxes(x, 1, 2), kv[..., :4], kv[..., 2:])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)


def test_sdpa_output_follows_the_query_memory_order():
    # the output of attention on a head-split view merges back into [B, L, E] as a view
    q = bx.randn(2, 5, 3, 4).transpose(1, 2)
    out = bx.scaled_dot_product_attention(q, q, q)
    merged = out.transpose(1, 2)
    assert merged.is_contiguous()
    np.testing.assert_allclose(out.numpy(), np_sdpa(*(q.numpy().astype(np.float64),) * 3)[0], rtol=1e-5, atol=1e-6)


def test_sdpa_broadcasts_batch_dims_and_sums_their_gradients():
    q = t64(RNG.standard_normal((2, 3, 4, 5)), True)
    k = t64(RNG.standard_normal((1, 6, 5)), True)   # shared by every batch entry and head
    v = t64(RNG.standard_normal((3, 6, 2)), True)   # one per head
    assert bx.autograd.gradcheck(lambda a, b, c: bx.scaled_dot_product_attention(a, b, c), (q, k, v))
    got = bx.scaled_dot_product_attention(q, k, v).detach().numpy()
    np.testing.assert_allclose(got, np_sdpa(q.detach().numpy(), k.detach().numpy(), v.detach().numpy())[0],
                               rtol=1e-12)


def test_sdpa_gradient_of_the_weights_output():
    q, k, v = (t64(RNG.standard_normal(s), True) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)])

    def both(a, b, c):
        out, w = bx._C._attention_with_weights(a, b, c, None, 0.0, False, None, True)
        return out, w * w  # a loss that reaches the weights directly

    assert bx.autograd.gradcheck(both, (q, k, v))


def test_sdpa_dropout_is_seeded_and_its_gradient_checks():
    q, k, v = (t64(RNG.standard_normal(s), True) for s in [(2, 6, 4), (2, 7, 4), (2, 7, 3)])
    bx.manual_seed(3)
    a = bx.scaled_dot_product_attention(q, k, v, dropout_p=0.4).detach().numpy()
    bx.manual_seed(3)
    b = bx.scaled_dot_product_attention(q, k, v, dropout_p=0.4).detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, bx.scaled_dot_product_attention(q, k, v).detach().numpy())

    def fn(x, y, z):
        bx.manual_seed(11)
        return bx.scaled_dot_product_attention(x, y, z, dropout_p=0.3)

    assert bx.autograd.gradcheck(fn, (q, k, v))
    # the returned weights are the dropped ones: out = W v
    bx.manual_seed(5)
    out, w = bx._C._attention_with_weights(q, k, v, None, 0.5, False, None, True)
    np.testing.assert_allclose(out.detach().numpy(), w.detach().numpy() @ v.detach().numpy(), rtol=1e-12)
    _, p = np_sdpa(q.detach().numpy(), k.detach().numpy(), v.detach().numpy())
    wn = w.detach().numpy()
    np.testing.assert_allclose(wn[wn != 0], 2 * p[wn != 0], rtol=1e-12)
    assert 0.3 < np.mean(wn == 0) < 0.7
    zero = bx.scaled_dot_product_attention(q, k, v, dropout_p=1.0).detach().numpy()
    np.testing.assert_array_equal(zero, 0.0)


def test_sdpa_dropout_rate():
    q = bx.zeros(4, 64, 8)
    bx.manual_seed(0)
    _, w = bx._C._attention_with_weights(q, q, bx.ones(4, 64, 8), None, 0.25, False, None, True)
    wn = w.numpy()
    assert abs(np.mean(wn == 0) - 0.25) < 0.01
    np.testing.assert_allclose(wn[wn != 0], (1 / 64) / 0.75, rtol=1e-5)


def test_sdpa_large_batch_runs_threaded_and_matches(threads):
    q, k, v = (RNG.standard_normal(s) for s in [(4, 8, 64, 32), (4, 8, 80, 32), (4, 8, 80, 16)])
    mask = RNG.random((4, 1, 64, 80)) > 0.2
    expected = np_sdpa(q, k, v, mask)[0]
    results = []
    for n in (1, 2):
        bx.set_num_threads(n)
        tq, tk, tv = t64(q, True), t64(k, True), t64(v, True)
        out = bx.scaled_dot_product_attention(tq, tk, tv, attn_mask=bx.tensor(mask))
        out.backward(t64(np.ones(out.shape)))
        results.append([out.detach().numpy(), tq.grad.numpy(), tk.grad.numpy(), tv.grad.numpy()])
    np.testing.assert_allclose(results[0][0], expected, rtol=1e-10, atol=1e-12)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_sdpa_bad_inputs_raise_clear_errors():
    q, k, v = bx.randn(2, 3, 4), bx.randn(2, 5, 4), bx.randn(2, 5, 6)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*attn_mask of shape \[3, 4\]"):
        bx.scaled_dot_product_attention(q, k, v, attn_mask=bx.ones(3, 4, dtype=bx.bool))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention.*\[2, 3, 4\].*\[2, 5, 3\]"):
        bx.scaled_dot_product_attention(q, bx.randn(2, 5, 3), v)
    with pytest.raises(ValueError, match="sequence length"):
        bx.scaled_dot_product_attention(q, k, bx.randn(2, 4, 6))
    with pytest.raises(ValueError, match="batch dims"):
        bx.scaled_dot_product_attention(q, bx.randn(3, 5, 4), bx.randn(3, 5, 6))
    with pytest.raises(TypeError, match="same float dtype"):
        bx.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(TypeError, match="bool or float"):
        bx.scaled_dot_product_attention(q, k, v, attn_mask=bx.ones(3, 5, dtype=bx.int64))
    with pytest.raises(ValueError, match="is_causal"):
        bx.scaled_dot_product_attention(q, k, v, attn_mask=bx.ones(3, 5, dtype=bx.bool), is_causal=True)
    with pytest.raises(ValueError, match="dropout_p"):
        bx.scaled_dot_product_attention(q, k, v, dropout_p=1.5)
    with pytest.raises(ValueError, match="at least 2 dims"):
        bx.scaled_dot_product_attention(bx.randn(4), k, v)


def test_sdpa_against_torch():
    torch = pytest.importorskip("torch")
    cases = [
        dict(shapes=[(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)]),
        dict(shapes=[(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)], mask=lambda: RNG.random((2, 1, 4, 6)) > 0.3),
        dict(shapes=[(2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)], mask=lambda: RNG.standard_normal((4, 6))),
        dict(shapes=[(3, 5, 8), (3, 5, 8), (3, 5, 8)], causal=True),
        dict(shapes=[(2, 4, 5, 8), (2, 2, 7, 8), (2, 2, 7, 3)], gqa=True),
        dict(shapes=[(5, 8), (7, 8), (7, 2)], scale=0.7),
    ]
    for case in cases:
        arrays = [RNG.standard_normal(s).astype(np.float32) for s in case["shapes"]]
        mask = case["mask"]() if "mask" in case else None
        if mask is not None and mask.dtype != bool:
            mask = mask.astype(np.float32)
        kw = dict(is_causal=case.get("causal", False), scale=case.get("scale"), enable_gqa=case.get("gqa", False))
        ours = [bx.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        o = bx.scaled_dot_product_attention(*ours, attn_mask=None if mask is None else bx.tensor(mask), **kw)
        t = torch.nn.functional.scaled_dot_product_attention(
            *theirs, attn_mask=None if mask is None else torch.tensor(mask), **kw)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-5)
        g = RNG.standard_normal(o.shape).astype(np.float32)
        o.backward(bx.tensor(g))
        t.backward(torch.tensor(g))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-5)


# ---- MultiheadAttention -----------------------------------------------------------------------------

def test_mha_padding_mask_gives_padded_keys_zero_weight():
    bx.manual_seed(0)
    mha = bx.nn.MultiheadAttention(8, 2, batch_first=True)
    x = bx.randn(3, 5, 8)
    pad = np.zeros((3, 5), bool)
    pad[0, 3:] = True
    pad[2, 1:] = True
    out, w = mha(x, x, x, key_padding_mask=bx.tensor(pad))
    w = w.detach().numpy()
    assert w.shape == (3, 5, 5)
    np.testing.assert_array_equal(w[np.broadcast_to(pad[:, None, :], w.shape)], 0.0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)
    # padded keys do not change the output of the others
    out2, _ = mha(x[:1, :3], x[:1, :3], x[:1, :3])
    np.testing.assert_allclose(out.detach().numpy()[0, :3], out2.detach().numpy()[0], rtol=1e-5, atol=1e-6)


def test_mha_causal_mask_gives_future_positions_zero_weight():
    bx.manual_seed(1)
    mha = bx.nn.MultiheadAttention(8, 4)
    x = bx.randn(6, 2, 8)
    mask = bx.nn.Transformer.generate_square_subsequent_mask(6)
    for kw in (dict(attn_mask=mask), dict(attn_mask=mask, is_causal=True),
               dict(attn_mask=bx.tensor(np.triu(np.ones((6, 6), bool), 1)))):
        _, w = mha(x, x, x, average_attn_weights=False, **kw)
        w = w.detach().numpy()
        assert w.shape == (2, 4, 6, 6)
        np.testing.assert_array_equal(w[..., np.triu(np.ones((6, 6), bool), 1)], 0.0)
    # the output at position i does not depend on later positions
    out, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    out3, _ = mha(x[:3], x[:3], x[:3], attn_mask=bx.nn.Transformer.generate_square_subsequent_mask(3))
    np.testing.assert_allclose(out.detach().numpy()[:3], out3.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_mha_need_weights_false_returns_none_and_same_output():
    mha = bx.nn.MultiheadAttention(8, 2)
    x = bx.randn(4, 2, 8)
    a, w = mha(x, x, x, need_weights=False)
    b, _ = mha(x, x, x)
    assert w is None
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_mha_dropout_only_in_training():
    mha = bx.nn.MultiheadAttention(8, 2, dropout=0.5)
    x = bx.randn(4, 2, 8)
    bx.manual_seed(0)
    train = mha(x, x, x)[0].detach().numpy()
    mha.eval()
    a = mha(x, x, x)[0].detach().numpy()
    b = mha(x, x, x)[0].detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(train, a)


def test_mha_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        bx.nn.MultiheadAttention(10, 3)
    mha = bx.nn.MultiheadAttention(8, 2)
    x = bx.randn(4, 2, 8)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \[4, 5\], but should be \[4, 4\]"):
        mha(x, x, x, attn_mask=bx.zeros(4, 5))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is \[2, 4, 4\], but should be \[4, 4, 4\]"):
        mha(x, x, x, attn_mask=bx.zeros(2, 4, 4))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \[2, 4\]"):
        mha(x, x, x, key_padding_mask=bx.zeros(4, 2, dtype=bx.bool))
    with pytest.raises(RuntimeError, match="is_causal"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="expected query"):
        mha(bx.randn(4, 2, 6), x, x)
    with pytest.raises(ValueError, match="batch size"):
        mha(x, bx.randn(4, 3, 8), bx.randn(4, 3, 8))


def _load_from_torch(ours, theirs):
    sd = {k: bx.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(sd)  # strict: every key of the torch module is one of ours and back


def _compare_with_torch(torch, ours, theirs, arrays, kwargs, n_out=1, atol=1e-5):
    """Same outputs and the same gradients (inputs and every parameter) for a random upstream gradient."""
    mine = [bx.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a for a in arrays]
    ref = [torch.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a for a in arrays]
    conv = {k: (bx.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    tconv = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    o, t = ours(*mine, **conv), theirs(*ref, **tconv)
    o = list(o[:n_out]) if isinstance(o, tuple) else [o]
    t = list(t[:n_out]) if isinstance(t, tuple) else [t]
    loss_o, loss_t = 0, 0
    for a, b in zip(o, t):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=atol)
        g = RNG.standard_normal(tuple(a.shape)).astype(np.float32)
        loss_o = loss_o + (a * bx.tensor(g)).sum()
        loss_t = loss_t + (b * torch.tensor(g)).sum()
    loss_o.backward()
    loss_t.backward()
    for a, b in zip(mine, ref):
        if isinstance(a, bx.Tensor) and a.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[name].grad.numpy(), rtol=1e-5, atol=atol,
                                   err_msg=name)


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


MHA_CASES = [
    ("plain", dict(), dict()),
    ("batch_first", dict(batch_first=True), dict()),
    ("kdim_vdim", dict(kdim=5, vdim=3), dict()),
    ("padding", dict(), dict(key_padding_mask="kpm")),
    ("causal_bool", dict(), dict(attn_mask="causal_bool")),
    ("causal_float_hint", dict(batch_first=True), dict(attn_mask="causal_float", is_causal=True)),
    ("float_mask_3d_and_padding", dict(), dict(attn_mask="float3d", key_padding_mask="kpm")),
    ("heads_not_averaged", dict(), dict(average_attn_weights=False)),
    ("no_bias", dict(bias=False), dict()),
    ("bias_kv", dict(add_bias_kv=True), dict(key_padding_mask="kpm")),
    ("zero_attn", dict(add_zero_attn=True), dict(attn_mask="causal_bool")),
]


@pytest.mark.parametrize("name,ctor,call", MHA_CASES, ids=[c[0] for c in MHA_CASES])
def test_mha_against_torch(name, ctor, call):
    torch = pytest.importorskip("torch")
    E, H, N, L = 8, 2, 3, 4
    S = L if "causal" in str(call) or "zero_attn" in name else 6
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, **ctor)
    ours = bx.nn.MultiheadAttention(E, H, **ctor)
    _load_from_torch(ours, theirs)
    bf = ctor.get("batch_first", False)
    shape = (lambda n: (N, n)) if bf else (lambda n: (n, N))
    q = _f32(*shape(L), E)
    k = _f32(*shape(S), ctor.get("kdim", E))
    v = _f32(*shape(S), ctor.get("vdim", E))
    kpm = np.zeros((N, S), bool)
    kpm[0, -2:] = True
    masks = {"kpm": kpm, "causal_bool": np.triu(np.ones((L, S), bool), 1),
             "causal_float": np.triu(np.full((L, S), -np.inf, np.float32), 1),
             "float3d": _f32(N * H, L, S)}
    kwargs = {k_: masks.get(v_, v_) if isinstance(v_, str) else v_ for k_, v_ in call.items()}
    _compare_with_torch(torch, ours, theirs, [q, k, v], kwargs, n_out=2)


def test_mha_unbatched_against_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.MultiheadAttention(8, 4)
    ours = bx.nn.MultiheadAttention(8, 4)
    _load_from_torch(ours, theirs)
    x, kpm = _f32(5, 8), np.array([False, False, False, True, True])
    _compare_with_torch(torch, ours, theirs, [x, x, x], dict(key_padding_mask=kpm), n_out=2)


# ---- transformer layers -----------------------------------------------------------------------------

LAYER_CASES = [
    ("post_norm_relu", dict()),
    ("pre_norm_gelu", dict(norm_first=True, activation="gelu")),
    ("batch_first", dict(batch_first=True)),
    ("no_bias", dict(bias=False, norm_first=True)),
]


@pytest.mark.parametrize("name,kw", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_encoder_layer_against_torch(name, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    ours = bx.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    _load_from_torch(ours, theirs)
    N, L = 3, 5
    x = _f32(N, L, 8) if kw.get("batch_first") else _f32(L, N, 8)
    kpm = np.zeros((N, L), bool)
    kpm[1, -2:] = True
    _compare_with_torch(torch, ours, theirs, [x], dict(src_key_padding_mask=kpm))


@pytest.mark.parametrize("name,kw", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_decoder_layer_against_torch(name, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(2)
    theirs = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    ours = bx.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    _load_from_torch(ours, theirs)
    N, T, S = 2, 4, 6
    bf = kw.get("batch_first", False)
    tgt = _f32(N, T, 8) if bf else _f32(T, N, 8)
    memory = _f32(N, S, 8) if bf else _f32(S, N, 8)
    mem_pad = np.zeros((N, S), bool)
    mem_pad[0, -1] = True
    causal = np.triu(np.full((T, T), -np.inf, np.float32), 1)
    _compare_with_torch(torch, ours, theirs, [tgt, memory],
                        dict(tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=mem_pad))


def test_transformer_against_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0)
    theirs = torch.nn.Transformer(**kw)
    ours = bx.nn.Transformer(**kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _load_from_torch(ours, theirs)
    src, tgt = _f32(6, 2, 8), _f32(4, 2, 8)
    mask = theirs.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(bx.nn.Transformer.generate_square_subsequent_mask(4).numpy(), mask)
    src_pad = np.zeros((2, 6), bool)
    src_pad[1, -3:] = True
    _compare_with_torch(torch, ours, theirs, [src, tgt],
                        dict(tgt_mask=mask, src_key_padding_mask=src_pad, memory_key_padding_mask=src_pad),
                        atol=2e-5)


def test_encoder_stack_layers_are_independent_copies():
    layer = bx.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    encoder = bx.nn.TransformerEncoder(layer, num_layers=3, norm=bx.nn.LayerNorm(8))
    assert len(encoder.layers) == 3
    w = [lay.linear1.weight for lay in encoder.layers]
    assert not w[0]._shares_storage(w[1]) and not w[0]._shares_storage(layer.linear1.weight)
    np.testing.assert_array_equal(w[0].detach().numpy(), w[1].detach().numpy())
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters())) + 2
    y = encoder(bx.randn(5, 2, 8))
    y.sum().backward()
    assert all(p.grad is not None for p in encoder.parameters())


def test_small_transformer_learns_to_copy():
    bx.manual_seed(0)
    vocab, d = 6, 16
    emb = bx.nn.Parameter(bx.randn(vocab, d) * 0.3)
    model = bx.nn.Transformer(d_model=d, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32,
                              dropout=0.0, batch_first=True)
    head = bx.nn.Parameter(bx.randn(vocab, d) * 0.1)
    pos = bx.nn.PositionalEncoding(d, dropout=0.0, batch_first=True)
    params = list(model.parameters()) + [emb, head]
    opt = bx.optim.Adam(params, lr=0.01)
    rng = np.random.default_rng(0)
    mask = bx.nn.Transformer.generate_square_subsequent_mask(5)
    losses = []
    for _ in range(150):
        seq = rng.integers(1, vocab, size=(8, 5))
        src = pos(F.embedding(bx.tensor(seq), emb))
        tgt_in = np.concatenate([np.zeros((8, 1), np.int64), seq[:, :-1]], 1)
        out = model(src, pos(F.embedding(bx.tensor(tgt_in), emb)), tgt_mask=mask, tgt_is_causal=True)
        loss = F.cross_entropy(F.linear(out, head).reshape(-1, vocab), bx.tensor(seq.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.25 * np.mean(losses[:10])


def test_positional_encoding():
    pos = bx.nn.PositionalEncoding(6, dropout=0.0, max_len=10)
    assert list(pos.state_dict()) == ["pe"] and tuple(pos.pe.shape) == (10, 1, 6)
    pe = pos.pe.numpy()[:, 0]
    p, i = 7, 2  # pe[p, 2i] = sin(p / 10000^(2i/d)), pe[p, 2i+1] = cos(...)
    np.testing.assert_allclose(pe[p, 2 * i], math.sin(p / 10000 ** (2 * i / 6)), rtol=1e-6)
    np.testing.assert_allclose(pe[p, 2 * i + 1], math.cos(p / 10000 ** (2 * i / 6)), rtol=1e-6)
    x = bx.zeros(4, 3, 6)
    np.testing.assert_allclose(pos(x).numpy(), np.broadcast_to(pe[:4, None], (4, 3, 6)))
    pos_bf = bx.nn.PositionalEncoding(6, dropout=0.0, max_len=10, batch_first=True)
    np.testing.assert_allclose(pos_bf(bx.zeros(3, 4, 6)).numpy(), np.broadcast_to(pe[None, :4], (3, 4, 6)))
    assert tuple(bx.nn.PositionalEncoding(5, max_len=4).pe.shape) == (4, 1, 5)  # odd d_model


# ---- seq2seq attention ------------------------------------------------------------------------------

SEQ2SEQ = [
    ("additive", lambda: bx.nn.AdditiveAttention(4, 6, 5), 4, 6),
    ("dot", lambda: bx.nn.DotAttention(), 6, 6),
    ("general", lambda: bx.nn.GeneralAttention(4, 6), 4, 6),
]


@pytest.mark.parametrize("name,make,dq,dk", SEQ2SEQ, ids=[c[0] for c in SEQ2SEQ])
def test_seq2seq_attention_masks_and_shapes(name, make, dq, dk):
    bx.manual_seed(0)
    attn = make().double()
    B, S, T = 3, 5, 2
    keys, values = t64(RNG.standard_normal((B, S, dk))), t64(RNG.standard_normal((B, S, 7)))
    mask = np.ones((B, S), bool)
    mask[0, 3:] = False
    mask[2] = False  # nothing to attend: zero weights, zero context, no NaN
    q = t64(RNG.standard_normal((B, dq)), True)
    context, weights = attn(q, keys, values, bx.tensor(mask))
    assert tuple(context.shape) == (B, 7) and tuple(weights.shape) == (B, S)
    w = weights.detach().numpy()
    np.testing.assert_array_equal(w[~mask], 0.0)
    np.testing.assert_allclose(w[:2].sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(context.detach().numpy()[2], 0.0)
    np.testing.assert_allclose(context.detach().numpy(), np.einsum("bs,bsv->bv", w, values.numpy()), rtol=1e-12)
    (context.sum() + (weights * weights).sum()).backward()
    assert np.isfinite(q.grad.numpy()).all()
    assert all(np.isfinite(p.grad.numpy()).all() for p in attn.parameters())
    # a query sequence gives the same as its steps one by one
    qs = t64(RNG.standard_normal((B, T, dq)))
    cs, ws = attn(qs, keys, values, bx.tensor(mask))
    assert tuple(cs.shape) == (B, T, 7) and tuple(ws.shape) == (B, T, S)
    c1, w1 = attn(qs[:, 1], keys, values, bx.tensor(mask))
    np.testing.assert_allclose(cs.detach().numpy()[:, 1], c1.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ws.detach().numpy()[:, 1], w1.detach().numpy(), rtol=1e-12)


def test_seq2seq_attention_bad_inputs():
    attn = bx.nn.GeneralAttention(4, 6)
    with pytest.raises(ValueError, match="GeneralAttention"):
        attn(bx.randn(3, 5), bx.randn(3, 5, 6), bx.randn(3, 5, 2))
    with pytest.raises(ValueError, match="mask must be a bool tensor of shape \\[3, 5\\]"):
        attn(bx.randn(3, 4), bx.randn(3, 5, 6), bx.randn(3, 5, 2), bx.ones(3, 4, dtype=bx.bool))
    with pytest.raises(ValueError, match="DotAttention"):
        bx.nn.DotAttention()(bx.randn(3, 4), bx.randn(3, 5, 6), bx.randn(3, 5, 2))
    with pytest.raises(ValueError, match="disagree"):
        bx.nn.AdditiveAttention(4, 6, 3)(bx.randn(2, 4), bx.randn(3, 5, 6), bx.randn(3, 5, 2))
