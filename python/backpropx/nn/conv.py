"""1-D convolution and pooling layers (bx.nn), as torch.nn's: Conv1d (weight [C_out, C_in / groups, K], bias
[C_out]), MaxPool1d, AvgPool1d, AdaptiveMaxPool1d. Inputs are [N, C, L] (or unbatched [C, L]).

    >>> conv = bx.nn.Conv1d(300, 100, kernel_size=3, padding=1); h = conv(x)   # x [N, 300, L] -> [N, 100, L]
    >>> features = bx.nn.AdaptiveMaxPool1d(1)(h)                               # max over time: [N, 100, 1]
"""
from __future__ import annotations

import math
from typing import Optional, Tuple, Union

from .. import _C
from .._C import Tensor
from .._factory import empty
from . import init
from .module import Module, Parameter

__all__ = ["Conv1d", "MaxPool1d", "AvgPool1d", "AdaptiveMaxPool1d"]

_Size = Union[int, Tuple[int]]


def _single(v: _Size) -> int:
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"expected an int or a 1-element tuple, got {v!r}")
        return int(v[0])
    return int(v)


class Conv1d(Module):
    """1-D convolution over [N, C_in, L]: im2col, then one GEMM per group; torch.nn.Conv1d's parameters and
    initialisation (kaiming_uniform_ with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in / groups
    * kernel_size). padding: an int, 'valid' or 'same'. padding_mode 'zeros' only.

        >>> conv = bx.nn.Conv1d(16, 33, 3, stride=2); conv(bx.randn(20, 16, 50)).shape
        (20, 33, 24)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _Size, stride: _Size = 1,
                 padding: Union[str, _Size] = 0, dilation: _Size = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("Conv1d: groups must be a positive integer")
        if _single(kernel_size) < 1 or _single(stride) < 1 or _single(dilation) < 1:
            raise ValueError(f"Conv1d: kernel_size, stride and dilation must be positive, got kernel_size={kernel_size}, "
                             f"stride={stride}, dilation={dilation}")
        if in_channels % groups != 0 or out_channels % groups != 0:
            raise ValueError(f"Conv1d: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible "
                             f"by groups ({groups})")
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"Conv1d: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if padding == "same" and _single(stride) != 1:
            raise ValueError("Conv1d: padding='same' is not supported for strided convolutions")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv1d: padding_mode={padding_mode!r} is not supported (only 'zeros')")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = (_single(kernel_size),)
        self.stride = (_single(stride),)
        self.padding = padding if isinstance(padding, str) else (_single(padding),)
        self.dilation = (_single(dilation),)
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, self.kernel_size[0]))
        if bias:
            self.bias = Parameter(empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.weight.shape[2]
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return _C.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool1d(Module):
    """Max over sliding windows of [N, C, L] (stride defaults to kernel_size), as torch.nn.MaxPool1d.

        >>> bx.nn.MaxPool1d(2)(bx.randn(4, 8, 10)).shape
        (4, 8, 5)
    """

    def __init__(self, kernel_size: _Size, stride: Optional[_Size] = None, padding: _Size = 0, dilation: _Size = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: Tensor):
        return _C.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                             self.return_indices)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool1d(Module):
    """Mean over sliding windows of [N, C, L], as torch.nn.AvgPool1d.

        >>> bx.nn.AvgPool1d(3, stride=2)(bx.randn(4, 8, 10)).shape
        (4, 8, 4)
    """

    def __init__(self, kernel_size: _Size, stride: Optional[_Size] = None, padding: _Size = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = (_single(kernel_size),)
        self.stride = (_single(stride),) if stride is not None else self.kernel_size
        self.padding = (_single(padding),)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return _C.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveMaxPool1d(Module):
    """Max over output_size windows that cover the length evenly; output_size=1 is max-over-time pooling (one
    fused kernel), as torch.nn.AdaptiveMaxPool1d.

        >>> bx.nn.AdaptiveMaxPool1d(1)(bx.randn(4, 8, 10)).shape
        (4, 8, 1)
    """

    def __init__(self, output_size: _Size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return _C.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
