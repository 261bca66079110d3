"""backpropx: a small deep-learning engine for NLP whose every gradient you can see, check and trust.

    >>> import backpropx as bx
    >>> x = bx.tensor([1.0, 2.0], requires_grad=True); (x * x).sum().backward(); x.grad
    tensor([2., 4.])
"""
from . import _C
