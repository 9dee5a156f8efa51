"""Readers: every format round-trips; bad records become BadRecords; unreadable files are errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io.paths import detect_format, list_shards
from datacraft.io.readers import ReadOptions, read_shard
from datacraft.io.records import BadRecord
from tests.helpers import write_jsonl

ROWS = [{"id": "a", "text": "héllo wörld", "lang": "de"}, {"id": "b", "text": "second\nline", "n": 3}]


def read_all(path: Path, **opts: object) -> list[Document | BadRecord]:
    (shard,) = list_shards([str(path)])
    return list(read_shard(shard, ReadOptions(**opts)))  # type: ignore[arg-type]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson"])
def test_jsonl_round_trip(tmp_path: Path, suffix: str) -> None:
    items = read_all(write_jsonl(tmp_path / f"x{suffix}", ROWS))
    assert items == [Document("a", "héllo wörld", {"lang": "de"}), Document("b", "second\nline", {"n": 3})]


def test_jsonl_ids_derived_from_file_and_line(tmp_path: Path) -> None:
    items = read_all(write_jsonl(tmp_path / "x.jsonl", [{"text": "one"}, {"text": "two", "id": ""}]))
    assert [d.id for d in items] == ["x.jsonl:1", "x.jsonl:2"]


def test_jsonl_bad_records_name_line_and_error(tmp_path: Path) -> None:
    lines = [
        b'{"id": "ok", "text": "fine"}',
        b'{"id": "broken", "text": ',
        b'{"id": "utf", "text": "caf\xe9"}',
        b'{"id": "missing"}',
        b'{"id": "num", "text": 42}',
        b'["a list"]',
        b"",
        b'{"id": "big", "text": "' + b"x" * 200 + b'"}',
    ]
    items = read_all(write_jsonl(tmp_path / "bad.jsonl", [], raw_lines=lines), max_record_bytes=100)
    good = [i for i in items if isinstance(i, Document)]
    bad = [i for i in items if isinstance(i, BadRecord)]
    assert [d.id for d in good] == ["ok"]
    errors = {b.position: b.error for b in bad}
    assert errors["line 2"].startswith("invalid JSON")
    assert errors["line 3"] == "invalid UTF-8 at byte 26"
    assert errors["line 4"] == "missing text field 'text'"
    assert errors["line 5"] == "text field 'text' is int, expected string"
    assert "expected an object" in errors["line 6"]
    assert "exceeds max_record_bytes=100" in errors["line 8"]
    assert all(b.file == "bad.jsonl" for b in bad)


def test_truncated_gzip_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl.gz", [{"text": f"doc {i} " * 50} for i in range(200)])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InputError, match=r"t\.jsonl\.gz: cannot read past line \d+"):
        read_all(path)


def test_corrupt_zstd_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 20)
    with pytest.raises(InputError, match=r"c\.jsonl\.zst"):
        read_all(path)


def test_text_files_are_one_document_each(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b.txt").write_text("second file", encoding="utf-8")
    (tmp_path / "d" / "a.txt").write_text("first file\nwith two lines", encoding="utf-8")
    (tmp_path / "d" / "bad.txt").write_bytes(b"ok then \xff broken")
    shards = list_shards([str(tmp_path / "d")])
    assert [s.name for s in shards] == ["a.txt", "b.txt", "bad.txt"]
    items = [i for s in shards for i in read_shard(s, ReadOptions())]
    assert items[0] == Document("a.txt", "first file\nwith two lines", {})
    assert items[1] == Document("b.txt", "second file", {})
    assert isinstance(items[2], BadRecord) and items[2].error == "invalid UTF-8 at byte 8"


def test_gzipped_text_file(tmp_path: Path) -> None:
    path = tmp_path / "book.txt.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"gzipped text")
    assert read_all(path) == [Document("book.txt.gz", "gzipped text", {})]


def test_parquet_round_trip_custom_columns_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    table = pa.table({"doc_id": ["x", None, "z"], "body": ["one", "two", None], "score": [0.5, 1.5, 2.5]})
    pq.write_table(table, path, row_group_size=2)
    items = read_all(path, text_field="body", id_field="doc_id", parquet_batch_rows=1)
    assert items[0] == Document("x", "one", {"score": 0.5})
    assert items[1] == Document("p.parquet:1", "two", {"score": 1.5})
    assert isinstance(items[2], BadRecord) and items[2].position == "row 2"


def test_parquet_without_text_column_or_corrupt_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"body": ["x"]}), path)
    with pytest.raises(InputError, match="no text column 'text'"):
        read_all(path)
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 64)
    with pytest.raises(InputError, match=r"corrupt\.parquet: not a readable Parquet file"):
        read_all(bad)


def test_missing_inputs_and_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="input not found"):
        list_shards([str(tmp_path / "nope.jsonl")])
    with pytest.raises(InputError, match="no input files match"):
        list_shards([str(tmp_path / "*.jsonl")])
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(InputError, match="cannot tell the format"):
        list_shards([str(tmp_path / "x.csv")])


def test_shard_order_is_defined_for_globs_and_dirs(tmp_path: Path) -> None:
    for name in ["b.jsonl", "a.jsonl", "sub/c.jsonl.gz", "_hidden.jsonl"]:
        write_jsonl(tmp_path / name, [{"text": name}])
    assert [s.name for s in list_shards([str(tmp_path)])] == ["a.jsonl", "b.jsonl", "sub/c.jsonl.gz"]
    assert [s.name for s in list_shards([str(tmp_path / "*.jsonl")])] == ["_hidden.jsonl", "a.jsonl", "b.jsonl"]
    assert detect_format("x.jsonl.zst") == "jsonl" and detect_format("x.warc.gz") == "warc"
