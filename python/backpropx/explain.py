"""`backpropx explain`: what a trained model looked at. For a classifier, each token's saliency (gradient x
input of the predicted class's score) as a coloured sentence and a bar chart; for a translation, the attention
matrix as a heatmap.

    $ backpropx explain --model runs/classify "a gripping, funny film"
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

import numpy as np

from .tasks import load_task
from .tasks.base import RunDirError, read_config


def coloured(tokens: Sequence[str], scores: np.ndarray, colour: bool = True) -> str:
    """Tokens on an ANSI background: green pushed toward the predicted class, red against, brighter = stronger."""
    top = float(np.max(np.abs(scores))) or 1.0
    words = []
    for tok, s in zip(tokens, scores):
        if not colour:
            words.append(f"{tok}({s:+.2f})")
            continue
        level = int(round(4 * abs(s) / top))  # 0..4
        fade = 255 - 45 * level
        r, g, b = (fade, 255, fade) if s >= 0 else (255, fade, fade)
        words.append(f"\x1b[48;2;{r};{g};{b}m\x1b[30m {tok} \x1b[0m")
    return " ".join(words)


def main(model_dir: str, text: str, out: Optional[str] = None, beam: int = 1) -> int:
    kind = read_config(model_dir)["task"]
    task = load_task(model_dir)
    out = out or os.path.join(model_dir, "explain.png")
    if kind == "classify":
        tokens, scores, label = task.saliency(text)
        print(f"prediction: {label}")
        print(coloured(tokens, scores, colour=sys.stdout.isatty()))
        for tok, s in zip(tokens, scores):
            print(f"  {tok:<16} {s:+.4f}")
        _bars(tokens, scores, label, out)
    elif kind == "translate":
        src, hyp, attn = task.attention(text, beam)
        print(f"translation: {task.tokenizer.detokenize(hyp)}")
        if attn is None:
            print("(this model does not expose an attention matrix: the transformer keeps it inside its layers)")
            return 0
        for t, word in enumerate(hyp + ["</s>"]):
            if t < len(attn):
                j = int(np.argmax(attn[t]))
                print(f"  {word:<14} <- {src[j]:<14} ({attn[t, j]:.2f})")
        _heatmap(src, hyp + ["</s>"], attn, out)
    else:
        raise RunDirError(f"explain works on classify and translate models, {model_dir} holds a {kind} model")
    print(f"wrote {out}")
    return 0


def _bars(tokens: List[str], scores: np.ndarray, label: str, out: str) -> None:
    from .plots import pyplot
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(tokens) + 1), 3))
    ax.bar(range(len(tokens)), scores, color=["C2" if s >= 0 else "C3" for s in scores])
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=45, ha="right")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_title(f"saliency (gradient x input) for '{label}'")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _heatmap(src: List[str], hyp: List[str], attn: np.ndarray, out: str) -> None:
    from .plots import pyplot
    plt = pyplot()
    attn = attn[:len(hyp)]
    fig, ax = plt.subplots(figsize=(0.6 * len(src) + 2, 0.5 * len(hyp) + 1.5))
    ax.imshow(attn, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(src)))
    ax.set_xticklabels(src, rotation=45, ha="right")
    ax.set_yticks(range(len(attn)))
    ax.set_yticklabels(hyp[:len(attn)])
    ax.set_title("attention: output word (row) over source words")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
