"""Recurrent layers: torch layouts and shapes, variable lengths (lengths= and PackedSequence), truncated
BPTT, dropout between layers, bad inputs, and (when torch is installed) outputs and every gradient
against torch with the same weights."""
import numpy as np
import pytest

import backpropx as bx
from backpropx.nn.utils.rnn import (PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence,
                                    pad_sequence)


def np_of(t):
    return t.detach().numpy()


# ---- layouts and shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls,gates", [(bx.nn.RNN, 1), (bx.nn.LSTM, 4), (bx.nn.GRU, 3)])
def test_parameter_names_shapes_and_order_follow_torch(cls, gates):
    m = cls(5, 7, num_layers=2, bidirectional=True)
    names = []
    for layer in range(2):
        for sfx in ("", "_reverse"):
            names += [f"{p}_l{layer}{sfx}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert list(m.state_dict()) == names
    assert m.weight_ih_l0.shape == (gates * 7, 5)
    assert m.weight_ih_l1_reverse.shape == (gates * 7, 14)  # layer 1 reads both directions
    assert m.weight_hh_l1.shape == (gates * 7, 7)
    assert m.bias_hh_l0_reverse.shape == (gates * 7,)
    bound = 1 / np.sqrt(7)
    for p in m.parameters():
        assert np.abs(np_of(p)).max() <= bound
    assert len(list(cls(5, 7, bias=False).parameters())) == 2
    assert len(m.all_weights) == 4 and len(m.all_weights[0]) == 4


def test_output_shapes():
    x = bx.randn(6, 3, 4)
    out, (h, c) = bx.nn.LSTM(4, 5, num_layers=3, bidirectional=True)(x)
    assert out.shape == (6, 3, 10) and h.shape == (6, 3, 5) and c.shape == (6, 3, 5)
    out, h = bx.nn.GRU(4, 5, batch_first=True)(bx.randn(3, 6, 4))
    assert out.shape == (3, 6, 5) and h.shape == (1, 3, 5)
    out, h = bx.nn.RNN(4, 5, num_layers=2)(bx.randn(6, 4))  # unbatched
    assert out.shape == (6, 5) and h.shape == (2, 5)
    h, c = bx.nn.LSTMCell(4, 5)(bx.randn(4))
    assert h.shape == (5,) and c.shape == (5,)
    assert bx.nn.GRUCell(4, 5)(bx.randn(2, 4)).shape == (2, 5)


def test_unbatched_input_equals_a_batch_of_one():
    bx.manual_seed(0)
    lstm = bx.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x, h0, c0 = bx.randn(7, 3), bx.randn(4, 4), bx.randn(4, 4)
    out, (h, c) = lstm(x, (h0, c0))
    out1, (h1, c1) = lstm(x.unsqueeze(0), (h0.unsqueeze(1), c0.unsqueeze(1)))
    np.testing.assert_allclose(np_of(out), np_of(out1)[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np_of(h), np_of(h1)[:, 0], rtol=1e-6, atol=1e-6)


def test_one_fused_node_produces_the_whole_sequence():
    for cls, node in ((bx.nn.LSTM, "LstmLayerBackward"), (bx.nn.GRU, "GruLayerBackward"),
                      (bx.nn.RNN, "RnnTanhLayerBackward")):
        out, _ = cls(3, 4)(bx.randn(50, 2, 3))
        assert out.grad_fn == node  # 50 steps, one node (no per-step graph)


# ---- variable lengths --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [bx.nn.LSTM, bx.nn.GRU, bx.nn.RNN])
def test_lengths_freeze_the_state_and_zero_the_output(cls):
    bx.manual_seed(1)
    net = cls(3, 4, bidirectional=True)
    x = bx.randn(9, 3, 3)
    lengths = [9, 4, 6]
    out, hn = net(x, lengths=lengths)
    hn = hn[0] if isinstance(hn, tuple) else hn
    for b, L in enumerate(lengths):  # each sequence alone, cut to its length
        ob, hb = net(x[:L, b:b + 1])
        hb = hb[0] if isinstance(hb, tuple) else hb
        np.testing.assert_allclose(np_of(out)[:L, b], np_of(ob)[:, 0], rtol=1e-5, atol=1e-6)
        assert np.all(np_of(out)[L:, b] == 0)
        np.testing.assert_allclose(np_of(hn)[:, b], np_of(hb)[:, 0], rtol=1e-5, atol=1e-6)


def test_packed_input_matches_lengths_keyword_and_returns_packed():
    bx.manual_seed(2)
    gru = bx.nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = bx.randn(4, 6, 3)
    lengths = [3, 6, 1, 5]
    h0 = bx.randn(4, 4, 4)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_p, h_p = gru(packed, h0)
    assert isinstance(out_p, PackedSequence)
    padded, lens = pad_packed_sequence(out_p, batch_first=True)
    assert lens.tolist() == lengths
    out_l, h_l = gru(x, h0, lengths=bx.tensor(lengths))
    np.testing.assert_allclose(np_of(padded), np_of(out_l), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np_of(h_p), np_of(h_l), rtol=1e-6, atol=1e-6)


def test_pack_pad_round_trip_and_gradient():
    x = bx.randn(5, 3, 2, requires_grad=True)
    packed = pack_padded_sequence(x, [5, 3, 2])
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    assert packed.data.shape == (10, 2)
    padded, lengths = pad_packed_sequence(packed, total_length=6, padding_value=-1.0)
    assert padded.shape == (6, 3, 2) and lengths.tolist() == [5, 3, 2]
    expected = np_of(x).copy()
    expected[3:, 1] = -1
    expected[2:, 2] = -1
    np.testing.assert_array_equal(np_of(padded)[:5], expected)
    assert np.all(np_of(padded)[5] == -1)
    padded.sum().backward()
    mask = np.zeros((5, 3, 2))
    mask[:, 0], mask[:3, 1], mask[:2, 2] = 1, 1, 1
    np.testing.assert_array_equal(np_of(x.grad), mask)


def test_pad_sequence_and_pack_sequence():
    seqs = [bx.ones(3, 2), bx.full([1, 2], 2.0), bx.full([2, 2], 3.0)]
    padded = pad_sequence(seqs, batch_first=True, padding_value=9.0)
    assert padded.shape == (3, 3, 2)
    np.testing.assert_array_equal(np_of(padded)[:, :, 0], [[1, 1, 1], [2, 9, 9], [3, 3, 9]])
    left = pad_sequence(seqs, padding_side="left")
    np.testing.assert_array_equal(np_of(left)[:, :, 0].T, [[1, 1, 1], [0, 0, 2], [0, 3, 3]])
    packed = pack_sequence(seqs, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [0, 2, 1]


# ---- truncated backpropagation through time ----------------------------------------------------------


@pytest.mark.parametrize("detach", [True, False])
def test_truncated_bptt_detach_cuts_the_gradient_to_the_first_chunk(detach):
    bx.manual_seed(3)
    embed = bx.nn.Linear(3, 3)  # used by the first chunk only
    lstm = bx.nn.LSTM(3, 4)
    x1, x2 = bx.randn(5, 2, 3), bx.randn(5, 2, 3)
    _, (h, c) = lstm(embed(x1))
    if detach:
        h, c = h.detach(), c.detach()
    out2, _ = lstm(x2, (h, c))
    out2.pow(2).sum().backward()  # the second chunk's loss only
    first_chunk_grad = [embed.weight.grad, embed.bias.grad]
    if detach:
        assert all(g is None or not np.any(np_of(g)) for g in first_chunk_grad)
    else:
        assert all(g is not None and np.abs(np_of(g)).sum() > 1e-6 for g in first_chunk_grad)
    assert np.abs(np_of(lstm.weight_hh_l0.grad)).sum() > 0  # the second chunk trains the LSTM either way


def test_truncated_bptt_gradient_equals_the_second_chunk_alone():
    bx.manual_seed(4)
    gru = bx.nn.GRU(3, 4)
    x1, x2 = bx.randn(4, 2, 3), bx.randn(4, 2, 3)
    _, h = gru(x1)
    out, _ = gru(x2, h.detach())
    out.sum().backward()
    carried = np_of(gru.weight_hh_l0.grad)
    gru.zero_grad()
    out, _ = gru(x2, bx.tensor(np_of(h)))
    out.sum().backward()
    np.testing.assert_allclose(carried, np_of(gru.weight_hh_l0.grad), rtol=1e-6, atol=1e-7)


# ---- dropout between layers --------------------------------------------------------------------------


def test_dropout_between_layers_only_in_train_mode():
    bx.manual_seed(5)
    lstm = bx.nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    plain = bx.nn.LSTM(3, 8, num_layers=2)
    plain.load_state_dict(lstm.state_dict())
    x = bx.randn(6, 4, 3)
    reference = np_of(plain(x)[0])
    train_a, train_b = np_of(lstm(x)[0]), np_of(lstm(x)[0])
    assert not np.allclose(train_a, reference) and not np.allclose(train_a, train_b)
    lstm.eval()
    np.testing.assert_allclose(np_of(lstm(x)[0]), reference, rtol=1e-6, atol=1e-7)
    single = bx.nn.GRU(3, 8, dropout=0.0)  # one layer: nothing to drop, no warning
    single(x)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        bx.nn.GRU(3, 8, dropout=0.3)


def test_dropout_acts_between_layers_not_on_the_output():
    bx.manual_seed(6)
    rnn = bx.nn.RNN(3, 5, num_layers=2, dropout=1.0)  # drops all of layer 0's output
    out, h = rnn(bx.randn(4, 2, 3))
    top = bx.nn.RNN(5, 5)  # layer 1 alone, fed the zeros dropout leaves
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in rnn.state_dict().items() if "_l1" in k})
    expected, _ = top(bx.zeros(4, 2, 5))
    np.testing.assert_allclose(np_of(out), np_of(expected), rtol=1e-6, atol=1e-7)
    assert np.abs(np_of(out)).min() > 0  # the last layer's output itself is not dropped


# ---- bad inputs --------------------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    lstm = bx.nn.LSTM(4, 5, num_layers=2)
    with pytest.raises(ValueError, match=r"input_size.*Expected 4, got 3"):
        lstm(bx.randn(6, 2, 3))
    with pytest.raises(ValueError, match=r"Expected hidden\[0\] size \(2, 2, 5\), got \[1, 2, 5\]"):
        lstm(bx.randn(6, 2, 4), (bx.zeros(1, 2, 5), bx.zeros(2, 2, 5)))
    with pytest.raises(ValueError, match=r"Expected hidden\[1\] size"):
        lstm(bx.randn(6, 2, 4), (bx.zeros(2, 2, 5), bx.zeros(2, 3, 5)))
    with pytest.raises(ValueError, match="2D .*or 3D"):
        lstm(bx.randn(1, 6, 2, 4))
    with pytest.raises(ValueError, match="should also be 2-D"):
        lstm(bx.randn(6, 4), (bx.zeros(2, 1, 5), bx.zeros(2, 1, 5)))
    with pytest.raises(ValueError, match="longer than the sequence"):
        lstm(bx.randn(6, 2, 4), lengths=[7, 2])
    with pytest.raises(ValueError, match="2 lengths"):
        lstm(bx.randn(6, 2, 4), lengths=[6])
    with pytest.raises(ValueError, match="sorted in decreasing order.*enforce_sorted"):
        pack_padded_sequence(bx.randn(6, 2, 4), [3, 6])
    with pytest.raises(ValueError, match="longer than the sequence length 6"):
        pack_padded_sequence(bx.randn(6, 2, 4), [8, 6])
    with pytest.raises(ValueError, match="greater than 0"):
        pack_padded_sequence(bx.randn(6, 2, 4), [6, 0])
    with pytest.raises(ValueError, match="nonlinearity"):
        bx.nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout"):
        bx.nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="1D or 2D"):
        bx.nn.GRUCell(3, 4)(bx.randn(2, 2, 3))


def test_layer_op_errors_name_the_op_and_the_shapes():
    x, w_ih, w_hh = bx.randn(5, 2, 3), bx.randn(16, 3), bx.randn(16, 4)
    with pytest.raises(ValueError, match=r"lstm_layer: h0 must be \[batch, hidden_size\] = \[2, 4\], got shape \[3"):
        bx.lstm_layer(x, bx.zeros(3, 4), None, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"lstm_layer: input size 2 .* w_ih of shape \[16, 3\]"):
        bx.lstm_layer(bx.randn(5, 2, 2), None, None, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"gru_layer: w_hh must be \[3\*hidden_size, hidden_size\], got shape \[16"):
        bx.gru_layer(x, None, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"lstm_layer: input must be 3-D"):
        bx.lstm_layer(bx.randn(5, 3), None, None, w_ih, w_hh)
    with pytest.raises(TypeError, match=r"lstm_layer: w_hh is float64 but the input is float32"):
        bx.lstm_layer(x, None, None, w_ih, w_hh.double())
    with pytest.raises(ValueError, match=r"lstm_layer: lengths\[1\] = 9 is longer than the sequence"):
        bx.lstm_layer(x, None, None, w_ih, w_hh, lengths=[5, 9])
    with pytest.raises(ValueError, match=r"lstm_cell: input must be 2-D"):
        bx.lstm_cell(x, (bx.zeros(2, 4), bx.zeros(2, 4)), w_ih, w_hh)


def test_saved_weights_modified_in_place_are_detected():
    gru = bx.nn.GRU(3, 4)
    out, _ = gru(bx.randn(5, 2, 3))
    with bx.no_grad():
        gru.weight_hh_l0.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified"):
        out.sum().backward()


# ---- torch cross-checks ------------------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch")


def _copy_weights(torch_module, ours):
    ours.load_state_dict({k: bx.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()})


def _assert_close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=what)


NETS = [
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(num_layers=1, batch_first=True)),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(num_layers=1)),
    ("RNN", dict(num_layers=2, nonlinearity="relu", bidirectional=True)),
    ("RNN", dict(num_layers=1, bias=False)),
]


@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
@pytest.mark.parametrize("kind,config", NETS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(NETS)])
def test_matches_torch_outputs_and_every_gradient(kind, config, packed):
    torch = _torch()
    torch.manual_seed(0)
    I, H, T, B = 5, 6, 7, 3
    tm = getattr(torch.nn, kind)(I, H, **config)
    ours = getattr(bx.nn, kind)(I, H, **config)
    _copy_weights(tm, ours)
    batch_first = config.get("batch_first", False)
    D = 2 if config.get("bidirectional") else 1
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(np.float32)
    h0_np = rng.standard_normal((config["num_layers"] * D, B, H)).astype(np.float32)
    c0_np = rng.standard_normal((config["num_layers"] * D, B, H)).astype(np.float32)
    lengths = [5, 7, 2]  # unsorted: the packed path sorts inside
    tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in (x_np, h0_np, c0_np))
    bx_x, bx_h0, bx_c0 = (bx.tensor(a, requires_grad=True) for a in (x_np, h0_np, c0_np))
    t_hx = (th0, tc0) if kind == "LSTM" else th0
    b_hx = (bx_h0, bx_c0) if kind == "LSTM" else bx_h0

    if packed:
        t_in = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first=batch_first, enforce_sorted=False)
        b_in = pack_padded_sequence(bx_x, lengths, batch_first=batch_first, enforce_sorted=False)
        np.testing.assert_array_equal(b_in.batch_sizes.tolist(), t_in.batch_sizes.tolist())
        _assert_close(np_of(b_in.data), t_in.data.detach().numpy(), "packed data")
        t_out, t_h = tm(t_in, t_hx)
        b_out, b_h = ours(b_in, b_hx)
        t_out = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=batch_first)[0]
        b_out = pad_packed_sequence(b_out, batch_first=batch_first)[0]
    else:
        t_out, t_h = tm(tx, t_hx)
        b_out, b_h = ours(bx_x, b_hx)
    t_states = list(t_h) if kind == "LSTM" else [t_h]
    b_states = list(b_h) if kind == "LSTM" else [b_h]
    _assert_close(np_of(b_out), t_out.detach().numpy(), "output")
    for k, (b, t) in enumerate(zip(b_states, t_states)):
        _assert_close(np_of(b), t.detach().numpy(), f"state {k}")

    # one loss touching every output, with fixed random weights
    w_out = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    w_states = [rng.standard_normal(tuple(t.shape)).astype(np.float32) for t in t_states]
    t_loss = (t_out * torch.tensor(w_out)).sum() + sum((s * torch.tensor(w)).sum() for s, w in zip(t_states, w_states))
    b_loss = (b_out * bx.tensor(w_out)).sum()
    for s, w in zip(b_states, w_states):
        b_loss = b_loss + (s * bx.tensor(w)).sum()
    t_loss.backward()
    b_loss.backward()
    _assert_close(np_of(bx_x.grad), tx.grad.numpy(), "d input")
    _assert_close(np_of(bx_h0.grad), th0.grad.numpy(), "d h0")
    if kind == "LSTM":
        _assert_close(np_of(bx_c0.grad), tc0.grad.numpy(), "d c0")
    ours_params = dict(ours.named_parameters())
    for name, p in tm.named_parameters():
        _assert_close(np_of(ours_params[name].grad), p.grad.numpy(), f"d {name}")


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind):
    torch = _torch()
    torch.manual_seed(1)
    tm, ours = getattr(torch.nn, kind)(4, 5), getattr(bx.nn, kind)(4, 5)
    _copy_weights(tm, ours)
    rng = np.random.default_rng(1)
    x_np, h_np, c_np = (rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (3, 5), (3, 5)))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x_np, h_np, c_np))
    bx_x, bx_h, bx_c = (bx.tensor(a, requires_grad=True) for a in (x_np, h_np, c_np))
    if kind == "LSTMCell":
        t_out, b_out = list(tm(tx, (th, tc))), list(ours(bx_x, (bx_h, bx_c)))
    else:
        t_out, b_out = [tm(tx, th)], [ours(bx_x, bx_h)]
    for t, b in zip(t_out, b_out):
        _assert_close(np_of(b), t.detach().numpy(), kind)
    sum(t.sum() for t in t_out).backward()
    b_loss = b_out[0].sum()
    for b in b_out[1:]:
        b_loss = b_loss + b.sum()
    b_loss.backward()
    _assert_close(np_of(bx_x.grad), tx.grad.numpy(), "d input")
    _assert_close(np_of(bx_h.grad), th.grad.numpy(), "d h")
    for name, p in tm.named_parameters():
        _assert_close(np_of(dict(ours.named_parameters())[name].grad), p.grad.numpy(), f"d {name}")


def test_pad_sequence_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((n, 3)).astype(np.float32) for n in (4, 1, 3)]
    for batch_first in (False, True):
        for side in ("right", "left"):
            t = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first=batch_first,
                                                padding_value=-2.0, padding_side=side)
            b = pad_sequence([bx.tensor(a) for a in arrays], batch_first=batch_first, padding_value=-2.0,
                             padding_side=side)
            np.testing.assert_array_equal(np_of(b), t.numpy())
