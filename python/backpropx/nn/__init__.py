"""Neural-network building blocks. `bx.nn.functional` holds the functional ops (as torch.nn.functional)."""
from . import functional  # noqa: F401
