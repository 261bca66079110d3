"""Learning-rate schedules checked at known steps, state_dict round trips, and (optionally) against torch."""
import math

import numpy as np
import pytest

import backpropx as bx
from backpropx.optim import lr_scheduler as S
from backpropx.serialization import load, save


def make_opt(lrs=(0.1,)):
    groups = [{"params": [bx.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return bx.optim.SGD(groups, lr=lrs[0])


def lrs_over(sched, opt, steps):
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


def test_lambda_lr_per_group():
    opt = make_opt((0.1, 1.0))
    sched = S.LambdaLR(opt, [lambda s: 0.5 ** s, lambda s: 1.0 / (s + 1)])
    for s in range(5):
        assert sched.get_last_lr() == pytest.approx([0.1 * 0.5 ** s, 1.0 / (s + 1)])
        sched.step()
    assert sched.last_epoch == 5


def test_step_lr_and_exponential_lr_at_known_steps():
    opt = make_opt()
    got = lrs_over(S.StepLR(opt, step_size=3, gamma=0.5), opt, 9)
    np.testing.assert_allclose(got, [0.1 * 0.5 ** (s // 3) for s in range(10)], rtol=1e-12)
    opt = make_opt()
    got = lrs_over(S.ExponentialLR(opt, gamma=0.9), opt, 6)
    np.testing.assert_allclose(got, [0.1 * 0.9 ** s for s in range(7)], rtol=1e-12)
    with pytest.raises(ValueError):
        S.StepLR(make_opt(), step_size=0)


def test_step_with_an_explicit_epoch_uses_the_closed_form():
    opt = make_opt()
    sched = S.StepLR(opt, step_size=2, gamma=0.1)
    sched.step(5)
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * 0.1 ** 2)


def cosine_ref(s, base, warmup, total, min_lr):
    if s < warmup:
        return base * s / warmup
    progress = min(1.0, (s - warmup) / max(1, total - warmup))
    return min_lr + (base - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize("warmup,total,min_lr", [(10, 100, 0.0), (0, 50, 0.01), (5, 5, 0.0), (4, 20, 0.02)])
def test_linear_warmup_cosine(warmup, total, min_lr):
    opt = make_opt((1.0,))
    got = lrs_over(S.LinearWarmupCosine(opt, warmup, total, min_lr=min_lr), opt, total + 10)
    want = [cosine_ref(s, 1.0, warmup, total, min_lr) for s in range(total + 11)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    if warmup:
        assert got[0] == 0.0 and got[warmup] == pytest.approx(1.0)
        assert got[warmup // 2] == pytest.approx((warmup // 2) / warmup)
    assert got[-1] == pytest.approx(min_lr)
    if total > warmup:
        assert got[total] == pytest.approx(min_lr)
    mid = warmup + (total - warmup) // 2
    if (total - warmup) % 2 == 0 and total > warmup:
        assert got[mid] == pytest.approx((1.0 + min_lr) / 2)


def test_linear_warmup_cosine_matches_transformers_formula_and_rejects_bad_args():
    # transformers.get_cosine_schedule_with_warmup: lambda s = s / warmup, then 0.5 (1 + cos(pi * progress))
    opt = make_opt((3e-4,))
    sched = S.LinearWarmupCosine(opt, warmup_steps=100, total_steps=1000)
    for _ in range(550):
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(3e-4 * 0.5 * (1 + math.cos(math.pi * 450 / 900)))
    with pytest.raises(ValueError):
        S.LinearWarmupCosine(make_opt(), warmup_steps=20, total_steps=10)


def test_inverse_sqrt():
    opt = make_opt((2.0,))
    got = lrs_over(S.InverseSqrt(opt, warmup_steps=4), opt, 20)
    want = [2.0 * s / 4 if s < 4 else 2.0 * math.sqrt(4 / s) for s in range(21)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[4] == 2.0 and got[16] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        S.InverseSqrt(make_opt(), warmup_steps=0)


def test_reduce_lr_on_plateau_patience_cooldown_min_lr():
    opt = make_opt((1.0,))
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = []
    for loss in [1.0] + [0.9] * 12:
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
    # 0.9 improves on 1.0; then bad epochs 1, 2, 3 (> patience) -> halve; a cooldown step; 3 bad epochs -> halve;
    # cooldown; 3 bad epochs -> 0.125, floored at min_lr
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]


def test_reduce_lr_on_plateau_modes_and_thresholds():
    opt = make_opt((1.0,))
    sched = S.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, threshold=0.1, threshold_mode="abs")
    sched.step(1.0)   # better than -inf
    sched.step(1.05)  # not better by 0.1 (abs) -> bad epoch > patience 0 -> reduce
    assert sched.get_last_lr()[0] == pytest.approx(0.1)
    sched.step(1.2)   # better
    assert sched.get_last_lr()[0] == pytest.approx(0.1)
    opt = make_opt((1.0,))
    sched = S.ReduceLROnPlateau(opt, patience=0, threshold=0.5)  # rel, min: must drop below best * 0.5
    sched.step(bx.tensor(10.0))
    sched.step(6.0)
    assert sched.get_last_lr()[0] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        S.ReduceLROnPlateau(make_opt(), factor=1.0)
    with pytest.raises(ValueError):
        S.ReduceLROnPlateau(make_opt(), mode="up")


@pytest.mark.parametrize("make", [lambda o: S.StepLR(o, 2, 0.5), lambda o: S.ExponentialLR(o, 0.9),
                                  lambda o: S.LinearWarmupCosine(o, 3, 10, min_lr=0.01),
                                  lambda o: S.InverseSqrt(o, 3), lambda o: S.LambdaLR(o, lambda s: 1 / (1 + s)),
                                  lambda o: S.ReduceLROnPlateau(o, patience=1)])
def test_state_dict_round_trip_through_a_checkpoint(make, tmp_path):
    def advance(sched, n, start):
        for i in range(n):
            if isinstance(sched, S.ReduceLROnPlateau):
                sched.step(1.0 + 0 * (start + i))
            else:
                sched.step()

    opt_a = make_opt((0.1, 0.2))
    a = make(opt_a)
    advance(a, 7, 0)
    opt_b = make_opt((0.1, 0.2))
    b = make(opt_b)
    advance(b, 4, 0)
    save({"sched": b.state_dict(), "opt": opt_b.state_dict()}, tmp_path / "s.safetensors")
    ckpt = load(tmp_path / "s.safetensors")
    opt_c = make_opt((0.1, 0.2))
    c = make(opt_c)
    opt_c.load_state_dict(ckpt["opt"])
    c.load_state_dict(ckpt["sched"])
    advance(c, 3, 4)
    assert c.get_last_lr() == a.get_last_lr()
    assert [g["lr"] for g in opt_c.param_groups] == [g["lr"] for g in opt_a.param_groups]
    assert c.last_epoch == a.last_epoch


def test_rejects_non_optimizers():
    with pytest.raises(TypeError):
        S.StepLR(object(), 2)


@pytest.mark.parametrize("name,kw,steps", [("StepLR", dict(step_size=3, gamma=0.3), 12),
                                           ("ExponentialLR", dict(gamma=0.95), 12)])
def test_matches_torch(name, kw, steps):
    torch = pytest.importorskip("torch")
    opt = make_opt((0.1, 0.3))
    tparams = [torch.zeros(2, requires_grad=True) for _ in range(2)]
    topt = torch.optim.SGD([{"params": [tparams[0]], "lr": 0.1}, {"params": [tparams[1]], "lr": 0.3}], lr=0.1)
    sched = getattr(S, name)(opt, **kw)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    for _ in range(steps):
        topt.step()
        opt.step()
        sched.step()
        tsched.step()
        assert sched.get_last_lr() == tsched.get_last_lr()


def test_reduce_lr_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    opt = make_opt((1.0,))
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=1.0)
    kw = dict(factor=0.5, patience=2, cooldown=1, min_lr=0.05, threshold=0.01)
    sched, tsched = S.ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    rng = np.random.default_rng(0)
    for v in np.cumsum(rng.standard_normal(40)) * 0.1 + 5:
        sched.step(float(v))
        tsched.step(float(v))
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-15)
