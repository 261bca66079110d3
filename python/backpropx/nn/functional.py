"""Functional ops, as torch.nn.functional (each is the C++ op of the same name).

    >>> import backpropx.nn.functional as F
    >>> F.cross_entropy(bx.randn(4, 3), bx.tensor([0, 2, 1, 0])).shape
    ()
"""
from .. import _C

# Activations
relu = _C.relu
leaky_relu = _C.leaky_relu
gelu = _C.gelu
softplus = _C.softplus
tanh = _C.tanh
sigmoid = _C.sigmoid

_NLP = ("linear", "embedding", "softmax", "log_softmax", "cross_entropy", "nll_loss", "mse_loss",
        "binary_cross_entropy_with_logits", "dropout", "layer_norm")
for _name in _NLP:
    if hasattr(_C, _name):  # bound by cpp/src/ops (linalg, nlp)
        globals()[_name] = getattr(_C, _name)

__all__ = ["relu", "leaky_relu", "gelu", "softplus", "tanh", "sigmoid", *[n for n in _NLP if n in globals()]]
