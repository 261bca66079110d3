"""Training-step workloads W1-W4 and W6 of shared/bench/WORKLOADS.md.

Each workload module defines its model once, against a library argument `lib` (the `torch` module or
`backpropx`, whose API is PyTorch-shaped), so both sides run literally the same definition:

    NAME                      the row label, e.g. "W2 lstm-lm"
    make_batch(seed)          the fixed batch, as NumPy arrays (shared by both sides)
    make_step(lib, batch, state=None) -> (step, model)
                              step() runs forward + loss + backward + optimizer update and returns the
                              loss; `state` (name -> NumPy array) overrides the model's initial weights,
                              so backpropx can start from torch's initialisation.
"""
from . import bow_classifier, lstm_lm, seq2seq_attn, textcnn, transformer

WORKLOADS = {"W1": bow_classifier, "W2": lstm_lm, "W3": seq2seq_attn, "W4": transformer, "W6": textcnn}
