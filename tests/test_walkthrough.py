"""The main job: the manual backprop walkthrough and the bag-of-words translator."""
import io
import subprocess
import sys

from backpropx import walkthrough


def test_hand_gradients_match_autograd():
    out = io.StringIO()
    assert walkthrough.manual_backprop(out)
    text = out.getvalue()
    assert "All gradients agree: yes" in text
    for name in ["dL/dy_hat", "dL/dz2", "dL/dW2", "dL/db2", "dL/dh", "dL/dz1", "dL/dW1", "dL/db1", "dL/dx"]:
        assert name in text


def test_translator_loss_falls_and_learns_the_seed_pairs():
    losses = []
    model = walkthrough.train_bow_translator(epochs=100, out=io.StringIO(), on_epoch=lambda e, v: losses.append(v))
    assert len(losses) == 100
    assert losses[-1] < 0.2 * losses[0]
    seed = [en for en, _ in walkthrough.PAIRS[:5]]
    expected = [vi for _, vi in walkthrough.PAIRS[:5]]
    assert model.translate(seed) == expected


def test_command_line_walkthrough_runs():
    result = subprocess.run([sys.executable, "-m", "backpropx", "walkthrough", "--epochs", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "All gradients agree: yes" in result.stdout
    assert "epoch    3" in result.stdout
