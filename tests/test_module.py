"""bx.nn.Module and containers: parameters and names, train/eval, zero_grad, requires_grad_, to(dtype),
state_dict/load_state_dict (strict and not), and a PyTorch-like repr; bx.nn.init against its formulas."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import backpropx as bx
import backpropx.nn as nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
        self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3, bias=False)})
        self.extra = nn.ModuleList([nn.LayerNorm(2)])
        self.register_buffer("counts", bx.zeros(3))

    def forward(self, ids):
        h = self.body(self.emb(ids).mean(1))
        return self.heads["a"](self.extra[0](h))


def test_named_parameters_follow_torch_names_and_order():
    names = [n for n, _ in TwoLayer().named_parameters()]
    assert names == ["emb.weight", "body.0.weight", "body.0.bias", "body.3.weight", "body.3.bias",
                     "heads.a.weight", "heads.a.bias", "heads.b.weight", "extra.0.weight", "extra.0.bias"]
    m = TwoLayer()
    assert len(list(m.parameters())) == 10
    assert [n for n, _ in m.named_children()] == ["emb", "body", "heads", "extra"]
    assert sum(1 for _ in m.modules()) == 12  # itself, emb, body + 4, heads + 2, extra + 1
    assert [n for n, _ in m.named_buffers()] == ["counts"]
    assert isinstance(m.body[3], nn.Linear) and len(m.body) == 4 and list(m.heads.keys()) == ["a", "b"]


def test_train_eval_propagates_and_dropout_obeys():
    m = TwoLayer()
    assert m.training and m.body[2].training
    m.eval()
    assert not m.training and not m.body[2].training
    ids = bx.tensor([[1, 2, 3]])
    np.testing.assert_array_equal(m(ids).detach().numpy(), m(ids).detach().numpy())  # no dropout in eval
    m.train()
    assert m.body[2].training


def test_zero_grad_and_requires_grad_freeze():
    m = TwoLayer()
    m(bx.tensor([[1, 2]])).sum().backward()
    assert m.emb.weight.grad is not None
    m.zero_grad(set_to_none=False)
    assert float(m.emb.weight.grad.abs().sum()) == 0.0
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.body.requires_grad_(False)
    m(bx.tensor([[1, 2]])).sum().backward()
    assert all(p.grad is None for p in m.body.parameters())
    assert m.heads["a"].weight.grad is not None


def test_to_dtype_converts_parameters_and_keeps_them_parameters():
    m = TwoLayer().to(bx.float64)
    assert all(p.dtype == bx.float64 for p in m.parameters())
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())
    out = m(bx.tensor([[1, 2]]))
    assert out.dtype == bx.float64
    assert m.float().emb.weight.dtype == bx.float32


def test_state_dict_round_trip_gives_the_same_outputs():
    bx.manual_seed(0)
    a, b = TwoLayer().eval(), TwoLayer().eval()
    sd = a.state_dict()
    assert isinstance(sd, OrderedDict) and "counts" in sd and "body.0.weight" in sd
    assert not sd["body.0.weight"].requires_grad
    result = b.load_state_dict(sd)
    assert list(result.missing_keys) == [] and list(result.unexpected_keys) == []
    ids = bx.tensor([[1, 5, 7]])
    np.testing.assert_array_equal(a(ids).detach().numpy(), b(ids).detach().numpy())
    sd["body.0.weight"].numpy()[:] = 0  # a copy, or a view? torch's state_dict shares memory with the model
    assert float(a.body[0].weight.detach().abs().sum()) == 0.0


def test_load_state_dict_strict_and_shape_errors():
    m = TwoLayer()
    sd = m.state_dict()
    del sd["heads.a.bias"]
    sd["stray.weight"] = bx.zeros(2)
    with pytest.raises(RuntimeError, match="heads.a.bias") as err:
        m.load_state_dict(sd)
    assert "stray.weight" in str(err.value)
    result = m.load_state_dict(sd, strict=False)
    assert list(result.missing_keys) == ["heads.a.bias"] and list(result.unexpected_keys) == ["stray.weight"]
    bad = m.state_dict()
    bad["body.0.weight"] = bx.zeros(3, 3)
    with pytest.raises(RuntimeError, match=r"body.0.weight"):
        m.load_state_dict(bad)


def test_repr_looks_like_torch():
    text = repr(TwoLayer())
    assert text.startswith("TwoLayer(\n  (emb): Embedding(10, 4)\n  (body): Sequential(\n    (0): Linear(in_features=4, "
                           "out_features=8, bias=True)\n    (1): ReLU()\n    (2): Dropout(p=0.5")
    assert "(b): Linear(in_features=2, out_features=3, bias=False)" in text
    assert "(0): LayerNorm((2,), eps=1e-05, elementwise_affine=True, bias=True)" in text


def test_reprs_match_torch():
    torch = pytest.importorskip("torch")
    for name, args in [("LayerNorm", (2,)), ("Dropout", (0.5,)), ("RNN", (3, 4)), ("LSTM", (3, 4, 2)),
                       ("GRU", (3, 4)), ("Linear", (2, 3)), ("Embedding", (5, 2)), ("Conv1d", (3, 4, 3)),
                       ("GELU", ()), ("LeakyReLU", ()), ("Softmax", (1,)), ("EmbeddingBag", (5, 2)),
                       ("Tanh", ()), ("ReLU", ()), ("Identity", ()), ("Flatten", ())]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args)), name


def _sample_std(t):
    return float(np.std(t.detach().numpy()))


def test_init_functions_follow_their_formulas():
    bx.manual_seed(0)
    w = bx.empty(400, 300)
    fan_in, fan_out = 300, 400
    nn.init.xavier_uniform_(w)
    a = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.numpy()).max() <= a and np.abs(w.numpy()).max() > 0.99 * a
    nn.init.xavier_normal_(w, gain=2.0)
    assert _sample_std(w) == pytest.approx(2.0 * math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # torch's Linear default
    bound = math.sqrt(2 / (1 + 5)) * math.sqrt(3 / fan_in)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.99 * bound
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert _sample_std(w) == pytest.approx(math.sqrt(2) / math.sqrt(fan_out), rel=0.02)
    nn.init.constant_(w, 0.25)
    assert np.all(w.numpy() == 0.25)
    nn.init.zeros_(w)
    assert not w.numpy().any()
    nn.init.ones_(w)
    assert np.all(w.numpy() == 1)
    nn.init.uniform_(w, -0.1, 0.3)
    assert w.numpy().min() >= -0.1 and w.numpy().max() <= 0.3
    nn.init.normal_(w, mean=1.0, std=0.5)
    assert float(np.mean(w.numpy())) == pytest.approx(1.0, abs=0.01)
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 5)])
def test_orthogonal_init_gives_orthonormal_rows_or_columns(shape):
    bx.manual_seed(1)
    w = bx.empty(*shape)
    nn.init.orthogonal_(w, gain=1.5)
    flat = w.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(gram.shape[0]), atol=1e-5)


def test_init_works_on_parameters_without_recording_history():
    lin = nn.Linear(3, 2)
    nn.init.xavier_uniform_(lin.weight)
    assert lin.weight.is_leaf and lin.weight.requires_grad and lin.weight.grad_fn is None


def test_default_linear_init_bounds_match_torch():
    bx.manual_seed(2)
    lin = nn.Linear(256, 64)
    bound = 1 / math.sqrt(256)
    for p in (lin.weight, lin.bias):
        vals = np.abs(p.detach().numpy())
        assert vals.max() <= bound and vals.max() > 0.9 * bound


def test_freezing_a_prefix_records_no_backward_for_it():
    # Transfer learning: a frozen encoder below a trainable head adds no node to the tape, so backward
    # stops at the head and never runs the encoder's backward kernels.
    encoder = nn.Sequential(nn.Embedding(10, 4), nn.LSTM(4, 6, batch_first=True))
    head = nn.Linear(6, 2)
    encoder.requires_grad_(False)
    out, _ = encoder(bx.tensor([[1, 2, 3]]))
    assert out.grad_fn is None and not out.requires_grad
    loss = head(out[:, -1]).sum()
    loss.backward()
    assert all(p.grad is None for p in encoder.parameters())
    assert head.weight.grad is not None


def test_frozen_middle_layer_passes_gradient_through_but_gets_none():
    bx.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1))
    model[2].requires_grad_(False)
    x = bx.randn(5, 3)
    model(x).sum().backward()
    assert model[2].weight.grad is None and model[2].bias.grad is None
    first = model[0].weight.grad.numpy().copy()
    # the same gradient as an unfrozen model for the first layer: freezing changes nothing upstream
    model.zero_grad()
    model[2].requires_grad_(True)
    model(x).sum().backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), first, rtol=1e-6)


def test_container_list_and_dict_methods_follow_torch():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    seq.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "ReLU", "Linear"]
    assert isinstance(seq.pop(2), nn.ReLU) and len(seq) == 3
    del seq[0]
    assert [n for n, _ in seq.named_parameters()] == ["1.weight", "1.bias"]  # renumbered, as torch
    seq[0] = nn.Identity()
    seq.extend([nn.Sigmoid()])
    assert [type(m).__name__ for m in seq] == ["Identity", "Linear", "Sigmoid"]
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    ml = nn.ModuleList([nn.Linear(1, 1)]) + [nn.Tanh()]
    assert isinstance(ml, nn.ModuleList) and len(ml) == 2
    ml.insert(0, nn.ReLU())
    assert isinstance(ml.pop(0), nn.ReLU) and isinstance(ml[-1], nn.Tanh)
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md.update({"b": nn.Tanh()})
    md.update([("c", nn.ReLU())])
    assert list(md.keys()) == ["a", "b", "c"]
    assert isinstance(md.pop("b"), nn.Tanh) and "b" not in md
    md.clear()
    assert len(md) == 0
