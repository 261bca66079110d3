"""The `backpropx` command line (also `python -m backpropx`).

    $ backpropx walkthrough
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def _walkthrough(args: argparse.Namespace) -> int:
    from . import walkthrough
    return walkthrough.main(epochs=args.epochs)


def _info(args: argparse.Namespace) -> int:
    import backpropx as bx
    print(f"backpropx {bx.__version__}")
    print(f"  {bx.build_info()}")
    print(f"  threads: {bx.get_num_threads()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backpropx", description="A small deep-learning engine for NLP whose "
                                     "every gradient you can see, check and trust.")
    sub = parser.add_subparsers(dest="command", required=True)
    walk = sub.add_parser("walkthrough", help="backpropagation by hand vs autograd, then a tiny translator")
    walk.add_argument("--epochs", type=int, default=100, help="training epochs of the translator (default 100)")
    walk.set_defaults(run=_walkthrough)
    info = sub.add_parser("info", help="build facts: SIMD, OpenMP, threads")
    info.set_defaults(run=_info)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
