"""bx.save / bx.load: checkpoints as safetensors files, written and read by the C++ core.

    >>> bx.save(model.state_dict(), "model.safetensors"); model.load_state_dict(bx.load("model.safetensors"))

A dict of name -> Tensor (a model's state_dict) is stored as a plain safetensors file whose tensor names are the
dict's keys, so `safetensors.numpy.load_file` / `safetensors.torch.load_file` read it, and files written by
`safetensors.*.save_file` load here. Anything else built from dicts, lists, tuples, tensors, numbers, strings,
bools and None (an optimizer or scheduler state_dict, a training checkpoint) is stored with its tensors in the
tensor table under dotted keys ("state.0.exp_avg") and the rest of the structure as JSON in the header's
"__metadata__" under "backpropx.structure"; bx.load rebuilds it exactly (int dict keys and tuples included).
Writes are atomic (temporary file, fsync, rename); bad files raise OSError, ValueError or TypeError naming the
file and the problem.
"""
from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from typing import Any, Dict, List, Tuple, Union

from . import _C
from ._C import Tensor

__all__ = ["save", "load"]

PathLike = Union[str, "os.PathLike[str]"]
_STRUCTURE_KEY = "backpropx.structure"
_FORMAT_VERSION = "1"


def _path(f: Any, op: str) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    raise TypeError(f"{op}: expected a file path (str or os.PathLike), got {type(f).__name__}")


def _is_flat_state_dict(obj: Any) -> bool:
    return (isinstance(obj, dict) and all(isinstance(k, str) and k and k != "__metadata__" for k in obj)
            and all(isinstance(v, Tensor) for v in obj.values()))


class _Flattener:
    """Turns a nested object into (JSON-able structure, [(unique dotted name, tensor)])."""

    def __init__(self) -> None:
        self.tensors: List[Tuple[str, Tensor]] = []
        self._names: set = set()

    def _name(self, path: str) -> str:
        base = path or "tensor"
        if base == "__metadata__":
            base = "_metadata_"
        name, n = base, 1
        while name in self._names:
            n += 1
            name = f"{base}#{n}"
        self._names.add(name)
        return name

    def encode(self, obj: Any, path: str) -> Any:
        if isinstance(obj, Tensor):
            name = self._name(path)
            self.tensors.append((name, obj.detach()))
            return {"tensor": name}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, dict):
            tag = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {tag: [[self.encode(k, ""), self.encode(v, self._join(path, k))] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, self._join(path, i)) for i, v in enumerate(obj)]
            return {"tuple": items} if isinstance(obj, tuple) else {"list": items}
        if hasattr(obj, "item") and hasattr(obj, "dtype") and getattr(obj, "ndim", None) == 0:  # NumPy scalar
            return self.encode(obj.item(), path)
        raise TypeError(f"save: can't store a value of type {type(obj).__name__} at {path or 'the top level'!r}: "
                        "use dicts, lists, tuples, tensors, numbers, strings, bools and None")

    @staticmethod
    def _join(path: str, key: Any) -> str:
        return f"{path}.{key}" if path else str(key)


def _decode(node: Any, tensors: Dict[str, Tensor], where: str) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (tag, body), = node.items()
        if tag == "tensor":
            if body not in tensors:
                raise ValueError(f"load: {where}: the structure refers to a tensor {body!r} that is not in the file")
            return tensors[body]
        if tag == "float":
            return float(body)
        if tag in ("list", "tuple"):
            items = [_decode(v, tensors, where) for v in body]
            return tuple(items) if tag == "tuple" else items
        if tag in ("dict", "odict"):
            out = OrderedDict() if tag == "odict" else {}
            for k, v in body:
                out[_decode(k, tensors, where)] = _decode(v, tensors, where)
            return out
    raise ValueError(f"load: {where}: corrupt backpropx structure in __metadata__ (unexpected {str(node)[:80]})")


def save(obj: Any, f: PathLike) -> None:
    """Writes obj (a state_dict, or any nesting of dicts/lists/tuples of tensors and plain values) to f.

        >>> bx.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": 1000}, "ckpt.safetensors")
    """
    path = _path(f, "save")
    metadata = [("format", "pt")]
    if _is_flat_state_dict(obj):
        tensors = [(k, v.detach()) for k, v in obj.items()]
    else:
        flat = _Flattener()
        structure = flat.encode(obj, "")
        tensors = flat.tensors
        metadata.append((_STRUCTURE_KEY, json.dumps({"version": _FORMAT_VERSION, "root": structure},
                                                    separators=(",", ":"), allow_nan=False)))
    _C._save_safetensors(path, tensors, metadata)


def load(f: PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Reads a file written by bx.save (or any safetensors file: a dict of name -> tensor, in file order).

        >>> model.load_state_dict(bx.load("model.safetensors"))
    """
    if map_location not in (None, "cpu"):
        raise ValueError(f"load: map_location={map_location!r}: only the CPU is supported")
    path = _path(f, "load")
    try:
        named, metadata = _C._load_safetensors(path)
    except UnicodeDecodeError:
        raise ValueError(f"load: {path}: a tensor name or a metadata entry is not valid UTF-8 (corrupt file?)") from None
    meta = dict(metadata)
    if _STRUCTURE_KEY not in meta:
        return dict(named)
    try:
        header = json.loads(meta[_STRUCTURE_KEY])
        root = header["root"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"load: {path}: corrupt backpropx structure in __metadata__ ({e})") from None
    try:
        return _decode(root, dict(named), path)
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError) as e:  # malformed, not ours
        raise ValueError(f"load: {path}: corrupt backpropx structure in __metadata__ ({type(e).__name__}: "
                         f"{str(e)[:80]})") from None
