"""Arrow arrays from Python lists without ``pa.array`` for the common column types.

``pa.array`` (and ``pa.scalar``) ask pandas whether the input is a pandas object, which imports
pandas on the first call: ~0.6 CPU-s of start-up for every process that writes a table. The
builders here give the same arrays (``to_arrow(v, t).equals(pa.array(v, type=t))``) from buffers
for ``string``, ``float64``, ``int64`` and ``bool``; other types, values these builders do not take
(a lone surrogate, an int out of range…) and large non-ASCII text columns go to ``pa.array``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pyarrow as pa

_MAX_OFFSET = (1 << 31) - 1


def _validity(values: list[Any]) -> tuple[pa.Buffer | None, int]:
    """The validity bitmap of ``values`` (None when nothing is null) and the null count."""
    nulls = values.count(None)
    if not nulls:
        return None, 0
    valid = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


#: Bytes of non-ASCII text a process converts here before it leaves them to ``pa.array``: measuring each
#: string's UTF-8 length in Python costs ~4 ns per byte more than pyarrow's converter, so past ~64 MB the
#: one-time pandas import (~0.6 CPU-s) is the cheaper of the two.
NON_ASCII_BUDGET = 64 << 20
_non_ascii_done = 0


def _count_non_ascii(size: int) -> None:
    global _non_ascii_done
    _non_ascii_done += size


def _strings(values: list[Any]) -> pa.Array | None:
    n = len(values)
    validity, nulls = _validity(values)
    texts = [("" if v is None else v) for v in values] if nulls else values
    try:
        chars = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        data = "".join(texts).encode("utf-8")  # one copy; a lone surrogate (or a non-string) raises
    except (UnicodeEncodeError, TypeError):
        return None
    offsets = np.zeros(n + 1, dtype=np.int64)
    if len(data) == int(chars.sum()):  # ASCII only: bytes are characters
        np.cumsum(chars, out=offsets[1:])
    elif _non_ascii_done > NON_ASCII_BUDGET or "pandas" in sys.modules:
        return None
    else:
        _count_non_ascii(len(data))
        np.cumsum(np.fromiter(map(_utf8_length, texts), dtype=np.int64, count=n), out=offsets[1:])
    if offsets[-1] > _MAX_OFFSET:
        return None
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)], null_count=nulls
    )


def _numbers(values: list[Any], t: pa.DataType, dtype: type, kind: type) -> pa.Array | None:
    n = len(values)
    validity, nulls = _validity(values)
    if any(type(v) is not kind for v in values if v is not None):
        return None
    try:
        data = np.fromiter((0 if v is None else v for v in values), dtype=dtype, count=n)
    except OverflowError:
        return None
    return pa.Array.from_buffers(t, n, [validity, pa.py_buffer(data)], null_count=nulls)


def _bools(values: list[Any]) -> pa.Array | None:
    n = len(values)
    if any(type(v) is not bool for v in values if v is not None):
        return None
    validity, nulls = _validity(values)
    bits = np.packbits(np.fromiter((v is True for v in values), dtype=bool, count=n), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), n, [validity, pa.py_buffer(bits)], null_count=nulls)


def null_strings(n: int) -> pa.Array:
    """``to_arrow([None] * n, pa.string())`` without the list: a string array of ``n`` nulls."""
    validity = pa.py_buffer(np.zeros((n + 7) // 8, dtype=np.uint8))
    offsets = pa.py_buffer(np.zeros(n + 1, dtype=np.int32))
    return pa.Array.from_buffers(pa.string(), n, [validity, offsets, pa.py_buffer(b"")], null_count=n)


def to_arrow(values: list[Any], t: pa.DataType) -> pa.Array:
    """``pa.array(values, type=t)``, built from buffers for string, float64, int64 and bool columns."""
    out = None
    if t == pa.string():
        out = _strings(values)
    elif t == pa.float64():
        out = _numbers(values, t, np.float64, float)
    elif t == pa.int64():
        out = _numbers(values, t, np.int64, int)
    elif t == pa.bool_():
        out = _bools(values)
    return out if out is not None else pa.array(values, type=t)


def _valid_mask(chunk: pa.Array) -> np.ndarray | None:
    """Per row of ``chunk``: is it set (None when nothing is null)."""
    if not chunk.null_count:
        return None
    bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[chunk.offset : chunk.offset + len(chunk)].astype(bool)


def utf8_chars(column: pa.ChunkedArray | pa.Array) -> int:
    """Characters (code points) in a string column, counted on its buffers (no pyarrow.compute import).

    Null slots must hold no bytes (as pyarrow's readers and builders make them)."""
    total = 0
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if len(chunk) == chunk.null_count:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=chunk.offset + len(chunk) + 1)
        start, end = int(offsets[chunk.offset]), int(offsets[-1])
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=end)[start:]
        total += end - start
        if data.max(initial=0) >= 0x80:  # UTF-8 continuation bytes (10xxxxxx) start no character
            total -= int(np.count_nonzero((data & 0xC0) == 0x80))
    return total


def all_finite(column: pa.ChunkedArray) -> bool:
    """Whether every non-null value of a float64 column is finite (no NaN, no infinity)."""
    for chunk in column.chunks:
        n = len(chunk)
        if n == chunk.null_count:
            continue
        values = np.frombuffer(chunk.buffers()[1], dtype=np.float64, count=chunk.offset + n)[chunk.offset :]
        bad = ~np.isfinite(values)
        valid = _valid_mask(chunk)
        if valid is not None:
            bad &= valid
        if bad.any():
            return False
    return True
