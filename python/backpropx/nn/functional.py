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
embedding_bag = _C.embedding_bag
softmax = _C.softmax
log_softmax = _C.log_softmax
cross_entropy = _C.cross_entropy
nll_loss = _C.nll_loss
mse_loss = _C.mse_loss
binary_cross_entropy_with_logits = _C.binary_cross_entropy_with_logits
dropout = _C.dropout
layer_norm = _C.layer_norm

# Attention, convolution and pooling over time
scaled_dot_product_attention = _C.scaled_dot_product_attention
conv1d = _C.conv1d
max_pool1d = _C.max_pool1d
avg_pool1d = _C.avg_pool1d
adaptive_max_pool1d = _C.adaptive_max_pool1d

__all__ = ["relu", "leaky_relu", "gelu", "softplus", "tanh", "sigmoid", "linear", "embedding", "embedding_bag", "softmax",
           "log_softmax", "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy_with_logits", "dropout",
           "layer_norm", "scaled_dot_product_attention", "conv1d", "max_pool1d", "avg_pool1d", "adaptive_max_pool1d"]
