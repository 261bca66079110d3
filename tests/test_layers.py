"""Walks the layer registry: every bx.nn layer's forward against a NumPy reference (float32 and
float64) and float64 gradcheck w.r.t. its inputs and all its parameters."""
import zlib

import numpy as np
import pytest

import backpropx as bx
from registry import LAYERS

DTYPES = {"float32": (bx.float32, np.float32), "float64": (bx.float64, np.float64)}


def build(info, dtype):
    bx.manual_seed(zlib.crc32(info.name.encode()))
    module = info.make().to(dtype)
    rng = np.random.default_rng(zlib.crc32(info.name.encode()))
    return module, info.inputs(rng)


def to_bx(a, dtype):
    if isinstance(a, np.ndarray):
        return bx.tensor(a, dtype=dtype) if a.dtype.kind == "f" else bx.tensor(a)
    if isinstance(a, tuple) and a and all(isinstance(x, np.ndarray) for x in a):
        return tuple(to_bx(x, dtype) for x in a)
    return a


def to_np(a, np_dtype):
    if isinstance(a, np.ndarray):
        return a.astype(np_dtype) if a.dtype.kind == "f" else a
    if isinstance(a, tuple) and a and all(isinstance(x, np.ndarray) for x in a):
        return tuple(to_np(x, np_dtype) for x in a)
    return a


def flat_outputs(info, result):
    if info.outputs is not None:
        return list(info.outputs(result))
    if isinstance(result, bx.Tensor):
        return [result]
    out = []
    for r in result:
        out.extend(flat_outputs(info, r) if not isinstance(r, bx.Tensor) else [r])
    return out


def flat_expected(expected):
    if isinstance(expected, (tuple, list)):
        out = []
        for e in expected:
            out.extend(flat_expected(e))
        return out
    return [np.asarray(expected)]


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("info", LAYERS, ids=[i.name for i in LAYERS])
def test_layer_forward_matches_numpy(info, dtype_name):
    bx_dtype, np_dtype = DTYPES[dtype_name]
    module, args = build(info, bx_dtype)
    params = {k: v.numpy() for k, v in module.state_dict().items()}
    got = flat_outputs(info, module(*[to_bx(a, bx_dtype) for a in args], **info.kwargs))
    expected = flat_expected(info.ref(params, *[to_np(a, np_dtype) for a in args], **info.kwargs))
    assert len(got) == len(expected), f"{info.name}: {len(got)} outputs vs {len(expected)} in the reference"
    atol, rtol = (info.atol32, info.rtol32) if dtype_name == "float32" else (info.atol64, info.rtol64)
    for k, (g, e) in enumerate(zip(got, expected)):
        a = g.detach().numpy()
        assert a.shape == e.shape, f"{info.name} output {k}: shape {a.shape} vs reference {e.shape}"
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"{info.name} output {k}")


def float_positions(args, wanted):
    """(arg index, tuple index or None) of every float tensor to differentiate: bare tensor args and the
    tensors inside tuple args (an LSTM's (h0, c0))."""
    out = []
    for i in wanted:
        a = args[i]
        if isinstance(a, bx.Tensor):
            out.append((i, None))
        elif isinstance(a, tuple):
            out.extend((i, j) for j, t in enumerate(a) if isinstance(t, bx.Tensor) and t.is_floating_point())
    return out


def _is_float_input(a):
    if isinstance(a, bx.Tensor):
        return a.is_floating_point()
    return isinstance(a, tuple) and any(isinstance(t, bx.Tensor) and t.is_floating_point() for t in a)


@pytest.mark.parametrize("info", LAYERS, ids=[i.name for i in LAYERS])
def test_layer_gradcheck_float64(info):
    module, args = build(info, bx.float64)
    args = [to_bx(a, bx.float64) for a in args]
    wanted = info.grad_inputs if info.grad_inputs is not None else tuple(
        i for i, a in enumerate(args) if _is_float_input(a))
    positions = float_positions(args, wanted)
    inputs = [args[i] if j is None else args[i][j] for i, j in positions]
    for t in inputs:
        t.requires_grad_(True)
    params = [p for p in module.parameters() if p.requires_grad]
    leaves = inputs + params

    def fn(*ts):
        call = [list(a) if isinstance(a, tuple) else a for a in args]
        for (i, j), t in zip(positions, ts):
            if j is None:
                call[i] = t
            else:
                call[i][j] = t
        call = [tuple(a) if isinstance(a, list) else a for a in call]
        return flat_outputs(info, module(*call, **info.kwargs))  # parameters are perturbed in place

    assert bx.autograd.gradcheck(fn, leaves, eps=info.eps, atol=info.gradcheck_atol, rtol=info.gradcheck_rtol)


# Modules that are not layers of their own: containers (their contents are entries), the base classes.
NOT_LAYERS = {"Module", "Parameter", "ModuleList", "ModuleDict", "RNNBase", "RNNCellBase"}


def test_every_nn_layer_is_in_the_registry():
    covered = set()
    for info in LAYERS:
        bx.manual_seed(0)
        for m in info.make().modules():
            covered.add(type(m).__name__)
    exported = {name for name in dir(bx.nn) if isinstance(getattr(bx.nn, name), type)
                and issubclass(getattr(bx.nn, name), bx.nn.Module)}
    missing = sorted(exported - covered - NOT_LAYERS)
    assert not missing, f"bx.nn layers without a registry entry (tests/registry/): {missing}"
