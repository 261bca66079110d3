"""C++ programs that embed the core: the examples in examples/cpp, built with CMake against the installed
package (`python -m backpropx --cmake-dir`) and against a plain `cmake --install` of this repository, and
checked against Python: the walkthrough's gradients against autograd's, predictions from a checkpoint that
Python saved, a classifier trained in C++ and loaded in Python, every C++ nn layer (initial parameters and
outputs and gradients) against Python's, and errors on both sides of the boundary.

The plain-install check builds the core from source (about a minute and a half on two cores); set
BACKPROPX_TEST_SKIP_CMAKE_INSTALL=1 to leave it out of a quick local run. Both builds happen once per session.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest

import backpropx as bx
from backpropx.data import Vocab, WordTokenizer
from backpropx.data.builtin import SENTIMENT
from backpropx.models import BowClassifier

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "cpp"
PROGRAMS = ["train_bow", "predict_bow", "walkthrough", "layers_check"]
JOBS = str(max(1, min(4, os.cpu_count() or 1)))


# ---- building ------------------------------------------------------------------------------------------

def _tools() -> Dict[str, str]:
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed (pip install cmake)")
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler (c++, g++ or clang++; or set CXX)")
    return {"cmake": cmake, "cxx": cxx}


def _run(cmd: List[str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def _generator_args() -> List[str]:
    return ["-G", "Ninja"] if shutil.which("ninja") else []


def _build_examples(build: Path, prefix_path: str) -> Path:
    tools = _tools()
    _run([tools["cmake"], "-S", EXAMPLES, "-B", build, *_generator_args(), f"-DCMAKE_CXX_COMPILER={tools['cxx']}",
          f"-DCMAKE_PREFIX_PATH={prefix_path}", "-DCMAKE_BUILD_TYPE=Release"])
    _run([tools["cmake"], "--build", build, "-j", JOBS])
    for program in PROGRAMS:
        assert (build / program).is_file(), f"{program} was not built in {build}"
    return build


@pytest.fixture(scope="module")
def cmake_dir() -> Path:
    result = _run([sys.executable, "-m", "backpropx", "--cmake-dir"], timeout=120)
    path = Path(result.stdout.strip())
    assert (path / "backpropxConfig.cmake").is_file(), f"no backpropxConfig.cmake in {path}"
    return path


@pytest.fixture(scope="module")
def pip_examples(cmake_dir: Path, tmp_path_factory) -> Path:
    """examples/cpp built against the pip-installed package, found through --cmake-dir only."""
    return _build_examples(tmp_path_factory.mktemp("examples-pip"), str(cmake_dir))


def _fetch_cmeel_eigen(scratch: Path) -> List[str]:
    """cmeel-eigen (Eigen 3.4 from PyPI: what `pip install .` fetches into its build environment) into scratch,
    for a plain build on a machine with neither a system Eigen nor cmeel-eigen in this interpreter."""
    target = scratch / "eigen"
    got = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                          "cmeel-eigen>=3.4"], capture_output=True, text=True, timeout=300)
    if got.returncode != 0 or not (target / "cmeel.prefix").is_dir():
        pytest.skip(f"no Eigen 3.4 for the plain CMake build (no system Eigen, no cmeel-eigen here, and pip could "
                    f"not fetch cmeel-eigen: {got.stderr.strip()[-300:]})")
    return [f"-DCMAKE_PREFIX_PATH={target}"]  # cmake/FindEigenFromPip.cmake looks for <entry>/cmeel.prefix


@pytest.fixture(scope="module")
def installed_prefix(tmp_path_factory) -> Path:
    """The repository built with plain CMake (no Python), without OpenMP and SIMD flags (the other build
    route has both), and installed with `cmake --install` into a fresh prefix."""
    if os.environ.get("BACKPROPX_TEST_SKIP_CMAKE_INSTALL"):
        pytest.skip("BACKPROPX_TEST_SKIP_CMAKE_INSTALL is set")
    tools = _tools()
    scratch = tmp_path_factory.mktemp("plain")
    build, prefix = scratch / "build", scratch / "prefix"

    def configure(extra: List[str]) -> subprocess.CompletedProcess:
        cmd = [tools["cmake"], "-S", REPO, "-B", build, *_generator_args(), f"-DCMAKE_CXX_COMPILER={tools['cxx']}",
               "-DCMAKE_BUILD_TYPE=Release", "-DBACKPROPX_BUILD_TESTS=OFF", "-DBACKPROPX_OPENMP=OFF",
               "-DBACKPROPX_SIMD=none", f"-DPython_EXECUTABLE={sys.executable}", *extra]
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600)

    result = configure([])  # Eigen from cmeel-eigen in this interpreter, or a system Eigen
    if result.returncode != 0 and "Eigen3" in result.stdout + result.stderr:
        shutil.rmtree(build, ignore_errors=True)
        result = configure(_fetch_cmeel_eigen(scratch))
    assert result.returncode == 0, f"configure failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    _run([tools["cmake"], "--build", build, "-j", JOBS, "--target", "backpropx_core"], timeout=900)
    _run([tools["cmake"], "--install", build, "--prefix", prefix])
    return prefix


@pytest.fixture(scope="module")
def plain_examples(installed_prefix: Path, tmp_path_factory) -> Path:
    return _build_examples(tmp_path_factory.mktemp("examples-plain"), str(installed_prefix))


# ---- the package layout -----------------------------------------------------------------------------------

def test_cmake_dir_and_include_dir_point_into_the_installed_package(cmake_dir: Path):
    assert (cmake_dir / "backpropxConfigVersion.cmake").is_file()
    assert (cmake_dir / "backpropxTargets.cmake").is_file()
    include = Path(_run([sys.executable, "-m", "backpropx", "--include-dir"]).stdout.strip())
    assert (include / "backpropx" / "backpropx.h").is_file()
    assert (include / "backpropx" / "nn" / "rnn.h").is_file()
    lib = cmake_dir.parents[1]
    assert (lib / "libbackpropx_core.a").is_file()
    from backpropx import _cmake
    assert Path(_cmake.cmake_dir()) == cmake_dir


def test_public_headers_need_no_eigen_and_no_simd_flags(cmake_dir: Path):
    """Consumers get no Eigen dependency and no -m flags: that is only sound while no public header includes
    Eigen or intrinsics (then nothing whose layout depends on them crosses the boundary)."""
    include = cmake_dir.parents[2] / "include"
    headers = sorted(include.rglob("*.h"))
    assert len(headers) > 20
    for h in headers:
        text = h.read_text()
        assert not re.search(r"#\s*include\s*[<\"](Eigen|unsupported/Eigen|immintrin|x86intrin)", text), h
    targets = (cmake_dir / "backpropxTargets.cmake").read_text()
    assert "Eigen" not in targets
    assert "backpropx::core" in targets


def test_the_program_in_docs_cpp_md_builds_and_learns_xor(cmake_dir: Path, tmp_path: Path):
    doc = (REPO / "docs" / "cpp.md").read_text()
    section = doc[doc.index("## A program, end to end"):]
    program = re.search(r"```cpp\n(.*?)```", section, re.DOTALL).group(1)
    cmakelists = re.search(r"`CMakeLists.txt`:\s*```cmake\n(.*?)```", section, re.DOTALL).group(1)
    (tmp_path / "xor.cpp").write_text(program)
    (tmp_path / "CMakeLists.txt").write_text(cmakelists)
    tools = _tools()
    build = tmp_path / "build"
    _run([tools["cmake"], "-S", tmp_path, "-B", build, *_generator_args(), f"-DCMAKE_CXX_COMPILER={tools['cxx']}",
          f"-DCMAKE_PREFIX_PATH={cmake_dir}", "-DCMAKE_BUILD_TYPE=Release"])
    _run([tools["cmake"], "--build", build])
    result = _run([build / "xor"], cwd=tmp_path)
    assert result.stdout.strip().endswith("tensor([0, 1, 1, 0])"), result.stdout

    class Net(bx.nn.Module):  # the same model in Python reads the C++ checkpoint
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = bx.nn.Linear(2, 8), bx.nn.Linear(8, 2)

        def forward(self, x):
            return self.fc2(bx.tanh(self.fc1(x)))

    net = Net()
    net.load_state_dict(bx.load(tmp_path / "xor.safetensors"))
    x = bx.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    assert bx.argmax(net(x), dim=1).tolist() == [0, 1, 1, 0]


# ---- example 3: the walkthrough ------------------------------------------------------------------------

STEPS = ["dL/dy_hat", "dL/dz2", "dL/dW2", "dL/db2", "dL/dh", "dL/dz1", "dL/dW1", "dL/db1", "dL/dx"]


def _python_walkthrough_grads() -> Dict[str, np.ndarray]:
    f = lambda v: bx.tensor(np.array(v), dtype=bx.float64, requires_grad=True)  # noqa: E731
    x, W1, b1 = f([[0.5, -1.0]]), f([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]), f([0.01, -0.02, 0.03])
    W2, b2 = f([[0.7], [-0.8], [0.9]]), f([0.05])
    z1 = x @ W1 + b1
    h = bx.tanh(z1)
    z2 = h @ W2 + b2
    y_hat = bx.sigmoid(z2)
    for v in (z1, h, z2, y_hat):
        v.retain_grad()
    (0.5 * ((y_hat - bx.tensor([[1.0]], dtype=bx.float64)) ** 2).sum()).backward()
    grads = [y_hat.grad, z2.grad, W2.grad, b2.grad, h.grad, z1.grad, W1.grad, b1.grad, x.grad]
    return {name: g.numpy() for name, g in zip(STEPS, grads)}


def _check_walkthrough(build: Path) -> None:
    result = _run([build / "walkthrough"])
    text = result.stdout
    assert "All gradients agree: yes" in text
    expected = _python_walkthrough_grads()
    for name in STEPS:
        m = re.search(re.escape(f"  {name} ") + r".*?autograd += (tensor\(.*?\))\n +agree += yes", text, re.DOTALL)
        assert m, f"no autograd line for {name} in:\n{text}"
        printed = np.array([float(v) for v in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", m.group(1))])
        np.testing.assert_allclose(printed, expected[name].ravel(), rtol=0, atol=1e-9, err_msg=name)


def test_walkthrough_prints_python_autograds_gradients(pip_examples: Path):
    _check_walkthrough(pip_examples)


# ---- example 2: a checkpoint saved from Python --------------------------------------------------------

SENTENCES = ["the acting was so terrible", "I really enjoyed the main character", "a truly clever film!",
             "", "zzz unknown words only", "the phone was quite horrible, but the camera wasn't"]


def _sentiment_split():
    examples = [line.split("\t", 1) for line in Path(SENTIMENT).read_text(encoding="utf-8").splitlines()
                if "\t" in line]
    return ([e for i, e in enumerate(examples) if i % 10 != 9], [e for i, e in enumerate(examples) if i % 10 == 9])


def _encode(vocab: Vocab, sentences: List[str]) -> bx.Tensor:
    tok = WordTokenizer()
    rows = [[vocab[t] for t in tok.tokenize(s)] for s in sentences]
    width = max([1] + [len(r) for r in rows])
    return bx.tensor(np.array([r + [0] * (width - len(r)) for r in rows], dtype=np.int64).reshape(len(rows), width))


def _write_model_dir(d: Path, model: BowClassifier, vocab: Vocab, labels: List[str]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    bx.save(model.state_dict(), d / "model.safetensors")
    (d / "vocab.txt").write_text("".join(t + "\n" for t in vocab.itos), encoding="utf-8")
    (d / "labels.txt").write_text("".join(l + "\n" for l in labels), encoding="utf-8")


def _python_model_dir(d: Path):
    train, _ = _sentiment_split()
    tok = WordTokenizer()
    vocab = Vocab.build([tok.tokenize(t) for _, t in train])
    labels = sorted({label for label, _ in train})
    bx.manual_seed(3)
    model = BowClassifier(len(vocab), len(labels), embed_dim=16, hidden=8)
    _write_model_dir(d, model, vocab, labels)
    return model, vocab, labels


def _parse_predictions(stdout: str):
    rows = [line.split("\t") for line in stdout.splitlines()]
    return [r[0] for r in rows], np.array([[float(v) for v in r[1].split()] for r in rows]), [r[2] for r in rows]


def _check_predictions(build: Path, d: Path, model: BowClassifier, vocab: Vocab, labels: List[str]) -> None:
    result = _run([build / "predict_bow", d, *SENTENCES])
    predicted, logits, echoed = _parse_predictions(result.stdout)
    assert echoed == SENTENCES
    model.eval()
    with bx.no_grad():
        expected = model(_encode(vocab, SENTENCES)).numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    assert predicted == [labels[i] for i in expected.argmax(1)]


def test_predictions_from_a_python_checkpoint_match_python(pip_examples: Path, tmp_path: Path):
    model, vocab, labels = _python_model_dir(tmp_path / "model")
    _check_predictions(pip_examples, tmp_path / "model", model, vocab, labels)


def test_sentences_on_stdin(pip_examples: Path, tmp_path: Path):
    model, vocab, labels = _python_model_dir(tmp_path / "model")
    result = subprocess.run([str(pip_examples / "predict_bow"), str(tmp_path / "model")], input="a clever film\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\ta clever film\n")


# ---- example 1: train in C++, load in Python ---------------------------------------------------------

def test_classifier_trained_in_cpp_loads_in_python_with_the_same_accuracy(pip_examples: Path, tmp_path: Path):
    out = tmp_path / "run"
    out.mkdir()
    result = _run([pip_examples / "train_bow", SENTIMENT, out, "8"])
    assert re.search(r"epoch  8  loss", result.stdout), result.stdout
    cpp_accuracy = float(re.search(r"valid accuracy ([\d.]+)", result.stdout).group(1))
    assert cpp_accuracy > 0.75, result.stdout

    train, valid = _sentiment_split()
    tok = WordTokenizer()
    python_vocab = Vocab.build([tok.tokenize(t) for _, t in train])
    cpp_vocab = (out / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert cpp_vocab == python_vocab.itos  # C++ tokenizes and orders the vocabulary as Python
    labels = (out / "labels.txt").read_text().split()
    assert labels == sorted({label for label, _ in train})

    model = BowClassifier(len(cpp_vocab), len(labels))  # the example's sizes: 64, 64
    model.load_state_dict(bx.load(out / "model.safetensors"))
    model.eval()
    with bx.no_grad():
        predicted = model(_encode(python_vocab, [t for _, t in valid])).numpy().argmax(1)
    accuracy = float(np.mean([labels[p] == label for p, (label, _) in zip(predicted, valid)]))
    assert abs(accuracy - cpp_accuracy) < 1e-6


# ---- errors cross the boundary ---------------------------------------------------------------------------

def test_errors_are_backpropx_errors_in_cpp_and_the_matching_exceptions_in_python(pip_examples: Path,
                                                                                    tmp_path: Path):
    model, vocab, labels = _python_model_dir(tmp_path / "model")
    path = tmp_path / "model" / "model.safetensors"
    state = model.state_dict()
    del state["out.bias"]
    bx.save(state, path)
    result = subprocess.run([str(pip_examples / "predict_bow"), str(tmp_path / "model"), "hi"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "RuntimeError: Error(s) in loading state_dict for BowClassifier:" in result.stderr
    assert "missing keys: out.bias" in result.stderr
    with pytest.raises(RuntimeError, match="missing keys: out.bias"):
        model.load_state_dict(bx.load(path))

    path.write_bytes(path.read_bytes()[:40])  # truncated
    result = subprocess.run([str(pip_examples / "predict_bow"), str(tmp_path / "model"), "hi"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("IOError: ")
    with pytest.raises(OSError) as python_error:
        bx.load(path)
    assert str(python_error.value) in result.stderr  # the same C++ exception, on both sides


# ---- every C++ layer against Python's ------------------------------------------------------------------

def _layer_cases():
    nn = bx.nn
    rs = lambda seed: np.random.RandomState(seed)  # noqa: E731
    f32 = lambda a: bx.tensor(np.asarray(a, dtype=np.float32))  # noqa: E731

    def causal(n):
        return nn.Transformer.generate_square_subsequent_mask(n)

    def kpm(r, n, s):
        m = r.rand(n, s) < 0.3
        m[:, 0] = False  # every query keeps a key
        return bx.tensor(m)

    cases = []

    r = rs(1)
    cases.append(("linear", 1, lambda: nn.Linear(5, 3),
                  {"in.x": f32(r.randn(4, 5)), "const.r.out": f32(r.randn(4, 3))},
                  lambda m, x: {"out": m(x["in.x"])}))
    r = rs(2)
    cases.append(("embedding", 2, lambda: nn.Embedding(10, 4, padding_idx=0),
                  {"const.ids": bx.tensor(np.array([[1, 0, 3], [9, 9, 2]])), "const.r.out": f32(r.randn(2, 3, 4))},
                  lambda m, x: {"out": m(x["const.ids"])}))
    r = rs(3)
    cases.append(("lstm", 3, lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
                  {"in.x": f32(r.randn(3, 5, 4)), "in.h0": f32(r.randn(4, 3, 6)), "in.c0": f32(r.randn(4, 3, 6)),
                   "const.lengths": bx.tensor(np.array([5, 3, 1])), "const.r.out": f32(r.randn(3, 5, 12)),
                   "const.r.h_n": f32(r.randn(4, 3, 6)), "const.r.c_n": f32(r.randn(4, 3, 6))},
                  lambda m, x: dict(zip(["out", "h_n", "c_n"], _flat(m(x["in.x"], (x["in.h0"], x["in.c0"]),
                                                                         lengths=x["const.lengths"]))))))
    r = rs(4)
    cases.append(("gru", 4, lambda: nn.GRU(4, 5),
                  {"in.x": f32(r.randn(6, 2, 4)), "in.h0": f32(r.randn(1, 2, 5)), "const.r.out": f32(r.randn(6, 2, 5)),
                   "const.r.h_n": f32(r.randn(1, 2, 5))},
                  lambda m, x: dict(zip(["out", "h_n"], m(x["in.x"], x["in.h0"])))))
    r = rs(5)
    cases.append(("mha", 5, lambda: nn.MultiheadAttention(8, 2, batch_first=True),
                  {"in.q": f32(r.randn(2, 3, 8)), "in.k": f32(r.randn(2, 4, 8)), "in.v": f32(r.randn(2, 4, 8)),
                   "const.key_padding_mask": kpm(r, 2, 4), "const.r.out": f32(r.randn(2, 3, 8))},
                  lambda m, x: dict(zip(["out", "weights"], m(x["in.q"], x["in.k"], x["in.v"],
                                                               key_padding_mask=x["const.key_padding_mask"])))))
    r = rs(6)
    mask = r.rand(3, 4) < 0.3
    mask[:, 0] = False
    cases.append(("mha_kv", 6, lambda: nn.MultiheadAttention(8, 2, kdim=6, vdim=5, add_bias_kv=True, add_zero_attn=True),
                  {"in.q": f32(r.randn(3, 2, 8)), "in.k": f32(r.randn(4, 2, 6)), "in.v": f32(r.randn(4, 2, 5)),
                   "const.attn_mask": bx.tensor(mask), "const.r.out": f32(r.randn(3, 2, 8))},
                  lambda m, x: dict(zip(["out", "weights"], m(x["in.q"], x["in.k"], x["in.v"],
                                                               attn_mask=x["const.attn_mask"],
                                                               average_attn_weights=False)))))
    r = rs(7)
    cases.append(("encoder_layer", 7, lambda: nn.TransformerEncoderLayer(8, 2, 16, 0.0),
                  {"in.src": f32(r.randn(5, 2, 8)), "const.src_mask": causal(5),
                   "const.src_key_padding_mask": kpm(r, 2, 5), "const.r.out": f32(r.randn(5, 2, 8))},
                  lambda m, x: {"out": m(x["in.src"], src_mask=x["const.src_mask"],
                                         src_key_padding_mask=x["const.src_key_padding_mask"])}))
    r = rs(8)
    cases.append(("decoder_layer", 8,
                  lambda: nn.TransformerDecoderLayer(8, 2, 16, 0.0, activation="gelu", batch_first=True,
                                                     norm_first=True),
                  {"in.tgt": f32(r.randn(2, 4, 8)), "in.memory": f32(r.randn(2, 5, 8)), "const.tgt_mask": causal(4),
                   "const.r.out": f32(r.randn(2, 4, 8))},
                  lambda m, x: {"out": m(x["in.tgt"], x["in.memory"], tgt_mask=x["const.tgt_mask"])}))
    r = rs(9)
    cases.append(("encoder", 9,
                  lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0), 2, norm=nn.LayerNorm(8)),
                  {"in.src": f32(r.randn(5, 2, 8)), "const.r.out": f32(r.randn(5, 2, 8))},
                  lambda m, x: {"out": m(x["in.src"])}))
    return cases


def _flat(result):
    out, (h, c) = result
    return [out, h, c]


def test_cpp_layers_start_and_compute_as_pythons(pip_examples: Path, tmp_path: Path):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    out_dir.mkdir()
    python = {}
    for name, seed, make, inputs, forward in _layer_cases():
        bx.manual_seed(seed)
        layer = make()
        bx.save(layer.state_dict(), in_dir / f"{name}.params.safetensors")
        bx.save(inputs, in_dir / f"{name}.inputs.safetensors")
        x = {k: (v.detach().requires_grad_(True) if k.startswith("in.") else v) for k, v in inputs.items()}
        outputs = forward(layer, x)
        loss = sum((o * x[f"const.r.{k}"]).sum() for k, o in outputs.items() if f"const.r.{k}" in x)
        loss.backward()
        expected = {k: v.detach().numpy() for k, v in outputs.items()}
        expected.update({f"grad.{k}": p.grad.numpy() for k, p in layer.named_parameters() if p.grad is not None})
        expected.update({f"grad.{k}": v.grad.numpy() for k, v in x.items() if k.startswith("in.")})
        python[name] = (layer, expected)

    result = _run([pip_examples / "layers_check", in_dir, out_dir])
    for name, (layer, expected) in python.items():
        init = bx.load(out_dir / f"{name}.init.safetensors")
        own = layer.state_dict()  # still Python's initial values: nothing updated them
        assert list(init) == list(own), name  # torch's names, in torch's order
        for key, value in init.items():  # the same default initialisation, bit for bit
            assert np.array_equal(value.numpy(), own[key].numpy()), f"{name}: initial {key} differs"
        got = {k: v.numpy() for k, v in bx.load(out_dir / f"{name}.out.safetensors").items()}
        assert sorted(got) == sorted(expected), name
        for key, value in expected.items():
            np.testing.assert_allclose(got[key], value, rtol=1e-4, atol=2e-5, err_msg=f"{name}: {key}")
    assert "encoder " in result.stdout

    # the optimizers, schedules and clipping: four steps of Linear(5, 3) each, as layers_check runs them
    O, S = bx.optim, bx.optim.lr_scheduler
    configs = {
        "sgd": (lambda p: O.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                lambda o: S.StepLR(o, 2, 0.5)),
        "adam": (lambda p: O.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1), lambda o: S.InverseSqrt(o, 2)),
        "adamw": (lambda p: O.AdamW(p, lr=0.01, weight_decay=0.1), lambda o: S.LinearWarmupCosine(o, 2, 5, 1e-4)),
        "rmsprop": (lambda p: O.RMSprop(p, lr=0.01, momentum=0.5, centered=True), lambda o: S.ExponentialLR(o, 0.9)),
        "adagrad": (lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
                    lambda o: S.LambdaLR(o, lambda s: 1.0 / (1.0 + s))),
    }
    inputs = bx.load(in_dir / "linear.inputs.safetensors")
    for name, (make_opt, make_sched) in configs.items():
        layer = bx.nn.Linear(5, 3)
        layer.load_state_dict(bx.load(in_dir / "linear.params.safetensors"))
        opt = make_opt(layer.parameters())
        sched = make_sched(opt)
        got = bx.load(out_dir / f"optim_{name}.out.safetensors")
        for k in range(1, 5):
            loss = (layer(inputs["in.x"]) * inputs["const.r.out"]).sum()
            opt.zero_grad()
            loss.backward()
            norm = bx.nn.utils.clip_grad_norm_(layer.parameters(), 1.0).item()
            assert got[f"lr{k}"].item() == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15), (name, k)
            assert got[f"norm{k}"].item() == pytest.approx(norm, rel=1e-5), (name, k)
            opt.step()
            sched.step()
            for p in ("weight", "bias"):
                np.testing.assert_allclose(got[f"step{k}.{p}"].numpy(), getattr(layer, p).detach().numpy(),
                                           rtol=1e-5, atol=1e-6, err_msg=f"{name} step {k} {p}")


# ---- the plain CMake route: cmake --install of the repository, no Python -----------------------------------

def test_plain_cmake_install_layout(installed_prefix: Path):
    assert (installed_prefix / "include" / "backpropx" / "backpropx.h").is_file()
    libs = list(installed_prefix.glob("lib*/libbackpropx_core.a"))
    assert libs, list(installed_prefix.rglob("*"))
    config = libs[0].parent / "cmake" / "backpropx" / "backpropxConfig.cmake"
    assert config.is_file()
    assert "set(backpropx_OPENMP OFF)" in config.read_text()


def test_examples_against_a_plain_cmake_install(plain_examples: Path, tmp_path: Path):
    _check_walkthrough(plain_examples)
    model, vocab, labels = _python_model_dir(tmp_path / "model")
    _check_predictions(plain_examples, tmp_path / "model", model, vocab, labels)
    result = _run([plain_examples / "train_bow", SENTIMENT, tmp_path, "2"])
    assert "epoch  2  loss" in result.stdout
