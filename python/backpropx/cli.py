"""The `backpropx` command line (also `python -m backpropx`).

    $ backpropx train translate            # the built-in English-Vietnamese phrasebook, about a minute
    $ backpropx translate --model runs/translate "My name is"
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

SEED_SENTENCES = ["My name is", "Hello", "Thank you", "How are you?", "I love programming"]

# (flag, type, help) of the training options shared by the tasks; None keeps the task's default
_TRAIN_OPTIONS = [
    ("--model", str, "translate: seq2seq | transformer; classify: bow | cnn; word2vec: skipgram | cbow"),
    ("--cell", str, "gru | lstm (seq2seq, lm)"),
    ("--attention", str, "bahdanau | dot | general (seq2seq)"),
    ("--embed-dim", int, "embedding size (d_model of the transformer)"),
    ("--hidden-size", int, "RNN / hidden layer size"),
    ("--layers", int, "RNN or transformer layers"),
    ("--heads", int, "attention heads (transformer)"),
    ("--dropout", float, "dropout probability"),
    ("--batch-size", int, "sentences per batch (lm: parallel streams)"),
    ("--lr", float, "learning rate"),
    ("--bptt", int, "truncated-BPTT chunk length (lm)"),
    ("--min-freq", int, "drop words seen fewer times"),
    ("--max-vocab", int, "largest vocabulary"),
    ("--tokenizer", str, "word | char (translate, classify)"),
    ("--valid", str, "validation data (default: held out from --data; word2vec: word pairs or analogies)"),
]
_DEFAULT_EPOCHS = {"translate": 30, "classify": 15, "lm": 10, "word2vec": 5}


def _fail(message: str) -> int:
    print(f"backpropx: error: {message}", file=sys.stderr)
    return 2


def _train(args: argparse.Namespace) -> int:
    import backpropx as bx
    from .tasks import TASKS, Trainer
    if args.threads:
        bx.set_num_threads(args.threads)
    config = {opt[0][2:].replace("-", "_"): getattr(args, opt[0][2:].replace("-", "_")) for opt in _TRAIN_OPTIONS}
    config["data"] = args.data
    config["coarse"] = args.coarse or None
    if args.tie_weights:
        config["tie_weights"] = True
    if args.share_vocab:
        config["share_vocab"] = True
    out = args.out or os.path.join("runs", args.task)
    epochs = args.epochs or _DEFAULT_EPOCHS[args.task]
    bx.manual_seed(args.seed)
    if args.resume:
        from .tasks.base import read_config
        saved = read_config(out) if os.path.exists(os.path.join(out, "best.safetensors")) else {}
        config = {**saved, **{k: v for k, v in config.items() if v is not None}}
    if args.task == "word2vec":
        config["workers"] = args.threads
    task = TASKS[args.task](config)
    name = task.config.get("data_name", task.config.get("data") or "built-in data")
    if args.task == "word2vec":
        print(f"training word2vec ({task.config['model']}, dim {task.config['embed_dim']}) on {name} for {epochs} "
              f"epochs -> {out}")
        task.fit(out, epochs, seed=args.seed)
        print(f"\nsaved to {out}/vectors.txt (word2vec text format)")
        return 0
    params = sum(p.numel() for p in task.model.parameters())
    print(f"training {args.task} ({task.config.get('model', task.config.get('cell', ''))}, {params:,} parameters) "
          f"on {name} for {epochs} epochs -> {out}")
    Trainer(task, out, epochs, clip=args.clip, seed=args.seed, progress=not args.no_progress).fit(resume=args.resume)
    if args.task == "translate":
        from .tasks import load_task
        best = load_task(out)
        print("\nTranslations by the best checkpoint:")
        for en, vi in zip(SEED_SENTENCES, best.translate(SEED_SENTENCES, beam_size=5)):
            print(f"  {en:<22} -> {vi}")
    print(f"\nsaved to {out}/ (best.safetensors, config.json, history.json); see it with `backpropx plot {out}`")
    return 0


def _translate(args: argparse.Namespace) -> int:
    from .tasks import load_task
    task = load_task(args.model, expect="translate")
    if args.text:
        sentences = args.text
    elif args.file:
        from .data import read_lines
        sentences = [line for line in read_lines(args.file) if line.strip()]
    else:
        sentences = [line.strip() for line in sys.stdin if line.strip()]
    for out in task.translate(sentences, beam_size=args.beam):
        print(out)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .tasks import load_task
    from .tasks.base import read_config
    kind = read_config(args.model)["task"]
    task = load_task(args.model)
    data = args.data or task.config.get("valid")
    if kind == "translate":
        from .data import phrasebook
        from .tasks.translate import read_pairs
        pairs = read_pairs(data) if data else phrasebook("valid")
        metrics = task.evaluate(pairs)
        if "bleu" not in metrics:
            print("(BLEU and chrF need sacrebleu: pip install sacrebleu)")
    elif kind == "classify":
        from .data import read_labelled, sentiment
        metrics = task.evaluate(read_labelled(data, coarse=task.config["coarse"]) if data else sentiment("valid"))
    elif kind == "lm":
        from .data import lm_corpus, read_text
        metrics = task.evaluate(read_text(data) if data else lm_corpus("valid"))
    else:
        metrics = task.evaluate(data)
    print(f"{args.model} on {data or 'the built-in validation data'}:")
    for key, value in metrics.items():
        print(f"  {key:<12} {value:.4f}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from . import explain
    return explain.main(args.model, args.text, args.out, args.beam)


def _plot(args: argparse.Namespace) -> int:
    from . import plots
    for path in plots.plot_run(args.run_dir, args.out):
        print(f"wrote {path}")
    return 0


def _lesson(args: argparse.Namespace) -> int:
    from . import lessons
    return lessons.run(args.name, args.out)


def _walkthrough(args: argparse.Namespace) -> int:
    from . import walkthrough
    return walkthrough.main(epochs=args.epochs)


def _info(args: argparse.Namespace) -> int:
    import backpropx as bx
    print(f"backpropx {bx.__version__}")
    print(f"  {bx.build_info()}")
    print(f"  threads: {bx.get_num_threads()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backpropx", description="A small deep-learning engine for NLP whose "
                                     "every gradient you can see, check and trust.")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model (built-in data when --data is not given)")
    train.add_argument("task", choices=sorted(_DEFAULT_EPOCHS))
    train.add_argument("--data", help="training data: a TSV of pairs or src,tgt files (translate), "
                                      "label<TAB>text (classify), plain text (lm, word2vec)")
    train.add_argument("--epochs", type=int, help="epochs (default: translate 30, classify 15, lm 10, word2vec 5)")
    train.add_argument("--out", help="run directory (default runs/TASK)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--clip", type=float, default=1.0, help="clip the gradient norm to this (0: no clipping)")
    train.add_argument("--threads", type=int, help="C++ threads (default: all cores)")
    train.add_argument("--coarse", action="store_true", help="classify: keep labels up to ':' (TREC's coarse classes)")
    train.add_argument("--tie-weights", action="store_true", help="lm: share the embedding and output matrices")
    train.add_argument("--share-vocab", action="store_true",
                       help="translate --model transformer: one vocabulary and embedding for both languages")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    for flag, kind, text in _TRAIN_OPTIONS:
        train.add_argument(flag, type=kind, help=text)
    train.set_defaults(run=_train)

    tr = sub.add_parser("translate", help="translate sentences with a trained model")
    tr.add_argument("text", nargs="*", help="sentences (default: --file, else one per line from stdin)")
    tr.add_argument("--model", required=True, help="a run directory of `backpropx train translate`")
    tr.add_argument("--file", help="a file of sentences, one per line")
    tr.add_argument("--beam", type=int, default=5, help="beam size (1: greedy)")
    tr.set_defaults(run=_translate)

    ev = sub.add_parser("evaluate", help="BLEU/chrF, accuracy/F1, perplexity or word similarity of a trained model")
    ev.add_argument("--model", required=True, help="a run directory")
    ev.add_argument("--data", help="evaluation data (default: the run's validation data)")
    ev.set_defaults(run=_evaluate)

    ex = sub.add_parser("explain", help="token saliency of a classifier, or a translation's attention")
    ex.add_argument("text", help="the sentence to explain")
    ex.add_argument("--model", required=True, help="a classify or translate run directory")
    ex.add_argument("--out", help="picture to write (default: explain.png in the model directory)")
    ex.add_argument("--beam", type=int, default=1, help="translate: beam size")
    ex.set_defaults(run=_explain)

    pl = sub.add_parser("plot", help="loss curves, per-layer gradient norms and the learning rate of a run")
    pl.add_argument("run_dir")
    pl.add_argument("--out", help="where to write the pictures (default: the run directory)")
    pl.set_defaults(run=_plot)

    le = sub.add_parser("lesson", help="short runs that show how gradients behave")
    le.add_argument("name", choices=["vanishing", "exploding", "bptt", "attention"])
    le.add_argument("--out", help="picture to write (default: lesson-NAME.png)")
    le.set_defaults(run=_lesson)

    walk = sub.add_parser("walkthrough", help="backpropagation by hand vs autograd, then a tiny translator")
    walk.add_argument("--epochs", type=int, default=100, help="training epochs of the translator (default 100)")
    walk.set_defaults(run=_walkthrough)
    info = sub.add_parser("info", help="build facts: SIMD, OpenMP, threads")
    info.set_defaults(run=_info)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from .data.readers import DataError
    from .tasks.base import RunDirError
    try:
        return args.run(args)
    except (DataError, RunDirError, FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as e:
        return _fail(str(e))
    except ValueError as e:  # bad option values (unknown model kinds, sizes) reach here with a clear message
        return _fail(str(e))
    except KeyboardInterrupt:
        return _fail("interrupted")
    except BrokenPipeError:  # `backpropx ... | head`: the reader left; nothing more to say
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":
    sys.exit(main())
