"""One schema per dataset: every file of data/ and rejected/ of an output has the same Arrow schema,
decided before the first write (input fields, stage columns, extra_fields), with version and fingerprint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datacraft import __version__
from datacraft.document import Document
from datacraft.io.schema import EXTRA, build_schema, conform_columns, parse_type, type_name
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.stages.base import Filter
from datacraft.stages.registry import all_stages
from tests.helpers import write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith("."))


def _corpus(root: Path) -> None:
    """Shards whose records have different fields, and a field whose type varies between shards."""
    write_jsonl(
        root / "a.jsonl",
        [{"id": f"a{i}", "text": f"alpha words here number {i} " * 3, "lang": "en", "cluster": i} for i in range(6)],
    )
    write_jsonl(root / "b.jsonl", [{"id": f"b{i}", "text": f"beta text {i} " * (1 + i % 4)} for i in range(7)])
    write_jsonl(
        root / "c.jsonl",
        [
            {"id": f"c{i}", "text": f"gamma {i} " * (6 if i < 4 else 2), "cluster": "none", "tags": ["x", i]}
            for i in range(5)
        ],
    )


def _config(inp: Path, out: Path, **extra: Any):
    raw = {
        "name": "contract",
        "input": {"paths": [str(inp)]},
        "output": {"path": str(out), "rows_per_file": 2, "row_group_rows": 2},
        "stages": [{"length": {"min_words": 11}}, {"gopher_repetition": {"mode": "annotate"}}],
        **extra,
    }
    return build_config(raw, "test")


def test_every_file_of_data_and_rejected_has_one_schema(tmp_path: Path) -> None:
    _corpus(tmp_path / "in")
    result = run_pipeline(_config(tmp_path / "in", tmp_path / "out", workers=2))
    data = _files(tmp_path / "out" / "data")
    rejected = _files(tmp_path / "out" / "rejected")
    assert len(data) > 4 and len(rejected) >= 2
    for files in (data, rejected):
        schemas = {pq.read_schema(f) for f in files}
        assert len(schemas) == 1, files
        assert all(pq.read_schema(f).equals(pq.read_schema(files[0]), check_metadata=True) for f in files)
    schema = pq.read_schema(data[0])
    assert schema.names[:2] == ["id", "text"] and schema.names[-1] == EXTRA
    assert {"lang", "cluster", "tags", "gopher_rep_dup_para_frac", "gopher_repetition_drop_reason"} <= set(schema.names)
    assert schema.field("cluster").type == pa.string()  # int in one shard, str in another: one declared type
    assert schema.field("gopher_rep_dup_para_frac").type == pa.float64()
    # key-value metadata names the version and the run's fingerprint
    assert schema.metadata[b"datacraft.version"] == __version__.encode()
    assert schema.metadata[b"datacraft.fingerprint"].decode() == result.merged["fingerprint"]
    # the whole folder reads as one table (it did not when files disagreed)
    table = pq.read_table(tmp_path / "out" / "data")
    assert table.num_rows == result.merged["totals"]["kept"]
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows["a0"]["cluster"] == "0" and rows["c0"]["cluster"] == "none"  # strings are never JSON-quoted
    assert rows["c0"]["tags"] == '["x",0]' and rows["b3"]["lang"] is None


def test_schema_is_stable_across_workers_and_reruns(tmp_path: Path) -> None:
    _corpus(tmp_path / "in")
    one = run_pipeline(_config(tmp_path / "in", tmp_path / "w1", workers=1))
    two = run_pipeline(_config(tmp_path / "in", tmp_path / "w2", workers=2))
    again = run_pipeline(_config(tmp_path / "in", tmp_path / "w2", workers=2), force=True)
    assert one.merged["fingerprint"] == two.merged["fingerprint"] == again.merged["fingerprint"]
    s1 = {pq.read_schema(f) for f in _files(tmp_path / "w1" / "data")}
    s2 = {pq.read_schema(f) for f in _files(tmp_path / "w2" / "data")}
    assert s1 == s2 and len(s1) == 1


def test_declared_fields_are_typed_and_misfits_go_to_extra_fields(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "in" / "x.jsonl",
        [
            {"id": "1", "text": "one two three four five", "year": 2020, "note": "a", "later": 1},
            {"id": "2", "text": "one two three four five", "year": "unknown", "note": 5},
        ],
    )
    config = _config(
        tmp_path / "in",
        tmp_path / "out",
        input={"paths": [str(tmp_path / "in")], "fields": {"year": "int64", "note": "string"}},
        stages=[],
    )
    run_pipeline(config)
    table = pq.read_table(_files(tmp_path / "out" / "data")[0])
    assert table.schema.field("year").type == pa.int64() and "later" not in table.schema.names
    rows = pq.read_table(tmp_path / "out" / "data").to_pylist()
    assert [r["year"] for r in rows] == [2020, None] and [r["note"] for r in rows] == ["a", "5"]
    assert [json.loads(r[EXTRA]) for r in rows] == [{"later": 1}, {"year": "unknown"}]


def test_jsonl_output_lines_all_have_the_same_keys(tmp_path: Path) -> None:
    _corpus(tmp_path / "in")
    config = _config(tmp_path / "in", tmp_path / "out")
    config = config.model_copy(update={"output": config.output.model_copy(update={"format": "jsonl"})})
    run_pipeline(config)
    keys = set()
    for f in (tmp_path / "out" / "data").rglob("*.jsonl"):
        for line in f.read_text().splitlines():
            keys.add(tuple(json.loads(line)))
    assert len(keys) == 1


# --- every stage declares, with types, every column it writes ---------------------------------------

DOCS = [
    "The quick brown fox jumps over the lazy dog. It was a sunny day in the park and everyone was happy.\n"
    "Children played games while their parents talked about the weather and the news of the week.",
    "Buy now!!! {click here} lorem ipsum dolor sit amet.\n- item\n- item\n- item",
    "",
    "<html><head><title>T</title></head><body><p>Some page text that is long enough to keep.</p></body></html>",
]
NEEDS = {
    "threshold": {"rules": ["length_chars >= 0"]},
    "blocklist": {"word_lists": [str(ROOT / "pipelines/lists/example-words.txt")]},
}
SKIP = {"model_quality": "needs a trained model (covered by tests/test_train.py)"}


class _Ctx:
    def drop(self, doc, stage, reason, signals=None) -> None:
        pass

    def count(self, stage, key, n=1) -> None:
        pass


def _stage_cases() -> list[tuple[str, str]]:
    cases = []
    for name, cls in all_stages().items():
        modes = ["filter", "annotate"] if issubclass(cls, Filter) else ["map"]
        cases += [(name, mode) for mode in modes]
    return cases


@pytest.mark.parametrize(("name", "mode"), _stage_cases())
def test_every_stage_declares_every_column_it_writes_with_its_type(name: str, mode: str) -> None:
    if name in SKIP:
        pytest.skip(SKIP[name])
    cls = all_stages()[name]
    params = dict(NEEDS.get(name, {}))
    if mode != "map":
        params["mode"] = mode
    stage = cls(cls.Params(**params))
    stage.ensure_setup()
    fields = stage.output_fields()
    for f in fields:
        assert type_name(f.type) != "string" or pa.types.is_string(f.type), f  # every type has a parseable name
    docs = [Document(f"d{i}", t, {"length_chars": len(t), "url": "http://x.example/"}) for i, t in enumerate(DOCS)]
    before = {id(d): set(d.meta) for d in docs}
    kept = stage.process_batch(docs, _Ctx())
    added = set().union(*(set(d.meta) - before[id(d)] for d in kept)) if kept else set()
    declared = {f.name for f in fields}
    assert added <= declared, f"{name}/{mode} writes undeclared columns {added - declared}"
    schema = build_schema(fields, extra=False)
    rows = [{"id": d.id, "text": d.text, **{k: d.meta.get(k) for k in declared}} for d in kept]
    conform_columns(rows, schema)  # raises when a value does not fit its declared type


def test_langid_columns_follow_its_parameters() -> None:
    cls = all_stages()["langid"]
    stage = cls(cls.Params(column="language", topk=2, mode="annotate"), label="lid")
    assert [f.name for f in stage.output_fields()] == [
        "language",
        "language_score",
        "language_topk",
        "lid_drop_reason",
    ]
    assert stage.output_fields()[2].type == parse_type("list<struct<lang: string, prob: float64>>")
