"""Recurrent layers with torch's names, arguments, parameter layouts and initialisation: RNN, LSTM, GRU
and the cells RNNCell, LSTMCell, GRUCell.

Each (layer, direction) is one fused C++ op over the whole sequence (bx.lstm_layer, bx.gru_layer,
bx.rnn_tanh_layer, bx.rnn_relu_layer) with a hand-written backward-through-time; this file only
composes layers and directions. Variable lengths come as a PackedSequence or as `lengths=`.

    >>> lstm = bx.nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
    >>> out, (h, c) = lstm(bx.randn(3, 7, 10)); out.shape, h.shape
    ((3, 7, 40), (4, 3, 20))
"""
from __future__ import annotations

import math
import warnings
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _C
from .._C import Tensor
from .._factory import empty, tensor, zeros
from . import functional as F
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, packed_to_padded, padded_to_packed

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_LAYER_OPS = {"RNN_TANH": _C.rnn_tanh_layer, "RNN_RELU": _C.rnn_relu_layer, "LSTM": _C.lstm_layer,
              "GRU": _C.gru_layer}

Lengths = Union[Tensor, Sequence[int], np.ndarray, int]


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrent network behind RNN, LSTM and GRU
    (torch.nn.RNNBase). Parameters per layer k and direction: weight_ih_l{k}[_reverse] [G*H, I_k],
    weight_hh_l{k}[_reverse] [G*H, H], bias_ih_l{k}[_reverse] and bias_hh_l{k}[_reverse] [G*H], all
    U(-1/sqrt(H), 1/sqrt(H)).

        >>> bx.nn.GRU(4, 8).weight_ih_l0.shape
        (24, 4)
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"RNNBase: unknown mode {mode!r} (expected one of {sorted(_GATES)})")
        name = type(self).__name__
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability of "
                             f"an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", UserWarning, stacklevel=2)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if arg == "input_size" else 1):
                raise ValueError(f"{name}: {arg} must be a {'non-negative' if arg == 'input_size' else 'positive'} "
                                 f"integer, got {value!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size > 0 (LSTM with projections) is not supported")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: List[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for base, shape in shapes:
                    setattr(self, base + suffix, Parameter(empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(base + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> List[Optional[Tensor]]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> List[List[Parameter]]:
        """Per (layer, direction): [w_ih, w_hh, b_ih, b_hh] (torch's order)."""
        per = 4 if self.bias else 2
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def flatten_parameters(self) -> None:
        """No-op (torch compacts cuDNN weights here); kept so torch code runs unchanged."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    # ---- forward --------------------------------------------------------------------------------

    def _check_state(self, h: Tensor, expected: Tuple[int, ...], what: str) -> None:
        if tuple(h.shape) != expected:
            raise ValueError(f"{type(self).__name__}: Expected {what} size {expected}, got {list(h.shape)}")

    def _run(self, input: Tensor, hx, lengths: Optional[Lengths] = None):
        """Shared forward: returns (output, h_n) or (output, (h_n, c_n)), as torch."""
        name, is_lstm = type(self).__name__, self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        sorted_indices = unsorted_indices = None
        unbatched = False
        if packed:
            if lengths is not None:
                raise ValueError(f"{name}: pass lengths= or a PackedSequence, not both")
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            x, seq_lengths = packed_to_padded(input)
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: expected a Tensor or a PackedSequence input, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D (unbatched) or 3D, got {input.ndim}D tensor "
                                 f"of shape {list(input.shape)}")
            unbatched = input.ndim == 2
            x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
            seq_lengths = None if lengths is None else _lengths_array(lengths, x.shape[1], name)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                             f"got {x.shape[-1]} (input shape {list(x.shape if packed else input.shape)})")
        T, B = x.shape[0], x.shape[1]
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, B, self.hidden_size)

        h0 = c0 = None
        if hx is not None:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
                h0, c0 = hx
            else:
                if not isinstance(hx, Tensor):
                    raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
                h0 = hx
            states = [s for s in (h0, c0) if s is not None]
            if unbatched:
                for s in states:
                    if s.ndim != 2:
                        raise ValueError(f"{name}: for unbatched 2-D input, hx should also be 2-D but got "
                                         f"{s.ndim}-D tensor of shape {list(s.shape)}")
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            else:
                for s in states:
                    if s.ndim != 3:
                        raise ValueError(f"{name}: for batched 3-D input, hx should also be 3-D but got "
                                         f"{s.ndim}-D tensor of shape {list(s.shape)}")
            self._check_state(h0, expected, "hidden" if not is_lstm else "hidden[0]")
            if c0 is not None:
                self._check_state(c0, expected, "hidden[1]")
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if c0 is not None else None

        op = _LAYER_OPS[self.mode]
        length_tensor = None if seq_lengths is None else tensor(seq_lengths)
        layer_input = x
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                weights = [getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)]
                weights += [getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix)] if self.bias \
                    else [None, None]
                states = [None if h0 is None else h0[k]]
                if is_lstm:
                    states.append(None if c0 is None else c0[k])
                result = op(layer_input, *states, *weights, lengths=length_tensor, reverse=bool(direction))
                outputs.append(result[0])
                h_n.append(result[1])
                if is_lstm:
                    c_n.append(result[2])
            layer_output = outputs[0] if directions == 1 else _C.cat(outputs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_output = F.dropout(layer_output, self.dropout, True)
            layer_input = layer_output

        output = layer_input
        h_n = _C.stack(h_n, 0)
        c_n = _C.stack(c_n, 0) if is_lstm else None
        if packed:
            output = PackedSequence(padded_to_packed(output, seq_lengths), input.batch_sizes, sorted_indices,
                                    unsorted_indices)
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
                c_n = c_n.index_select(1, unsorted_indices) if is_lstm else None
        elif unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_n, c_n) if is_lstm else h_n)


def _lengths_array(lengths: Lengths, batch: int, name: str) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point():
            raise TypeError(f"{name}: lengths must be integers, got a {lengths.dtype} tensor")
        if lengths.ndim != 1:
            raise ValueError(f"{name}: lengths must be 1-D (one per sequence), got shape {list(lengths.shape)}")
        values = np.asarray(lengths.tolist(), dtype=np.int64)
    elif isinstance(lengths, (int, np.integer)) and not isinstance(lengths, bool):
        values = np.full(batch, int(lengths), dtype=np.int64)
    else:
        values = np.asarray(lengths)
        if values.ndim != 1:
            raise ValueError(f"{name}: lengths must be 1-D (one per sequence), got shape {list(values.shape)}")
        if values.size and values.dtype.kind not in "iu":
            raise TypeError(f"{name}: lengths must be integers, got {values.dtype}")
        values = values.astype(np.int64)
    if len(values) != batch:
        raise ValueError(f"{name}: expected {batch} lengths (one per sequence of the batch), got {len(values)}")
    return values


class RNN(RNNBase):
    """Elman RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu), as torch.nn.RNN.

        >>> out, h = bx.nn.RNN(4, 8, num_layers=2)(bx.randn(5, 3, 4)); out.shape, h.shape
        ((5, 3, 8), (2, 3, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Union[Tensor, PackedSequence], hx: Optional[Tensor] = None, *,
                lengths: Optional[Lengths] = None):
        """(output [T, B, D*H], h_n [num_layers*D, B, H]); lengths= for a padded batch of variable lengths."""
        return self._run(input, hx, lengths)


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o as torch.nn.LSTM.

        >>> out, (h, c) = bx.nn.LSTM(4, 8)(bx.randn(5, 3, 4)); c.shape
        (1, 3, 8)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, dtype=dtype)

    def forward(self, input: Union[Tensor, PackedSequence], hx: Optional[Tuple[Tensor, Tensor]] = None, *,
                lengths: Optional[Lengths] = None):
        """(output, (h_n, c_n)); lengths= for a padded batch of variable lengths."""
        return self._run(input, hx, lengths)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), as torch.nn.GRU.

        >>> out, h = bx.nn.GRU(4, 8, batch_first=True)(bx.randn(3, 5, 4)); out.shape
        (3, 5, 8)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype)

    def forward(self, input: Union[Tensor, PackedSequence], hx: Optional[Tensor] = None, *,
                lengths: Optional[Lengths] = None):
        """(output, h_n); lengths= for a padded batch of variable lengths."""
        return self._run(input, hx, lengths)


# ---- cells --------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """One recurrent step's parameters: weight_ih [G*H, I], weight_hh [G*H, H], bias_ih / bias_hh [G*H],
    U(-1/sqrt(H), 1/sqrt(H)) (torch.nn.RNNCellBase)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s

    def _batched(self, input: Tensor) -> Tuple[Tensor, bool]:
        if not isinstance(input, Tensor) or input.ndim not in (1, 2):
            shape = list(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got {shape}")
        return (input.unsqueeze(0), True) if input.ndim == 1 else (input, False)

    def _state(self, hx: Optional[Tensor], input: Tensor, unbatched: bool) -> Tensor:
        if hx is None:
            return zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
        if hx.ndim != (1 if unbatched else 2):
            raise ValueError(f"{type(self).__name__}: for {'unbatched 1-D' if unbatched else 'batched 2-D'} input, "
                             f"hx should be {'1-D' if unbatched else '2-D'}, got shape {list(hx.shape)}")
        return hx.unsqueeze(0) if unbatched else hx


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu), as torch.nn.RNNCell.

        >>> bx.nn.RNNCell(4, 8)(bx.randn(3, 4)).shape
        (3, 8)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; select from 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, 1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        x, unbatched = self._batched(input)
        op = _C.rnn_tanh_cell if self.nonlinearity == "tanh" else _C.rnn_relu_cell
        h = op(x, self._state(hx, x, unbatched), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o), as torch.nn.LSTMCell: returns (h', c').

        >>> h, c = bx.nn.LSTMCell(4, 8)(bx.randn(3, 4)); h.shape
        (3, 8)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        x, unbatched = self._batched(input)
        if hx is None:
            h = c = self._state(None, x, unbatched)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
            h, c = self._state(hx[0], x, unbatched), self._state(hx[1], x, unbatched)
        h, c = _C.lstm_cell(x, (h, c), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n), as torch.nn.GRUCell.

        >>> bx.nn.GRUCell(4, 8)(bx.randn(3, 4)).shape
        (3, 8)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        x, unbatched = self._batched(input)
        h = _C.gru_cell(x, self._state(hx, x, unbatched), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h.squeeze(0) if unbatched else h
