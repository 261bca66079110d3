"""Bad input raises a Python exception that names the op and the shapes; nothing crashes."""
import numpy as np
import pytest

import backpropx as bx
import backpropx.nn.functional as F


def f32(*shape):
    return bx.randn(*shape)


# (call, exception type, words the message must contain)
CASES = [
    # shape mismatches
    (lambda: f32(2, 3) + f32(4, 3), ValueError, ["add", "[2, 3]", "[4, 3]"]),
    (lambda: bx.mul(f32(2, 3), f32(2)), ValueError, ["mul", "[2, 3]", "[2]"]),
    (lambda: bx.where(f32(2) > 0, f32(3), f32(3)), ValueError, ["where", "[2]", "[3]"]),
    (lambda: f32(2, 3) @ f32(4, 5), ValueError, ["matmul", "[2, 3]", "[4, 5]"]),
    (lambda: bx.mm(f32(2, 3, 4), f32(4, 5)), ValueError, ["mm", "[2, 3, 4]"]),
    (lambda: F.linear(f32(2, 3), f32(4, 5)), ValueError, ["linear", "[2, 3]", "[4, 5]"]),
    (lambda: F.linear(f32(2, 3), f32(4, 3), f32(5)), ValueError, ["linear", "[5]"]),
    (lambda: bx.cat([f32(2, 3), f32(2, 4)]), ValueError, ["cat", "[2, 3]", "[2, 4]"]),
    (lambda: bx.stack([f32(2, 3), f32(3, 2)]), ValueError, ["stack", "[2, 3]", "[3, 2]"]),
    (lambda: f32(2, 3).reshape(4, 2), ValueError, ["reshape", "[4, 2]", "[2, 3]"]),
    (lambda: f32(2, 3).expand(4, 5), ValueError, ["expand", "[2, 3]"]),
    (lambda: bx.split(f32(5, 2), [2, 2]), ValueError, ["split", "[5, 2]"]),
    (lambda: F.cross_entropy(f32(4, 3), bx.tensor([0, 1, 2])), ValueError, ["cross_entropy", "[4, 3]", "[3]"]),
    (lambda: F.mse_loss(f32(2, 3), f32(4, 3)), ValueError, ["mse_loss", "[2, 3]", "[4, 3]"]),
    (lambda: F.layer_norm(f32(2, 3), (4,)), ValueError, ["layer_norm", "[2, 3]", "[4]"]),
    (lambda: bx.masked_fill(f32(2, 3), f32(4) > 0, 0.0), ValueError, ["masked_fill", "[4]", "[2, 3]"]),
    # dtype mismatches and wrong dtypes
    (lambda: f32(2, 3) @ bx.randn(3, 2, dtype=bx.float64), TypeError, ["matmul", "float32", "float64"]),
    (lambda: F.embedding(bx.tensor([0.0, 1.0]), f32(5, 2)), TypeError, ["embedding", "float32"]),
    (lambda: F.cross_entropy(f32(4, 3), f32(4)), TypeError, ["cross_entropy"]),
    (lambda: bx.where(f32(2), f32(2), f32(2)), TypeError, ["where", "bool"]),
    (lambda: bx.masked_fill(f32(2), bx.tensor([1, 0]), 0.0), TypeError, ["masked_fill", "bool"]),
    (lambda: bx.index_select(f32(3, 2), 0, bx.tensor([0.0])), TypeError, ["index_select"]),
    (lambda: bx.mean(bx.tensor([1, 2])), TypeError, ["mean", "int64"]),
    # out-of-range indices and ids
    (lambda: F.embedding(bx.tensor([0, 5]), f32(5, 2)), IndexError, ["embedding", "5", "[5, 2]"]),
    (lambda: F.embedding(bx.tensor([-1]), f32(5, 2)), IndexError, ["embedding", "-1"]),
    (lambda: F.cross_entropy(f32(2, 3), bx.tensor([0, 3])), IndexError, ["cross_entropy", "3"]),
    (lambda: F.nll_loss(f32(2, 3), bx.tensor([0, -2])), IndexError, ["nll_loss", "-2"]),
    (lambda: bx.index_select(f32(3, 2), 0, bx.tensor([3])), IndexError, ["index_select", "3"]),
    (lambda: bx.gather(f32(3, 2), 1, bx.tensor([[0], [2], [1]])), IndexError, ["gather", "2"]),
    (lambda: f32(3, 2)[bx.tensor([0, 7])], IndexError, ["7"]),
    (lambda: f32(3, 2)[3], IndexError, ["select", "3"]),
    (lambda: f32(3, 2).sum(dim=2), IndexError, ["sum", "dimension out of range"]),
    (lambda: f32(3, 2).transpose(0, 5), IndexError, ["transpose"]),
    (lambda: bx.narrow(f32(3, 2), 0, 2, 5), IndexError, ["narrow"]),
    # wrong arguments and argument types
    (lambda: bx.add(f32(2), "a"), TypeError, []),
    (lambda: bx.tanh("not a tensor"), TypeError, []),
    (lambda: bx.tensor(["a", "b"]), TypeError, ["tensor"]),
    (lambda: F.cross_entropy(f32(2, 3), bx.tensor([0, 1]), reduction="avg"), ValueError, ["cross_entropy", "avg"]),
    (lambda: F.dropout(f32(2), p=1.5), ValueError, ["dropout", "1.5"]),
    (lambda: F.gelu(f32(2), approximate="fast"), ValueError, ["gelu", "fast"]),
    (lambda: bx.clamp(f32(2)), ValueError, ["clamp"]),
    (lambda: bx.permute(f32(2, 3), [0, 0]), ValueError, ["permute"]),
    (lambda: bx.zeros(-1), ValueError, ["negative"]),
    (lambda: bx.randint(5, 5, (2,)), ValueError, ["randint"]),
    (lambda: bx.from_numpy(np.zeros(3, np.float16)), TypeError, ["float16"]),
]


@pytest.mark.parametrize("call,exc,words", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_input_raises_clear_error(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for w in words:
        assert w in message, f"message {message!r} should mention {w!r}"


def test_errors_leave_no_half_built_graph():
    x = bx.randn(2, 3, requires_grad=True)
    with pytest.raises(ValueError):
        x + bx.randn(4, 3)
    (x * 2).sum().backward()  # the engine still works
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.ones((2, 3)))


def test_exception_in_hook_propagates_and_engine_recovers():
    x = bx.randn(2, requires_grad=True)
    y = x * 2

    def bad_hook(g):
        raise KeyError("boom")

    y.register_hook(bad_hook)
    with pytest.raises(KeyError, match="boom"):
        y.sum().backward()
    assert bx.is_grad_enabled()
