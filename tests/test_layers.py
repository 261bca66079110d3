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


@pytest.mark.parametrize("info", LAYERS, ids=[i.name for i in LAYERS])
def test_layer_gradcheck_float64(info):
    module, args = build(info, bx.float64)
    args = [to_bx(a, bx.float64) for a in args]
    wanted = info.grad_inputs if info.grad_inputs is not None else tuple(
        i for i, a in enumerate(args) if isinstance(a, bx.Tensor) and a.is_floating_point())
    for i in wanted:
        args[i].requires_grad_(True)
    params = [p for p in module.parameters() if p.requires_grad]
    leaves = [args[i] for i in wanted] + params

    def fn(*ts):
        call = list(args)
        for i, t in zip(wanted, ts):
            call[i] = t
        return flat_outputs(info, module(*call, **info.kwargs))  # parameters are perturbed in place

    assert bx.autograd.gradcheck(fn, leaves, eps=info.eps, atol=info.gradcheck_atol, rtol=info.gradcheck_rtol)
