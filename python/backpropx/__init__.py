"""backpropx: a small deep-learning engine for NLP whose every gradient you can see, check and trust.

    >>> import backpropx as bx
    >>> x = bx.tensor([1.0, 2.0], requires_grad=True); (x * x).sum().backward(); x.grad
    tensor([2., 4.])
"""
import builtins as _builtins

from . import _C
from ._C import Tensor, dtype, get_num_threads, initial_seed
from . import _tensor
from ._factory import (arange, as_tensor, empty, empty_like, from_numpy, full, full_like, ones, ones_like, rand,
                       rand_like, randint, randn, randn_like, tensor, zeros, zeros_like)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from . import autograd, nn, optim
from . import monitor
from .serialization import load, save
from ._cmake import cmake_dir, include_dir  # noqa: F401  (for C++ programs that embed the core)

__version__ = "0.1.0"

float32 = dtype.float32
float64 = dtype.float64
int64 = dtype.int64
bool = dtype.bool  # noqa: A001  (torch.bool)
float = float32  # noqa: A001
double = float64
long = int64

_tensor.install()
dtype.__repr__ = dtype.__str__ = lambda self: f"backpropx.{self.name}"


# Every op bound in C++ (cpp/src/ops/*, python/src/bind_*.cpp) is bx.<name>; the names that are
# only building blocks of indexing stay in bx._C.
_INTERNAL_OPS = {"slice", "index", "select"}
for _name in _C._op_names():
    if _name not in _INTERNAL_OPS:
        globals()[_name] = getattr(_C, _name)
select = _C.select
concat = _C.cat  # torch.concat
del _name


def set_num_threads(n: int) -> None:
    """Threads for the C++ kernels and GEMMs (OpenMP); the default is the machine's cores. `bx.set_num_threads(2)`"""
    if isinstance(n, _builtins.bool) or not hasattr(n, "__index__"):
        raise TypeError(f"set_num_threads: expected an int, got {type(n).__name__}")
    n = _builtins.int(n.__index__())
    if not 1 <= n <= 4096:
        raise ValueError(f"set_num_threads: the number of threads must be between 1 and 4096, got {n}")
    _C.set_num_threads(n)


def manual_seed(seed: int) -> None:
    """Seeds the global generator behind randn/rand/randint, dropout and the inits. `bx.manual_seed(0)`

    As in torch, a negative seed is taken modulo 2**64."""
    if isinstance(seed, _builtins.bool) or not hasattr(seed, "__index__"):
        raise TypeError(f"manual_seed: expected an int, got {type(seed).__name__}")
    seed = _builtins.int(seed.__index__())
    if not -(2 ** 63) <= seed < 2 ** 64:
        raise ValueError(f"manual_seed: seed must be within [-2**63, 2**64), got {seed}")
    _C.manual_seed(seed % 2 ** 64)


def set_simd_kernels(name: str) -> None:
    """Chooses the SIMD kernels (GEMM, cross-entropy): 'auto' (AVX-512 where the CPU has it), 'baseline', 'avx512'.

    The start-up choice comes from the environment variable BACKPROPX_KERNELS. `bx.set_simd_kernels("baseline")`"""
    if not isinstance(name, str):
        raise TypeError(f"set_simd_kernels: expected a str, got {type(name).__name__}")
    _C.set_simd_kernels(name)


def simd_kernels() -> str:
    """The SIMD kernels in use (GEMM, cross-entropy): 'baseline' or 'avx512'. `bx.simd_kernels()`"""
    return _C.simd_kernels()


def build_info() -> str:
    """SIMD instruction sets, OpenMP and compiler the C++ core was built with."""
    return _C.build_info()
