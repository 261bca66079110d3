"""The op registry: every op reachable from Python, with samples and a NumPy reference."""
from .core import OpInfo, Sample, away_from  # noqa: F401

OPS = []
for _family in ("elementwise", "reduction", "shape", "linalg", "indexing", "nlp"):
    OPS.extend(__import__(f"{__name__}.{_family}", fromlist=["OPS"]).OPS)

BY_NAME = {}
for _info in OPS:
    BY_NAME[_info.name] = _info
