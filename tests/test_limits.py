"""Sizes and graphs at the edges: shapes whose element or byte count overflows, absurd arguments, a
200,000-op graph torn down, files that are not regular; each raises a clear error or just works, never
crashes. Each risky case runs in a subprocess so a regression shows as a failed test, not a dead suite."""
import os
import subprocess
import sys
import textwrap

import pytest

import backpropx as bx


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import backpropx as bx\n" + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("code, error, words", [
    ("bx.zeros(2**40, 2**40)", "ValueError", "more elements than fit in 64 bits"),
    ("bx.full((2**31, 2**31, 4), 1.0)", "ValueError", "[2147483648, 2147483648, 4]"),
    ("bx.randn(2**62)", "RuntimeError", "too large to allocate"),
    ("bx.arange(2**62)", "RuntimeError", "too large to allocate"),
    ("bx.arange(0, 1e30)", "ValueError", "arange"),
    ("bx.nn.Embedding(2**31, 2**31)", "RuntimeError", "too large to allocate"),
    ("bx.randn(1).expand(2**40, 2**40).sum()", "ValueError", "more elements than fit in 64 bits"),
    ("import backpropx.nn.functional as F\nF.conv1d(bx.randn(2, 3, 8), bx.randn(4, 3, 3), dilation=2**61, "
     "padding=2**62)", "ValueError", "below 2^31"),
])
def test_huge_sizes_raise_instead_of_crashing(code, error, words):
    r = run(code)
    assert r.returncode == 1, f"exit {r.returncode}: {r.stderr[-500:]}"
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(error) and words in last, last


def test_a_long_graph_backprops_and_tears_down_without_recursion():
    r = run("""
        x = bx.randn(1, requires_grad=True)
        y = x
        for _ in range(200000):
            y = y + 1.0
        y.backward()
        print(float(x.grad))
        del y
        print("freed")
    """)
    assert r.returncode == 0, r.stderr[-500:]
    assert r.stdout.split() == ["1.0", "freed"]


def test_load_of_a_fifo_refuses_instead_of_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        bx.load(fifo)


def test_save_refuses_to_replace_a_non_regular_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        bx.save({"a": bx.zeros(2)}, fifo)
    assert fifo.exists() and not fifo.is_file()


def test_save_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.safetensors"
    link = tmp_path / "link.safetensors"
    bx.save({"a": bx.zeros(2)}, target)
    link.symlink_to(target)
    bx.save({"a": bx.ones(3)}, link)
    assert link.is_symlink()
    assert bx.load(target)["a"].tolist() == [1.0, 1.0, 1.0]


def test_malformed_structure_metadata_names_the_file(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    import numpy as np
    path = tmp_path / "bad.safetensors"
    st.save_file({"t": np.zeros(2, np.float32)}, str(path),
                 metadata={"backpropx.structure": '{"version": 1, "root": ["dict", 5]}'})
    with pytest.raises(ValueError, match="bad.safetensors"):
        bx.load(path)


@pytest.mark.parametrize("call, error, words", [
    (lambda: bx.set_num_threads(2 ** 40), ValueError, "between 1 and 4096"),
    (lambda: bx.set_num_threads(1.5), TypeError, "expected an int"),
    (lambda: bx.nn.Conv1d(3, 4, 0), ValueError, "kernel_size"),
    (lambda: bx.nn.LSTM(3, 4)(bx.randn(5, 2, 3), lengths=bx.tensor([[5, 3]])), ValueError, "1-D"),
    (lambda: bx.nn.utils.rnn.pack_padded_sequence(bx.randn(5, 2, 3), []), ValueError, "one length per sequence"),
    (lambda: bx.zeros(2, device="cuda"), RuntimeError, "CPU only"),
    (lambda: bx.nn.Linear(2, 2).to(bx.int64), TypeError, "floating point"),
])
def test_bad_arguments_raise_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_hook_returning_a_non_tensor_raises_type_error():
    x = bx.randn(2, requires_grad=True)
    x.register_hook(lambda g: 3)
    with pytest.raises(TypeError, match="hook must return None or a Tensor, got int"):
        (x * 2).sum().backward()


def test_negative_seed_is_taken_modulo_2_64_as_in_torch():
    bx.manual_seed(-1)
    assert bx.initial_seed() == 2 ** 64 - 1
    a = bx.randn(3).tolist()
    bx.manual_seed(2 ** 64 - 1)
    assert bx.randn(3).tolist() == a


def test_zero_element_layers_initialise_with_a_warning():
    with pytest.warns(UserWarning, match="zero-element"):
        lin = bx.nn.Linear(0, 3)
    assert tuple(lin.weight.shape) == (3, 0)


def test_cpu_device_arguments_are_accepted():
    t = bx.zeros(2, device="cpu").to("cpu", bx.float64)
    assert t.dtype == bx.float64
    assert bx.nn.Linear(2, 2).to("cpu").weight.dtype == bx.float32
