"""A Parquet shard writer whose pending row group is held as Arrow columns, not as Python dicts.

:class:`~datacraft.io.writers.ParquetShardWriter` buffers up to ``row_group_rows`` rows as dicts
(~2× the text in memory, then a third copy while they are converted). :class:`ArrowRowGroups`
converts each batch as it comes (the same :func:`~datacraft.io.schema.rows_to_table`, which is row by
row) and hands the inner writer exactly one row group at a time through its public ``write_table``:
the same row groups, values and files, with less memory held between them.

A string column's bytes are appended batch by batch to one growing anonymous mapping (grown with
``mremap``: no copy, only written pages resident, all of it returned to the OS when the group is
written), so a row group is never held twice (as batches and as their combined copy). Hand-written rather
than ``pa.BufferOutputStream``: that grows by reallocating through Arrow's pool, which may copy the group
while both old and new buffers are resident and leaves the freed block to the allocator; a private mapping
grown by ``mremap`` does neither (where there is no ``mremap``, growing costs one copy as with Arrow's).
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
import pyarrow as pa

from datacraft.io.schema import rows_to_table
from datacraft.io.writers import ParquetShardWriter, Row, ShardWriter

_MAX_OFFSET = (1 << 31) - 1
_EMPTY = np.zeros(1, dtype=np.int64)


class _GrowingBytes:
    """Bytes appended into an anonymous mapping that doubles in place (``mremap``; where the platform has
    none, into a new mapping with one copy)."""

    def __init__(self, capacity: int = 1 << 20) -> None:
        self.map = mmap.mmap(-1, capacity, flags=mmap.MAP_PRIVATE)  # shared: grown pages would fault (SIGBUS)
        self.size = 0

    def append(self, data: memoryview) -> None:
        end = self.size + len(data)
        if end > len(self.map):
            self._grow(max(end, 2 * len(self.map)))
        self.map[self.size : end] = data
        self.size = end

    def _grow(self, capacity: int) -> None:
        try:
            self.map.resize(capacity)
        except SystemError:  # no mremap (macOS, BSD): a new mapping and one copy
            grown = mmap.mmap(-1, capacity, flags=mmap.MAP_PRIVATE)
            grown[: self.size] = self.map[: self.size]
            self.map.close()
            self.map = grown

    def buffer(self) -> pa.Buffer:
        """The bytes so far as an Arrow buffer over the mapping (no copy); append no more after this."""
        return pa.py_buffer(memoryview(self.map)[: self.size])


class _StringColumn:
    """One string column of the pending row group: its bytes, offsets and validity, batch by batch."""

    def __init__(self) -> None:
        self.data = _GrowingBytes()
        self.offsets: list[np.ndarray] = [_EMPTY]
        self.valid: list[np.ndarray | int] = []  # a mask per batch, or its row count when nothing is null
        self.nulls = 0

    def append(self, chunk: pa.Array) -> None:
        n = len(chunk)
        if not n:
            return
        bufs = chunk.buffers()
        offs = np.frombuffer(bufs[1], dtype=np.int32, count=chunk.offset + n + 1)[chunk.offset :]
        start, end = int(offs[0]), int(offs[-1])
        base = self.data.size
        if end > start:
            self.data.append(memoryview(bufs[2])[start:end])
        self.offsets.append(offs[1:].astype(np.int64) + (base - start))
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(bufs[0], dtype=np.uint8), bitorder="little")
            self.valid.append(bits[chunk.offset : chunk.offset + n].astype(bool))
            self.nulls += chunk.null_count
        else:
            self.valid.append(n)

    def array(self, n: int) -> pa.Array:
        """The column as one contiguous array of ``n`` rows (equal to the batches' combined chunks)."""
        offsets = np.concatenate(self.offsets)
        if offsets[-1] > _MAX_OFFSET:
            raise pa.ArrowInvalid(f"offset overflow: {int(offsets[-1])} bytes in one string column of a row group")
        validity = None
        if self.nulls:
            mask = np.concatenate([np.ones(v, dtype=bool) if isinstance(v, int) else v for v in self.valid])
            validity = pa.py_buffer(np.packbits(mask, bitorder="little"))
        bufs = [validity, pa.py_buffer(offsets.astype(np.int32)), self.data.buffer()]
        return pa.Array.from_buffers(pa.string(), n, bufs, null_count=self.nulls)


class ArrowRowGroups(ShardWriter):
    """Wraps a :class:`ParquetShardWriter`; ``int_columns`` hold ints only (the caller's promise, checked),
    so they are built from a numpy buffer instead of being conformed value by value."""

    def __init__(self, inner: ParquetShardWriter, int_columns: tuple[str, ...] = ()) -> None:
        super().__init__(inner.directory, inner.stem)
        self.inner = inner
        self.schema = inner.schema
        self.row_group_rows = inner.row_group_rows
        self.int_columns = (
            tuple(c for c in int_columns if self.schema.field(c).type == pa.int64()) if int_columns else ()
        )
        self._rest = pa.schema(
            [f for f in self.schema if f.name not in self.int_columns], metadata=self.schema.metadata
        )
        self._strings = [f.type == pa.string() for f in self.schema]
        self._columns: list[Any] = []
        self._rows = 0
        self._reset()

    def _reset(self) -> None:
        """An empty pending row group: a growing buffer per string column, a list of chunks per other one."""
        self._columns = [_StringColumn() if s else [] for s in self._strings]
        self._rows = 0

    def _table(self, rows: list[Row]) -> pa.Table:
        if not self.int_columns:
            return rows_to_table(rows, self.schema)
        ints = {c: [r.get(c) for r in rows] for c in self.int_columns}
        if not all(type(v) is int and -(1 << 63) <= v < (1 << 63) for vs in ints.values() for v in vs):
            return rows_to_table(rows, self.schema)  # not the promised ints: the general rule decides
        rest = rows_to_table([{k: v for k, v in r.items() if k not in ints} for r in rows], self._rest)
        arrays = []
        for f in self.schema:
            if f.name in ints:
                data = np.array(ints[f.name], dtype=np.int64)
                arrays.append(pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)]))
            else:
                arrays.append(rest.column(f.name))
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def write(self, rows: list[Row]) -> None:
        if not rows:
            return
        table = self._table(rows)
        del rows
        pos = 0
        while pos < len(table):  # rows up to the end of the pending row group, which is written when full
            k = min(self.row_group_rows - self._rows, len(table) - pos)
            part = table.slice(pos, k)
            for column, chunked in zip(self._columns, part.columns, strict=True):
                for chunk in chunked.chunks:
                    column.append(chunk)  # a string column copies the bytes; another keeps the (small) chunk
            self._rows += k
            pos += k
            if self._rows >= self.row_group_rows:
                self._emit()

    def _emit(self) -> None:
        """Write the pending rows as one contiguous table (one row group) and start an empty one."""
        n = self._rows
        arrays = [c.array(n) if isinstance(c, _StringColumn) else pa.concat_arrays(c) for c in self._columns]
        self._reset()
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        del arrays
        self.inner.write_table(table)
        self.rows_written = self.inner.rows_written

    def close(self) -> None:
        if self._rows:
            self._emit()
        self.inner.close()

    def commit(self) -> list[str]:
        self.close()
        paths = self.inner.commit()
        self.digests = self.inner.digests
        return paths

    def abort(self) -> None:
        self._reset()
        self.inner.abort()


def arrow_buffered(writer: Any, int_columns: tuple[str, ...] = ()) -> Any:
    """``writer`` wrapped in :class:`ArrowRowGroups` when it is a plain Parquet writer (else unchanged)."""
    if type(writer) is ParquetShardWriter:
        return ArrowRowGroups(writer, int_columns)
    return writer
