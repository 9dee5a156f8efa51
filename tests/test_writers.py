"""Writers: Parquet and JSONL round trips, rotation, schema changes, atomic commit."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.io.schema import EXTRA, build_schema
from datacraft.io.writers import JsonlShardWriter, ParquetShardWriter, SchemaMismatchError
from tests.helpers import read_parquet_rows

BASIC = build_schema([], extra=False)


def test_parquet_round_trip_with_zstd_and_bounded_row_groups(tmp_path: Path) -> None:
    schema = build_schema([pa.field("score", pa.float64())], extra=False, fingerprint="abc")
    w = ParquetShardWriter(tmp_path, "part-00000", schema=schema, row_group_rows=10)
    rows = [{"id": str(i), "text": f"t{i}", "score": i / 2} for i in range(25)]
    w.write(rows[:7])
    w.write(rows[7:])
    files = w.commit()
    assert [Path(f).name for f in files] == ["part-00000-0000.parquet"]
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.num_row_groups == 3 and max(meta.row_group(i).num_rows for i in range(3)) == 10
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert read_parquet_rows(tmp_path) == rows
    assert pq.read_schema(files[0]).names == ["id", "text", "score"]
    assert pq.read_schema(files[0]).metadata[b"datacraft.fingerprint"] == b"abc"


def test_parquet_rotation_by_rows_and_bytes(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path / "rows", "part-00001", schema=BASIC, row_group_rows=4, rows_per_file=10)
    w.write([{"id": str(i), "text": "x"} for i in range(25)])
    assert [Path(f).name for f in w.commit()] == [f"part-00001-000{k}.parquet" for k in range(3)]
    w = ParquetShardWriter(tmp_path / "bytes", "part-00002", schema=BASIC, row_group_rows=5, bytes_per_file=1)
    w.write([{"id": str(i), "text": f"text {i}"} for i in range(12)])
    assert len(w.commit()) == 3
    assert [r["id"] for r in read_parquet_rows(tmp_path / "bytes")] == [str(i) for i in range(12)]


def test_every_file_has_the_declared_schema_whatever_the_rows_hold(tmp_path: Path) -> None:
    """A writer never takes a file's schema from its first batch: one schema, every value kept."""
    schema = build_schema([pa.field("lang", pa.string()), pa.field("n", pa.int64())], extra=True)
    w = ParquetShardWriter(tmp_path, "part-00000", schema=schema, row_group_rows=2, rows_per_file=2)
    rows = [
        {"id": "1", "text": "a"},
        {"id": "2", "text": "b", "lang": None},
        {"id": "3", "text": "c", "lang": "en", "undeclared": 1},
        {"id": "4", "text": "d", "n": 1, "lang": 7},
        {"id": "5", "text": "e", "n": "one"},
        {"id": "6", "text": "f", "n": True, "lang": ["x"]},
    ]
    w.write(rows)
    files = w.commit()
    assert len(files) == 3
    assert all(pq.read_schema(f) == schema for f in files)
    back = read_parquet_rows(tmp_path)
    assert [r["id"] for r in back] == ["1", "2", "3", "4", "5", "6"]
    assert [r["lang"] for r in back] == [None, None, "en", "7", None, '["x"]']  # strings never JSON-quoted
    assert [r["n"] for r in back] == [None, None, None, 1, None, None]
    extras = [None if r[EXTRA] is None else json.loads(r[EXTRA]) for r in back]
    assert extras == [None, None, {"undeclared": 1}, None, {"n": "one"}, {"n": True}]


def test_write_table_refuses_other_columns(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path, "part-00000", schema=BASIC)
    with pytest.raises(SchemaMismatchError):
        w.write_table(pa.table({"id": ["1"], "text": ["a"], "more": [1]}))
    w.write_table(pa.table({"id": ["1"], "text": pa.array(["a"], pa.large_string())}))  # a safe cast is fine
    assert pq.read_schema(w.commit()[0]) == BASIC


def test_nothing_visible_until_commit_and_abort_cleans_up(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path, "part-00000", schema=BASIC, row_group_rows=1)
    w.write([{"id": "1", "text": "a"}])
    assert not list(tmp_path.glob("part-*"))
    w.abort()
    assert not list(tmp_path.iterdir())


def test_jsonl_gz_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    outs = []
    for run in ("a", "b"):
        w = JsonlShardWriter(tmp_path / run, "part-00000", compress=True, rows_per_file=2)
        w.write([{"id": str(i), "text": f"é{i}"} for i in range(3)])
        outs.append([Path(f).read_bytes() for f in w.commit()])
    assert outs[0] == outs[1] and len(outs[0]) == 2
    lines = gzip.decompress(outs[0][0]).decode().splitlines()
    assert [json.loads(x) for x in lines] == [{"id": "0", "text": "é0"}, {"id": "1", "text": "é1"}]


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path: Path) -> None:
    from datacraft.io.atomic import atomic_path

    target = tmp_path / "sub" / "model.keras"
    with atomic_path(target, keep_suffix=True) as tmp:
        assert tmp.suffix == ".keras" and tmp.name.startswith(".model.keras.tmp-")
        tmp.write_text("done")
    assert target.read_text() == "done" and list(target.parent.iterdir()) == [target]
    try:
        with atomic_path(tmp_path / "broken.png") as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert not (tmp_path / "broken.png").exists() and not list(tmp_path.glob(".broken*"))
