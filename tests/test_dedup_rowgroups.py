"""ArrowRowGroups: the same Parquet bytes as the dict-buffering writer, with row groups held as Arrow columns."""

from __future__ import annotations

import hashlib
import mmap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft.dedup.rowgroups import ArrowRowGroups, arrow_buffered
from datacraft.io.schema import build_schema
from datacraft.io.writers import JsonlShardWriter, ParquetShardWriter

SCHEMA = build_schema(
    [
        pa.field("score", pa.float64()),
        pa.field("tag", pa.string()),
        pa.field("dup_cluster", pa.int64()),
        pa.field("dup_count", pa.int64()),
    ],
    extra=True,
    fingerprint="f",
)


def _rows(n: int, odd: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"id": f"d{i}", "text": "é" * (i % 5) + f"text {i}", "dup_cluster": i % 3 - 1}
        row["dup_count"] = (i % 4) + 1
        row["score"] = i / 3 if i % 7 else i  # an int in a float column is conformed
        row["tag"] = None if i % 6 == 0 else (i if i % 5 == 0 else f"t{i}")  # an int in a string column: JSON text
        if i % 4 == 0:
            row["undeclared"] = [i]  # goes to extra_fields
        if odd and i == 11:
            row["dup_cluster"] = "x"  # not an int: that batch falls back to the general rule
        rows.append(row)
    return rows


def _write(writer: Any, rows: list[dict[str, Any]], batch: int) -> list[str]:
    for start in range(0, len(rows), batch):
        writer.write([dict(r) for r in rows[start : start + batch]])
    return writer.commit()


def _digest(paths: list[str]) -> list[tuple[str, str]]:
    return [(Path(p).name, hashlib.md5(Path(p).read_bytes()).hexdigest()) for p in paths]


@pytest.mark.parametrize(("n", "batch", "odd"), [(47, 3, False), (47, 10, True), (20, 5, False), (0, 1, False)])
def test_same_files_as_the_dict_buffering_writer(tmp_path: Path, n: int, batch: int, odd: bool) -> None:
    rows = _rows(n, odd)
    kw = {"schema": SCHEMA, "row_group_rows": 10, "rows_per_file": 25}
    plain = _write(ParquetShardWriter(tmp_path / "a", "part", **kw), rows, batch)
    wrapped = ArrowRowGroups(ParquetShardWriter(tmp_path / "b", "part", **kw), ("dup_cluster", "dup_count"))
    paths = _write(wrapped, rows, batch)
    assert _digest(paths) == _digest(plain)
    assert set(wrapped.digests) == set(paths)
    if n:
        metas = [pq.ParquetFile(p).metadata for p in paths]
        sizes = [m.row_group(i).num_rows for m in metas for i in range(m.num_row_groups)]
        assert sum(sizes) == n and max(sizes) == 10 and len(sizes) >= 2  # several row groups, in files of <= 25
        assert pq.ParquetFile(paths[0]).read().column("dup_cluster").to_pylist()[:4] == [-1, 0, 1, -1]


def test_abort_leaves_nothing_and_other_writers_are_not_wrapped(tmp_path: Path) -> None:
    w = ArrowRowGroups(ParquetShardWriter(tmp_path, "part", schema=SCHEMA, row_group_rows=10))
    w.write(_rows(15, False))
    w.abort()
    assert not list(tmp_path.iterdir())
    jsonl = JsonlShardWriter(tmp_path, "q")
    assert arrow_buffered(jsonl) is jsonl and arrow_buffered(None) is None


@pytest.mark.parametrize("seed", [0, 1])
def test_unique_helpers_equal_numpy(seed: int) -> None:
    import numpy as np

    from datacraft.dedup.uniq import unique_rows, unique_values

    rng = np.random.default_rng(seed)
    for n in (0, 1, 2, 50, 3000):
        v = rng.integers(0, 40, n).astype(np.uint64) << np.uint64(33)
        assert unique_values(v).tolist() == np.unique(v).tolist()
        rows = rng.integers(0, 5, (n, 2)).astype(np.uint64) | (np.uint64(1) << np.uint64(63))
        assert unique_rows(rows).tolist() == np.unique(rows, axis=0).tolist()
        assert unique_rows(rows).dtype == rows.dtype


def test_rows_left_after_a_row_group_are_all_that_is_held(tmp_path: Path) -> None:
    writer = ArrowRowGroups(
        ParquetShardWriter(tmp_path, "part", schema=SCHEMA, row_group_rows=10, rows_per_file=100),
        ("dup_cluster", "dup_count"),
    )
    rows = _rows(12, False)
    writer.write([dict(r) for r in rows[:6]])
    last = [dict(r) for r in rows[6:]]
    writer.write(last)  # 12 rows: one group of 10 written, 2 left
    assert writer._rows == 2 and writer.inner.rows_written == 10
    # the pending text column holds the 2 rows' bytes only: the written group's were released with it
    text = writer._columns[SCHEMA.get_field_index("text")]
    assert text.data.size == sum(len(r["text"].encode()) for r in last[-2:])
    assert text.array(2).to_pylist() == [r["text"] for r in last[-2:]]
    [path] = writer.commit()
    assert pq.read_table(path).column("id").to_pylist() == [r["id"] for r in rows]


def test_string_column_builder_equals_combined_chunks() -> None:
    from datacraft.dedup.rowgroups import _StringColumn

    chunks = [
        pa.array(["a", None, "ßé", ""], type=pa.string()).slice(1),
        pa.array([], type=pa.string()),
        pa.array(["", ""], type=pa.string()),
        pa.array(["x" * 5000, None], type=pa.string()),
        pa.array([None, None], type=pa.string()),
    ]
    col = _StringColumn()
    for c in chunks:
        col.append(c)
    n = sum(len(c) for c in chunks)
    built = col.array(n)
    built.validate(full=True)
    assert built.equals(pa.concat_arrays(chunks)) and built.null_count == 4
    plain = _StringColumn()
    plain.append(pa.array(["u", "v"], type=pa.string()))
    assert plain.array(2).buffers()[0] is None  # no nulls: no validity bitmap, as combine_chunks gives


class _NoRemap:
    """An anonymous mapping whose resize fails as on a platform without ``mremap`` (macOS, BSD)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, key: slice) -> bytes:
        return self.inner[key]

    def __setitem__(self, key: slice, value: Any) -> None:
        self.inner[key] = value

    def resize(self, capacity: int) -> None:
        raise SystemError("mmap: resizing not available--no mremap()")

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("remap", [True, False])
def test_growing_bytes_keep_every_byte_when_grown(remap: bool) -> None:
    from datacraft.dedup.rowgroups import _GrowingBytes

    grow = _GrowingBytes(capacity=8)
    if not remap:
        grow.map = _NoRemap(grow.map)  # type: ignore[assignment]
    parts = [bytes([i % 251]) * (i * 7 + 1) for i in range(40)]
    for part in parts:
        grow.append(memoryview(part))
    assert len(grow.map) >= grow.size == sum(map(len, parts))
    assert isinstance(grow.map, mmap.mmap)  # without mremap: the wrapper was replaced by a new, larger mapping
    assert grow.buffer().to_pybytes() == b"".join(parts)
