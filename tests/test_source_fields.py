"""A source whose id/text fields have other names: the configured fields fill the ``id``/``text`` columns,
and a record's own ``id``/``text`` keys are kept under their names in ``extra_fields``, on every path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from read_paths import ReadPaths

from datacraft.document import Document
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.pipeline.task import doc_row

RECORDS = [
    {"doc_id": "d1", "id": "other-1", "body": "the body one", "text": "not the text", "n": 1},
    {"doc_id": "d2", "id": 7, "body": "the body two", "n": 2},
    {"doc_id": "d3", "body": "the body three", "text": {"k": [1]}},
    {"body": "no doc id here", "id": "x"},
    {"doc_id": "d5", "body": "plain", "n": 5},
]
EXPECTED = [
    ("d1", "the body one", {"id": "other-1", "text": "not the text"}),
    ("d2", "the body two", {"id": 7}),
    ("d3", "the body three", {"text": {"k": [1]}}),
    ("a.jsonl:4", "no doc id here", {"id": "x"}),
    ("d5", "plain", None),
]


def _run(tmp_path: Path, name: str, inputs: Path, stages: list[dict[str, object]]) -> Path:
    out = tmp_path / name
    raw = {
        "input": {"paths": [str(inputs)], "id_field": "doc_id", "text_field": "body"},
        "output": {"path": str(out)},
        "stages": stages,
        "workers": 1,
    }
    run_pipeline(build_config(raw))
    return out


def _rows(out: Path) -> list[tuple[str, str, object]]:
    table = pq.read_table(out / "data")
    extras = [json.loads(e) if e else None for e in table.column("extra_fields").to_pylist()]
    return list(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), extras, strict=True))


def _data_bytes(out: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))]


def test_doc_row_keeps_the_documents_id_and_text() -> None:
    doc = Document("d1", "body", {"id": "x", "text": "t", "n": 1, "extra_fields": '{"z": 1, "id": "old"}'})
    row = doc_row(doc)
    assert (row["id"], row["text"], row["n"]) == ("d1", "body", 1)
    assert json.loads(row["extra_fields"]) == {"id": "x", "text": "t", "z": 1}
    plain = doc_row(Document("d", "t", {"n": 1}))
    assert plain == {"id": "d", "text": "t", "n": 1}


def test_jsonl_row_and_columnar_paths_agree(tmp_path: Path, read_paths: Callable[..., ReadPaths]) -> None:
    (tmp_path / "in").mkdir()
    lines = "".join(json.dumps(r) + "\n" for r in RECORDS)
    (tmp_path / "in" / "a.jsonl").write_text(lines)
    outputs = {}
    for columnar in read_paths().each():
        out = _run(tmp_path, f"out-{columnar}", tmp_path / "in", [])
        assert _rows(out) == EXPECTED
        outputs[columnar] = _data_bytes(out)
    assert outputs[True] == outputs[False]
    with_stage = _run(tmp_path, "staged", tmp_path / "in", [{"normalize": {"form": "NFC"}}])
    assert _rows(with_stage) == EXPECTED
    assert pq.read_table(with_stage / "data").column("n").to_pylist() == [1, 2, None, None, 5]


def test_columnar_blocks_without_clashes_still_agree(tmp_path: Path, read_paths: Callable[..., ReadPaths]) -> None:
    """Blocks free of clashing keys may be read as columns, the others by line: the file is the same."""
    (tmp_path / "in").mkdir()
    plain = [{"doc_id": f"p{i}", "body": f"text {i}", "n": i} for i in range(40)]
    lines = "".join(json.dumps(r) + "\n" for r in plain + RECORDS + plain)
    (tmp_path / "in" / "a.jsonl").write_text(lines)
    paths = read_paths(chunk=256)
    outputs = {}
    for columnar in paths.each():
        outputs[columnar] = _data_bytes(_run(tmp_path, f"out-{columnar}", tmp_path / "in", []))
    assert outputs[True] == outputs[False]
    assert 0 < paths.table_rows < 85  # both paths were taken
    ids = pq.read_table(tmp_path / "out-True" / "data").column("id").to_pylist()
    assert ids[40:45] == ["d1", "d2", "d3", "a.jsonl:44", "d5"]


def test_parquet_source_with_id_and_text_columns(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    table = pa.table(
        {
            "doc_id": ["d1", "d2"],
            "body": ["first body", "second body"],
            "id": ["x1", None],
            "text": ["old text", "old two"],
        }
    )
    pq.write_table(table, tmp_path / "in" / "a.parquet")
    out = _run(tmp_path, "out", tmp_path / "in", [])
    assert _rows(out) == [
        ("d1", "first body", {"id": "x1", "text": "old text"}),
        ("d2", "second body", {"id": None, "text": "old two"}),
    ]


def test_dedup_of_a_source_with_id_and_text_columns(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datacraft.cli import main

    (tmp_path / "in").mkdir()
    bodies = ["the first body here", "a second body there", "the first body here"]
    ids, own_ids, own_texts = ["d0", "d1", "d2"], ["x0", "x1", "x2"], ["t0", "t1", "t2"]
    table = pa.table({"doc_id": ids, "body": bodies, "id": own_ids, "text": own_texts})
    pq.write_table(table, tmp_path / "in" / "a.parquet")
    out = tmp_path / "out"
    args = ["dedup", str(tmp_path / "in"), str(out), "--text-field", "body", "--id-field", "doc_id", "-q"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert _rows(out) == [
        ("d0", "the first body here", {"id": "x0", "text": "t0"}),
        ("d1", "a second body there", {"id": "x1", "text": "t1"}),
    ]
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert [(r["id"], r["text"], json.loads(r["meta"])) for r in rejected] == [
        ("d2", "the first body here", {"id": "x2", "text": "t2"})
    ]
