"""Reader types and the registry of input formats, shared by :mod:`readers` and :mod:`warc` (no cycle)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from datacraft.document import Document
from datacraft.io.paths import Shard
from datacraft.io.records import BadRecord, Skipped

Item = Document | BadRecord | Skipped


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to turn input records into documents."""

    text_field: str = "text"
    id_field: str = "id"
    keep_fields: bool = True
    max_record_bytes: int = 16 * 1024 * 1024
    parquet_batch_rows: int = 4096


ReaderFn = Callable[[Shard, ReadOptions], Iterator[Item]]
READERS: dict[str, ReaderFn] = {}
#: Formats whose documents always carry the same meta fields (name → type name); others are discovered.
FIXED_FIELDS: dict[str, dict[str, str]] = {
    "text": {},
    # the meta fields of every WARC document (datacraft.io.warc, imported only when a WARC input is read)
    "warc": {
        "url": "string",
        "date": "string",
        "warc_record_id": "string",
        "warc_type": "string",
        "content_type": "string",
    },
}


def reader(fmt: str) -> Callable[[ReaderFn], ReaderFn]:
    """Register a reader function for an input format."""

    def deco(fn: ReaderFn) -> ReaderFn:
        READERS[fmt] = fn
        return fn

    return deco
