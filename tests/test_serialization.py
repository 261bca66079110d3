"""bx.save / bx.load: safetensors files written and read by the C++ core; bit-exact round trips, interop with the
safetensors package (and torch when installed), atomic writes, and clear errors for every kind of bad file."""
import json
import os
import struct
import subprocess
import sys
import textwrap
from collections import OrderedDict

import numpy as np
import pytest

import backpropx as bx
from backpropx.serialization import load, save

st_numpy = pytest.importorskip("safetensors.numpy")


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def sample_tensors():
    rng = np.random.default_rng(0)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38, 1.0], dtype=np.float32)
    big = rng.standard_normal((6, 5))
    return OrderedDict([
        ("f32", bx.tensor(rng.standard_normal((3, 4)).astype(np.float32))),
        ("f32_special", bx.from_numpy(specials)),
        ("f64", bx.tensor(rng.standard_normal((2, 3, 2)))),
        ("f64_special", bx.tensor(np.array([np.nan, 5e-324, -np.inf, 1.7976931348623157e308]))),
        ("i64", bx.tensor(np.array([[-(2 ** 63), 2 ** 63 - 1], [0, -1]], dtype=np.int64))),
        ("bool", bx.tensor(np.array([[True, False, True]]))),
        ("scalar", bx.tensor(2.5)),
        ("scalar_i64", bx.tensor(7)),
        ("empty", bx.zeros(0, 3)),
        ("empty_i64", bx.tensor(np.zeros((2, 0), dtype=np.int64))),
        ("transposed", bx.tensor(big).t()),
        ("strided", bx.tensor(big)[::2, 1::2]),
    ])


def test_round_trip_is_bit_exact(tmp_path):
    tensors = sample_tensors()
    assert not tensors["transposed"].is_contiguous() and not tensors["strided"].is_contiguous()
    path = tmp_path / "t.safetensors"
    save(tensors, path)
    back = load(path)
    assert list(back) == list(tensors)  # file order kept
    for name, t in tensors.items():
        got = back[name]
        assert got.dtype == t.dtype and tuple(got.shape) == tuple(t.shape), name
        assert got.is_contiguous() or got.numel() == 0
        assert same_bits(got.numpy(), np.array(t.numpy(), order="C")), name
    assert [p.name for p in tmp_path.iterdir()] == ["t.safetensors"]  # no temporary file left


def test_readable_by_the_safetensors_package(tmp_path):
    tensors = sample_tensors()
    path = tmp_path / "t.safetensors"
    save(tensors, path)
    loaded = st_numpy.load_file(str(path))
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert same_bits(loaded[name], np.array(t.numpy(), order="C")), name
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0  # header padded so the data is 8-byte aligned
    header = json.loads(raw[8:8 + n])
    assert header["f32"]["dtype"] == "F32" and header["bool"]["dtype"] == "BOOL" and header["i64"]["dtype"] == "I64"
    assert header["scalar"]["shape"] == [] and header["__metadata__"]["format"] == "pt"


def test_files_written_by_safetensors_numpy_load(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"w": rng.standard_normal((3, 2)).astype(np.float32), "d": rng.standard_normal(4),
              "ids": np.array([1, -2, 3], dtype=np.int64), "mask": np.array([True, False]),
              "i32": np.array([-5, 2 ** 31 - 1], dtype=np.int32), "u8": np.array([0, 255], dtype=np.uint8),
              "i8": np.array([-128, 127], dtype=np.int8), "s": np.array(1.5, dtype=np.float32)}
    path = tmp_path / "np.safetensors"
    st_numpy.save_file(arrays, str(path), metadata={"note": "from numpy"})
    back = load(path)
    for k in ("w", "d", "ids", "mask", "s"):
        assert same_bits(back[k].numpy(), arrays[k]), k
    for k in ("i32", "u8", "i8"):  # narrow integers widen to int64
        assert back[k].dtype == bx.int64
        np.testing.assert_array_equal(back[k].numpy(), arrays[k].astype(np.int64))


def test_float16_files_raise_a_clear_type_error(tmp_path):
    path = tmp_path / "half.safetensors"
    st_numpy.save_file({"h": np.ones(3, dtype=np.float16)}, str(path))
    with pytest.raises(TypeError, match=r"half\.safetensors.*F16"):
        load(path)


def test_model_state_dict_round_trip(tmp_path):
    bx.manual_seed(0)
    model = bx.nn.Sequential(bx.nn.Linear(4, 8), bx.nn.Tanh(), bx.nn.Linear(8, 3))
    x = bx.randn(5, 4)
    want = model(x).detach().numpy()
    save(model.state_dict(), tmp_path / "m.safetensors")
    bx.manual_seed(1)
    other = bx.nn.Sequential(bx.nn.Linear(4, 8), bx.nn.Tanh(), bx.nn.Linear(8, 3))
    assert not np.array_equal(other(x).detach().numpy(), want)
    other.load_state_dict(load(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(other(x).detach().numpy(), want)


def test_nested_structures_round_trip(tmp_path):
    t1, t2, t3 = bx.tensor([1.0, 2.0]), bx.tensor([[3]]), bx.tensor([True])
    obj = {"state": {0: {"step": 3, "exp_avg": t1}, 1: {"momentum_buffer": None}},
           "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False,
                             "name": "enc", "best": float("inf"), "worst": float("-inf"), "nan": float("nan")}],
           "od": OrderedDict([("b", 1), ("a", [t2, (t3, 2.5)])]),
           (1, 2): "tuple key", 2.5: "float key", None: "none key", "big": 2 ** 70,
           "a.b": bx.tensor([5.0]), "a": {"b": bx.tensor([6.0])}}  # dotted names that collide
    save(obj, tmp_path / "n.safetensors")
    back = load(tmp_path / "n.safetensors")
    assert back["state"][0]["step"] == 3 and isinstance(back["state"][0]["step"], int)
    np.testing.assert_array_equal(back["state"][0]["exp_avg"].numpy(), [1.0, 2.0])
    assert back["state"][1] == {"momentum_buffer": None}
    g = back["param_groups"][0]
    assert g["betas"] == (0.9, 0.999) and g["params"] == [0, 1] and g["nesterov"] is False and g["name"] == "enc"
    assert g["best"] == float("inf") and g["worst"] == float("-inf") and g["nan"] != g["nan"]
    assert isinstance(back["od"], OrderedDict) and list(back["od"]) == ["b", "a"]
    assert back["od"]["a"][0].dtype == bx.int64 and back["od"]["a"][1][1] == 2.5
    assert back["od"]["a"][1][0].dtype == bx.bool
    assert back[(1, 2)] == "tuple key" and back[2.5] == "float key" and back[None] == "none key"
    assert back["big"] == 2 ** 70
    assert back["a.b"].item() == 5.0 and back["a"]["b"].item() == 6.0
    names = set(st_numpy.load_file(str(tmp_path / "n.safetensors")))
    assert names == {"state.0.exp_avg", "od.a.0", "od.a.1.0", "a.b", "a.b#2"}


def test_top_level_tensor_and_list(tmp_path):
    save(bx.tensor([1, 2, 3]), tmp_path / "t.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "t.safetensors").numpy(), [1, 2, 3])
    save([bx.tensor(1.0), 2], tmp_path / "l.safetensors")
    back = load(tmp_path / "l.safetensors")
    assert back[0].item() == 1.0 and back[1] == 2


def test_unsupported_values_and_paths():
    with pytest.raises(TypeError, match="set"):
        save({"x": {1, 2}}, "/tmp/never-written.safetensors")
    assert not os.path.exists("/tmp/never-written.safetensors")
    with pytest.raises(TypeError, match="path"):
        save({}, object())
    with pytest.raises(ValueError):
        load("x.safetensors", map_location="cuda")


# ---- atomic writes ------------------------------------------------------------------------------------

def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": bx.tensor([1.0])}, path)
    old = path.read_bytes()
    with pytest.raises(TypeError):  # fails before writing
        save({"w": bx.tensor([2.0]), "x": object()}, path)
    assert path.read_bytes() == old
    target_dir = tmp_path / "a_directory.safetensors"
    target_dir.mkdir()
    with pytest.raises(OSError, match="a_directory"):  # the rename over a directory fails after writing
        save({"w": bx.tensor([2.0])}, target_dir)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_directory.safetensors", "ckpt.safetensors"]
    with pytest.raises(OSError, match="no_such_dir"):
        save({"w": bx.tensor([2.0])}, tmp_path / "no_such_dir" / "x.safetensors")


def test_save_interrupted_by_a_full_disk_keeps_the_old_file(tmp_path):
    # A child process limits its file size to 64 KiB (writes past it fail with EFBIG) and saves 400 KB.
    path = tmp_path / "ckpt.safetensors"
    save({"w": bx.tensor([1.0, 2.0])}, path)
    old = path.read_bytes()
    code = textwrap.dedent(f"""
        import resource, signal, sys
        import backpropx as bx
        from backpropx.serialization import save
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        try:
            save({{"w": bx.zeros(100000)}}, {str(path)!r})
        except OSError as e:
            print("OSError:", e)
            sys.exit(0)
        sys.exit(3)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ckpt.safetensors" in r.stdout
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]


# ---- bad files -----------------------------------------------------------------------------------------

def write_file(path, header, data=b"", header_len=None, pad=True):
    body = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        body += b" " * (-len(body) % 8)
    n = len(body) if header_len is None else header_len
    path.write_bytes(struct.pack("<Q", n) + body + data)
    return path


def entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


BAD_FILES = {
    "empty": (lambda p: p.write_bytes(b""), OSError, "shorter"),
    "short": (lambda p: p.write_bytes(b"\x01\x02\x03"), OSError, "shorter"),
    "header_over_cap": (lambda p: write_file(p, {}, header_len=200 * 1024 * 1024), OSError, "exceeds"),
    "header_past_eof": (lambda p: write_file(p, {"a": entry()}, header_len=4096), OSError, "truncated"),
    "header_len_huge": (lambda p: p.write_bytes(b"\xff" * 8 + b"{}"), OSError, "exceeds"),
    "not_json": (lambda p: write_file(p, b"{not json"), OSError, "corrupt header"),
    "not_an_object": (lambda p: write_file(p, [1, 2]), OSError, "object"),
    "trailing_garbage": (lambda p: write_file(p, b'{"a": 1} x', pad=False), OSError, "corrupt header"),
    "unterminated": (lambda p: write_file(p, b'{"a": "abc', pad=False), OSError, "unterminated"),
    "deep_nesting": (lambda p: write_file(p, b"[" * 100000), OSError, "nesting"),
    "duplicate_keys": (lambda p: write_file(p, b'{"a": {}, "a": {}}', pad=False), OSError, "duplicate"),
    "missing_fields": (lambda p: write_file(p, {"a": {"dtype": "F32"}}), OSError, "data_offsets"),
    "entry_not_object": (lambda p: write_file(p, {"a": 3}), OSError, "not an object"),
    "truncated_data": (lambda p: write_file(p, {"a": entry(shape=(4,), offsets=(0, 16))}, b"\0" * 8), OSError,
                       "past the end"),
    "offsets_past_data": (lambda p: write_file(p, {"a": entry(offsets=(8, 16))}, b"\0" * 8), OSError,
                          "past the end"),
    "overlap": (lambda p: write_file(p, {"a": entry(offsets=(0, 8)), "b": entry(offsets=(4, 12))}, b"\0" * 12),
                OSError, "overlap"),
    "size_mismatch": (lambda p: write_file(p, {"a": entry(shape=(3,), offsets=(0, 8))}, b"\0" * 12), OSError,
                      "needs 12 bytes"),
    "reversed_offsets": (lambda p: write_file(p, {"a": entry(offsets=(8, 0))}, b"\0" * 8), OSError, "end before"),
    "negative_shape": (lambda p: write_file(p, {"a": entry(shape=(-2,))}, b"\0" * 8), OSError, "non-negative"),
    "float_shape": (lambda p: write_file(p, {"a": entry(shape=(2.0,))}, b"\0" * 8), OSError, "non-negative"),
    "huge_shape": (lambda p: write_file(p, {"a": entry(shape=(2 ** 40, 2 ** 40))}, b"\0" * 8), OSError,
                   "impossibly large"),
    "huge_offset": (lambda p: write_file(p, {"a": entry(offsets=(2 ** 63, 2 ** 63 + 8))}), OSError,
                    "past the end"),
    "unknown_dtype": (lambda p: write_file(p, {"a": entry(dtype="Q99")}, b"\0" * 8), TypeError, "unknown dtype"),
    "bf16": (lambda p: write_file(p, {"a": entry(dtype="BF16", offsets=(0, 4))}, b"\0" * 4), TypeError, "BF16"),
    "dtype_not_string": (lambda p: write_file(p, {"a": entry(dtype=4)}, b"\0" * 8), OSError, "dtype"),
    "metadata_not_strings": (lambda p: write_file(p, {"__metadata__": {"k": 1}}), OSError, "__metadata__"),
    "bad_structure": (lambda p: write_file(p, {"__metadata__": {"backpropx.structure": "{oops"}}), ValueError,
                      "structure"),
    "structure_missing_tensor": (lambda p: write_file(p, {"__metadata__": {"backpropx.structure": json.dumps(
        {"version": "1", "root": {"tensor": "nope"}})}}), ValueError, "nope"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_raise_clear_errors(case, tmp_path):
    make, error, words = BAD_FILES[case]
    path = tmp_path / f"bad_{case}.safetensors"
    make(path)
    with pytest.raises(error) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message, message
    assert words in message, message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(OSError, match="missing.safetensors"):
        load(tmp_path / "missing.safetensors")
    with pytest.raises(OSError, match="not a regular file"):
        load(tmp_path)


def test_lenient_about_unusual_but_valid_headers(tmp_path):
    # unicode names and escapes, extra fields, an empty tensor anywhere, bool bytes other than 0/1
    header = {"\u00e9t\u00e9 \"q\"\n": entry(offsets=(0, 8)), "e": entry(shape=(0,), offsets=(0, 0)),
              "b": {"dtype": "BOOL", "shape": [2], "data_offsets": [8, 10], "extra": [1, {"x": None}]}}
    data = struct.pack("<2f", 1.5, -2.0) + b"\x00\x07"
    path = write_file(tmp_path / "u.safetensors", header, data)
    back = load(path)
    np.testing.assert_array_equal(back["\u00e9t\u00e9 \"q\"\n"].numpy(), [1.5, -2.0])
    assert back["e"].numel() == 0
    np.testing.assert_array_equal(back["b"].numpy(), [False, True])


def test_torch_interop(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    st_torch.save_file(tmodel.state_dict(), str(tmp_path / "torch.safetensors"))
    model = bx.nn.Sequential(bx.nn.Linear(4, 6), bx.nn.Tanh(), bx.nn.Linear(6, 2)).double()
    model.load_state_dict(load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(model(bx.tensor(x)).detach().numpy(),
                               tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    save(model.state_dict(), tmp_path / "bx.safetensors")
    loaded = st_torch.load_file(str(tmp_path / "bx.safetensors"))
    for k, v in tmodel.state_dict().items():
        assert torch.equal(loaded[k], v), k
