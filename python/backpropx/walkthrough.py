"""The backpropagation walkthrough: the seed's manual example, each hand-derived gradient printed
beside autograd's, then a small English-to-Vietnamese bag-of-words translator trained for 100 epochs.

    $ backpropx walkthrough
"""
from __future__ import annotations

import sys
from typing import Callable, List, Optional, Sequence, TextIO, Tuple

import numpy as np

import backpropx as bx
import backpropx.nn.functional as F
from backpropx.models.simple import SimpleTranslationModel

# ---- part 1: a 2-3-1 network by hand ------------------------------------------------------------
#
#   x [1,2] --W1 [2,3], b1 [3]--> z1 --tanh--> h [1,3] --W2 [3,1], b2 [1]--> z2 --sigmoid--> y_hat
#   L = 1/2 (y_hat - y)^2


def _show(out: TextIO, name: str, value: np.ndarray) -> None:
    lead = f"    {name:<12} = "
    text = np.array2string(np.asarray(value), precision=6, separator=", ", suppress_small=True, prefix=lead)
    out.write(lead + text + "\n")


def manual_backprop(out: TextIO = sys.stdout, tolerance: float = 1e-10) -> bool:
    """Runs the 2-3-1 example forward and backward by hand and with autograd; True if all agree."""
    x = np.array([[0.5, -1.0]])
    y = np.array([[1.0]])
    W1 = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
    b1 = np.array([0.01, -0.02, 0.03])
    W2 = np.array([[0.7], [-0.8], [0.9]])
    b2 = np.array([0.05])

    out.write("Part 1: backpropagation by hand, checked against autograd\n")
    out.write("  network: x[1,2] -> Linear(2,3) -> tanh -> Linear(3,1) -> sigmoid -> y_hat;"
              "  loss L = 1/2 (y_hat - y)^2\n\n")
    out.write("  Forward pass\n")
    z1 = x @ W1 + b1
    h = np.tanh(z1)
    z2 = h @ W2 + b2
    y_hat = 1 / (1 + np.exp(-z2))
    loss = 0.5 * float(((y_hat - y) ** 2).sum())
    for name, v in [("x", x), ("z1 = xW1+b1", z1), ("h = tanh", h), ("z2 = hW2+b2", z2), ("y_hat", y_hat)]:
        _show(out, name, v)
    out.write(f"    {'loss':<12} = {loss:.6f}   (target y = {y[0, 0]})\n\n")

    # Hand-derived gradients, the chain rule one step at a time.
    steps: List[Tuple[str, str, np.ndarray]] = []
    dL_dyhat = y_hat - y
    steps.append(("dL/dy_hat", "y_hat - y", dL_dyhat))
    dL_dz2 = dL_dyhat * y_hat * (1 - y_hat)
    steps.append(("dL/dz2", "dL/dy_hat * y_hat (1 - y_hat)", dL_dz2))
    dL_dW2 = h.T @ dL_dz2
    steps.append(("dL/dW2", "h^T dL/dz2", dL_dW2))
    dL_db2 = dL_dz2.sum(axis=0)
    steps.append(("dL/db2", "sum over batch of dL/dz2", dL_db2))
    dL_dh = dL_dz2 @ W2.T
    steps.append(("dL/dh", "dL/dz2 W2^T", dL_dh))
    dL_dz1 = dL_dh * (1 - h ** 2)
    steps.append(("dL/dz1", "dL/dh * (1 - h^2)", dL_dz1))
    dL_dW1 = x.T @ dL_dz1
    steps.append(("dL/dW1", "x^T dL/dz1", dL_dW1))
    dL_db1 = dL_dz1.sum(axis=0)
    steps.append(("dL/db1", "sum over batch of dL/dz1", dL_db1))
    dL_dx = dL_dz1 @ W1.T
    steps.append(("dL/dx", "dL/dz1 W1^T", dL_dx))

    # The same network on the engine; retain_grad() keeps the intermediate gradients to compare.
    t = {name: bx.tensor(v, dtype=bx.float64, requires_grad=True)
         for name, v in [("x", x), ("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)]}
    tz1 = t["x"] @ t["W1"] + t["b1"]
    th = bx.tanh(tz1)
    tz2 = th @ t["W2"] + t["b2"]
    tyhat = bx.sigmoid(tz2)
    for v in (tz1, th, tz2, tyhat):
        v.retain_grad()
    tloss = 0.5 * ((tyhat - bx.tensor(y, dtype=bx.float64)) ** 2).sum()
    tloss.backward()
    autograd = {"dL/dy_hat": tyhat.grad, "dL/dz2": tz2.grad, "dL/dW2": t["W2"].grad, "dL/db2": t["b2"].grad,
                "dL/dh": th.grad, "dL/dz1": tz1.grad, "dL/dW1": t["W1"].grad, "dL/db1": t["b1"].grad,
                "dL/dx": t["x"].grad}

    out.write("  Backward pass (hand-derived | autograd | max |difference|)\n")
    all_ok = abs(tloss.item() - loss) < tolerance
    for name, rule, hand in steps:
        auto = autograd[name].numpy()
        diff = float(np.max(np.abs(auto - hand)))
        ok = diff < tolerance
        all_ok &= ok
        out.write(f"  {name:<14} = {rule}\n")
        _show(out, "by hand", hand)
        _show(out, "autograd", auto)
        out.write(f"    {'agree':<12} = {'yes' if ok else 'NO'} (max diff {diff:.1e})\n")
    out.write(f"\n  All gradients agree: {'yes' if all_ok else 'NO'}\n\n")
    return all_ok


# ---- part 2: a bag-of-words translator ----------------------------------------------------------

PAIRS: List[Tuple[str, str]] = [
    ("My name is", "Tên tôi là"),
    ("Hello", "Xin chào"),
    ("Thank you", "Cảm ơn"),
    ("How are you?", "Bạn khỏe không?"),
    ("I love programming", "Tôi yêu lập trình"),
    ("Good morning", "Chào buổi sáng"),
    ("Good night", "Chúc ngủ ngon"),
    ("I love you", "Tôi yêu bạn"),
    ("See you later", "Hẹn gặp lại"),
    ("I am a student", "Tôi là sinh viên"),
]

PAD, EOS = "<pad>", "</s>"


def tokenize(text: str) -> List[str]:
    """Lowercase words with the final punctuation kept as its own token. `tokenize("Hi?") == ["hi", "?"]`"""
    words = []
    for w in text.lower().split():
        if w[-1] in "?!." and len(w) > 1:
            words += [w[:-1], w[-1]]
        else:
            words.append(w)
    return words


class BowTranslator:
    """English bag of words -> tanh hidden layer -> a softmax over Vietnamese words at each output position.

    The feedforward translator of the seed: it reads the sentence as an unordered bag of words and
    learns, for every output position, which Vietnamese word goes there.
    """

    def __init__(self, pairs: Sequence[Tuple[str, str]], hidden: int = 32, seed: int = 0):
        self.src_vocab = sorted({w for en, _ in pairs for w in tokenize(en)})
        self.tgt_vocab = [PAD, EOS] + sorted({w for _, vi in pairs for w in vi.split()})
        self.src_index = {w: i for i, w in enumerate(self.src_vocab)}
        self.tgt_index = {w: i for i, w in enumerate(self.tgt_vocab)}
        self.max_len = max(len(vi.split()) for _, vi in pairs) + 1  # + </s>
        bx.manual_seed(seed)
        V, T = len(self.src_vocab), len(self.tgt_vocab)
        self.net = SimpleTranslationModel(V, T, self.max_len, hidden)
        scale_in, scale_out = 1.0 / np.sqrt(V), 1.0 / np.sqrt(hidden)
        with bx.no_grad():  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights, zero biases
            self.net.hidden.weight.copy_((bx.rand(hidden, V) * 2 - 1) * scale_in)
            self.net.hidden.bias.zero_()
            self.net.out.weight.copy_((bx.rand(self.max_len * T, hidden) * 2 - 1) * scale_out)
            self.net.out.bias.zero_()
        self.params = dict(self.net.named_parameters())

    def encode(self, sentences: Sequence[str]) -> bx.Tensor:
        """A [batch, V] bag-of-words matrix (word counts; unknown words are dropped)."""
        bags = np.zeros((len(sentences), len(self.src_vocab)), np.float32)
        for i, s in enumerate(sentences):
            for w in tokenize(s):
                if w in self.src_index:
                    bags[i, self.src_index[w]] += 1
        return bx.from_numpy(bags)

    def targets(self, sentences: Sequence[str]) -> bx.Tensor:
        """[batch, max_len] word ids, </s> after the last word, then padding."""
        ids = np.zeros((len(sentences), self.max_len), np.int64)
        for i, s in enumerate(sentences):
            words = s.split() + [EOS]
            ids[i, :len(words)] = [self.tgt_index[w] for w in words]
        return bx.from_numpy(ids)

    def logits(self, bags: bx.Tensor) -> bx.Tensor:
        """[batch, max_len, tgt_vocab] scores."""
        return self.net(bags)

    def loss(self, bags: bx.Tensor, target_ids: bx.Tensor) -> bx.Tensor:
        scores = self.logits(bags)
        T = len(self.tgt_vocab)
        return F.cross_entropy(scores.reshape(-1, T), target_ids.reshape(-1), ignore_index=self.tgt_index[PAD])

    def translate(self, sentences: Sequence[str]) -> List[str]:
        with bx.no_grad():
            ids = bx.argmax(self.logits(self.encode(sentences)), dim=-1).numpy()
        result = []
        for row in ids:
            words = []
            for i in row:
                word = self.tgt_vocab[int(i)]
                if word == EOS:
                    break
                if word != PAD:
                    words.append(word)
            result.append(" ".join(words))
        return result


def train_bow_translator(epochs: int = 100, lr: float = 0.5, out: TextIO = sys.stdout,
                         log_every: int = 10, on_epoch: Optional[Callable[[int, float], None]] = None) -> BowTranslator:
    """Trains the translator on PAIRS with plain gradient descent; prints the loss as it falls."""
    model = BowTranslator(PAIRS)
    bags = model.encode([en for en, _ in PAIRS])
    targets = model.targets([vi for _, vi in PAIRS])
    out.write(f"Part 2: a bag-of-words English -> Vietnamese translator ({len(PAIRS)} pairs, "
              f"{len(model.src_vocab)} English words, {len(model.tgt_vocab)} Vietnamese words)\n")
    out.write(f"  training {epochs} epochs of full-batch gradient descent, lr {lr}\n")
    for epoch in range(1, epochs + 1):
        loss = model.loss(bags, targets)
        for p in model.params.values():
            p.grad = None
        loss.backward()
        with bx.no_grad():
            for p in model.params.values():
                p.sub_(p.grad, alpha=lr)
        value = loss.item()
        if on_epoch:
            on_epoch(epoch, value)
        if epoch == 1 or epoch % log_every == 0 or epoch == epochs:
            out.write(f"  epoch {epoch:>4}  loss {value:.4f}\n")
    out.write("\n  Translations after training:\n")
    seed = [en for en, _ in PAIRS[:5]]
    for en, vi in zip(seed, model.translate(seed)):
        out.write(f"    {en!r:<24} -> {vi}\n")
    return model


def main(out: TextIO = sys.stdout, epochs: int = 100) -> int:
    """The whole walkthrough; exit code 0 when every hand gradient matched autograd."""
    ok = manual_backprop(out)
    train_bow_translator(epochs=epochs, out=out)
    return 0 if ok else 1
