"""A Parquet shard writer whose pending row group is held as Arrow columns, not as Python dicts.

:class:`~datacraft.io.writers.ParquetShardWriter` buffers up to ``row_group_rows`` rows as dicts
(~2× the text in memory, then a third copy while they are converted). :class:`ArrowRowGroups`
converts each batch as it comes (the same :func:`~datacraft.io.schema.rows_to_table`, which is row by
row) and hands the inner writer exactly one row group at a time through its public ``write_table``:
the same row groups, values and files, with less memory held between them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from datacraft.io.schema import rows_to_table
from datacraft.io.writers import ParquetShardWriter, Row, ShardWriter


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
        self._tables: list[pa.Table] = []
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
        self._tables.append(self._table(rows))
        self._rows += len(rows)
        while self._rows >= self.row_group_rows:
            self._emit(self.row_group_rows)

    def _emit(self, n: int) -> None:
        """Write the first ``n`` buffered rows as one contiguous table (one row group).

        Only those rows are copied together: the rest stay in their batch's chunk (a slice of the whole
        combined group would keep all of it alive until the next group, a third copy at that moment)."""
        pending = pa.concat_tables(self._tables)
        self._tables = [pending.slice(n)] if n < len(pending) else []
        self._rows -= n
        table = pending.slice(0, n).combine_chunks()
        del pending
        self.inner.write_table(table)
        self.rows_written = self.inner.rows_written

    def close(self) -> None:
        if self._rows:
            self._emit(self._rows)
        self.inner.close()

    def commit(self) -> list[str]:
        self.close()
        paths = self.inner.commit()
        self.digests = self.inner.digests
        return paths

    def abort(self) -> None:
        self._tables, self._rows = [], 0
        self.inner.abort()


def arrow_buffered(writer: Any, int_columns: tuple[str, ...] = ()) -> Any:
    """``writer`` wrapped in :class:`ArrowRowGroups` when it is a plain Parquet writer (else unchanged)."""
    if type(writer) is ParquetShardWriter:
        return ArrowRowGroups(writer, int_columns)
    return writer
