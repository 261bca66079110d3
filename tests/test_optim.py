"""Optimizer updates against hand-written NumPy reference steps; param groups, state_dict round trips through
bx.save/bx.load, gradient accumulation and frozen parameters; an optional cross-check against torch.optim."""
import math

import numpy as np
import pytest

import backpropx as bx
from backpropx.serialization import load, save


def run(opt_cls, steps=4, dtype=bx.float64, **kw):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(steps)]
    w = bx.tensor(w0, dtype=dtype, requires_grad=True)
    opt = opt_cls([w], **kw)
    for g in grads:
        w.grad = bx.tensor(g, dtype=dtype)
        opt.step()
    return w0, grads, w.detach().numpy()


# ---- NumPy references (one function per optimizer, every option) -----------------------------------

def sgd_ref(w, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    buf = None
    for g in grads:
        d = (-g if maximize else g) + weight_decay * w
        if momentum:
            buf = d if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        w = w - lr * d
    return w


def adam_ref(w, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
             decoupled=False):
    b1, b2 = betas
    m = v = vmax = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vv = vmax if amsgrad else v
        w = w - lr / (1 - b1 ** t) * m / (np.sqrt(vv) / np.sqrt(1 - b2 ** t) + eps)
    return w


def rmsprop_ref(w, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                maximize=False):
    sq = np.zeros_like(w)
    gavg = np.zeros_like(w)
    buf = np.zeros_like(w)
    for g in grads:
        g = (-g if maximize else g) + weight_decay * w
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            avg = np.sqrt(sq - gavg * gavg) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum > 0:
            buf = momentum * buf + g / avg
            w = w - lr * buf
        else:
            w = w - lr * g / avg
    return w


def adagrad_ref(w, grads, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                maximize=False):
    s = np.full_like(w, initial_accumulator_value)
    for t, g in enumerate(grads, start=1):
        g = (-g if maximize else g) + weight_decay * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        w = w - clr * g / (np.sqrt(s) + eps)
    return w


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True),
             dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.01), dict(lr=0.1, maximize=True),
             dict(lr=0.05, momentum=0.9, weight_decay=0.1, maximize=True)]
ADAM_CASES = [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, amsgrad=True, betas=(0.8, 0.9)),
              dict(lr=0.01, maximize=True), dict(lr=0.02, eps=1e-3, betas=(0.5, 0.6))]
ADAMW_CASES = [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1), dict(lr=0.01, weight_decay=0.1, amsgrad=True),
               dict(lr=0.01, maximize=True)]
RMSPROP_CASES = [dict(), dict(lr=0.05, alpha=0.9), dict(weight_decay=0.1), dict(momentum=0.9),
                 dict(centered=True), dict(centered=True, momentum=0.5, weight_decay=0.01), dict(maximize=True),
                 dict(eps=1e-2)]
ADAGRAD_CASES = [dict(), dict(lr=0.1, lr_decay=0.5), dict(weight_decay=0.1), dict(initial_accumulator_value=0.3),
                 dict(eps=1e-3), dict(maximize=True), dict(lr=0.5, lr_decay=0.1, weight_decay=0.01,
                                                           initial_accumulator_value=0.1)]

ALL_CASES = ([(bx.optim.SGD, sgd_ref, kw) for kw in SGD_CASES] +
             [(bx.optim.Adam, adam_ref, kw) for kw in ADAM_CASES] +
             [(bx.optim.AdamW, lambda w, g, **k: adam_ref(w, g, decoupled=True, **{"weight_decay": 1e-2, **k}), kw)
              for kw in ADAMW_CASES] +
             [(bx.optim.RMSprop, rmsprop_ref, kw) for kw in RMSPROP_CASES] +
             [(bx.optim.Adagrad, adagrad_ref, kw) for kw in ADAGRAD_CASES])
CASE_IDS = [f"{cls.__name__}-{kw}" for cls, _, kw in ALL_CASES]


@pytest.mark.parametrize("cls,ref,kw", ALL_CASES, ids=CASE_IDS)
def test_matches_numpy_reference_float64(cls, ref, kw):
    w, grads, got = run(cls, steps=5, **kw)
    np.testing.assert_allclose(got, ref(w, grads, **kw), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("cls,ref,kw", ALL_CASES, ids=CASE_IDS)
def test_matches_numpy_reference_float32(cls, ref, kw):
    w, grads, got = run(cls, steps=5, dtype=bx.float32, **kw)
    assert got.dtype == np.float32
    w32 = w.astype(np.float32).astype(np.float64)
    grads32 = [g.astype(np.float32).astype(np.float64) for g in grads]
    np.testing.assert_allclose(got, ref(w32, grads32, **kw), rtol=2e-5, atol=2e-6)


def test_sgd_first_momentum_step_uses_the_gradient():
    w = bx.tensor([1.0, 2.0], dtype=bx.float64, requires_grad=True)
    opt = bx.optim.SGD([w], lr=0.5, momentum=0.9, dampening=0.5)
    w.grad = bx.tensor([1.0, -1.0], dtype=bx.float64)
    opt.step()  # buffer = grad on the first step (no dampening), as torch
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 2.5])
    np.testing.assert_allclose(opt.state[w]["momentum_buffer"].numpy(), [1.0, -1.0])


def test_zero_grad_and_bad_arguments():
    w = bx.ones(2, requires_grad=True)
    (w * 2).sum().backward()
    opt = bx.optim.SGD([w], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert w.grad.numpy().sum() == 0
    opt.zero_grad()
    assert w.grad is None
    with pytest.raises(ValueError):
        bx.optim.SGD([w], lr=-1)
    with pytest.raises(ValueError):
        bx.optim.Adam([], lr=1e-3)
    with pytest.raises(ValueError):
        bx.optim.RMSprop([w], momentum=-0.1)
    with pytest.raises(ValueError):
        bx.optim.Adagrad([w], lr_decay=-1)
    with pytest.raises(TypeError):
        bx.optim.SGD(w, lr=0.1)  # a bare tensor, not an iterable of them
    with pytest.raises(ValueError, match="more than one"):
        bx.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)


# ---- param groups -------------------------------------------------------------------------------------

def test_param_groups_have_their_own_hyper_parameters():
    a = bx.tensor([1.0, 1.0], dtype=bx.float64, requires_grad=True)
    b = bx.tensor([1.0, 1.0], dtype=bx.float64, requires_grad=True)
    c = bx.tensor([1.0], dtype=bx.float64, requires_grad=True)
    opt = bx.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    opt.add_param_group({"params": c, "weight_decay": 1.0})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5, 0.1]
    assert opt.param_groups[2]["weight_decay"] == 1.0 and opt.param_groups[0]["weight_decay"] == 0.0
    for t in (a, b, c):
        t.grad = bx.ones_like(t)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.detach().numpy(), [0.5, 0.5])
    np.testing.assert_allclose(c.detach().numpy(), [1.0 - 0.1 * 2.0])
    with pytest.raises(ValueError):
        opt.add_param_group({"params": [a]})  # already in group 0


def test_named_parameters_are_accepted():
    model = bx.nn.Linear(3, 2)
    opt = bx.optim.Adam(model.named_parameters(), lr=1e-2)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_frozen_parameter_is_skipped():
    model = bx.nn.Sequential(bx.nn.Linear(3, 4), bx.nn.Tanh(), bx.nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.detach().numpy().copy()
    x = bx.randn(5, 3)
    for cls in (bx.optim.SGD, bx.optim.Adam, bx.optim.RMSprop, bx.optim.Adagrad):
        opt = cls(model.parameters(), lr=0.1)
        model(x).sum().backward()
        assert model[0].weight.grad is None
        before = model[2].weight.detach().numpy().copy()
        opt.step()
        opt.zero_grad()
        np.testing.assert_array_equal(model[0].weight.detach().numpy(), frozen)
        assert not np.array_equal(model[2].weight.detach().numpy(), before)
        state = opt.state.get(model[0].weight, {})
        assert "exp_avg" not in state and "square_avg" not in state and state.get("step", 0) == 0


def test_step_with_closure_returns_the_loss():
    w = bx.tensor([3.0], dtype=bx.float64, requires_grad=True)
    opt = bx.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.item() == 3.0 - 0.25 * 6.0


# ---- gradient accumulation ---------------------------------------------------------------------------

@pytest.mark.parametrize("cls,kw", [(bx.optim.SGD, dict(lr=0.1, momentum=0.9)), (bx.optim.Adam, dict(lr=0.01)),
                                    (bx.optim.RMSprop, dict(lr=0.01, centered=True)),
                                    (bx.optim.Adagrad, dict(lr=0.1))])
def test_gradient_accumulation_over_micro_batches_equals_one_big_batch(cls, kw):
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((4, 3))
    xs = rng.standard_normal((3, 8, 4))  # 3 steps, each a batch of 8
    ys = rng.standard_normal((3, 8, 3))

    def train(micro):
        w = bx.tensor(w0, dtype=bx.float64, requires_grad=True)
        opt = cls([w], **kw)
        for x, y in zip(xs, ys):
            opt.zero_grad()
            for xm, ym in zip(np.split(x, micro), np.split(y, micro)):
                pred = bx.tensor(xm) @ w
                ((pred - bx.tensor(ym)) ** 2).sum().backward()
            opt.step()
        return w.detach().numpy()

    np.testing.assert_allclose(train(4), train(1), rtol=1e-12, atol=1e-14)


# ---- state_dict ---------------------------------------------------------------------------------------

OPTIMIZERS = [(bx.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)), (bx.optim.Adam, dict(lr=0.01, amsgrad=True)),
              (bx.optim.AdamW, dict(lr=0.01)), (bx.optim.RMSprop, dict(momentum=0.5, centered=True)),
              (bx.optim.Adagrad, dict(lr=0.1, lr_decay=0.01))]


def _model(seed):
    bx.manual_seed(seed)
    return bx.nn.Sequential(bx.nn.Linear(4, 5), bx.nn.Tanh(), bx.nn.Linear(5, 2))


def _train(model, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("cls,kw", OPTIMIZERS, ids=[c.__name__ for c, _ in OPTIMIZERS])
def test_state_dict_round_trip_through_save_and_load_resumes_exactly(cls, kw, tmp_path):
    bx.manual_seed(3)
    batches = [(bx.randn(6, 4), bx.randn(6, 2)) for _ in range(6)]
    # reference: six uninterrupted steps
    model_a = _model(0)
    opt_a = cls([{"params": model_a[0].parameters()}, {"params": model_a[2].parameters(), "lr": 0.05}], **kw)
    _train(model_a, opt_a, batches)
    # three steps, checkpoint to disk, restore into fresh objects, three more steps
    model_b = _model(0)
    opt_b = cls([{"params": model_b[0].parameters()}, {"params": model_b[2].parameters(), "lr": 0.05}], **kw)
    _train(model_b, opt_b, batches[:3])
    save({"model": model_b.state_dict(), "optimizer": opt_b.state_dict(), "step": 3}, tmp_path / "ckpt.safetensors")
    ckpt = load(tmp_path / "ckpt.safetensors")
    assert ckpt["step"] == 3
    model_c = _model(99)
    model_c.load_state_dict(ckpt["model"])
    opt_c = cls([{"params": model_c[0].parameters()}, {"params": model_c[2].parameters(), "lr": 0.5}], **kw)
    opt_c.load_state_dict(ckpt["optimizer"])
    assert opt_c.param_groups[1]["lr"] == 0.05
    _train(model_c, opt_c, batches[3:])
    for (name, pa), (_, pc) in zip(model_a.named_parameters(), model_c.named_parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pc.detach().numpy(), err_msg=name)


def test_state_dict_layout_is_torchs():
    model = _model(0)
    opt = bx.optim.Adam([{"params": [model[0].weight]}, {"params": [model[0].bias, model[2].weight]}], lr=0.01)
    model(bx.randn(2, 4)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert set(sd["state"]) == {0, 1, 2}
    assert sd["state"][0]["step"] == 1 and set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999) and sd["param_groups"][0]["lr"] == 0.01


def test_load_state_dict_rejects_mismatched_groups():
    a = bx.zeros(2, requires_grad=True)
    b = bx.zeros(3, requires_grad=True)
    sd = bx.optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="groups"):
        bx.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="parameter"):
        bx.optim.SGD([a], lr=0.1).load_state_dict(sd)
    opt = bx.optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = bx.ones(2), bx.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="shape"):
        bx.optim.SGD([b, a], lr=0.1, momentum=0.9).load_state_dict(sd)


def test_loaded_state_is_a_private_copy():
    w = bx.zeros(3, dtype=bx.float64, requires_grad=True)
    opt = bx.optim.Adam([w], lr=0.1)
    w.grad = bx.ones(3, dtype=bx.float64)
    opt.step()
    sd = opt.state_dict()
    opt2 = bx.optim.Adam([bx.zeros(3, dtype=bx.float64, requires_grad=True)], lr=0.1)
    opt2.load_state_dict(sd)
    before = sd["state"][0]["exp_avg"].numpy().copy()
    p2 = opt2.param_groups[0]["params"][0]
    p2.grad = bx.ones(3, dtype=bx.float64)
    opt2.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].numpy(), before)


# ---- optional cross-check against torch.optim ------------------------------------------------------------

TORCH_CASES = ([("SGD", kw) for kw in SGD_CASES] + [("Adam", kw) for kw in ADAM_CASES] +
               [("AdamW", kw) for kw in ADAMW_CASES] + [("RMSprop", kw) for kw in RMSPROP_CASES] +
               [("Adagrad", kw) for kw in ADAGRAD_CASES])


@pytest.mark.parametrize("name,kw", TORCH_CASES, ids=[f"{n}-{kw}" for n, kw in TORCH_CASES])
def test_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    w, grads, got = run(getattr(bx.optim, name), steps=6, **kw)
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, name)([tw], **kw)
    for g in grads:
        tw.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    np.testing.assert_allclose(got, tw.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("RMSprop", dict(momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.1))])
def test_loads_a_torch_optimizer_state_dict(name, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    w0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(6)]
    tw = torch.tensor(w0, requires_grad=True)
    topt = getattr(torch.optim, name)([tw], **kw)
    for g in grads[:3]:
        tw.grad = torch.tensor(g)
        topt.step()

    def convert(v):
        if isinstance(v, torch.Tensor):
            return bx.tensor(v.detach().numpy())
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(convert(x) for x in v)
        return v

    w = bx.tensor(tw.detach().numpy(), requires_grad=True)
    opt = getattr(bx.optim, name)([w], **kw)
    opt.load_state_dict(convert(topt.state_dict()))
    for g in grads[3:]:
        tw.grad = torch.tensor(g)
        topt.step()
        w.grad = bx.tensor(g)
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert not math.isnan(float(w.detach().numpy().sum()))


@pytest.mark.parametrize("cls,kw", [(bx.optim.Adam, {}), (bx.optim.Adam, {"amsgrad": True, "weight_decay": 0.1}),
                                    (bx.optim.AdamW, {})])
def test_adam_updates_a_whole_group_in_one_call_like_one_parameter_at_a_time(cls, kw):
    # mixed sizes (one spans several chunks of the fused loop) and dtypes in one group, with the numpy reference
    rng = np.random.default_rng(3)
    shapes = [(70000,), (3, 5), (1,), (40000, 2)]
    dtypes = [bx.float32, bx.float64, bx.float32, bx.float64]
    init = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(3)]
    params = [bx.tensor(a, dtype=d, requires_grad=True) for a, d in zip(init, dtypes)]
    opt = cls(params, lr=0.01, **kw)
    for step_grads in grads:
        for p, g, d in zip(params, step_grads, dtypes):
            p.grad = bx.tensor(g, dtype=d)
        opt.step()
    for i, (p, d) in enumerate(zip(params, dtypes)):
        want = adam_ref(init[i], [g[i] for g in grads], 0.01, decoupled=cls is bx.optim.AdamW,
                        **({"weight_decay": 0.01} if cls is bx.optim.AdamW else kw))
        tol = 1e-5 if d == bx.float32 else 1e-12
        np.testing.assert_allclose(p.detach().numpy(), want, rtol=tol, atol=tol)
        assert opt.state[p]["step"] == 3


def test_a_bad_parameter_leaves_the_whole_group_untouched():
    good = bx.tensor([1.0, 2.0], requires_grad=True)
    emb = bx.nn.Embedding(5, 2, sparse=True)  # Adam refuses its row-sparse gradient
    opt = bx.optim.Adam([good, emb.weight], lr=0.1)
    good.grad = bx.tensor([0.5, 0.5])
    emb(bx.tensor([1, 3])).sum().backward()
    before = emb.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match="SparseAdam"):
        opt.step()
    np.testing.assert_array_equal(good.detach().numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(emb.weight.detach().numpy(), before)
    assert opt.state[good]["step"] == 0
