"""Variable-length sequence helpers, as torch.nn.utils.rnn: PackedSequence, pack_padded_sequence,
pad_packed_sequence, pad_sequence and pack_sequence. Every move of data is one differentiable
index_select (index arithmetic in NumPy, no per-timestep Python).

    >>> packed = pack_padded_sequence(bx.randn(5, 3, 4), [5, 3, 2])
    >>> out, (h, c) = bx.nn.LSTM(4, 8)(packed); pad_packed_sequence(out)[0].shape
    (5, 3, 8)
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ... import _C
from ..._C import Tensor
from ..._factory import full, tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence"]

Lengths = Union[Tensor, Sequence[int], np.ndarray]


class PackedSequence(NamedTuple):
    """Sequences of different lengths packed time step by time step (torch.nn.utils.rnn.PackedSequence).

    data [sum(lengths), *]: the rows of step 0 of every sequence, then step 1 of those still running, ...
    (sequences ordered by decreasing length); batch_sizes int64 [max_len]: how many sequences run at
    each step; sorted_indices / unsorted_indices: the permutation to that order and back (None when
    the batch was already sorted).

        >>> pack_padded_sequence(bx.zeros(3, 2, 1), [3, 1]).batch_sizes
        tensor([2, 1, 1])
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor] = None
    unsorted_indices: Optional[Tensor] = None

    def to(self, dtype) -> "PackedSequence":
        """The same packing with data converted to dtype."""
        return self._replace(data=self.data.to(dtype))

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _as_lengths(lengths: Lengths, name: str = "lengths") -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point():
            raise TypeError(f"{name} must be integers, got a {lengths.dtype} tensor")
        values = np.asarray(lengths.tolist(), dtype=np.int64)
    else:
        values = np.asarray(lengths)
        if values.size == 0:
            raise ValueError(f"{name} must hold one length per sequence, got none")
        if values.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integers, got {values.dtype}")
        values = values.astype(np.int64)
    return values.reshape(-1) if values.ndim == 0 else values


def _index(rows: np.ndarray) -> Tensor:
    return tensor(np.ascontiguousarray(rows, dtype=np.int64))


def _steps(sorted_lengths: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(time, rank) of every packed row, in packing order: time-major, ranks ascending."""
    max_len = int(sorted_lengths[0]) if len(sorted_lengths) else 0
    return np.nonzero(sorted_lengths[None, :] > np.arange(max_len)[:, None])


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    max_len = int(sorted_lengths[0]) if len(sorted_lengths) else 0
    return (sorted_lengths[None, :] > np.arange(max_len)[:, None]).sum(1).astype(np.int64)


def _padding_row(like: Tensor, value: float) -> Tensor:
    return full([1, *like.shape[1:]], value, dtype=like.dtype)


def pack_padded_sequence(input: Tensor, lengths: Lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Packs a padded batch [T, B, *] ([B, T, *] when batch_first) of sequences with the given lengths.

        >>> pack_padded_sequence(bx.randn(4, 2, 3), [4, 2]).data.shape
        (6, 3)
    """
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have at least 2 dims [T, B, *], "
                         f"got shape {list(input.shape)}")
    lengths = _as_lengths(lengths)
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lengths.ndim != 1 or len(lengths) != B:
        raise ValueError(f"pack_padded_sequence: expected {B} lengths (one per sequence; input shape "
                         f"{list(input.shape)}, batch_first={batch_first}), got {len(lengths)}")
    if B and lengths.min() <= 0:
        raise ValueError("pack_padded_sequence: length of all samples has to be greater than 0, but found an "
                         f"element in 'lengths' that is <= 0 (lengths {lengths.tolist()})")
    if B and lengths.max() > T:
        raise ValueError(f"pack_padded_sequence: lengths {lengths.tolist()} has an entry longer than the "
                         f"sequence length {T} (input shape {list(input.shape)}, batch_first={batch_first})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(f"pack_padded_sequence: `lengths` array must be sorted in decreasing order when "
                             f"`enforce_sorted` is True (got {lengths.tolist()}); pass enforce_sorted=False to "
                             f"sort the batch inside")
        order = np.arange(B)
        sorted_indices = unsorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices, unsorted_indices = _index(order), _index(np.argsort(order))
    times, ranks = _steps(lengths[order])
    columns = order[ranks]
    rows = columns * T + times if batch_first else times * B + columns
    data = input.reshape(T * B, *input.shape[2:]).index_select(0, _index(rows))
    return PackedSequence(data, _index(_batch_sizes(lengths[order])), sorted_indices, unsorted_indices)


def _sorted_lengths(batch_sizes: np.ndarray) -> np.ndarray:
    B = int(batch_sizes[0]) if len(batch_sizes) else 0
    return (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1).astype(np.int64)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Unpacks to (padded [T, B, *] or [B, T, *], lengths int64 [B]) in the batch's original order.

        >>> pad_packed_sequence(pack_padded_sequence(bx.ones(3, 2, 1), [3, 1]))[1]
        tensor([3, 1])
    """
    data = sequence.data
    batch_sizes = _as_lengths(sequence.batch_sizes, "batch_sizes")
    lengths = _sorted_lengths(batch_sizes)
    B, max_len = len(lengths), len(batch_sizes)
    T = max_len if total_length is None else int(total_length)
    if T < max_len:
        raise ValueError(f"pad_packed_sequence: expected total_length to be at least the length of the longest "
                         f"sequence ({max_len}), got {total_length}")
    order = np.arange(B) if sequence.sorted_indices is None else _as_lengths(sequence.sorted_indices)
    times, ranks = _steps(lengths)
    columns = order[ranks]
    slots = columns * T + times if batch_first else times * B + columns
    source = np.full(T * B, data.shape[0], dtype=np.int64)  # the padding row by default
    source[slots] = np.arange(len(slots))
    with_pad = _C.cat([data, _padding_row(data, padding_value)], 0)
    shape = [B, T] if batch_first else [T, B]
    padded = with_pad.index_select(0, _index(source)).reshape(*shape, *data.shape[1:])
    original = np.empty(B, dtype=np.int64)
    original[order] = lengths
    return padded, _index(original)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stacks sequences [L_i, *] into [max L, B, *] ([B, max L, *] when batch_first), padding the rest.

        >>> pad_sequence([bx.ones(3, 2), bx.ones(1, 2)]).shape
        (3, 2, 2)
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    trailing = tuple(sequences[0].shape[1:])
    for k, s in enumerate(sequences):
        if s.ndim < 1 or tuple(s.shape[1:]) != trailing:
            raise ValueError(f"pad_sequence: every sequence must be [L, *{list(trailing)}]: sequence 0 has shape "
                             f"{list(sequences[0].shape)}, sequence {k} has shape {list(s.shape)}")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    B, T = len(sequences), int(lengths.max())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    t = np.arange(T)[:, None]                                   # [T, 1]
    shift = (T - lengths)[None, :] if padding_side == "left" else np.zeros((1, B), dtype=np.int64)
    pos = t - shift                                             # position inside each sequence, [T, B]
    valid = (pos >= 0) & (pos < lengths[None, :])
    source = np.where(valid, starts[None, :] + pos, int(lengths.sum()))  # [T, B]; else the padding row
    if batch_first:
        source = source.T
    flat = _C.cat(sequences + [_padding_row(sequences[0], padding_value)], 0)
    return flat.index_select(0, _index(source.reshape(-1))).reshape(*source.shape, *trailing)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of sequences [L_i, *] (pad_sequence, then pack_padded_sequence).

        >>> pack_sequence([bx.ones(3, 1), bx.ones(2, 1)]).batch_sizes
        tensor([2, 2, 1])
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def packed_to_padded(sequence: PackedSequence) -> Tuple[Tensor, np.ndarray]:
    """(time-major padded [T, B, *] in the packing's sorted order, its lengths): what the recurrent
    layer ops take. The inverse is padded_to_packed."""
    data = sequence.data
    batch_sizes = _as_lengths(sequence.batch_sizes, "batch_sizes")
    lengths = _sorted_lengths(batch_sizes)
    B, T = len(lengths), len(batch_sizes)
    times, ranks = _steps(lengths)
    # Padding slots read row 0: an inactive step's input is never used and gets a zero gradient.
    source = np.zeros(T * B, dtype=np.int64)
    source[times * B + ranks] = np.arange(len(times))
    if data.shape[0] == 0:
        data = _C.cat([data, _padding_row(data, 0.0)], 0)
    return data.index_select(0, _index(source)).reshape(T, B, *data.shape[1:]), lengths

def padded_to_packed(padded: Tensor, lengths: np.ndarray) -> Tensor:
    """The packed data rows of a time-major padded [T, B, *] batch in sorted order."""
    T, B = padded.shape[0], padded.shape[1]
    times, ranks = _steps(lengths)
    return padded.reshape(T * B, *padded.shape[2:]).index_select(0, _index(times * B + ranks))
