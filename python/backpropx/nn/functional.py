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

linear = _C.linear
embedding = _C.embedding
softmax = _C.softmax
log_softmax = _C.log_softmax
cross_entropy = _C.cross_entropy
nll_loss = _C.nll_loss
mse_loss = _C.mse_loss
binary_cross_entropy_with_logits = _C.binary_cross_entropy_with_logits
dropout = _C.dropout
layer_norm = _C.layer_norm

__all__ = ["relu", "leaky_relu", "gelu", "softplus", "tanh", "sigmoid", "linear", "embedding", "softmax",
           "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits", "dropout",
           "layer_norm"]
