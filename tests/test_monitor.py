"""bx.monitor.HealthMonitor: gradient norms and update ratios against NumPy, flags, and the non-finite policies."""
import math

import numpy as np
import pytest

import backpropx as bx
from backpropx.monitor import HealthMonitor, NonFiniteError
from backpropx.nn.utils.clip_grad import clip_grad_norm_


def make_model(seed=0):
    bx.manual_seed(seed)
    return bx.nn.Sequential(bx.nn.Linear(4, 6), bx.nn.Tanh(), bx.nn.Linear(6, 2)).double()


def batch(seed):
    rng = np.random.default_rng(seed)
    return bx.tensor(rng.standard_normal((8, 4))), bx.tensor(rng.standard_normal((8, 2)))


def loss_of(model, x, y):
    return ((model(x) - y) ** 2).mean()


def params_np(model):
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters()}


def test_norms_and_update_ratios_match_numpy():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    mon = HealthMonitor(model).attach(opt)
    for step in range(4):
        x, y = batch(step)
        opt.zero_grad()
        loss = loss_of(model, x, y)
        mon.record_loss(loss)
        loss.backward()
        grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
        before = params_np(model)
        opt.step()
        after = params_np(model)
        h = mon.history
        assert h["step"][-1] == step and h["loss"][-1] == pytest.approx(loss.item())
        assert h["lr"][-1] == 0.1 and h["skipped"][-1] is False and h["flags"][-1] == []
        total = math.sqrt(sum((g ** 2).sum() for g in grads.values()))
        assert h["grad_norm"][-1] == pytest.approx(total, rel=1e-12)
        for n in grads:
            assert h["grad_norms"][n][-1] == pytest.approx(np.linalg.norm(grads[n]), rel=1e-12)
            want = np.linalg.norm(after[n] - before[n]) / np.linalg.norm(after[n])
            assert h["update_ratios"][n][-1] == pytest.approx(want, rel=1e-9)
    assert mon.step_count == 4 and len(mon.history["step"]) == 4
    line = mon.summary()
    assert "\n" not in line and line.startswith("step 3 | loss") and line.endswith("ok") and "update/param" in line


def test_gradients_checked_before_clipping_are_reported():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, explode_threshold=1e-3).attach(opt)
    x, y = batch(0)
    loss_of(model, x, y).backward()
    norms = mon.check_gradients()
    pre = mon.grad_norm
    clip_grad_norm_(model.parameters(), 1e-4)
    opt.step()
    assert mon.history["grad_norm"][-1] == pre and pre > 1e-3
    assert set(norms) == {n for n, _ in model.named_parameters()}
    assert mon.history["flags"][-1] == ["exploding_grad"]


def test_vanishing_and_missing_gradients():
    model = make_model()
    model[0].bias.requires_grad_(False)  # frozen: not watched
    opt = bx.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    mon = HealthMonitor(model, vanish_threshold=1e30).attach(opt)
    assert "0.bias" not in mon.history["grad_norms"]
    x, y = batch(0)
    loss_of(model, x, y).backward()
    model[2].bias.grad = None  # a parameter the loss did not reach this step
    opt.step()
    assert "vanishing_grad" in mon.flags
    assert set(mon.flagged["vanishing_grad"]) == {"0.weight", "2.weight"}
    assert math.isnan(mon.history["grad_norms"]["2.bias"][-1])
    assert math.isnan(mon.history["update_ratios"]["2.bias"][-1])


def test_plateau_flag():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.0)
    mon = HealthMonitor(model, plateau_patience=3).attach(opt)
    flags = []
    for loss in [5.0, 4.0, 3.9999999, 4.0, 4.1, 4.0, 1.0]:
        mon.record_loss(loss)
        opt.step()
        flags.append("plateau" in mon.flags)
    assert flags == [False, False, False, False, True, True, False]
    assert mon.plateaued is False


def nan_step(model, opt, mon):
    x, y = batch(0)
    loss = loss_of(model, x, y)
    mon.record_loss(loss)
    loss.backward()
    g = model[0].weight.grad.numpy()
    g[0, 0] = np.nan  # numpy() shares memory with the gradient
    opt.step()


def test_nonfinite_gradient_raise_leaves_parameters_clean():
    model = make_model()
    opt = bx.optim.Adam(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, nonfinite="raise").attach(opt)
    before = params_np(model)
    with pytest.raises(NonFiniteError, match="0.weight"):
        nan_step(model, opt, mon)
    for n, v in params_np(model).items():
        np.testing.assert_array_equal(v, before[n])
    assert mon.history["skipped"] == [True] and "nonfinite_grad" in mon.history["flags"][0]
    assert opt.state == {}


def test_nonfinite_gradient_skip_then_recover():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, nonfinite="skip").attach(opt)
    before = params_np(model)
    nan_step(model, opt, mon)
    for n, v in params_np(model).items():
        np.testing.assert_array_equal(v, before[n])
    assert mon.history["skipped"] == [True] and "SKIPPED" in mon.summary()
    assert mon.flagged["nonfinite_grad"] == ["0.weight"]
    opt.zero_grad()
    x, y = batch(1)
    loss_of(model, x, y).backward()
    opt.step()
    assert mon.history["skipped"] == [True, False] and mon.flags == []
    assert not np.array_equal(params_np(model)["0.weight"], before["0.weight"])


def test_nonfinite_gradient_warn_updates_anyway():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, nonfinite="warn").attach(opt)
    with pytest.warns(RuntimeWarning, match="non-finite gradient"):
        nan_step(model, opt, mon)
    assert np.isnan(model[0].weight.detach().numpy()[0, 0])
    assert mon.history["skipped"] == [False]


def test_nonfinite_loss_policies():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, nonfinite="raise").attach(opt)
    with pytest.raises(NonFiniteError, match="loss is nan"):
        mon.record_loss(float("nan"))
    model[0].weight.grad = bx.ones_like(model[0].weight)
    with pytest.raises(NonFiniteError):  # a caught error does not let the update through
        opt.step()

    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, nonfinite="skip").attach(opt)
    mon.record_loss(bx.tensor(float("inf")))
    x, y = batch(0)
    loss_of(model, x, y).backward()
    before = params_np(model)
    opt.step()
    assert mon.history["skipped"] == [True] and mon.history["flags"][0] == ["nonfinite_loss"]
    np.testing.assert_array_equal(params_np(model)["2.weight"], before["2.weight"])

    mon = HealthMonitor(make_model(), nonfinite="warn")
    with pytest.warns(RuntimeWarning):
        mon.record_loss(float("-inf"))


def test_manual_step_detach_and_options():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model, track_updates=False)
    x, y = batch(0)
    loss_of(model, x, y).backward()
    mon.step(opt)
    assert mon.step_count == 1 and math.isnan(mon.history["update_ratios"]["0.weight"][0])
    assert mon.history["grad_norm"][0] > 0

    mon2 = HealthMonitor(model.named_parameters(), update_every=2).attach(opt)
    for _ in range(3):
        opt.step()
    assert [math.isnan(r) for r in mon2.history["update_ratios"]["0.weight"]] == [False, True, False]
    mon2.detach()
    opt.step()
    assert mon2.step_count == 3 and "step" not in opt.__dict__

    with pytest.raises(ValueError):
        HealthMonitor(model, nonfinite="ignore")
    with pytest.raises(ValueError):
        HealthMonitor(bx.nn.Tanh())


def test_closure_with_an_attached_monitor():
    model = make_model()
    opt = bx.optim.SGD(model.parameters(), lr=0.1)
    mon = HealthMonitor(model).attach(opt)
    x, y = batch(0)

    def closure():
        opt.zero_grad()
        loss = loss_of(model, x, y)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() > 0 and mon.history["grad_norm"][0] > 0 and mon.step_count == 1


def test_reachable_as_bx_monitor():
    if not hasattr(bx, "monitor"):
        pytest.skip("bx.monitor is not imported by backpropx/__init__.py yet (the lead adds it)")
    assert bx.monitor.HealthMonitor is HealthMonitor
