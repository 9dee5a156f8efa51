"""No silent loss in readers: .bz2/.xz, BOM, over-long lines with bounded memory, every WARC record counted."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io.paths import list_shards
from datacraft.io.readers import ReadOptions, iter_lines, read_shard
from datacraft.io.records import BadRecord, Skipped, TooLong
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline

ROWS = [{"id": f"d{i}", "text": f"document number {i}"} for i in range(5)]


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def _items(path: Path, **opts: int) -> list:
    [shard] = list_shards([str(path)])
    return list(read_shard(shard, ReadOptions(**opts)))


@pytest.mark.parametrize(("suffix", "compress"), [(".bz2", bz2.compress), (".xz", lzma.compress)])
def test_bz2_and_xz_files_in_a_folder_are_read(tmp_path: Path, suffix: str, compress) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / f"a.jsonl{suffix}").write_bytes(compress(_jsonl(ROWS)))
    shards = list_shards([str(tmp_path / "in")])
    assert [s.format for s in shards] == ["jsonl"]
    docs = list(read_shard(shards[0], ReadOptions()))
    assert [d.id for d in docs] == [r["id"] for r in ROWS]


def test_truncated_xz_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.xz"
    path.write_bytes(lzma.compress(_jsonl(ROWS * 50))[:-40])
    with pytest.raises(InputError, match=r"a\.jsonl\.xz"):
        _items(path)


def test_bom_does_not_cost_the_first_record(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _jsonl(ROWS))
    items = _items(path)
    assert all(type(i) is Document for i in items) and len(items) == len(ROWS)
    text = tmp_path / "bom.txt"
    text.write_bytes(b"\xef\xbb\xbfhello")
    assert [d.text for d in _items(text)] == ["hello"]


class _LazyLongLine(io.RawIOBase):
    """A stream of one short record, a ``size``-byte line made on the fly, then one more record."""

    def __init__(self, size: int) -> None:
        self.parts = [_jsonl(ROWS[:1]) + b'{"text": "']
        self.left = size
        self.tail = b'"}\n' + _jsonl(ROWS[1:2])

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.parts:
            return self.parts.pop()
        if self.left > 0:
            k = min(n if n > 0 else 1 << 20, self.left)
            self.left -= k
            return b"x" * k
        out, self.tail = self.tail, b""
        return out


def test_long_line_is_quarantined_without_being_held_whole() -> None:
    """A 64 MB line past a 1 MB limit: TooLong while streaming, peak memory far below the line's size."""
    import tracemalloc

    limit, chunk, size = 1 << 20, 1 << 20, 64 << 20
    tracemalloc.start()
    try:
        lines = [(n, x if isinstance(x, TooLong) else len(x)) for n, x in iter_lines(
            _LazyLongLine(size), "mem", chunk_size=chunk, max_bytes=limit
        )]  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [n for n, _ in lines] == [1, 2, 3]
    long = lines[1][1]
    assert isinstance(long, TooLong) and long.size == size + 12 and long.head.startswith(b'{"text": "xxx')
    assert peak < 8 * limit, f"peak {peak} bytes while reading a {size}-byte line"


def test_long_line_in_a_file_is_quarantined_with_its_size(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_bytes(_jsonl(ROWS[:1]) + b'{"text": "' + b"y" * 3_000_000 + b'"}\n' + _jsonl(ROWS[1:2]))
    items = _items(path, max_record_bytes=100_000)
    assert [type(i).__name__ for i in items] == ["Document", "BadRecord", "Document"]
    assert items[1].position == "line 2" and "3000012 bytes exceeds max_record_bytes=100000" in items[1].error


# --- WARC -----------------------------------------------------------------------------------------------


def _record(writer: WARCWriter, url: str, body: bytes, ctype: str = "text/html", kind: str = "response") -> None:
    headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.0")
    if kind == "response" and url.startswith("http"):
        rec = writer.create_warc_record(url, kind, payload=io.BytesIO(body), http_headers=headers)
    else:
        rec = writer.create_warc_record(url, kind, payload=io.BytesIO(body), warc_content_type=ctype)
    writer.write_record(rec)


def _warc(gz: bool = False) -> bytes:
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    w.write_record(w.create_warcinfo_record("x.warc", {"software": "test"}))
    _record(w, "http://a.example/", b"<html><body><p>Page one has words.</p></body></html>")
    _record(w, "dns:a.example", b"20240101 a.example. 300 IN A 1.2.3.4", "text/dns")
    _record(w, "http://a.example/", b"GET / HTTP/1.0\r\n\r\n", "application/http; msgtype=request", kind="request")
    _record(w, "http://b.example/", b"<html><body><p>Page two has words.</p></body></html>")
    return buf.getvalue()


def test_every_warc_record_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "x.warc"
    path.write_bytes(_warc())
    items = _items(path)
    assert [type(i).__name__ for i in items] == ["Skipped", "Document", "Skipped", "Skipped", "Document"]
    assert [i.kind for i in items if type(i) is Skipped] == ["warcinfo", "response_non_http", "request"]


def test_skipped_kinds_are_in_the_run_stats(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.warc").write_bytes(_warc())
    config = build_config({"input": {"paths": [str(tmp_path / "in")]}, "output": {"path": str(tmp_path / "out")}})
    merged = run_pipeline(config).merged
    assert merged["totals"]["kept"] == 2
    assert merged["counters"]["read"] == {"skipped_warcinfo": 1, "skipped_response_non_http": 1, "skipped_request": 1}


def test_bad_version_line_is_quarantined_with_its_offset(tmp_path: Path) -> None:
    data = _warc()
    second = data.index(b"WARC/1.0", data.index(b"Page one"))
    path = tmp_path / "v.warc"
    path.write_bytes(data[:second] + b"WARC/9.9" + data[second + 8 :])
    items = _items(path)
    bad = [i for i in items if type(i) is BadRecord]
    assert len(bad) == 1 and "offset" in bad[0].position and "WARC/9.9" in bad[0].raw
    assert len([i for i in items if type(i) is Document]) == 2


def test_truncated_record_is_quarantined_not_kept_partial(tmp_path: Path) -> None:
    data = _warc()
    cut = data.index(b"Page two") + 4
    path = tmp_path / "t.warc"
    path.write_bytes(data[:cut])
    items = _items(path)
    docs = [i for i in items if type(i) is Document]
    bad = [i for i in items if type(i) is BadRecord]
    assert len(docs) == 1 and "Page one" in docs[0].text
    assert len(bad) == 1 and "truncated" in bad[0].error and "offset" in bad[0].position


def test_truncated_warc_gz_is_an_error(tmp_path: Path) -> None:
    data = _warc(gz=True)
    path = tmp_path / "t.warc.gz"
    path.write_bytes(data[: len(data) - 30])
    with pytest.raises(InputError, match=r"t\.warc\.gz"):
        _items(path)


@pytest.mark.parametrize("name", ["notes.warc", "notes.warc.gz"])
def test_a_file_that_is_not_warc_is_an_error(tmp_path: Path, name: str) -> None:
    body = b"just some notes, not an archive\n" * 3
    path = tmp_path / name
    path.write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    with pytest.raises(InputError, match="not a WARC"):
        _items(path)
