"""Shard writers: Parquet (zstd, bounded row groups, rotation) and JSON Lines.

Every file is written under a temporary name; :meth:`ShardWriter.commit` renames them all
once the shard task is complete, so a killed task never leaves a file that looks finished.
A Parquet writer is given its schema when it is made (see :mod:`datacraft.io.schema`): every
file it writes has exactly that schema, whatever the rows hold; it never infers one from data.
"""

from __future__ import annotations

import gzip
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from datacraft.io import fs
from datacraft.io.atomic import tmp_path_for
from datacraft.io.files import local_digest
from datacraft.io.schema import as_string, rows_conformed, rows_to_table

Row = dict[str, Any]


class SchemaMismatchError(ValueError):
    """A table handed to a writer does not have the writer's schema."""


class ShardWriter(ABC):
    """Writes rows to one or more files named ``{stem}-{k:04d}{suffix}`` in ``directory``."""

    suffix = ""

    def __init__(
        self, directory: str | Path, stem: str, rows_per_file: int = 1_000_000, bytes_per_file: int = 512 * 1024 * 1024
    ) -> None:
        self.directory = fs.as_path(directory)  # a local Path, or a URL's RemotePath
        self.stem = stem
        self.rows_per_file = rows_per_file
        self.bytes_per_file = bytes_per_file
        self._pending: list[tuple[Path, Path]] = []  # (tmp, final)
        #: Size and checksum of each committed file (final name → (bytes, "xxh3_64:…")), taken from the
        #: local temporary file before its rename or upload: markers need no second read of the output.
        self.digests: dict[str, tuple[int, str]] = {}
        self._rows_in_file = 0
        self.rows_written = 0

    def _next_path(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{self.stem}-{len(self._pending):04d}{self.suffix}"
        tmp = tmp_path_for(final)
        self._pending.append((tmp, final))
        self._rows_in_file = 0
        return tmp

    @abstractmethod
    def write(self, rows: list[Row]) -> None:
        """Append rows (dicts of column → value)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and close the current file (still under its temporary name)."""

    def commit(self) -> list[str]:
        """Close, then rename every temporary file to its final name; return the final names."""
        self.close()
        for tmp, final in self._pending:
            self.digests[str(final)] = local_digest(tmp)
            fs.replace(tmp, final)  # rename, or upload to an object store
        return [str(final) for _, final in self._pending]

    def abort(self) -> None:
        """Close and delete every temporary file."""
        try:
            self.close()
        finally:
            for tmp, _ in self._pending:
                tmp.unlink(missing_ok=True)


class ParquetShardWriter(ShardWriter):
    """Parquet of one fixed ``schema``, zstd, row groups of at most ``row_group_rows``, rotation by rows and bytes."""

    suffix = ".parquet"

    def __init__(
        self,
        directory: str | Path,
        stem: str,
        *,
        schema: pa.Schema,
        row_group_rows: int = 10_000,
        compression: str = "zstd",
        **kw: Any,
    ) -> None:
        super().__init__(directory, stem, **kw)
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.compression = compression
        self._buffer: list[Row] = []
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None

    def write(self, rows: list[Row]) -> None:
        self._buffer.extend(rows)
        while len(self._buffer) >= self.row_group_rows:
            chunk, self._buffer = self._buffer[: self.row_group_rows], self._buffer[self.row_group_rows :]
            self._write_table(rows_to_table(chunk, self.schema))

    def write_table(self, table: pa.Table) -> None:
        """Append an Arrow table with the writer's columns (safe casts only; anything else is an error)."""
        self._flush_buffer()
        if table.schema.names != self.schema.names:
            raise SchemaMismatchError(f"columns {table.schema.names} differ from the schema's {self.schema.names}")
        if not table.schema.equals(self.schema, check_metadata=False):
            try:
                table = table.cast(self.schema, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise SchemaMismatchError(f"table does not fit the schema: {e}") from None
        table = table.replace_schema_metadata(self.schema.metadata)
        for start in range(0, len(table), self.row_group_rows):
            self._write_table(table.slice(start, self.row_group_rows))

    def _flush_buffer(self) -> None:
        if self._buffer:
            chunk, self._buffer = self._buffer, []
            self._write_table(rows_to_table(chunk, self.schema))

    def _open(self) -> None:
        self._tmp = self._next_path()
        self._writer = pq.ParquetWriter(self._tmp, self.schema, compression=self.compression)

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write_table(self, table: pa.Table) -> None:
        while len(table):
            if self._writer is None:
                self._open()
            assert self._writer is not None and self._tmp is not None
            room = self.rows_per_file - self._rows_in_file
            part = table.slice(0, room)
            self._writer.write_table(part, row_group_size=self.row_group_rows)
            self._rows_in_file += len(part)
            self.rows_written += len(part)
            table = table.slice(len(part))
            if self._rows_in_file >= self.rows_per_file or os.path.getsize(self._tmp) >= self.bytes_per_file:
                self._close_file()

    def close(self) -> None:
        self._flush_buffer()
        self._close_file()


class JsonlShardWriter(ShardWriter):
    """JSON Lines, optionally gzip-compressed (deterministic: no name or time in the header)."""

    def __init__(
        self, directory: str | Path, stem: str, *, compress: bool = False, schema: pa.Schema | None = None, **kw: Any
    ) -> None:
        super().__init__(directory, stem, **kw)
        self.schema = schema  # when given, every line has exactly its keys, values conformed as in Parquet
        self.compress = compress
        self.suffix = ".jsonl.gz" if compress else ".jsonl"
        self._fh: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None

    def _open(self) -> None:
        tmp = self._next_path()
        self._raw = open(tmp, "wb")  # noqa: SIM115 - closed in _close_file
        self._fh = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0) if self.compress else self._raw

    def _close_file(self) -> None:
        if self._fh is not None:
            self._fh.close()
            if self._raw is not self._fh and self._raw is not None:
                self._raw.close()
            self._fh = self._raw = None

    def write(self, rows: list[Row]) -> None:
        if self.schema is not None:
            rows = rows_conformed(rows, self.schema)
        for row in rows:
            if self._fh is None:
                self._open()
            assert self._fh is not None
            self._fh.write(orjson.dumps(row, default=str) + b"\n")
            self._rows_in_file += 1
            self.rows_written += 1
            if self._rows_in_file >= self.rows_per_file:
                self._close_file()

    def close(self) -> None:
        self._close_file()


class StdoutWriter(ShardWriter):
    """JSON Lines to standard output, for Unix-filter use (``--output -``)."""

    def __init__(self) -> None:
        super().__init__(".", "stdout")

    def write(self, rows: list[Row]) -> None:
        out = sys.stdout.buffer
        out.write(b"".join(orjson.dumps(r, default=str) + b"\n" for r in rows))
        self.rows_written += len(rows)

    def close(self) -> None:
        sys.stdout.buffer.flush()

    def commit(self) -> list[str]:
        self.close()
        return ["-"]


def make_writer(
    fmt: str,
    directory: str | Path,
    stem: str,
    *,
    schema: pa.Schema,
    rows_per_file: int,
    bytes_per_file: int,
    row_group_rows: int,
    compression: str,
) -> ShardWriter:
    """Build the writer for an output format (``parquet``, ``jsonl`` or ``jsonl.gz``) of one ``schema``."""
    if fmt == "parquet":
        return ParquetShardWriter(
            directory,
            stem,
            schema=schema,
            row_group_rows=row_group_rows,
            compression=compression,
            rows_per_file=rows_per_file,
            bytes_per_file=bytes_per_file,
        )
    if fmt in ("jsonl", "jsonl.gz"):
        return JsonlShardWriter(
            directory,
            stem,
            compress=fmt == "jsonl.gz",
            schema=schema,
            rows_per_file=rows_per_file,
            bytes_per_file=bytes_per_file,
        )
    raise ValueError(f"unknown output format {fmt!r}")


HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def partition_dir(column: str, value: Any) -> str:
    """Hive-style folder name of one partition: ``lang=en`` (URI-escaped; nulls as Hive's default)."""
    if value is not None and not isinstance(value, str):
        value = as_string(value)
    text = HIVE_NULL if value is None or value == "" else quote(value, safe="")
    return f"{column}={text}"


class PartitionedWriter(ShardWriter):
    """Routes rows to one writer per value of ``column``: ``directory/column=value/stem-KKKK…``.

    The column stays inside the files too (same name, same value as the folder), so readers that
    ignore folder names (``datasets``, polars on a glob, datacraft's own readers) still have it; see
    "Partitioned outputs" in docs/design.md for how hive-aware readers treat it. Writers are created
    in order of first appearance and commit together; each partition rotates its files on its own.
    """

    def __init__(self, directory: str | Path, stem: str, column: str, make: Callable[[Path], ShardWriter]) -> None:
        super().__init__(directory, stem)
        self.column = column
        self._make = make
        self._writers: dict[str, ShardWriter] = {}

    def write(self, rows: list[Row]) -> None:
        groups: dict[str, list[Row]] = {}
        for row in rows:
            groups.setdefault(partition_dir(self.column, row.get(self.column)), []).append(row)
        for name, part in groups.items():
            writer = self._writers.get(name)
            if writer is None:
                writer = self._writers[name] = self._make(self.directory / name)
            writer.write(part)
            self.rows_written += len(part)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def commit(self) -> list[str]:
        paths = [path for writer in self._writers.values() for path in writer.commit()]
        for writer in self._writers.values():
            self.digests.update(writer.digests)
        return paths

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.abort()


class TableParquetShardWriter(ParquetShardWriter):
    """A Parquet writer that also takes Arrow tables of its schema (:meth:`write_arrow`), in order with rows.

    Row groups and file rotation fall exactly where the row path puts them: everything queued is cut
    into row groups of ``row_group_rows`` rows, each one contiguous (no chunk boundaries inside), so
    the files are byte-identical to those of the same rows written with :meth:`write`.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._tables: list[pa.Table] = []
        self._queued = 0

    def write(self, rows: list[Row]) -> None:
        if rows:
            self.write_arrow(rows_to_table(rows, self.schema))

    def write_arrow(self, table: pa.Table) -> None:
        """Append a table that has exactly the writer's schema."""
        self._tables.append(table)
        self._queued += len(table)
        if self._queued >= self.row_group_rows:
            self._drain(whole_groups_only=True)

    def _drain(self, whole_groups_only: bool) -> None:
        if not self._queued:
            return
        queued = pa.concat_tables(self._tables)
        size = self.row_group_rows
        end = (len(queued) // size) * size if whole_groups_only else len(queued)
        for start in range(0, end, size):
            self._write_table(queued.slice(start, min(size, end - start)).combine_chunks())
        rest = queued.slice(end)
        self._tables = [rest] if len(rest) else []
        self._queued = len(rest)

    def close(self) -> None:
        self._drain(whole_groups_only=False)
        super().close()

    def abort(self) -> None:
        self._tables, self._queued = [], 0
        super().abort()
