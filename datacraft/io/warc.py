"""WARC / ARC / WET input (warcio): HTML responses and text conversions become documents.

``response`` and ``resource`` records with an HTML or plain-text payload become documents whose
text is the decoded payload (HTML is extracted later by the ``html_to_text`` stage); ``conversion``
records (WET) become documents with their text. Other records (warcinfo, request, metadata,
revisit, non-http(s) targets, error statuses, non-text payloads) are not documents: each is
counted by kind in the stats (``counters.read.skipped_<kind>``). The URL, date, record id, record
type and content type are kept in meta; the record id is the document id.

Every record is accounted for. A file that does not start like a WARC (or ARC) file is an error.
A gzip stream that ends early is an error naming the file. A record whose payload is shorter than
its Content-Length (truncated) or that cannot be parsed (e.g. a bad version line) is quarantined
with its offset in the decompressed stream, and the rest of the file is still read: after the
first error the file is re-read record by record, split at ``WARC/1.x`` lines, and whatever does
not parse as whole records is quarantined.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import re
import zlib
from collections.abc import Iterator
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io import fs
from datacraft.io.paths import Shard
from datacraft.io.readtypes import FIXED_FIELDS, Item, ReadOptions, reader
from datacraft.io.records import BadRecord, Skipped

CONTENT_RECORDS = ("response", "resource")
#: The meta fields of every WARC document (the output's input columns).
WARC_FIELDS = FIXED_FIELDS["warc"]
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_RECORD_START = re.compile(rb"^WARC/1\.[01]\r?\n$")
#: warcio reports malformed input with many exception types (ArchiveLoadFailed, ValueError, AttributeError…).
_ERRORS = (ArchiveLoadFailed, Exception)


def _decode(body: bytes, content_type: str) -> str:
    m = _CHARSET.search(content_type)
    if m:
        try:
            return body.decode(m.group(1), errors="replace")
        except LookupError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _skip(kind: str) -> Skipped:
    return Skipped(kind.replace("/", "_").replace(" ", "_"))


def _truncated(record: ArcWarcRecord) -> bool:
    """Read what is left of the record's block; True when it ends before its Content-Length."""
    raw = record.raw_stream
    while raw.read(1 << 16):
        pass
    return getattr(raw, "limit", 0) > 0


def record_to_item(record: ArcWarcRecord, name: str, position: str, opts: ReadOptions) -> Item:
    """A Document, a BadRecord (oversize, truncated), or Skipped (with its kind) for records that are not documents."""
    rtype = record.rec_type
    if rtype == "conversion":
        content_type = record.rec_headers.get_header("Content-Type") or "text/plain"
    elif rtype in CONTENT_RECORDS:
        url = (record.rec_headers.get_header("WARC-Target-URI") or "").lower()
        headers = record.http_headers
        if rtype == "response" and not url.startswith(("http:", "https:")):
            return _skip(f"{rtype}_non_http")
        content_type = (headers.get_header("Content-Type") if headers else None) or (
            record.rec_headers.get_header("Content-Type") or ""
        )
        if headers is not None and headers.get_statuscode() not in (None, "", "200"):
            return _skip(f"{rtype}_status_{headers.get_statuscode()}")
        low = content_type.lower()
        if "html" not in low and "text/plain" not in low:
            return _skip(f"{rtype}_non_text")
    else:
        return _skip(rtype or "unknown")
    body = record.content_stream().read(opts.max_record_bytes + 1)
    if len(body) > opts.max_record_bytes:
        return BadRecord(name, position, f"payload exceeds max_record_bytes={opts.max_record_bytes}")
    if _truncated(record):
        return BadRecord(name, position, "truncated record: the file ends before its Content-Length")
    h = record.rec_headers
    url = h.get_header("WARC-Target-URI")
    rid = h.get_header("WARC-Record-ID")
    meta: dict[str, Any] = {
        "url": url,
        "date": h.get_header("WARC-Date"),
        "warc_record_id": rid,
        "warc_type": rtype,
        "content_type": content_type.split(";")[0].strip().lower() or None,
    }
    doc_id = rid.strip("<>") if rid else f"{name}:{position}"
    return Document(doc_id, _decode(body, content_type), meta)


def _classify(record: ArcWarcRecord, name: str, position: str, opts: ReadOptions) -> Item:
    """:func:`record_to_item`, and a skipped record that is cut short is quarantined too."""
    item = record_to_item(record, name, position, opts)
    if type(item) is Skipped and _truncated(record):
        return BadRecord(name, position, f"truncated {record.rec_type} record: the file ends before its Content-Length")
    return item


def _open_decompressed(path: str) -> io.BufferedIOBase:
    """The decompressed stream (gzip by its magic bytes; .bz2, .xz by suffix): truncation raises on read."""
    fh = fs.open_input(path)  # returned to the caller
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.open(fh, "rb")  # type: ignore[return-value]
    if path.endswith(".bz2"):
        return bz2.open(fh, "rb")  # type: ignore[return-value]
    if path.endswith(".xz"):
        return lzma.open(fh, "rb")  # type: ignore[return-value]
    return fh


_STREAM_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


class _Guard:
    """Remembers a broken stream (truncated gzip…): warcio ends its iteration quietly on one."""

    def __init__(self, fh: io.BufferedIOBase) -> None:
        self.fh = fh
        self.error: BaseException | None = None

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self.fh, name)(*args)
        except _STREAM_ERRORS as e:
            self.error = self.error or e
            raise

    def read(self, *args: Any) -> bytes:
        return self._call("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._call("readline", *args)

    def peek(self, *args: Any) -> bytes:
        return self._call("peek", *args)

    def tell(self) -> int:
        return self.fh.tell()

    def close(self) -> None:
        self.fh.close()


def _split_records(path: str, max_bytes: int) -> Iterator[tuple[int, int, bytes | BaseException]]:
    """(index, offset, raw bytes) of each record of the decompressed file, split at WARC/1.x lines.

    Bytes before the first record are yielded as index -1. A stream that breaks ends with the exception.
    """
    index = -1
    chunk: list[bytes] = []
    size = 0
    start = offset = 0
    with _open_decompressed(path) as fh:
        try:
            for line in fh:
                if _RECORD_START.match(line):
                    if chunk:
                        yield index, start, b"".join(chunk)
                    index += 1
                    chunk, size, start = [line], len(line), offset
                elif size <= max_bytes + 65536:
                    chunk.append(line)
                    size += len(line)
                offset += len(line)
        except _STREAM_ERRORS as e:
            yield max(index, 0), offset, e
            return
    if chunk:
        yield index, start, b"".join(chunk)


def _resync(shard: Shard, opts: ReadOptions, skip_before: int) -> Iterator[Item]:
    """Parse each record from ``skip_before`` (an offset) on by itself, quarantining what does not parse."""
    for index, start, raw in _split_records(shard.path, opts.max_record_bytes):
        if isinstance(raw, BaseException):
            raise InputError(f"{shard.path}: cannot read past offset {start}: {raw} (truncated or corrupt file?)")
        if start < skip_before:
            continue
        position = f"record {index} (offset {start})"
        if index < 0 or not raw.strip():
            if raw.strip():
                yield BadRecord(shard.name, "offset 0", "bytes before the first WARC record", _text(raw))
            continue
        stream = io.BytesIO(raw)
        it = ArchiveIterator(stream, check_digests=False)
        done = 0
        try:
            for record in it:
                item = _classify(record, shard.name, position, opts)
                if done:
                    item_at = f"offset {start + it.get_record_offset()} (inside record {index})"
                    if type(item) is BadRecord:
                        item.position = item_at
                yield item
                done += 1
        except _ERRORS as e:
            where = position if done == 0 else f"offset {start + stream.tell()} (inside record {index})"
            message = f"malformed WARC record ({type(e).__name__}): {' '.join(str(e).split())[:300]}"
            yield BadRecord(shard.name, where, message, _text(raw))


def _text(raw: bytes) -> str:
    return raw[:500].decode("utf-8", "replace")


def _check_start(path: str, fh: io.BufferedIOBase) -> None:
    """InputError unless the stream starts like a WARC or ARC file (an empty file is fine)."""
    try:
        head = fh.peek(64)[:64] if hasattr(fh, "peek") else b""
    except _STREAM_ERRORS as e:
        raise InputError(f"{path}: cannot read: {e} (truncated or corrupt file?)") from None
    if head and not head.lstrip(b"\r\n").startswith((b"WARC/", b"filedesc://")):
        shown = head[:40].decode("utf-8", "replace")
        raise InputError(f"{path}: not a WARC or ARC file (it starts with {shown!r})")


def _raise_broken(shard: Shard, guard: _Guard, done: int) -> None:
    if guard.error is not None:
        raise InputError(
            f"{shard.path}: cannot read past record {done}: {guard.error} (truncated or corrupt compressed file?)"
        )


@reader("warc")
def read_warc(shard: Shard, opts: ReadOptions) -> Iterator[Item]:
    """WARC/ARC/WET files, gzip-compressed or not; see the module docstring."""
    try:
        fh = _open_decompressed(shard.path)
    except OSError as e:
        raise InputError(f"cannot open {shard.path}: {e.strerror or e}") from None
    done = 0
    offset = 0
    # Each item is held back until the next record parses: an error can reveal that the record
    # before it was cut short, and then that one is re-read too.
    pending: Item | None = None
    pending_offset = 0
    guard = _Guard(fh)
    with fh:
        _check_start(shard.path, fh)
        it = ArchiveIterator(guard, arc2warc=True, check_digests=False)
        try:
            for record in it:
                # Read the payload before asking for the offset: warcio's offset call consumes the record.
                item = _classify(record, shard.name, f"record {done}", opts)
                offset = it.get_record_offset()
                if type(item) is BadRecord:
                    item.position = f"record {done} (offset {offset})"
                done += 1
                if pending is not None:
                    yield pending
                pending, pending_offset = item, offset
            _raise_broken(shard, guard, done)
            if pending is not None:
                yield pending
            return
        except _STREAM_ERRORS as e:
            guard.error = guard.error or e
            _raise_broken(shard, guard, done)
        except _ERRORS as e:
            _raise_broken(shard, guard, done)
            error = str(e).strip().splitlines()
    if shard.path.lower().endswith((".arc", ".arc.gz")):  # ARC has no record marker to resynchronise on
        if pending is not None:
            yield pending
        message = " ".join(s.strip() for s in error if s.strip())[:300] or "unreadable record"
        yield BadRecord(shard.name, f"record {done} (after offset {offset})", f"malformed ARC record: {message}")
        return
    # Re-read from the last good-looking record on, each record on its own; bad ones are quarantined there.
    yield from _resync(shard, opts, pending_offset if pending is not None else 0)
