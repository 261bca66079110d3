"""The benchmark workloads (bench/workloads: W1-W4, W6) train the same in backpropx as in PyTorch: from
torch's initial weights, on the same batch, the loss curves of the first steps agree within float32
tolerance (dropout off, since the two random streams differ). This is what keeps each speed change
honest: an optimisation that changed the math would bend a curve. Skipped without PyTorch."""
import os
import sys

import numpy as np
import pytest

import backpropx as bx

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "bench"))
from workloads import WORKLOADS  # noqa: E402

STEPS = {"W4": 3}


def losses(step, model, steps):
    model.eval()  # no dropout: the two libraries draw different masks
    return [float(step().item()) for _ in range(steps)]


@pytest.mark.parametrize("key", sorted(WORKLOADS))
def test_loss_curves_match_torch(key):
    workload = WORKLOADS[key]
    batch = workload.make_batch(seed=0)
    steps = STEPS.get(key, 5)
    torch.manual_seed(0)
    torch_step, torch_model = workload.make_step(torch, batch)
    state = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
    bx_step, bx_model = workload.make_step(bx, batch, state)
    theirs = losses(torch_step, torch_model, steps)
    ours = losses(bx_step, bx_model, steps)
    np.testing.assert_allclose(ours, theirs, rtol=2e-3, atol=1e-4, err_msg=f"{key}: {ours} vs {theirs}")
    assert theirs[-1] < theirs[0], f"{key}: the reference loss did not fall ({theirs})"
