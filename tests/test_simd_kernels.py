"""Both copies of the SIMD kernels (the build's baseline SIMD and AVX-512, picked at run time) give the
same results: the registry's ops that run on them (matrix products, conv1d, RNNs, attention,
cross_entropy), forward against NumPy and gradcheck, under each copy this CPU can run; and the choice
itself (bx.set_simd_kernels, BACKPROPX_KERNELS)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import backpropx as bx
import test_registry as reg

SIMD_OPS = {"matmul", "mm", "bmm", "linear", "lstm_layer", "gru_layer", "rnn_tanh_layer", "lstm_cell", "gru_cell",
            "scaled_dot_product_attention", "conv1d", "cross_entropy", "functional.cross_entropy"}
SIMD_CASES = [c for c in reg.CASES if c.values[0].name in SIMD_OPS]
SIMD_GRAD_CASES = [c for c in SIMD_CASES if c.values[0].differentiable]


def runnable_kernels():
    names = ["baseline"]
    before = bx.simd_kernels()
    try:
        bx.set_simd_kernels("avx512")
        names.append("avx512")
    except ValueError:
        pass
    bx.set_simd_kernels(before)
    return names


KERNELS = runnable_kernels()


@pytest.fixture(params=KERNELS)
def kernel(request):
    before = bx.simd_kernels()
    bx.set_simd_kernels(request.param)
    assert bx.simd_kernels() == request.param
    yield request.param
    bx.set_simd_kernels(before)


@pytest.mark.parametrize("dtype_name", list(reg.DTYPES))
@pytest.mark.parametrize("info,sample", SIMD_CASES)
def test_forward_matches_numpy_under_each_kernel(kernel, info, sample, dtype_name):
    reg.test_forward_matches_numpy(info, sample, dtype_name)


@pytest.mark.parametrize("info,sample", SIMD_GRAD_CASES)
def test_gradcheck_under_each_kernel(kernel, info, sample):
    reg.test_gradcheck_float64(info, sample)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 5, 7), (37, 300, 129), (257, 64, 513), (400, 1000, 200)])
def test_large_products_agree_with_numpy(kernel, shape, threads):
    m, k, n = shape
    rng = np.random.default_rng(m * n + k)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    before = bx.get_num_threads()
    bx.set_num_threads(threads)
    try:
        for dt in (np.float32, np.float64):
            ta, tb = bx.tensor(a.astype(dt)), bx.tensor(b.astype(dt))
            expected = a @ b
            tol = 1e-4 * np.sqrt(k) if dt == np.float32 else 1e-12 * np.sqrt(k)
            np.testing.assert_allclose((ta @ tb).numpy(), expected, atol=tol, rtol=tol)
            np.testing.assert_allclose((tb.t() @ ta.t()).numpy(), expected.T, atol=tol, rtol=tol)
    finally:
        bx.set_num_threads(before)


def test_an_unknown_kernel_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="expected 'auto', 'baseline' or 'avx512', got 'sse9'"):
        bx.set_simd_kernels("sse9")
    with pytest.raises(TypeError, match="expected a str"):
        bx.set_simd_kernels(2)


def test_auto_prefers_avx512_where_the_cpu_runs_it():
    before = bx.simd_kernels()
    bx.set_simd_kernels("auto")
    assert bx.simd_kernels() == KERNELS[-1]
    assert f"SIMD kernels: {KERNELS[-1]}" in bx.build_info()
    bx.set_simd_kernels(before)


def test_the_environment_variable_sets_the_start_up_kernel():
    code = "import backpropx as bx; print(bx.simd_kernels())"
    env = dict(os.environ, BACKPROPX_KERNELS="baseline")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "baseline"


def test_an_unusable_environment_choice_warns_and_falls_back_to_auto():
    code = "import backpropx as bx; print(bx.simd_kernels())"
    env = dict(os.environ, BACKPROPX_KERNELS="sse9")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == KERNELS[-1]
    assert "BACKPROPX_KERNELS=sse9 is not available here" in out.stderr
