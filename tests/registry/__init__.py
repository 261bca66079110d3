"""The op registry: every op reachable from Python, with samples and a NumPy reference."""
from .core import OpInfo, Sample, away_from  # noqa: F401

OPS = []
for _family in ("elementwise", "reduction", "shape", "linalg", "indexing", "nlp"):
    try:
        _module = __import__(f"{__name__}.{_family}", fromlist=["OPS"])
    except ModuleNotFoundError as e:  # a family not written yet
        if e.name != f"{__name__}.{_family}":
            raise
        continue
    OPS.extend(_module.OPS)

BY_NAME = {}
for _info in OPS:
    BY_NAME[_info.name] = _info
