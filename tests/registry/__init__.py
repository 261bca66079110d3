"""The op registry: every op reachable from Python, with samples and a NumPy reference."""
from .core import LayerInfo, OpInfo, Sample, away_from  # noqa: F401

OPS = []
LAYERS = []
for _family in ("elementwise", "reduction", "shape", "linalg", "indexing", "nlp", "layers", "rnn", "attention", "conv"):
    _module = __import__(f"{__name__}.{_family}", fromlist=["OPS"])
    OPS.extend(getattr(_module, "OPS", []))
    LAYERS.extend(getattr(_module, "LAYERS", []))

BY_NAME = {}
for _info in OPS:
    BY_NAME[_info.name] = _info
