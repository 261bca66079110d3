"""Shared helpers of the quality benchmarks (bench/quality/*.py): options, threads, the two training loops, the
twin check, BLEU/chrF, the result table.

How a benchmark compares the two frameworks:
  * The data goes through backpropx's own readers, tokenizer, Vocab and batching (the bx task object), and the
    PyTorch side trains on exactly the same id batches (task.train_batches(epoch), converted with numpy), so
    both see identical vocabularies, batches and batch order.
  * The backpropx side is the task class with backpropx's Trainer, i.e. what `backpropx train TASK` runs (its
    health monitor, gradient clipping at 1.0, per-epoch validation and checkpoints included); the PyTorch side
    is a plain loop that mirrors it: Adam with the same lr, clip_grad_norm_(1.0), the same loss, the same
    per-epoch seeding of dropout (seed * 100003 + epoch).
  * The PyTorch twin (torch_models.py) starts from the backpropx model's initial weights (its state_dict loads
    with strict=True), unless --torch-init own; a twin check first compares, with dropout off, the loss and
    every parameter's gradient on the first training batch.
  * "train s" is wall time of the training epochs without validation (for bx: Trainer.fit minus the time spent
    in task.evaluate, so it includes the monitor and the per-epoch checkpoint writes); "eval s" is the mean time
    of one validation pass (loss + greedy decoding + BLEU for translation).

A script builds run_one = translation_run / classification_run / lm_run(args, data, valid, config) and hands it
to benchmark(args, title, columns, run_one), which runs every --seeds seed on both sides and prints the table.

    >>> run_one = common.classification_run(args, train, dev, {"model": "cnn"}, "dev")
    >>> common.benchmark(args, "classify SST-2 (TextCNN)", [("dev acc", "accuracy", ".4f")], run_one)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.environ.get("BX_SHARED_DATA", os.path.normpath(os.path.join(REPO, "..", "shared", "data")))
if not os.path.isdir(DATA) and os.path.isdir("/work/shared/data"):
    DATA = "/work/shared/data"

import backpropx as bx  # noqa: E402

try:
    import torch
except ImportError:  # the bx side still runs
    torch = None

SIDES = ("bx", "torch")


def data_path(*parts: str) -> str:
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        sys.exit(f"{os.path.basename(sys.argv[0])}: {path}: no such file (the public corpora of ../shared/data; "
                 f"set BX_SHARED_DATA to their folder)")
    return path


# ---- options and setup --------------------------------------------------------------------------------------

def parser(description: str, epochs: int, seeds: str = "0") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    ap.add_argument("--threads", type=int, default=2, help="threads for both (bx.set_num_threads and "
                                                             "torch.set_num_threads; default 2)")
    ap.add_argument("--only", choices=SIDES, help="run one framework only")
    ap.add_argument("--seeds", default=seeds, help=f"comma-separated seeds, one run per seed and side, of the "
                    f"initial weights and dropout (batch order depends on the epoch only); default {seeds}")
    ap.add_argument("--torch-init", choices=("bx", "own"), default="bx",
                    help="torch starts from backpropx's initial weights (bx, default) or its own init (own)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one entry of the task's config (both sides), e.g. --set embed_dim=128 --set "
                         "dropout=0.5; values are read as JSON when they parse, else as strings")
    ap.add_argument("--json", help="also write the results to this JSON file (run_all.py uses it)")
    return ap


def overrides(args) -> Dict[str, Any]:
    """--set KEY=VALUE pairs as a config dict."""
    out: Dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            sys.exit(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def setup(args) -> List[str]:
    """Threads for both frameworks; the sides to run."""
    bx.set_num_threads(args.threads)
    sides = [args.only] if args.only else list(SIDES)
    if "torch" in sides and torch is None:
        print("# PyTorch is not installed: showing backpropx alone (pip install torch==2.13.0)")
        sides = [s for s in sides if s != "torch"]
    if torch is not None:
        torch.set_num_threads(args.threads)
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
    return sides


# ---- bx <-> torch -------------------------------------------------------------------------------------------

def to_torch(x):
    """A bx tensor, NumPy array or list of ints -> a torch tensor (copy-free for tensors and arrays)."""
    if isinstance(x, bx.Tensor):
        return torch.from_numpy(x.numpy())
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    return x


def load_bx_state(torch_model, bx_model) -> None:
    """The backpropx model's parameters into its twin (same names and shapes, strict)."""
    state = {k: torch.from_numpy(np.array(v.detach().numpy() if v.requires_grad else v.numpy()))
             for k, v in bx_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def check_twins(bx_model, torch_model, bx_loss: Callable[[], Any], torch_loss: Callable[[], Any]) -> Dict[str, Any]:
    """With dropout off and the same weights: both losses on one batch and the largest relative difference of
    any parameter's gradient (||g_bx - g_torch|| / ||g_torch||), named."""
    bx_model.eval()
    torch_model.eval()
    bx_model.zero_grad()
    torch_model.zero_grad()
    lb, lt = bx_loss(), torch_loss()
    lb.backward()
    lt.backward()
    tparams = dict(torch_model.named_parameters())
    worst, worst_name = 0.0, ""
    for name, p in bx_model.named_parameters():
        gt = tparams[name].grad
        gb = p.grad
        if gt is None and gb is None:
            continue
        gt = np.zeros(tuple(p.shape), np.float32) if gt is None else gt.numpy()
        gb = np.zeros(tuple(p.shape), np.float32) if gb is None else gb.numpy()
        rel = float(np.linalg.norm(gb - gt) / max(np.linalg.norm(gt), 1e-12))
        if rel > worst:
            worst, worst_name = rel, name
    bx_model.zero_grad()
    torch_model.zero_grad()
    bx_model.train()
    torch_model.train()
    return {"loss_bx": lb.item(), "loss_torch": lt.item(), "grad_rel_diff": worst, "worst_param": worst_name}


def print_twin_check(c: Dict[str, Any]) -> None:
    print(f"# twin check (same weights, dropout off, first training batch): loss bx {c['loss_bx']:.6f} torch "
          f"{c['loss_torch']:.6f} (diff {abs(c['loss_bx'] - c['loss_torch']):.1e}); largest relative gradient "
          f"difference {c['grad_rel_diff']:.1e} ({c['worst_param']})", flush=True)


# ---- machine load --------------------------------------------------------------------------------------------

def _busy_seconds() -> float:
    """Busy CPU seconds of the whole machine, from /proc/stat (0 where there is none)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


class ForeignLoad:
    """Average number of cores other processes kept busy inside the block (as bench/run.py's): the machine may
    be shared, and a loaded run's times are not comparable."""

    def __enter__(self):
        self.t, self.busy, self.own = time.perf_counter(), _busy_seconds(), sum(os.times()[:4])
        return self

    def __exit__(self, *exc):
        wall = max(time.perf_counter() - self.t, 1e-9)
        own = sum(os.times()[:4]) - self.own
        self.cores = max(0.0, (_busy_seconds() - self.busy - own) / wall)


# ---- the two training loops ---------------------------------------------------------------------------------

class _Prefixed:
    """A text stream that prefixes every line (the Trainer's epoch lines become '[bx] epoch ...')."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def write(self, text: str) -> None:
        for line in text.splitlines(keepends=True):
            sys.stdout.write(self.prefix + line if line.strip() else line)

    def flush(self) -> None:
        sys.stdout.flush()


def run_bx(task, epochs: int, seed: int, metric: str, clip: float = 1.0) -> Dict[str, Any]:
    """backpropx's Trainer (what `backpropx train` runs) on the task, in a temporary run directory."""
    from backpropx.tasks import Trainer
    evaluate, eval_times = task.evaluate, []

    def timed_evaluate(*a, **k):
        t0 = time.perf_counter()
        out = evaluate(*a, **k)
        eval_times.append(time.perf_counter() - t0)
        return out

    task.evaluate = timed_evaluate
    try:
        with tempfile.TemporaryDirectory(prefix="bxq-") as out, ForeignLoad() as load:
            t0 = time.perf_counter()
            history = Trainer(task, out, epochs, clip=clip, seed=seed, log=_Prefixed("[bx] "),
                              progress=False).fit()
            total = time.perf_counter() - t0
    finally:
        task.evaluate = evaluate
    per_epoch = [{k: v for k, v in e.items() if k != "seconds"} for e in history["epochs"]]
    epoch_s = [e["seconds"] - t for e, t in zip(history["epochs"], eval_times)]  # the Trainer's epoch time
    return {"metrics": per_epoch[-1], "per_epoch": per_epoch, "metric": per_epoch[-1][metric],
            "train_s": total - sum(eval_times), "eval_s": float(np.mean(eval_times)), "epoch_s": epoch_s,
            "steps": len(history["loss"]), "first_loss": history["loss"][0], "load": load.cores}


def run_torch(model, epochs: int, seed: int, lr: float, batches: Callable[[int], Iterable[Any]],
              loss_fn: Callable[[Any], Any], evaluate: Callable[[], Dict[str, float]], metric: str,
              clip: float = 1.0, start_epoch: Optional[Callable[[int], None]] = None) -> Dict[str, Any]:
    """The plain PyTorch loop mirroring the Trainer: Adam(lr), zero_grad, backward, clip_grad_norm_(clip), step;
    dropout seeded per epoch; evaluate() after every epoch."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    params = [p for p in model.parameters() if p.requires_grad]
    per_epoch, train_s, eval_times, steps, first, epoch_s = [], 0.0, [], 0, None, []
    load = ForeignLoad().__enter__()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        torch.manual_seed(seed * 100003 + epoch)
        if start_epoch is not None:
            start_epoch(epoch)
        model.train()
        total, count = 0.0, 0
        for batch in batches(epoch):
            loss = loss_fn(batch)
            opt.zero_grad()
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
            value = loss.item()
            first = value if first is None else first
            total, count, steps = total + value, count + 1, steps + 1
        epoch_s.append(time.perf_counter() - t0)
        train_s += epoch_s[-1]
        t1 = time.perf_counter()
        metrics = evaluate()
        eval_times.append(time.perf_counter() - t1)
        per_epoch.append({"epoch": epoch, "train_loss": total / max(count, 1), **metrics})
        shown = "  ".join(f"{k} {v:.4g}" for k, v in metrics.items())
        print(f"[torch] epoch {epoch:>3}  train loss {total / max(count, 1):.4f}  {shown}  "
              f"({time.perf_counter() - t0:.1f}s)", flush=True)
    load.__exit__(None, None, None)
    return {"metrics": per_epoch[-1], "per_epoch": per_epoch, "metric": per_epoch[-1][metric], "train_s": train_s,
            "eval_s": float(np.mean(eval_times)), "epoch_s": epoch_s, "steps": steps, "first_loss": first,
            "load": load.cores}


# ---- metrics ------------------------------------------------------------------------------------------------

def bleu_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """sacrebleu corpus BLEU (13a tokenizer) and chrF of detokenized strings."""
    import sacrebleu
    return {"bleu": sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score,
            "chrf": sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score}


# ---- the result table ---------------------------------------------------------------------------------------

def _mean_sd(xs: Sequence[float], fmt: str) -> str:
    xs = list(xs)
    if len(xs) == 1:
        return format(xs[0], fmt)
    return f"{format(float(np.mean(xs)), fmt)} ± {format(float(np.std(xs, ddof=1)), fmt)}"


def benchmark(args, title: str, columns: Sequence[tuple], run_one: Callable[[int, List[str]], tuple],
              notes: Sequence[str] = ()) -> Dict[str, Any]:
    """Runs run_one(seed, sides) -> (settings, {side: result}, twin check, extra notes) for every seed, then
    prints one table: columns are (header, key in the last epoch's metrics, format), mean ± sd over seeds.
    Writes the results as JSON to --json (run_all.py reads it)."""
    sides = setup(args)
    seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    runs: Dict[str, List[dict]] = {side: [] for side in sides}
    twins, settings, notes = [], "", list(notes)
    for seed in seeds:
        settings, results, twin, extra = run_one(seed, sides)
        notes += [n for n in extra if n not in notes]
        if twin is not None:
            twins.append(twin)
        for side, r in results.items():
            runs[side].append(dict(r, seed=seed))
    settings += f"; {args.epochs} epochs, {args.threads} threads, seeds {','.join(map(str, seeds))}"
    if args.set:
        settings += f"; overridden: {', '.join(args.set)}"
    notes.append("train s = training wall time without validation (bx: Trainer.fit incl. its health monitor and "
                 "checkpoints), mean over seeds; median epoch s = the median of one epoch's training time (less "
                 "sensitive to bursts of foreign load); eval s = one validation pass; loss@1 = first step's "
                 "training loss (dropout on); load = cores other processes kept busy meanwhile (2-core machine: "
                 "times with a load above ~0.3 are not speed measurements)")
    print()
    print(f"## {title}")
    print(f"# {settings}")
    for note in notes:
        print(f"# {note}")
    if twins:
        worst = max(twins, key=lambda t: t["grad_rel_diff"])
        print(f"# twin check (same weights, dropout off, first batch), worst over seeds: |loss bx - torch| "
              f"{max(abs(t['loss_bx'] - t['loss_torch']) for t in twins):.1e}, largest relative gradient "
              f"difference {worst['grad_rel_diff']:.1e} ({worst['worst_param']})")
    header = ["side"] + [c[0] for c in columns] + ["train s", "median epoch s", "eval s", "steps", "loss@1",
                                                     "load"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for side, rs in runs.items():
        if not rs:
            continue
        cells = [side] + [_mean_sd([r["metrics"][c[1]] for r in rs], c[2]) if c[1] in rs[0]["metrics"] else "-"
                          for c in columns]
        cells += [_mean_sd([r["train_s"] for r in rs], ".1f"),
                  f"{float(np.median([t for r in rs for t in r['epoch_s']])):.1f}",
                  _mean_sd([r["eval_s"] for r in rs], ".1f"),
                  str(rs[0]["steps"]), _mean_sd([r["first_loss"] for r in rs], ".4f"),
                  f"{np.mean([r['load'] for r in rs]):.2f}"]
        print("| " + " | ".join(cells) + " |")
    key, fmt = columns[0][1], columns[0][2]
    for side, rs in runs.items():
        for r in rs:
            print(f"# {columns[0][0]} per epoch, {side} seed {r['seed']}: "
                  + " ".join(format(e[key], fmt) for e in r["per_epoch"]))
    sys.stdout.flush()
    out = {"title": title, "settings": settings, "notes": notes, "columns": [list(c) for c in columns],
           "runs": runs, "twins": twins}
    if getattr(args, "json", None):
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return out


def _twin(task_model, model, args, bx_loss, torch_loss) -> Optional[dict]:
    if model is None:
        return None
    if args.torch_init == "bx":
        load_bx_state(model, task_model)
    twin = check_twins(task_model, model, bx_loss, torch_loss)
    print_twin_check(twin)
    return twin


# ---- translation (translate_tatoeba.py, translate_multi30k.py) ----------------------------------------------

TRANSLATION_COLUMNS = [("valid BLEU", "bleu", ".2f"), ("valid chrF", "chrf", ".2f"),
                       ("valid loss", "valid_loss", ".3f")]


def translation_run(args, data: str, valid: str, config: Dict[str, Any], train_limit: Optional[int] = None):
    """run_one for benchmark(): Seq2Seq through TranslateTask + Trainer for bx, the twin in a plain loop."""
    from backpropx.data import Vocab
    from backpropx.tasks.translate import TranslateTask
    import torch_models as tm

    class Task(TranslateTask):
        def _read_data(self) -> None:
            super()._read_data()
            self.full_train_size = len(self.train_pairs)
            if train_limit is not None:
                self.train_pairs = self.train_pairs[:train_limit]  # the first train_limit pairs; vocab from them

    def run_one(seed: int, sides: List[str]):
        bx.manual_seed(seed)  # as `backpropx train --seed`: the initial weights follow the seed
        if torch is not None:
            torch.manual_seed(seed)  # the twin's own initialisation under --torch-init own
        task = Task({**config, **overrides(args), "data": data, "valid": valid})
        c = task.config
        notes = []
        if len(task.train_pairs) < task.full_train_size:
            notes.append(f"SUBSAMPLED: trained on the first {len(task.train_pairs):,} of {task.full_train_size:,} "
                         f"training pairs (--train-size; vocabularies built from them)")
        settings = (f"seq2seq {c['cell']}+{c['attention']}, bidirectional {c['bidirectional']}, embed "
                    f"{c['embed_dim']}, hidden {c['hidden_size']}, dropout {c['dropout']}, vocab src "
                    f"{len(task.src_vocab):,} / tgt {len(task.tgt_vocab):,}, {len(task.train_pairs):,} train / "
                    f"{len(task.valid_pairs):,} valid pairs, batch {c['batch_size']}, Adam lr {c['lr']}, clip 1.0, "
                    f"label smoothing {c['label_smoothing']} (both; valid loss without), metrics on valid after the "
                    f"last epoch (greedy, at most {c['max_len'] + 10} tokens; sacrebleu BLEU/chrF of detokenized "
                    f"lowercased text)")
        print(f"# seed {seed}: {settings}", flush=True)
        model = tm.Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), c["embed_dim"], c["hidden_size"], c["cell"],
                           c["attention"], c["bidirectional"], c["dropout"]) if "torch" in sides else None
        src, lengths, tgt = task.train_batches(1)[0]
        twin = _twin(task.model, model, args, lambda: task.model.loss(src, lengths, tgt, c["label_smoothing"]),
                     lambda: model.loss(to_torch(src), lengths, to_torch(tgt), c["label_smoothing"]))
        refs = [task.tokenizer.detokenize(task.tokenizer.tokenize(t)) for _, t in task.valid_pairs]

        def torch_evaluate() -> Dict[str, float]:
            """As TranslateTask.evaluate: token-weighted plain cross-entropy, then greedy BLEU/chrF."""
            model.eval()
            total, count = 0.0, 0
            with torch.no_grad():
                for s, n_src, t in task._batches(task.valid_pairs, False, 0):
                    n = int((t[:, 1:] != 0).sum().item())
                    total += model.loss(to_torch(s), n_src, to_torch(t), 0.0).item() * n
                    count += n
            metrics = {"valid_loss": total / max(count, 1)}
            metrics["valid_ppl"] = math.exp(min(metrics["valid_loss"], 50))
            ids = [task.encode_source(s) or [task.src_vocab.unk_id] for s, _ in task.valid_pairs]
            outs = tm.greedy_translate(model, ids, Vocab.bos_id, Vocab.eos_id, c["max_len"] + 10)
            metrics.update(bleu_chrf([task.tokenizer.detokenize(task.tgt_vocab.decode(o)) for o in outs], refs))
            return metrics

        results: Dict[str, dict] = {}
        if "bx" in sides:
            results["bx"] = run_bx(task, args.epochs, seed, "bleu")
        if "torch" in sides:
            results["torch"] = run_torch(
                model, args.epochs, seed, c["lr"], task.train_batches,
                lambda b: model.loss(to_torch(b[0]), b[1], to_torch(b[2]), c["label_smoothing"]),
                torch_evaluate, "bleu")
        return settings, results, twin, notes

    return run_one


# ---- classification (classify_sst2.py, classify_trec.py) --------------------------------------------------

def classification_run(args, data: str, valid: Optional[str], config: Dict[str, Any], split_name: str):
    """run_one for benchmark(): TextCNN/BoW through ClassifyTask + Trainer for bx, the twin in a plain loop;
    accuracy on `valid`, or on ClassifyTask's own held-out split (every 10th line) when valid is None."""
    from backpropx.tasks.classify import ClassifyTask, accuracy_and_f1
    import torch_models as tm

    def run_one(seed: int, sides: List[str]):
        bx.manual_seed(seed)
        if torch is not None:
            torch.manual_seed(seed)  # the twin's own initialisation under --torch-init own
        task = ClassifyTask({**config, **overrides(args), "data": data, "valid": valid})
        c = task.config
        kind = ("TextCNN, widths " + ",".join(map(str, c["widths"])) + f" x {c['num_filters']} filters"
                if c["model"] == "cnn" else f"BoW, hidden {c['hidden_size']}")
        settings = (f"{kind}, embed {c['embed_dim']} (random init), dropout {c['dropout']}, vocab "
                    f"{len(task.vocab):,}, {len(task.labels)} classes, {len(task.train):,} train / "
                    f"{len(task.valid):,} {split_name} sentences, max_len {c['max_len']}, batch {c['batch_size']}, "
                    f"Adam lr {c['lr']}, clip 1.0, no label smoothing, accuracy on {split_name} after the last "
                    f"epoch")
        print(f"# seed {seed}: {settings}", flush=True)
        model = None
        if "torch" in sides:
            model = tm.TextCNN(len(task.vocab), len(task.labels), c["embed_dim"], c["widths"], c["num_filters"],
                               c["dropout"]) if c["model"] == "cnn" else \
                tm.BowClassifier(len(task.vocab), len(task.labels), c["embed_dim"], c["hidden_size"], c["dropout"])
        x, y = task.train_batches(1)[0]
        twin = _twin(task.model, model, args, lambda: task.loss((x, y)),
                     lambda: torch.nn.functional.cross_entropy(model(to_torch(x)), to_torch(y)))

        def torch_evaluate() -> Dict[str, float]:
            model.eval()
            predicted, gold = [], []
            with torch.no_grad():
                for xb, yb in task._batches(task.valid, False, 0):
                    predicted += model(to_torch(xb)).argmax(1).tolist()
                    gold += yb.tolist()
            return accuracy_and_f1(predicted, gold, len(task.labels))

        results: Dict[str, dict] = {}
        if "bx" in sides:
            results["bx"] = run_bx(task, args.epochs, seed, "accuracy")
        if "torch" in sides:
            results["torch"] = run_torch(
                model, args.epochs, seed, c["lr"], task.train_batches,
                lambda b: torch.nn.functional.cross_entropy(model(to_torch(b[0])), to_torch(b[1])),
                torch_evaluate, "accuracy")
        return settings, results, twin, []

    return run_one


# ---- language model (lm_ptb.py) ----------------------------------------------------------------------------

LM_COLUMNS = [("valid ppl", "valid_ppl", ".2f"), ("valid loss", "valid_loss", ".4f")]


def lm_run(args, data: str, valid: str, config: Dict[str, Any], train_fraction: float = 1.0):
    """run_one for benchmark(): RNNLanguageModel through LMTask + Trainer for bx (truncated BPTT, the state
    carried across chunks and detached), the twin in a plain loop doing the same."""
    from backpropx.data import read_text
    from backpropx.models import batchify, bptt_chunks
    from backpropx.tasks.lm import LMTask
    import torch_models as tm

    def run_one(seed: int, sides: List[str]):
        bx.manual_seed(seed)
        if torch is not None:
            torch.manual_seed(seed)  # the twin's own initialisation under --torch-init own
        task = LMTask({**config, **overrides(args), "data": data, "valid": valid})
        c = task.config
        notes = []
        full_tokens = task.train_stream.size
        if train_fraction < 1.0:  # the vocabulary stays the full train's; train on the first part of the text
            lines = read_text(data)
            task.train_stream = batchify(task.ids(lines[:max(1, int(len(lines) * train_fraction))]), c["batch_size"])
            notes.append(f"SUBSAMPLED: trained on the first {train_fraction:.0%} of PTB train's lines "
                         f"({task.train_stream.size:,} of {full_tokens:,} tokens; vocabulary from all of train)")
        settings = (f"{c['layers']}x{c['hidden_size']} {c['cell'].upper()} LM, embed {c['embed_dim']}, dropout "
                    f"{c['dropout']}, tied {c['tie_weights']}, vocab {len(task.vocab):,}, {task.train_stream.size:,} "
                    f"train tokens as {c['batch_size']} streams, bptt {c['bptt']} (state carried, detached), "
                    f"Adam lr {c['lr']}, clip 1.0; valid perplexity ({task.valid_stream.size:,} tokens as "
                    f"{task.valid_stream.shape[0]} streams, state carried) after the last epoch")
        print(f"# seed {seed}: {settings}", flush=True)
        model = tm.RNNLanguageModel(len(task.vocab), c["embed_dim"], c["hidden_size"], c["layers"], c["cell"],
                                    c["dropout"], c["tie_weights"]) if "torch" in sides else None
        x, y = task.train_batches(1)[0]
        twin = _twin(task.model, model, args, lambda: task.model.loss(x, y)[0],
                     lambda: model.loss(to_torch(x), to_torch(y))[0])
        state = {"h": None}

        def torch_loss(batch):
            loss, st = model.loss(to_torch(batch[0]), to_torch(batch[1]), state["h"])
            state["h"] = tm.detach_state(st)
            return loss

        def start_epoch(epoch: int) -> None:
            state["h"] = None  # as LMTask.train_batches: each epoch starts the text again with a zero state

        def torch_evaluate() -> Dict[str, float]:
            """As backpropx.models.perplexity."""
            model.eval()
            total, count, st = 0.0, 0, None
            with torch.no_grad():
                for xb, yb in bptt_chunks(task.valid_stream, c["bptt"]):
                    loss, st = model.loss(to_torch(xb), to_torch(yb), st)
                    total += loss.item() * yb.numel()
                    count += yb.numel()
            return {"valid_ppl": math.exp(total / count), "valid_loss": total / count}

        results: Dict[str, dict] = {}
        if "bx" in sides:
            results["bx"] = run_bx(task, args.epochs, seed, "valid_ppl")
        if "torch" in sides:
            results["torch"] = run_torch(model, args.epochs, seed, c["lr"], task.train_batches, torch_loss,
                                         torch_evaluate, "valid_ppl", start_epoch=start_epoch)
        return settings, results, twin, notes

    return run_one
