"""`python -m backpropx`: the command line (backpropx.cli), plus two flags for C++ builds, as
`pybind11 --cmakedir`:

    python -m backpropx --cmake-dir     # the folder to put on CMAKE_PREFIX_PATH (holds backpropxConfig.cmake)
    python -m backpropx --include-dir   # the folder holding backpropx/backpropx.h
"""
import sys


def _main() -> int:
    flag = sys.argv[1] if len(sys.argv) == 2 else None
    if flag in ("--cmake-dir", "--include-dir"):
        from ._cmake import cmake_dir, include_dir
        try:
            print(cmake_dir() if flag == "--cmake-dir" else include_dir())
        except FileNotFoundError as e:
            print(f"backpropx: error: {e}", file=sys.stderr)
            return 1
        return 0
    from .cli import main
    return main()


sys.exit(_main())
