"""Neural-network layers with PyTorch's names and parameter layouts; `bx.nn.functional` holds the ops.

    >>> model = bx.nn.Sequential(bx.nn.Linear(4, 8), bx.nn.ReLU(), bx.nn.Linear(8, 2))
"""
from . import functional, init, utils  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .layers import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
