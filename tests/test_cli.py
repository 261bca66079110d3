"""The backpropx command end to end on the built-in data (small settings), and its one-line errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import backpropx as bx
from backpropx import cli
from backpropx.tasks import TASKS, Trainer, load_task

SMALL = ["--embed-dim", "16", "--hidden-size", "32", "--no-progress"]


def _cli(*args, stdin=None, cwd=None):
    result = subprocess.run([sys.executable, "-m", "backpropx", *args], capture_output=True, text=True, timeout=300,
                            input=stdin, cwd=cwd)
    return result


@pytest.fixture(scope="module")
def translate_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "translate")
    assert cli.main(["train", "translate", "--epochs", "2", "--out", out, *SMALL]) == 0
    return out


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "classify")
    assert cli.main(["train", "classify", "--epochs", "3", "--out", out, "--no-progress"]) == 0
    return out


def test_train_translate_writes_a_run_directory(translate_run):
    for name in ("best.safetensors", "last.safetensors", "config.json", "history.json", "src_vocab.json",
                 "tgt_vocab.json"):
        assert os.path.exists(os.path.join(translate_run, name)), name
    with open(os.path.join(translate_run, "history.json")) as f:
        history = json.load(f)
    assert len(history["epochs"]) == 2 and history["epochs"][1]["valid_loss"] < history["epochs"][0]["valid_loss"]
    assert history["loss"][-1] < history["loss"][0]
    assert "bleu" in history["epochs"][0] and "chrf" in history["epochs"][0]
    assert history["grad_norms"] and len(history["lr"]) == len(history["step"])


def test_translate_command_from_args_stdin_and_file(translate_run, tmp_path):
    task = load_task(translate_run)
    expected = task.translate(["My name is", "Thank you"], beam_size=5)
    r = _cli("translate", "--model", translate_run, "My name is", "Thank you")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == expected
    r = _cli("translate", "--model", translate_run, stdin="My name is\nThank you\n")
    assert r.stdout.splitlines() == expected
    f = tmp_path / "in.txt"
    f.write_text("My name is\n\nThank you\n")
    r = _cli("translate", "--model", translate_run, "--file", str(f))
    assert r.stdout.splitlines() == expected


def test_saved_model_reloads_and_translates_identically(translate_run):
    a, b = load_task(translate_run), load_task(translate_run)
    sentences = ["I love programming", "Where is the market?", "unknownword hello"]
    assert a.translate(sentences) == b.translate(sentences)
    assert a.translate(sentences, beam_size=3) == b.translate(sentences, beam_size=3)


def test_evaluate_translate_and_classify(translate_run, classify_run):
    r = _cli("evaluate", "--model", translate_run)
    assert r.returncode == 0, r.stderr
    assert "bleu" in r.stdout and "chrf" in r.stdout
    r = _cli("evaluate", "--model", classify_run)
    assert r.returncode == 0, r.stderr
    assert "accuracy" in r.stdout and "macro_f1" in r.stdout


def test_classifier_learns_the_builtin_sentiment_sample(classify_run):
    with open(os.path.join(classify_run, "history.json")) as f:
        history = json.load(f)
    assert history["epochs"][-1]["accuracy"] > 0.6
    task = load_task(classify_run)
    assert set(task.predict(["a wonderful film", "a terrible film"])) <= {"positive", "negative"}


def test_explain_classifier_and_translation(classify_run, translate_run, tmp_path):
    png = tmp_path / "sal.png"
    r = _cli("explain", "--model", classify_run, "--out", str(png), "the film was wonderful")
    assert r.returncode == 0, r.stderr
    assert "prediction:" in r.stdout and "wonderful" in r.stdout and png.stat().st_size > 1000
    png = tmp_path / "attn.png"
    r = _cli("explain", "--model", translate_run, "--out", str(png), "I love programming")
    assert r.returncode == 0, r.stderr
    assert "translation:" in r.stdout and "<-" in r.stdout and png.stat().st_size > 1000


def test_saliency_is_gradient_times_input(classify_run):
    task = load_task(classify_run)
    tokens, scores, label = task.saliency("the film was wonderful")
    ids = bx.tensor([task.vocab.encode(tokens)])
    k = task.labels.index(label)
    emb = task.model.embed(ids).detach()
    # central differences of the class score along each token's embedding direction: d/da f(E + a E_t) at 0
    for t in range(len(tokens)):
        bump = np.zeros(emb.shape, np.float32)
        bump[0, t] = emb.numpy()[0, t]
        eps = 1e-2
        with bx.no_grad():
            up = task.model.classify(emb + bx.from_numpy(bump * eps), ids != 0).numpy()[0, k]
            down = task.model.classify(emb - bx.from_numpy(bump * eps), ids != 0).numpy()[0, k]
        assert abs((up - down) / (2 * eps) - scores[t]) < 1e-2 * max(1.0, abs(scores[t]))


def test_plot_writes_pictures(translate_run, tmp_path):
    r = _cli("plot", translate_run, "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    for name in ("loss.png", "grad_norms.png", "lr.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_train_lm_on_builtin_corpus(tmp_path):
    out = str(tmp_path / "lm")
    assert cli.main(["train", "lm", "--epochs", "3", "--lr", "1e-2", "--out", out, "--embed-dim", "32",
                     "--hidden-size", "64", "--no-progress"]) == 0
    with open(os.path.join(out, "history.json")) as f:
        ppl = [e["valid_ppl"] for e in json.load(f)["epochs"]]
    vocab = len(load_task(out).vocab)
    assert ppl[-1] < ppl[0] and 1 < ppl[-1] < vocab / 4  # far below a uniform guess over the vocabulary


def test_transformer_translate_trains(tmp_path):
    out = str(tmp_path / "tf")
    assert cli.main(["train", "translate", "--model", "transformer", "--epochs", "1", "--out", out,
                     "--embed-dim", "32", "--layers", "1", "--no-progress"]) == 0
    assert load_task(out).translate(["Hello"])[0] is not None


def test_resume_continues_exactly(tmp_path):
    def params(task):
        return {k: v.numpy().copy() for k, v in task.model.state_dict().items()}
    config = {"embed_dim": 16, "hidden_size": 16, "dropout": 0.2}

    def build():
        bx.manual_seed(0)  # the same initial weights, as `backpropx train --seed 0` gives
        return TASKS["translate"](dict(config))
    straight = build()
    Trainer(straight, str(tmp_path / "a"), epochs=2, progress=False, log=open(os.devnull, "w")).fit()
    first = build()
    Trainer(first, str(tmp_path / "b"), epochs=1, progress=False, log=open(os.devnull, "w")).fit()
    resumed = build()
    Trainer(resumed, str(tmp_path / "b"), epochs=2, progress=False, log=open(os.devnull, "w")).fit(resume=True)
    a, b = params(straight), params(resumed)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with open(tmp_path / "b" / "history.json") as f:
        assert len(json.load(f)["epochs"]) == 2


def test_health_monitor_warnings_reach_the_log(tmp_path, capsys):
    out = str(tmp_path / "lr")
    assert cli.main(["train", "classify", "--epochs", "1", "--out", out, "--lr", "1e9", "--clip", "0",
                     "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "health: step" in text


@pytest.mark.parametrize("args,message", [
    (["train", "translate", "--data", "/no/such/file.tsv"], "no such file"),
    (["train", "classify", "--data", "{bad}"], "expected label<TAB>text"),
    (["train", "lm", "--data", "{empty}"], "empty"),
    (["translate", "--model", "/no/such/dir", "hi"], "no such model directory"),
    (["translate", "--model", "{tmp}", "hi"], "not a backpropx model directory"),
    (["evaluate", "--model", "/no/such/dir"], "no such model directory"),
    (["plot", "{tmp}"], "no history.json"),
    (["train", "translate", "--model", "lstm", "--epochs", "1"], "unknown translation model"),
    (["train", "translate", "--resume", "--out", "{tmp}/none"], "does not exist"),
])
def test_bad_input_gives_one_line_error(tmp_path, args, message):
    bad = tmp_path / "bad.txt"
    bad.write_text("positive\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    args = [a.replace("{bad}", str(bad)).replace("{empty}", str(empty)).replace("{tmp}", str(tmp_path))
            for a in args]
    r = _cli(*args, cwd=str(tmp_path))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("backpropx: error:") and message in lines[0], r.stderr


def test_wrong_model_kind_for_translate(classify_run):
    r = _cli("translate", "--model", classify_run, "hello")
    assert r.returncode == 2 and "holds a classify model" in r.stderr


@pytest.mark.parametrize("name", ["vanishing", "exploding", "bptt"])
def test_lessons_run(name, tmp_path):
    png = tmp_path / f"{name}.png"
    r = _cli("lesson", name, "--out", str(png))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and png.stat().st_size > 1000


def test_lesson_numbers_show_the_lessons():
    from backpropx import lessons
    v = lessons.vanishing(depth=12, steps=30)
    assert v["depth"]["tanh"][0] < 1e-3 * v["depth"]["tanh"][-1] or v["depth"]["sigmoid"][0] < 1e-6
    assert v["depth"]["residual tanh"][0] > 0.5 * v["depth"]["residual tanh"][-1]
    assert v["time"]["LSTM, forget bias 2"][0] > 1e3 * v["time"]["tanh RNN"][0]
    e = lessons.exploding()
    assert not np.isfinite(e["no clipping"]["loss"][-1])
    assert e["clip_grad_norm_(1.0)"]["loss"][-1] < 0.1 * e["clip_grad_norm_(1.0)"]["loss"][0]
    b = lessons.bptt()
    truncated = [k for k in b if k.startswith("truncated")][0]
    assert max(b[truncated][:45]) == 0 and max(b["full BPTT"][:45]) > 0
    a = lessons.attention(steps=300)
    assert a["after"] > 0.8 > a["before"]


def test_word2vec_trains_and_evaluates(tmp_path):
    out = str(tmp_path / "w2v")
    r = _cli("train", "word2vec", "--epochs", "2", "--embed-dim", "20", "--out", out, "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "words/s" in r.stdout and "nearest to" in r.stdout
    assert os.path.exists(os.path.join(out, "vectors.txt"))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("cat\tdog\t8\ncat\tthe\t1\nred\tblue\t7\n")
    r = _cli("evaluate", "--model", out, "--data", str(pairs))
    assert r.returncode == 0, r.stderr
    assert "spearman" in r.stdout
    questions = tmp_path / "questions.txt"
    questions.write_text(": family\ncat cats dog dogs\n")
    r = _cli("evaluate", "--model", out, "--data", str(questions))
    assert r.returncode == 0 and "analogy_accuracy" in r.stdout, r.stderr


def test_char_tokenizer_and_shared_vocabulary(tmp_path):
    out = str(tmp_path / "char")
    assert cli.main(["train", "translate", "--tokenizer", "char", "--epochs", "1", "--out", out, *SMALL]) == 0
    task = load_task(out)
    assert "ơ" in task.tgt_vocab and len(task.tgt_vocab) < 200  # characters, NFC: one token per letter
    out = str(tmp_path / "shared")
    assert cli.main(["train", "translate", "--model", "transformer", "--share-vocab", "--epochs", "1", "--out", out,
                     "--embed-dim", "32", "--layers", "1", "--no-progress"]) == 0
    task = load_task(out)
    assert task.src_vocab.itos == task.tgt_vocab.itos
    assert task.model.out.weight is task.model.src_embedding.weight
    assert task.translate(["Hello"]) == load_task(out).translate(["Hello"])
