"""Streaming readers: one document at a time, never a whole shard in memory.

Each reader yields :class:`Document` for good records and :class:`BadRecord` for records
that cannot become a document (invalid JSON, bad UTF-8, missing or non-string text, oversize).
A file that cannot be read at all raises :class:`InputError` naming it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections.abc import Iterator
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io import fs
from datacraft.io.lines import BOM, RAW_SNIPPET, STREAM_ERRORS, iter_lines  # re-exported
from datacraft.io.paths import Shard
from datacraft.io.readtypes import FIXED_FIELDS, READERS, Item, ReaderFn, ReadOptions, reader  # re-exported
from datacraft.io.records import BadRecord, TooLong

__all__ = ["BOM", "FIXED_FIELDS", "READERS", "Item", "ReadOptions", "ReaderFn", "iter_lines", "reader"]


def read_shard(shard: Shard, options: ReadOptions) -> Iterator[Item]:
    """Stream the documents and bad records of one shard."""
    try:
        fn = READERS[shard.format]
    except KeyError:
        raise InputError(f"{shard.path}: no reader for format {shard.format!r}") from None
    return fn(shard, options)


def open_binary(path: str) -> IO[bytes]:
    """Open a possibly compressed file (by suffix: .gz, .zst, .bz2, .xz) for binary streaming."""
    try:
        src = fs.open_input(path) if fs.is_url(path) else path
        if path.endswith(".gz"):
            return gzip.open(src, "rb")
        if path.endswith(".bz2"):
            return bz2.open(src, "rb")
        if path.endswith(".xz"):
            return lzma.open(src, "rb")
        if path.endswith((".zst", ".zstd")):
            fh = fs.open_input(path)
            return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))
        return fs.open_input(path)
    except OSError as e:
        raise InputError(f"cannot open {path}: {e.strerror or e}") from None


def _snippet(raw: bytes) -> str:
    return raw[:RAW_SNIPPET].decode("utf-8", "replace")


def record_to_item(obj: Any, file: str, position: str, default_id: str, opts: ReadOptions, raw: bytes = b"") -> Item:
    """Validate one parsed record and turn it into a Document, or a BadRecord saying why."""
    if not isinstance(obj, dict):
        return BadRecord(file, position, f"record is a JSON {type(obj).__name__}, expected an object", _snippet(raw))
    text = obj.get(opts.text_field)
    if text is None:
        return BadRecord(file, position, f"missing text field {opts.text_field!r}", _snippet(raw))
    if not isinstance(text, str):
        return BadRecord(
            file, position, f"text field {opts.text_field!r} is {type(text).__name__}, expected string", _snippet(raw)
        )
    rid = obj.get(opts.id_field)
    doc_id = str(rid) if isinstance(rid, (str, int)) and not isinstance(rid, bool) and rid != "" else default_id
    meta: dict[str, Any] = {}
    if opts.keep_fields:
        meta = {k: v for k, v in obj.items() if k != opts.text_field and k != opts.id_field}
    return Document(doc_id, text, meta)


def _diagnose_json(line: bytes, err: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as ue:
        return f"invalid UTF-8 at byte {ue.start}"
    return f"invalid JSON: {err}"


@reader("jsonl")
def read_jsonl(shard: Shard, opts: ReadOptions) -> Iterator[Item]:
    """JSON Lines, plain or compressed; ids default to ``name:line``."""
    lines = iter_lines(open_binary(shard.path), shard.path, max_bytes=opts.max_record_bytes)
    return jsonl_items(lines, shard.name, opts)


def jsonl_items(lines: Iterator[tuple[int, bytes | TooLong]], name: str, opts: ReadOptions) -> Iterator[Item]:
    """Turn numbered JSONL lines into documents and bad records."""
    loads = orjson.loads
    max_bytes = opts.max_record_bytes
    text_field = opts.text_field
    id_field = opts.id_field
    keep = opts.keep_fields
    for lineno, line in lines:
        if type(line) is TooLong or len(line) > max_bytes:
            size, head = (line.size, line.head) if type(line) is TooLong else (len(line), line)
            yield BadRecord(
                name,
                f"line {lineno}",
                f"record of {size} bytes exceeds max_record_bytes={max_bytes}",
                _snippet(head),  # type: ignore[arg-type]
            )
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as e:
            if not line.strip():
                continue
            yield BadRecord(name, f"line {lineno}", _diagnose_json(line, e), _snippet(line))
            continue
        # Fast path for the common, well-formed record.
        if type(obj) is dict:
            text = obj.get(text_field)
            if type(text) is str:
                rid = obj.get(id_field)
                if type(rid) is str and rid:
                    doc_id = rid
                elif type(rid) is int:
                    doc_id = str(rid)
                else:
                    doc_id = f"{name}:{lineno}"
                if keep:
                    del obj[text_field]
                    obj.pop(id_field, None)
                    yield Document(doc_id, text, obj)
                else:
                    yield Document(doc_id, text, {})
                continue
        yield record_to_item(obj, name, f"line {lineno}", f"{name}:{lineno}", opts, line)


@reader("text")
def read_text(shard: Shard, opts: ReadOptions) -> Iterator[Item]:
    """A plain text file is one document whose id is the file's name."""
    with open_binary(shard.path) as fh:
        try:
            raw = fh.read(opts.max_record_bytes + 1)
        except STREAM_ERRORS as e:
            raise InputError(f"{shard.path}: cannot read: {e} (truncated or corrupt file?)") from None
    if len(raw) > opts.max_record_bytes:
        yield BadRecord(shard.name, "file", f"file exceeds max_record_bytes={opts.max_record_bytes}", _snippet(raw))
        return
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        yield BadRecord(shard.name, f"byte {e.start}", f"invalid UTF-8 at byte {e.start}", _snippet(raw))
        return
    yield Document(shard.name, text, {})


@reader("parquet")
def read_parquet(shard: Shard, opts: ReadOptions) -> Iterator[Item]:
    """Parquet, read batch by batch; ids default to ``name:row``."""
    try:
        pf = pq.ParquetFile(fs.parquet_source(shard.path))
    except FileNotFoundError:
        raise InputError(f"input not found: {shard.path}") from None
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{shard.path}: not a readable Parquet file: {e}") from None
    schema = pf.schema_arrow
    if opts.text_field not in schema.names:
        raise InputError(f"{shard.path}: no text column {opts.text_field!r} (columns: {', '.join(schema.names)})")
    ttype = schema.field(opts.text_field).type
    if not (pa.types.is_string(ttype) or pa.types.is_large_string(ttype)):
        raise InputError(f"{shard.path}: text column {opts.text_field!r} is {ttype}, expected string")
    has_id = opts.id_field in schema.names
    columns = None if opts.keep_fields else [c for c in (opts.text_field, opts.id_field) if c in schema.names]
    others = [n for n in schema.names if n not in (opts.text_field, opts.id_field)] if opts.keep_fields else []
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=opts.parquet_batch_rows, columns=columns):
            texts = batch.column(opts.text_field).to_pylist()
            ids = batch.column(opts.id_field).to_pylist() if has_id else [None] * len(texts)
            extra = {n: batch.column(n).to_pylist() for n in others}
            for j, text in enumerate(texts):
                pos = row + j
                if text is None:
                    yield BadRecord(shard.name, f"row {pos}", f"text column {opts.text_field!r} is null")
                    continue
                if len(text) > opts.max_record_bytes and len(text.encode("utf-8")) > opts.max_record_bytes:
                    yield BadRecord(
                        shard.name,
                        f"row {pos}",
                        f"text exceeds max_record_bytes={opts.max_record_bytes}",
                        text[:RAW_SNIPPET],
                    )
                    continue
                rid = ids[j]
                doc_id = str(rid) if rid is not None and rid != "" else f"{shard.name}:{pos}"
                yield Document(doc_id, text, {n: v[j] for n, v in extra.items()})
            row += len(texts)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{shard.path}: corrupt Parquet after row {row}: {e}") from None


@reader("warc")
def read_warc(shard: Shard, opts: ReadOptions) -> Iterator[Item]:
    """WARC / ARC / WET (:mod:`datacraft.io.warc`, imported with warcio only when a WARC input is read)."""
    from datacraft.io.warc import read_warc as read

    return read(shard, opts)
