"""Where the installed package keeps its C++ side, for C++ programs that embed the core (docs/cpp.md).

    $ cmake -S . -B build -DCMAKE_PREFIX_PATH="$(python -m backpropx --cmake-dir)"

The wheel installs the headers (include/backpropx/), the static core library (lib/libbackpropx_core.a) and the
CMake package (lib/cmake/backpropx/) inside the Python package, beside the extension module.
"""
from __future__ import annotations

import os
from typing import List

__all__ = ["cmake_dir", "include_dir"]


def _roots() -> List[str]:
    """The folders the C++ files may sit under: beside the extension module (also right for editable
    installs, where the Python sources stay in the source tree), then beside this file."""
    roots = []
    try:
        from . import _C
        roots.append(os.path.dirname(os.path.abspath(_C.__file__)))
    except ImportError:  # the extension did not build; the C++ package may still be there
        pass
    roots.append(os.path.dirname(os.path.abspath(__file__)))
    return list(dict.fromkeys(roots))


def _find(*parts: str, marker: str) -> str:
    for root in _roots():
        path = os.path.join(root, *parts)
        if os.path.isfile(os.path.join(path, marker)):
            return path
    raise FileNotFoundError(f"backpropx: no {os.path.join(*parts, marker)} under {' or '.join(_roots())}; the C++ "
                            "package comes with an installed wheel (pip install .), or from `cmake --install` of "
                            "the repository (then use that prefix)")


def cmake_dir() -> str:
    """The folder holding backpropxConfig.cmake: put it on CMAKE_PREFIX_PATH (or set backpropx_DIR to it),
    then find_package(backpropx CONFIG REQUIRED) gives the target backpropx::core.

        >>> import backpropx._cmake; backpropx._cmake.cmake_dir()   # '.../site-packages/backpropx/lib/cmake/backpropx'
    """
    return _find("lib", "cmake", "backpropx", marker="backpropxConfig.cmake")


def include_dir() -> str:
    """The folder holding backpropx/backpropx.h (what backpropx::core puts on the include path)."""
    return _find("include", marker=os.path.join("backpropx", "backpropx.h"))
