"""Walks the op registry: every op's forward against its NumPy reference (float32 and float64), every
differentiable op through float64 gradcheck on all its samples, and nothing reachable from Python
left out of the registry."""
import zlib

import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F
from registry import BY_NAME, OPS

DTYPES = {"float32": (bx.float32, np.float32), "float64": (bx.float64, np.float64)}


def samples_of(info):
    rng = np.random.default_rng(zlib.crc32(info.name.encode()))
    return info.samples(rng)


CASES = [pytest.param(info, sample, id=f"{info.name}-{i}") for info in OPS for i, sample in enumerate(samples_of(info))]


def is_float_array(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def to_bx(a, dtype):
    if isinstance(a, np.ndarray):
        if a.dtype.kind == "f":
            return bx.tensor(a, dtype=dtype)
        return bx.tensor(a)
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return [to_bx(x, dtype) for x in a]
    return a


def to_np(a, np_dtype):
    if isinstance(a, np.ndarray):
        return a.astype(np_dtype) if a.dtype.kind == "f" else a
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return [to_np(x, np_dtype) for x in a]
    return a


def as_outputs(out):
    if isinstance(out, (tuple, list)):
        return list(out)
    return [out]


def check_outputs(got, expected, info, dtype_name):
    got, expected = as_outputs(got), as_outputs(expected)
    assert len(got) == len(expected), f"{info.name}: {len(got)} outputs, reference has {len(expected)}"
    atol, rtol = (info.atol32, info.rtol32) if dtype_name == "float32" else (info.atol64, info.rtol64)
    for k, (g, e) in enumerate(zip(got, expected)):
        assert isinstance(g, bx.Tensor), f"{info.name}: output {k} is {type(g).__name__}, not a Tensor"
        e = np.asarray(e)
        a = g.detach().numpy()
        assert list(a.shape) == list(e.shape), f"{info.name}: output {k} shape {list(a.shape)} != reference {list(e.shape)}"
        if e.dtype.kind == "f":
            assert a.dtype == np.dtype(dtype_name) or a.dtype.kind != "f", f"{info.name}: output dtype {a.dtype}"
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{info.name} output {k}")
        else:
            np.testing.assert_array_equal(a, e, err_msg=f"{info.name} output {k}")


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("info,sample", CASES)
def test_forward_matches_numpy(info, sample, dtype_name):
    bx_dtype, np_dtype = DTYPES[dtype_name]
    args = [to_bx(a, bx_dtype) for a in sample.args]
    np_args = [to_np(a, np_dtype) for a in sample.args]
    check_outputs(info.op(*args, **sample.kwargs), info.ref(*np_args, **sample.kwargs), info, dtype_name)
    if info.method:
        out = getattr(args[0], info.method)(*args[1:], **sample.kwargs)
        check_outputs(out, info.ref(*np_args, **sample.kwargs), info, dtype_name)


GRAD_CASES = [c for c in CASES if c.values[0].differentiable]


@pytest.mark.parametrize("info,sample", GRAD_CASES)
def test_gradcheck_float64(info, sample):
    args = [to_bx(a, bx.float64) for a in sample.args]
    wanted = sample.grad if sample.grad is not None else tuple(
        i for i, a in enumerate(sample.args)
        if is_float_array(a) or (isinstance(a, list) and a and is_float_array(a[0])))
    assert wanted, f"{info.name}: sample has nothing to differentiate"
    leaves, slots = [], []  # slots: (arg position, list position or None)
    for i in wanted:
        if isinstance(args[i], list):
            for j, t in enumerate(args[i]):
                t.requires_grad_(True)
                leaves.append(t)
                slots.append((i, j))
        else:
            args[i].requires_grad_(True)
            leaves.append(args[i])
            slots.append((i, None))

    def fn(*ts):
        call = [list(a) if isinstance(a, list) else a for a in args]
        for (i, j), t in zip(slots, ts):
            if j is None:
                call[i] = t
            else:
                call[i][j] = t
        return info.op(*call, **sample.kwargs)

    assert bx.autograd.gradcheck(fn, leaves, eps=info.eps, atol=info.gradcheck_atol, rtol=info.gradcheck_rtol)


def test_every_op_reachable_from_python_is_in_the_registry():
    bound = set(bx._C._op_names())
    missing = sorted(bound - set(BY_NAME))
    assert not missing, f"ops bound in C++ but missing from tests/registry: {missing}"
    stale = sorted(name for name in set(BY_NAME) - bound if not name.startswith("functional."))
    assert not stale, f"registry entries for ops that are not bound: {stale}"


def test_every_functional_op_is_in_the_registry():
    registered = {id(getattr(bx._C, name)) for name in BY_NAME if hasattr(bx._C, name)}
    registered |= {id(info.op) for info in OPS}  # Python-level functionals (F.embedding's max_norm) are entries too
    for name in F.__all__:
        assert id(getattr(F, name)) in registered, f"bx.nn.functional.{name} is not a registered op"


def test_every_differentiable_op_has_gradcheck_samples():
    for info in OPS:
        if info.differentiable:
            assert samples_of(info), f"{info.name} has no samples"


def test_gradcheck_catches_a_planted_wrong_gradient():
    # A hook doubles the gradient flowing through an intermediate: the checker must notice.
    def wrong(x):
        y = x * 1.0
        if y.requires_grad:  # gradcheck's finite differences run under no_grad
            y.register_hook(lambda g: g * 2)
        return (y * y).sum()

    x = bx.randn(3, dtype=bx.float64, requires_grad=True)
    with pytest.raises(bx.autograd.GradcheckError, match="Jacobian mismatch"):
        bx.autograd.gradcheck(wrong, (x,))
    assert bx.autograd.gradcheck(wrong, (x,), raise_exception=False) is False


def test_gradcheck_rejects_float32_inputs():
    x = bx.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        bx.autograd.gradcheck(bx.tanh, (x,))
