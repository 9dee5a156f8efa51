"""WARC / ARC / WET input (warcio): HTML responses and text conversions become documents.

``response`` and ``resource`` records with an HTML or plain-text payload become documents whose
text is the decoded payload (HTML is extracted later by the ``html_to_text`` stage); ``conversion``
records (WET) become documents with their text. Other records (warcinfo, request, metadata,
revisit, non-text payloads) are not documents and are skipped. The URL, date, record id, record
type and content type are kept in meta; the record id is the document id.

A malformed record is quarantined with its offset and the rest of the file is still read: after
the first error the (decompressed) file is re-read record by record, split at ``WARC/1.x`` lines.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from typing import Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io import fs
from datacraft.io.paths import Shard
from datacraft.io.readers import Item, ReadOptions, reader
from datacraft.io.records import BadRecord

CONTENT_RECORDS = ("response", "resource")
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


def record_to_item(record: ArcWarcRecord, name: str, position: str, opts: ReadOptions) -> Item | None:
    """A Document, a BadRecord (oversize), or None for records that are not documents."""
    rtype = record.rec_type
    if rtype == "conversion":
        content_type = record.rec_headers.get_header("Content-Type") or "text/plain"
    elif rtype in CONTENT_RECORDS:
        headers = record.http_headers
        content_type = (headers.get_header("Content-Type") if headers else None) or (
            record.rec_headers.get_header("Content-Type") or ""
        )
        if headers is not None and headers.get_statuscode() not in (None, "", "200"):
            return None
        low = content_type.lower()
        if "html" not in low and "text/plain" not in low:
            return None
    else:
        return None
    body = record.content_stream().read(opts.max_record_bytes + 1)
    if len(body) > opts.max_record_bytes:
        return BadRecord(name, position, f"payload exceeds max_record_bytes={opts.max_record_bytes}")
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


def _open_decompressed(path: str) -> io.BufferedIOBase:
    fh = fs.open_input(path)  # returned to the caller
    if fh.read(2) == b"\x1f\x8b":
        fh.seek(0)
        return gzip.open(fh, "rb")  # type: ignore[return-value]
    fh.seek(0)
    return fh


def _split_records(path: str, max_bytes: int) -> Iterator[tuple[int, bytes | BaseException]]:
    """(index, raw bytes) of each record of the decompressed file, split at WARC/1.x lines.

    A stream that breaks (truncated gzip) ends with (index, the exception).
    """
    index = -1
    chunk: list[bytes] = []
    size = 0
    with _open_decompressed(path) as fh:
        try:
            for line in fh:
                if _RECORD_START.match(line):
                    if index >= 0:
                        yield index, b"".join(chunk)
                    index += 1
                    chunk, size = [line], len(line)
                elif index >= 0 and size <= max_bytes + 65536:
                    chunk.append(line)
                    size += len(line)
        except (OSError, EOFError) as e:
            yield max(index, 0), e
            return
    if index >= 0:
        yield index, b"".join(chunk)


def _resync(shard: Shard, opts: ReadOptions, skip: int) -> Iterator[Item]:
    """Parse each remaining record on its own, quarantining the ones that fail."""
    for index, raw in _split_records(shard.path, opts.max_record_bytes):
        if index < skip:
            continue
        position = f"record {index}"
        if isinstance(raw, BaseException):
            yield BadRecord(shard.name, position, f"file is truncated or corrupt from here on: {raw}")
            return
        try:
            items = []
            for record in ArchiveIterator(io.BytesIO(raw), check_digests=False):
                items.append(record_to_item(record, shard.name, position, opts))
                break
        except _ERRORS as e:
            message = f"malformed WARC record ({type(e).__name__}): {str(e).strip()[:300]}"
            yield BadRecord(shard.name, position, message, raw[:500].decode("utf-8", "replace"))
            continue
        for item in items:
            if item is not None:
                yield item


@reader("warc")
def read_warc(shard: Shard, opts: ReadOptions) -> Iterator[Item]:
    """WARC/ARC/WET files, gzip-compressed or not; see the module docstring."""
    try:
        fh = fs.open_input(shard.path)  # closed below
    except OSError as e:
        raise InputError(f"cannot open {shard.path}: {e.strerror or e}") from None
    done = 0
    offset = 0
    # Each item is held back until the next record parses: an error can reveal that the record
    # before it was cut short (a gzip member ending inside it), and then that one is re-read too.
    pending: Item | None = None
    with fh:
        it = ArchiveIterator(fh, arc2warc=True, check_digests=False)
        try:
            for record in it:
                # Read the payload before asking for the offset: warcio's offset call consumes the record.
                item = record_to_item(record, shard.name, f"record {done}", opts)
                offset = it.get_record_offset()
                done += 1
                if pending is not None:
                    yield pending
                pending = item
            if pending is not None:
                yield pending
            return
        except _ERRORS as e:
            error = str(e).strip().splitlines()
    if shard.path.lower().endswith((".arc", ".arc.gz")):  # ARC has no record marker to resynchronise on
        if pending is not None:
            yield pending
        message = " ".join(s.strip() for s in error if s.strip())[:300] or "unreadable record"
        yield BadRecord(shard.name, f"record {done} (after offset {offset})", f"malformed ARC record: {message}")
        return
    # Re-read from the last good-looking record on, each record on its own; bad ones are quarantined there.
    yield from _resync(shard, opts, done - 1 if pending is not None else done)
