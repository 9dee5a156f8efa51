"""The columnar JSONL reader gives what the per-line reader gives: same rows, same bad records, same bytes.

Each fallback rule has a case: a block holding it must take the per-line path (and come out the same),
and each case the columnar path does take must give the same rows (ids from line numbers included).
"""

from __future__ import annotations

import gzip
import io
import random
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from read_paths import ReadPaths

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io.arrays import all_finite, utf8_chars
from datacraft.io.jsoncols import BlockParser, block_lines, column_items, columnar_plan, iter_blocks
from datacraft.io.readers import ReadOptions, iter_lines, jsonl_items
from datacraft.io.records import BadRecord, TooLong
from datacraft.io.schema import build_schema, rows_to_table
from datacraft.io.writers import ParquetShardWriter, TableParquetShardWriter
from datacraft.pipeline.task import doc_row

SCHEMA = build_schema(
    [pa.field("b", pa.bool_()), pa.field("f", pa.float64()), pa.field("n", pa.int64()), pa.field("s", pa.string())],
    extra=True,
)
OPTS = ReadOptions()
PLAN = columnar_plan(SCHEMA, OPTS)
GOOD = b'{"id":"g1","text":"one","n":1,"f":0.5,"b":true,"s":"x"}\n{"id":"g2","text":"two \\u00e9","n":-2}\n'


def per_line(data: bytes, opts: ReadOptions = OPTS, chunk: int = 1 << 22) -> tuple[pa.Table, list[BadRecord]]:
    lines = iter_lines(io.BytesIO(data), "x.jsonl", chunk_size=chunk, max_bytes=opts.max_record_bytes)
    items = list(jsonl_items(lines, "x.jsonl", opts))
    rows = [doc_row(i) for i in items if type(i) is Document]
    return rows_to_table(rows, SCHEMA), [i for i in items if type(i) is BadRecord]


def columnar(data: bytes, opts: ReadOptions = OPTS, chunk: int = 1 << 22) -> tuple[pa.Table, list[BadRecord], int]:
    assert PLAN is not None
    blocks = iter_blocks(io.BytesIO(data), "x.jsonl", chunk, opts.max_record_bytes)
    tables, rows, bad, n_tables = [], [], [], 0
    for item in column_items(blocks, "x.jsonl", opts, PLAN):
        if type(item) is pa.Table:
            tables.append(rows_to_table(rows, SCHEMA))
            rows, n_tables = [], n_tables + 1
            tables.append(item)
        elif type(item) is Document:
            rows.append(doc_row(item))
        else:
            bad.append(item)
    tables.append(rows_to_table(rows, SCHEMA))
    return pa.concat_tables(tables).combine_chunks(), bad, n_tables


def assert_same(data: bytes, opts: ReadOptions = OPTS, chunk: int = 1 << 22) -> int:
    """Both readers agree on ``data``; the number of blocks the columnar path took."""
    table, bad = per_line(data, opts, chunk)  # the chunk size decides the head kept of a line cut short
    ctable, cbad, n_tables = columnar(data, opts, chunk)
    assert ctable.equals(table)
    assert [(b.file, b.position, b.error, b.raw) for b in cbad] == [(b.file, b.position, b.error, b.raw) for b in bad]
    return n_tables


FALLBACK = {
    "invalid JSON": b'{"id":"x","text":',
    "not an object": b"[1, 2]",
    "invalid UTF-8": b'{"text":"caf\xe9"}',
    "lone high surrogate": b'{"text":"a\\ud800b"}',
    "lone low surrogate": b'{"text":"\\udc00"}',
    "duplicate key": b'{"text":"a","text":"b"}',
    "duplicate field key": b'{"text":"a","n":1,"n":2}',
    "number id": b'{"id":7,"text":"a"}',
    "float id": b'{"id":7.5,"text":"a"}',
    "bool id": b'{"id":true,"text":"a"}',
    "big integer": b'{"text":"a","n":1180591620717411303424}',
    "integer past int64": b'{"text":"a","n":9223372036854775808}',
    "fraction in an int column": b'{"text":"a","n":1.0}',
    "string in an int column": b'{"text":"a","n":"1"}',
    "bool in a float column": b'{"text":"a","f":true}',
    "number in a string column": b'{"text":"a","s":3}',
    "nested value": b'{"text":"a","s":{"k":[1,2]}}',
    "mixed list": b'{"text":"a","s":[1,"a"]}',
    "unknown field": b'{"text":"a","zz":1}',
    "unknown null field": b'{"text":"a","zz":null}',
    "extra_fields key": b'{"text":"a","extra_fields":"{\\"k\\":1}"}',
    "NaN literal": b'{"text":"a","f":NaN}',
    "Infinity literal": b'{"text":"a","f":-Infinity}',
    "float overflow": b'{"text":"a","f":1.7976931348623157e309}',
    "missing text": b'{"id":"m"}',
    "null text": b'{"text":null}',
    "number text": b'{"text":42}',
    "two objects on a line": b'{"text":"a"} {"text":"b"}',
    "byte order mark inside": b'\xef\xbb\xbf{"text":"a"}',
    "trailing garbage": b'{"text":"a"}x',
    "form feed line": b"\x0c",
}


@pytest.mark.parametrize("case", sorted(FALLBACK))
def test_each_fallback_rule_gives_the_per_line_result(case: str) -> None:
    data = GOOD + FALLBACK[case] + b"\n" + GOOD
    assert PLAN is not None
    assert BlockParser(PLAN, "x.jsonl", OPTS.max_record_bytes).table(1, data) is None
    assert assert_same(data) == 0


COLUMNAR = {
    "plain": b'{"id":"p","text":"a","s":"z"}',
    "empty, missing and null ids": b'{"id":"","text":"a"}\n{"text":"b"}\n{"id":null,"text":"c"}',
    "blank lines shift line numbers": b'\n  \n{"text":"a"}\n\r\n\t\n{"text":"b","id":""}\n',
    "CRLF": b'{"text":"a"}\r\n{"text":"b","n":3}\r',
    "int in a float column, nulls": b'{"text":"a","f":3,"n":null,"b":null,"s":null}',
    "numbers": b'{"text":"a","f":-0.0,"n":-9223372036854775808}\n{"text":"a","f":1e-400,"n":-0}\n'
    b'{"text":"a","f":5e-324}',
    "escapes": b'{"text":"\\ud83d\\ude00 \\\\ud800 \\u0000 \\/ \\"q\\"","s":"\\u4e2d"}',
    "escaped key": b'{"te\\u0078t":"a"}',
    "non-ASCII": '{"text":"é😀 中","id":"ü"}'.encode(),
    "empty text": b'{"text":""}',
}


@pytest.mark.parametrize("case", sorted(COLUMNAR))
def test_columnar_cases_give_the_per_line_rows(case: str) -> None:
    data = GOOD + COLUMNAR[case] + b"\n" + GOOD
    assert assert_same(data) == 1


def test_leading_bom_and_a_last_line_without_newline() -> None:
    assert assert_same(b"\xef\xbb\xbf" + GOOD + b'{"text":"end"}') == 2  # the last line is a block of its own


def test_long_lines_fall_back_or_stream_as_the_per_line_path_does() -> None:
    long = b'{"text":"' + b"x" * 300 + b'"}'
    opts = ReadOptions(max_record_bytes=200)
    assert assert_same(GOOD + long + b"\n" + GOOD, opts) == 0
    assert assert_same(GOOD * 40 + long + b"\n" + GOOD * 40, opts, chunk=64) > 0  # a line longer than a chunk


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 22])
def test_blocks_hold_the_lines_iter_lines_yields(chunk: int) -> None:
    data = b"\xef\xbb\xbf" + GOOD + b'{"text":"' + b"y" * 150 + b'"}\n\n' + GOOD + b"tail"

    def lines(blocks: list[tuple[int, bytes | TooLong]]) -> list[tuple[int, object]]:
        return [(n, x) for first, b in blocks for n, x in block_lines(first, b)]

    expected = list(iter_lines(io.BytesIO(data), "x", chunk_size=chunk, max_bytes=100))
    assert lines(list(iter_blocks(io.BytesIO(data), "x", chunk, 100))) == expected
    assert mixed_blocks_agree(data, chunk)


def mixed_blocks_agree(data: bytes, chunk: int) -> bool:
    assert_same(data * 3, ReadOptions(max_record_bytes=100), chunk)
    return True


def test_truncated_gzip_is_reported_at_the_same_line(tmp_path: Path) -> None:
    rnd = random.Random(0)
    body = b"".join(b'{"text":"%s"}\n' % rnd.randbytes(40).hex().encode() for _ in range(1000))
    data = gzip.compress(body)[:-100]
    with pytest.raises(InputError) as line_err:
        list(iter_lines(gzip.GzipFile(fileobj=io.BytesIO(data)), "t.jsonl.gz", chunk_size=4096))
    with pytest.raises(InputError) as block_err:
        list(iter_blocks(gzip.GzipFile(fileobj=io.BytesIO(data)), "t.jsonl.gz", 4096))
    assert str(block_err.value) == str(line_err.value)
    assert "cannot read past line 979:" in str(line_err.value)


def test_plan_only_for_plain_schemas() -> None:
    assert PLAN is not None and PLAN.fields == ("b", "f", "n", "s")
    assert columnar_plan(SCHEMA, ReadOptions(keep_fields=False)) is None
    nested = build_schema([pa.field("tags", pa.list_(pa.string()))], extra=True)
    assert columnar_plan(nested, OPTS) is None
    assert columnar_plan(SCHEMA, ReadOptions(text_field="s")) is None  # the text field is also a column


def test_table_writer_writes_the_bytes_of_the_row_writer(tmp_path: Path) -> None:
    data = (GOOD + b'{"text":"z","f":2}\n') * 50
    table, _ = per_line(data)
    rows = table.to_pylist()
    kw = {"schema": SCHEMA, "row_group_rows": 7, "rows_per_file": 40}
    by_rows = ParquetShardWriter(tmp_path / "rows", "p", **kw)
    by_rows.write(rows[:33])
    by_rows.write(rows[33:])
    mixed = TableParquetShardWriter(tmp_path / "mixed", "p", **kw)
    mixed.write_arrow(table.slice(0, 5))
    mixed.write(rows[5:18])
    mixed.write_arrow(table.slice(18, 100))
    mixed.write_arrow(table.slice(118))
    a, b = by_rows.commit(), mixed.commit()
    assert len(a) == len(b) == 4
    for x, y in zip(a, b, strict=True):
        assert Path(x).read_bytes() == Path(y).read_bytes()
    assert pq.ParquetFile(b[0]).metadata.num_row_groups == 6


def test_chars_and_finite_checks_on_buffers_match_pyarrow_compute() -> None:
    import pyarrow.compute as pc

    texts = pa.array(["", "abc", None, "é😀中", "x" * 10, None, "ü"])
    floats = pa.array([1.0, None, float("nan"), 2.0, float("inf"), None, -0.0])
    for off in range(len(texts)):
        for n in range(len(texts) - off + 1):
            part = texts.slice(off, n)
            assert utf8_chars(pa.chunked_array([part, part], type=pa.string())) == 2 * (
                pc.sum(pc.utf8_length(part)).as_py() or 0
            )
            fpart = floats.slice(off, n)
            expected = all(v == v and abs(v) != float("inf") for v in fpart.to_pylist() if v is not None)
            assert all_finite(pa.chunked_array([fpart], type=pa.float64())) is expected


def test_pass_through_run_writes_the_per_line_bytes(tmp_path: Path, read_paths: Callable[..., ReadPaths]) -> None:
    """A run with no stages reads JSONL as columns: same data, quarantine and stats as the per-line path."""
    import json

    from datacraft.pipeline.config import build_config
    from datacraft.pipeline.runner import run_pipeline

    body = (GOOD * 20 + FALLBACK["invalid JSON"] + b"\n" + COLUMNAR["empty, missing and null ids"] + b"\n") * 6
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl.gz").write_bytes(gzip.compress(body, mtime=0))
    paths = read_paths(chunk=1024)  # blocks of both kinds
    outputs = {}
    for columnar in paths.each():
        out = tmp_path / f"out-{columnar}"
        raw = {"input": {"paths": [str(tmp_path / "in")]}, "output": {"path": str(out), "row_group_rows": 50}}
        run_pipeline(build_config({**raw, "stages": [], "workers": 1, "max_quarantine_fraction": 1.0}))
        stats = json.loads((out / "stats" / "part-00000.json").read_text())
        counts = {k: stats[k] for k in ("docs_in", "kept", "quarantined", "chars_in", "chars_out")}
        files = sorted(p for p in out.rglob("*") if p.parent.name in ("data", "quarantine"))
        outputs[columnar] = (counts, [(p.relative_to(out), p.read_bytes()) for p in files])
    assert outputs[True] == outputs[False]
    assert outputs[True][0]["quarantined"] == 6
    assert 0 < paths.table_rows < outputs[True][0]["kept"]  # both paths were taken


def test_integer_ids_are_read_as_columns_and_written_as_their_text() -> None:
    ints = b'{"id":7,"text":"a"}\n{"id":-0,"text":"b"}\n{"id":-9223372036854775808,"text":"c"}\n'
    ints += b'{"id":null,"text":"d"}\n'
    strings = b'{"id":"s","text":"e"}\n' * 4
    data = (ints * 3 + strings * 3) * 2  # blocks of integer ids, then of string ids, then integers again
    assert assert_same(data, chunk=100) >= 4
    assert assert_same(ints + FALLBACK["float id"] + b"\n" + ints) == 0
