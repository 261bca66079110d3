"""`backpropx lesson NAME`: short runs that show, with numbers and a picture, how gradients behave.

    vanishing   gradient norm by depth in a deep tanh/sigmoid network vs ReLU (He init) and residual, and by
                time step in a tanh RNN vs an LSTM
    exploding   a deep ReLU network with too-large weights: gradients explode and plain SGD diverges;
                clipping the gradient norm tames it
    bptt        full vs truncated backpropagation through time: a detached state sends no gradient back
    attention   a seq2seq model with Bahdanau attention learns to reverse sequences; its attention becomes
                the anti-diagonal alignment

    >>> numbers = vanishing()   # also printed; run() adds the picture
"""
from __future__ import annotations

import math
import time
from typing import Callable, Dict, List, Optional

import numpy as np

import backpropx as bx
import backpropx.nn as nn
import backpropx.nn.functional as F


def _layer_grad_norms(activation: Callable, depth: int, width: int, init: Optional[Callable] = None,
                      residual: bool = False) -> List[float]:
    """||dL/dh_k|| for the output h_k of each layer k of a deep MLP, L = mean of the last layer's output."""
    layers = [nn.Linear(width, width) for _ in range(depth)]
    for layer in layers:
        if init is not None:
            init(layer.weight)
        nn.init.zeros_(layer.bias)
    h = bx.randn(64, width)
    outputs = []
    for layer in layers:
        h = h + activation(layer(h)) if residual else activation(layer(h))
        h.retain_grad()
        outputs.append(h)
    (h ** 2).mean().backward()
    return [float(np.linalg.norm(o.grad.numpy())) for o in outputs]


def vanishing(depth: int = 20, width: int = 64, steps: int = 50) -> Dict[str, Dict[str, List[float]]]:
    bx.manual_seed(0)
    he = lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")  # noqa: E731
    depth_norms = {
        "sigmoid": _layer_grad_norms(bx.sigmoid, depth, width),
        "tanh": _layer_grad_norms(bx.tanh, depth, width),
        "relu (He init)": _layer_grad_norms(bx.relu, depth, width, he),
        "residual tanh": _layer_grad_norms(bx.tanh, depth, width, residual=True),
    }
    # by time: gradient of the last step's output w.r.t. each input step
    time_norms = {}
    lstm_forget = nn.LSTM(16, 32, batch_first=True)
    with bx.no_grad():
        lstm_forget.bias_ih_l0[32:64] = 2.0  # gates i, f, g, o: a forget gate open by default
    for name, rnn in (("tanh RNN", nn.RNN(16, 32, batch_first=True)), ("LSTM", nn.LSTM(16, 32, batch_first=True)),
                      ("LSTM, forget bias 2", lstm_forget)):
        x = bx.randn(8, steps, 16, requires_grad=True)
        out, _ = rnn(x)
        out[:, -1].sum().backward()
        time_norms[name] = [float(np.linalg.norm(x.grad.numpy()[:, t])) for t in range(steps)]
    print(f"Vanishing gradients: ||dL/dh|| at each layer of a {depth}-layer network (layer 1 = nearest the input)")
    for name, norms in depth_norms.items():
        print(f"  {name:<15} layer 1 {norms[0]:.2e}   layer {depth} {norms[-1]:.2e}   ratio {norms[0] / norms[-1]:.1e}")
    print(f"\n  ||d h_T / d x_t|| over {steps} time steps (t = 1 is the furthest back)")
    for name, norms in time_norms.items():
        print(f"  {name:<20} t=1 {norms[0]:.2e}   t={steps // 2} {norms[steps // 2]:.2e}   t={steps} {norms[-1]:.2e}")
    print("\n  tanh and sigmoid multiply the gradient by a derivative below 1 at every layer, so it shrinks "
          "geometrically;\n  ReLU with He init keeps its scale and a residual path adds an identity that carries it. "
          "Across time\n  the tanh RNN loses it fastest; the LSTM's additive cell state keeps it as long as the forget "
          "gate stays\n  open, which a positive forget-gate bias makes the default.")
    return {"depth": depth_norms, "time": time_norms}


def exploding(depth: int = 12, steps: int = 60, lr: float = 0.01) -> Dict[str, List[float]]:
    bx.manual_seed(0)
    x, y = bx.randn(128, 32), bx.randn(128, 1)
    results = {}
    for name, clip in (("no clipping", None), ("clip_grad_norm_(1.0)", 1.0)):
        bx.manual_seed(1)
        layers = []
        for i in range(depth):
            layer = nn.Linear(32 if i < depth - 1 else 32, 32 if i < depth - 1 else 1)
            nn.init.normal_(layer.weight, 0.0, 2.0 * math.sqrt(2.0 / 32))  # twice He's scale: x2 per layer
            layers += [layer, nn.ReLU()] if i < depth - 1 else [layer]
        model = nn.Sequential(*layers)
        opt = bx.optim.SGD(model.parameters(), lr=lr)
        losses, norms = [], []
        for _ in range(steps):
            loss = F.mse_loss(model(x), y)
            if not math.isfinite(loss.item()):
                losses.append(float("inf"))
                break
            opt.zero_grad()
            loss.backward()
            total = bx.nn.utils.clip_grad_norm_(model.parameters(), clip if clip else float("inf"))
            norms.append(float(total.item()))
            losses.append(loss.item())
            opt.step()
        results[name] = {"loss": losses, "grad_norm": norms}
    print(f"Exploding gradients: a {depth}-layer ReLU network initialised at twice He's scale, SGD lr {lr}")
    for name, r in results.items():
        loss, norms = r["loss"], r["grad_norm"]
        ending = "diverged (loss inf/NaN)" if not math.isfinite(loss[-1]) else f"loss {loss[-1]:.4g}"
        print(f"  {name:<22} first loss {loss[0]:.3g}, grad norm {norms[0]:.2e}  after {len(loss)} steps: {ending}")
    print("\n  Each layer doubles the activations and so the gradients: their norm is huge, one SGD step throws the"
          "\n  weights far away and the next gradient is larger still. Clipping rescales the step to norm 1 and the"
          "\n  loss falls.")
    return results


def bptt(seq_len: int = 60, chunk: int = 15) -> Dict[str, List[float]]:
    from .data import Vocab, lm_corpus
    from .models import RNNLanguageModel, batchify
    bx.manual_seed(0)
    lines = lm_corpus("train")
    vocab = Vocab.build([line.split() for line in lines])
    ids = np.array([i for line in lines[:400] for i in vocab.encode(line.split(), eos=True)])
    stream = batchify(ids, 4)[:, :seq_len + 1]
    model = RNNLanguageModel(len(vocab), 32, 64, 1, "lstm")
    inputs, targets = bx.from_numpy(stream[:, :-1].copy()), bx.from_numpy(stream[:, 1:].copy())
    result = {}
    for name in ("full BPTT", f"truncated ({chunk} steps)"):
        embedded = model.embedding(inputs).detach().requires_grad_(True)       # [B, T, E]
        split = seq_len - chunk
        if name == "full BPTT":
            hidden, _ = model.rnn(embedded)
        else:  # the state after the earlier chunks is carried as values only
            _, state = model.rnn(embedded[:, :split])
            last, _ = model.rnn(embedded[:, split:], tuple(s.detach() for s in state))
            hidden = bx.cat([bx.zeros(4, split, 64), last], 1)
        logits = model.out(hidden[:, split:])
        F.cross_entropy(logits.reshape(-1, len(vocab)), targets[:, split:].reshape(-1)).backward()
        g = embedded.grad.numpy()
        result[name] = [float(np.linalg.norm(g[:, t])) for t in range(seq_len)]
    print(f"Backpropagation through time: the loss of the last {chunk} steps of a {seq_len}-step sequence, and the "
          f"gradient\n  it sends to each input step (an LSTM language model on the built-in corpus)")
    for name, norms in result.items():
        early = norms[:seq_len - chunk]
        print(f"  {name:<22} steps 1-{seq_len - chunk}: max {max(early):.2e}   last chunk: max "
              f"{max(norms[seq_len - chunk:]):.2e}")
    print(f"\n  Truncated BPTT detaches the state between chunks: the earlier {seq_len - chunk} steps get exactly zero "
          f"gradient,\n  so each update costs one chunk's backward pass; full BPTT reaches back (and fades as it goes).")
    return result


def attention(steps: int = 500, symbols: int = 10, seed: int = 0) -> Dict[str, float]:
    from .models import Seq2Seq
    from .data.batching import pad_sequences
    bx.manual_seed(seed)
    rng = np.random.default_rng(seed)
    V = symbols + 4  # ids 0..3 are <pad> <unk> <s> </s>

    def sample(n: int):
        src = [list(rng.integers(4, V, rng.integers(4, 8))) for _ in range(n)]
        return src, [[2] + s[::-1] + [3] for s in src]

    model = Seq2Seq(V, V, embed_dim=32, hidden_size=64, attention="bahdanau", bidirectional=True, dropout=0.0)
    opt = bx.optim.Adam(model.parameters(), lr=3e-3)
    test_src, _ = sample(50)

    def alignment() -> float:
        hits = total = 0
        for s in test_src:
            out, attn = model.translate_ids(s, 2, 3, max_len=len(s) + 1)
            for t in range(min(len(out), len(s))):
                hits += int(np.argmax(attn[t]) == len(s) - 1 - t)
                total += 1
        return hits / max(total, len(s))

    before = alignment()
    t0 = time.perf_counter()
    for _ in range(steps):
        src, tgt = sample(32)
        s_ids, s_len = pad_sequences(src)
        t_ids, _ = pad_sequences(tgt)
        loss = model.loss(bx.from_numpy(s_ids), s_len, bx.from_numpy(t_ids))
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = alignment()
    correct = np.mean([model.translate_ids(s, 2, 3, max_len=len(s) + 1)[0] == s[::-1] for s in test_src])
    print(f"Attention learns an alignment: reversing sequences of {symbols} symbols with a Bahdanau-attention "
          f"seq2seq\n  ({steps} Adam steps of 32 sequences, {time.perf_counter() - t0:.1f}s)")
    print(f"  attention on the mirrored source position: {before:.0%} before training, {after:.0%} after")
    print(f"  sequences reversed exactly: {correct:.0%}; final training loss {loss.item():.3f}")
    print("\n  Output word t of a reversal needs source word S-1-t: the attention weights learn to put their mass "
          "there\n  (the anti-diagonal in the picture), because that is where the gradient of the loss pushes them.")
    example = test_src[0]
    out, attn = model.translate_ids(example, 2, 3, max_len=len(example) + 1)
    return {"before": before, "after": after, "exact": float(correct), "loss": loss.item(),
            "example": (example, out, attn)}


LESSONS = {"vanishing": vanishing, "exploding": exploding, "bptt": bptt, "attention": attention}


def run(name: str, out: Optional[str] = None) -> int:
    """Runs one lesson, prints it and draws its picture (when matplotlib is installed)."""
    result = LESSONS[name]()
    out = out or f"lesson-{name}.png"
    try:
        from .plots import pyplot
        plt = pyplot()
    except ValueError as e:
        print(f"\n(no picture: {e})")
        return 0
    _draw(name, result, plt, out)
    print(f"\nwrote {out}")
    return 0


def _draw(name: str, result, plt, out: str) -> None:
    if name == "vanishing":
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for label, norms in result["depth"].items():
            axes[0].semilogy(range(1, len(norms) + 1), norms, "o-", ms=3, label=label)
        axes[0].set(xlabel="layer (1 = input side)", ylabel="||dL/dh||", title="gradient by depth")
        for label, norms in result["time"].items():
            axes[1].semilogy(range(1, len(norms) + 1), norms, label=label)
        axes[1].set(xlabel="time step", ylabel="||dh_T/dx_t||", title="gradient by time step")
        for ax in axes:
            ax.legend()
    elif name == "exploding":
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for label, r in result.items():
            axes[0].semilogy([v if math.isfinite(v) else np.nan for v in r["loss"]], label=label)
            axes[1].semilogy(r["grad_norm"], label=label)
        axes[0].set(xlabel="step", ylabel="loss", title="training loss")
        axes[1].set(xlabel="step", ylabel="gradient norm (before clipping)", title="gradient norm")
        for ax in axes:
            ax.legend()
    elif name == "bptt":
        fig, ax = plt.subplots(figsize=(8, 4))
        for label, norms in result.items():
            ax.semilogy(range(1, len(norms) + 1), np.maximum(norms, 1e-12), label=label)
        ax.set(xlabel="input step", ylabel="gradient norm (1e-12 = zero)", title="where the gradient reaches")
        ax.legend()
    else:
        src, hyp, attn = result["example"]
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.imshow(attn, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(src)))
        ax.set_xticklabels([str(s - 4) for s in src])
        ax.set_yticks(range(len(attn)))
        ax.set_yticklabels([str(s - 4) for s in hyp] + ["</s>"] * (len(attn) - len(hyp)))
        ax.set(xlabel="source", ylabel="output", title=f"attention after training ({result['after']:.0%} aligned)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
