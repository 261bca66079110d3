"""Functional ops, as torch.nn.functional (each is the C++ op of the same name).

    >>> import backpropx.nn.functional as F
    >>> F.cross_entropy(bx.randn(4, 3), bx.tensor([0, 2, 1, 0])).shape
    ()
"""
from typing import Optional

import numpy as np

from .. import _C
from .._C import Tensor

# Activations
relu = _C.relu
leaky_relu = _C.leaky_relu
gelu = _C.gelu
softplus = _C.softplus
tanh = _C.tanh
sigmoid = _C.sigmoid

linear = _C.linear


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Looks up rows of weight [V, D] (torch.nn.functional.embedding); max_norm renormalises the looked-up rows
    of weight in place first, as torch does. `F.embedding(bx.tensor([1, 2]), bx.randn(5, 3)).shape == (2, 3)`"""
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    return _C.embedding(input, weight, padding_idx, None, norm_type, scale_grad_by_freq, sparse)


def embedding_renorm_(weight: Tensor, ids: Tensor, max_norm: float, norm_type: float = 2.0) -> None:
    """Scales the rows of weight that ids look up to norm <= max_norm, in place (torch's embedding_renorm_)."""
    rows = np.unique(ids.numpy())
    if rows.size and (rows.min() < 0 or rows.max() >= weight.shape[0]):
        raise IndexError(f"embedding: index out of range for a weight of shape {list(weight.shape)}")
    w = weight.numpy(force=True)
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        w[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None]
        weight._bump_version()


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
