"""Columnar JSON Lines reading: whole blocks of lines parsed by ``pyarrow.json`` into the output's columns.

:func:`read_jsonl_columns` yields the same records as the per-line reader
(:func:`datacraft.io.readers.read_jsonl`) would write, but a block of lines that needs nothing
but its columns comes out as one Arrow table already in the output schema: no Python object per
record. A block is only taken this way when the result is provably what the per-line path gives;
otherwise its lines go through the per-line path (:func:`~datacraft.io.readers.jsonl_items`),
so every bad line is still quarantined, or fails the run, with its file and line number.

A block falls back to the per-line path when (checked on the raw bytes first, then on the parse):

- a line may be longer than ``max_record_bytes``, or the block holds a byte order mark (the
  file's leading one is dropped, as the per-line path does), or its bytes are not valid UTF-8;
- ``pyarrow.json`` rejects it under the explicit schema (``unexpected_field_behavior="error"``):
  invalid JSON, a line that is not an object, a lone surrogate escape, a duplicate key, a field the
  schema has no column for, a value not of its column's type (a float or bool id, a big or
  fractional integer in an ``int64`` column, a nested value…); integer ids are parsed as ``int64``
  and written as their decimal text (``str(id)`` in the per-line path);
- it does not give exactly one row per non-blank line (two objects on one line);
- a text is missing or null, or a ``float64`` column holds NaN or an infinity (``pyarrow.json``
  takes ``NaN``/``Infinity``/overflowing literals that the per-line parser rejects).

Ids that are missing or empty become ``name:line`` as in the per-line path (line numbers count
blank lines too). Only a plain schema qualifies (see :func:`columnar_plan`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from datacraft.io.arrays import all_finite, null_strings, to_arrow
from datacraft.io.lines import BOM, CHUNK, block_lines, iter_blocks  # re-exported
from datacraft.io.paths import Shard
from datacraft.io.readers import jsonl_items, open_binary
from datacraft.io.readtypes import Item, ReadOptions
from datacraft.io.records import TooLong

#: Column types the columnar path carries as they are (the per-line path stores them unchanged too).
PLAIN_TYPES = (pa.string(), pa.int64(), pa.float64(), pa.bool_())
_LEADING = ("id", "text")
_EXTRA = "extra_fields"


@dataclass(frozen=True)
class ColumnPlan:
    """How one run's JSONL blocks become tables of its output schema."""

    schema: pa.Schema  # the output schema: id, text, input fields, extra_fields
    parse: pa.Schema  # what pyarrow.json parses: text field, id field, input fields
    text_field: str
    id_field: str
    fields: tuple[str, ...]  # input fields, in output order
    floats: tuple[str, ...]  # the float64 ones


def columnar_plan(schema: pa.Schema, opts: ReadOptions) -> ColumnPlan | None:
    """The plan for ``schema`` (an output schema with ``extra_fields``), or None when it does not qualify:
    fields are kept, every input field is string/int64/float64/bool, and the text and id fields are
    not input fields themselves."""
    names = schema.names
    if not opts.keep_fields or names[:2] != list(_LEADING) or names[-1] != _EXTRA:
        return None
    if opts.text_field == opts.id_field:
        return None
    fields = [f for f in schema if f.name not in (*_LEADING, _EXTRA)]
    if any(f.type not in PLAIN_TYPES for f in fields):
        return None
    if {opts.text_field, opts.id_field} & {f.name for f in fields}:
        return None
    parse = pa.schema([pa.field(opts.text_field, pa.string()), pa.field(opts.id_field, pa.string()), *fields])
    return ColumnPlan(
        schema=schema,
        parse=parse,
        text_field=opts.text_field,
        id_field=opts.id_field,
        fields=tuple(f.name for f in fields),
        floats=tuple(f.name for f in fields if f.type == pa.float64()),
    )


#: Bytes a line is blank of (``bytes.strip``'s whitespace): a line starting with one may be blank.
_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\n\r\x0b\x0c")] = True


def line_numbers(block: bytes, first: int, max_bytes: int) -> np.ndarray | None:
    """The numbers of the block's non-blank lines, from its bytes alone; None when the block must take
    the per-line path (a line longer than ``max_bytes``, a byte order mark, invalid UTF-8)."""
    if not block.isascii():
        if BOM in block:
            return None
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return None
    arr = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    if block.endswith(b"\n"):
        starts = np.concatenate(([0], ends[:-1] + 1))
    else:
        starts = np.concatenate(([0], ends + 1))
        ends = np.append(ends, len(block))
    if len(block) > max_bytes and int((ends - starts).max()) > max_bytes:
        return None
    numbers = np.arange(first, first + len(starts))
    maybe_blank = _SPACE[arr[starts]]
    if not maybe_blank.any():
        return numbers
    spans = zip(starts[maybe_blank].tolist(), ends[maybe_blank].tolist(), strict=True)
    keep = np.asarray([bool(block[a:b].strip()) for a, b in spans], dtype=bool)
    blank = np.zeros(len(starts), dtype=bool)
    blank[np.flatnonzero(maybe_blank)[~keep]] = True
    return numbers[~blank]


def _empty_or_null(ids: pa.ChunkedArray) -> np.ndarray:
    """Per row: is this string null or empty (from the offsets and validity buffers, no Python objects)."""
    parts = []
    for chunk in ids.chunks:
        n, off = len(chunk), chunk.offset
        if chunk.null_count == n:
            parts.append(np.ones(n, dtype=bool))
            continue
        validity, offsets = chunk.buffers()[:2]
        lengths = np.diff(np.frombuffer(offsets, dtype=np.int32, count=off + n + 1)[off:])
        missing = lengths == 0
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")[off : off + n]
            missing |= bits == 0
        parts.append(missing)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _ids(ids: pa.ChunkedArray, linenos: np.ndarray, name: str) -> pa.ChunkedArray | pa.Array:
    """The id column: the record's id, or ``name:line`` where it is missing or empty."""
    missing = _empty_or_null(ids)
    if not missing.any():
        return ids
    values: list[Any] = ids.to_pylist() if not missing.all() else [None] * len(ids)
    for i in np.flatnonzero(missing).tolist():
        values[i] = f"{name}:{int(linenos[i])}"
    return to_arrow(values, pa.string())


class BlockParser:
    """Parses blocks under one :class:`ColumnPlan` (pyarrow's options built once)."""

    def __init__(self, plan: ColumnPlan, name: str, max_bytes: int) -> None:
        import pyarrow.json as pj  # only runs that read JSONL columns load it

        self.plan = plan
        self.name = name
        self.max_bytes = max_bytes
        self._read = pj.read_json
        self._parse = pj.ParseOptions(explicit_schema=plan.parse, unexpected_field_behavior="error")
        # integer ids (``str(id)`` in the per-line path): the same schema with an int64 id
        int_ids = plan.parse.set(1, pa.field(plan.id_field, pa.int64()))
        self._parse_int_ids = pj.ParseOptions(explicit_schema=int_ids, unexpected_field_behavior="error")
        self._int_ids_first = False  # the last block had integer ids: try them first
        self._pj = pj

    def _parse_block(self, block: bytes) -> pa.Table | None:
        """The block under the explicit schema (string ids, or int64 ids cast to their decimal text)."""
        opts = self._pj.ReadOptions(use_threads=False, block_size=max(len(block) + 1, 1 << 20))
        order = (True, False) if self._int_ids_first else (False, True)
        for int_ids in order:
            parse = self._parse_int_ids if int_ids else self._parse
            try:
                parsed = self._read(pa.BufferReader(block), read_options=opts, parse_options=parse)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                if f"Column(/{self.plan.id_field}) changed from" not in str(e):
                    return None  # not about the id's type: the other schema fails too
                continue
            self._int_ids_first = int_ids
            if int_ids:
                i = parsed.schema.get_field_index(self.plan.id_field)
                parsed = parsed.set_column(i, self.plan.id_field, parsed.column(i).cast(pa.string()))
            return parsed
        return None

    def table(self, first: int, block: bytes) -> pa.Table | None:
        """The block's rows as a table of the output schema, or None when it must take the per-line path."""
        plan = self.plan
        linenos = line_numbers(block, first, self.max_bytes)
        if linenos is None:
            return None
        parsed = self._parse_block(block)
        if parsed is None:
            return None
        n = parsed.num_rows
        if not parsed.schema.equals(plan.parse):  # the explicit schema's columns, in its order
            return None
        if n != len(linenos):  # one row per non-blank line, or the block is not what it seems
            return None
        text = parsed.column(plan.text_field)
        if text.null_count:
            return None
        if not all(all_finite(parsed.column(name)) for name in plan.floats):
            return None
        columns = [_ids(parsed.column(plan.id_field), linenos, self.name), text]
        columns += [parsed.column(name) for name in plan.fields]
        columns.append(null_strings(n))
        return pa.Table.from_arrays(columns, schema=plan.schema)


def read_jsonl_columns(shard: Shard, opts: ReadOptions, plan: ColumnPlan) -> Iterator[Item | pa.Table]:
    """The records of a JSONL shard: tables of ``plan.schema`` for blocks that qualify, else the per-line items."""
    blocks = iter_blocks(open_binary(shard.path), shard.path, CHUNK, opts.max_record_bytes)
    return column_items(blocks, shard.name, opts, plan)


def column_items(
    blocks: Iterator[tuple[int, bytes | TooLong]], name: str, opts: ReadOptions, plan: ColumnPlan
) -> Iterator[Item | pa.Table]:
    """Numbered blocks (:func:`iter_blocks`) as tables, or as the per-line path's items where they must."""
    parser = BlockParser(plan, name, opts.max_record_bytes)
    for first, block in blocks:
        table = parser.table(first, block) if type(block) is bytes else None
        if table is not None:
            if table.num_rows:
                yield table
            continue
        yield from jsonl_items(block_lines(first, block), name, opts)
