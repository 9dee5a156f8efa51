"""Writers: Parquet and JSONL round trips, rotation, schema changes, atomic commit."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq

from datacraft.io.writers import JsonlShardWriter, ParquetShardWriter
from tests.helpers import read_parquet_rows


def test_parquet_round_trip_with_zstd_and_bounded_row_groups(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path, "part-00000", row_group_rows=10)
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


def test_parquet_rotation_by_rows_and_bytes(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path / "rows", "part-00001", row_group_rows=4, rows_per_file=10)
    w.write([{"id": str(i), "text": "x"} for i in range(25)])
    assert [Path(f).name for f in w.commit()] == [f"part-00001-000{k}.parquet" for k in range(3)]
    w = ParquetShardWriter(tmp_path / "bytes", "part-00002", row_group_rows=5, bytes_per_file=1)
    w.write([{"id": str(i), "text": f"text {i}"} for i in range(12)])
    assert len(w.commit()) == 3
    assert [r["id"] for r in read_parquet_rows(tmp_path / "bytes")] == [str(i) for i in range(12)]


def test_parquet_schema_changes_keep_every_value(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path, "part-00000", row_group_rows=2)
    rows = [
        {"id": "1", "text": "a", "lang": None},
        {"id": "2", "text": "b", "lang": None},
        {"id": "3", "text": "c", "lang": "en", "extra": 1},
        {"id": "4", "text": "d", "mixed": 1},
        {"id": "5", "text": "e", "mixed": "one"},
        {"id": "6", "text": "f", "mixed": 2},
    ]
    w.write(rows)
    w.commit()
    back = read_parquet_rows(tmp_path)
    assert [r["id"] for r in back] == ["1", "2", "3", "4", "5", "6"]
    assert back[2]["lang"] == "en" and back[2]["extra"] == 1
    assert back[3]["mixed"] == 1  # a later type that cannot be cast starts a new file
    assert [back[4]["mixed"], back[5]["mixed"]] == ['"one"', "2"]  # mixed in one row group: JSON text


def test_nothing_visible_until_commit_and_abort_cleans_up(tmp_path: Path) -> None:
    w = ParquetShardWriter(tmp_path, "part-00000", row_group_rows=1)
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
