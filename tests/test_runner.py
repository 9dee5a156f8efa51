"""Running pipelines: determinism across workers, resume, force, conflicts, quarantine, ledger."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from datacraft.errors import InputError, OutputConflictError
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from tests.helpers import make_corpus, read_parquet_rows, tree_digest, write_jsonl


def config(inp: Path, out: Path, **extra: object):
    raw = {
        "input": {"paths": [str(inp)]},
        "output": {"path": str(out), "row_group_rows": 16, "rows_per_file": 40},
        "stages": [{"normalize": {}}, {"length": {"min_words": 10}}],
        "batch_size": 7,
    }
    raw.update(extra)
    return build_config(raw)


def test_same_bytes_for_one_and_two_workers(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=4, docs=60)
    r1 = run_pipeline(config(tmp_path / "in", tmp_path / "o1", workers=1))
    r2 = run_pipeline(config(tmp_path / "in", tmp_path / "o2", workers=2))
    d1, d2 = tree_digest(tmp_path / "o1"), tree_digest(tmp_path / "o2")
    assert d1 == d2 and any(k.startswith("rejected/") for k in d1)
    assert r1.merged["totals"] == r2.merged["totals"]
    t = r1.merged["totals"]
    assert t["docs_in"] == 240 and t["kept"] + t["dropped"] == 240 and r1.merged["ledger_balanced"]


def test_output_content_rejected_and_stats(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=2, docs=30)
    result = run_pipeline(config(tmp_path / "in", tmp_path / "o"))
    kept = read_parquet_rows(tmp_path / "o" / "data")
    rejected = read_parquet_rows(tmp_path / "o" / "rejected")
    assert len(kept) == result.merged["totals"]["kept"] and len(rejected) == result.merged["totals"]["dropped"]
    assert set(kept[0]) == {"id", "text", "src", "extra_fields"} and "\n\n\n" not in kept[0]["text"]
    assert {r["stage"] for r in rejected} == {"length"} and {r["reason"] for r in rejected} == {"too_few_words"}
    assert json.loads(rejected[0]["signals"])["length_words"] < 10
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert list(stats["stages"]) == ["normalize", "length"]
    assert stats["dropped"]["length"]["too_few_words"] == len(rejected)
    assert len(list((tmp_path / "o" / "_done").glob("*.json"))) == 2


def test_rerun_skips_finished_shards_and_force_redoes_them(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=3, docs=20)
    cfg = config(tmp_path / "in", tmp_path / "o")
    first = run_pipeline(cfg)
    digest = tree_digest(tmp_path / "o")
    again = run_pipeline(cfg)
    assert (first.ran, again.ran) == (3, 0) and tree_digest(tmp_path / "o") == digest
    assert again.merged["totals"] == first.merged["totals"]
    forced = run_pipeline(cfg, force=True)
    assert forced.ran == 3 and tree_digest(tmp_path / "o") == digest


def test_changed_input_is_refused_then_redone_with_force(tmp_path: Path) -> None:
    paths = make_corpus(tmp_path / "in", shards=3, docs=20)
    cfg = config(tmp_path / "in", tmp_path / "o")
    run_pipeline(cfg)
    write_jsonl(paths[1], [{"id": "new", "text": " ".join(["word"] * 20)}])
    os.utime(paths[1], ns=(1, 1))
    with pytest.raises(OutputConflictError, match="the input files"):
        run_pipeline(cfg)
    result = run_pipeline(cfg, force=True)
    assert result.ran == 3 and any(r["id"] == "new" for r in read_parquet_rows(tmp_path / "o" / "data"))
    paths[2].unlink()
    run_pipeline(cfg, force=True)
    assert not list((tmp_path / "o").rglob("part-00002*"))


def test_files_of_shards_gone_from_the_input_are_swept(tmp_path: Path) -> None:
    paths = make_corpus(tmp_path / "in", shards=3, docs=20)
    cfg = config(tmp_path / "in", tmp_path / "o")
    run_pipeline(cfg)
    (tmp_path / "o" / "_run.json").unlink()  # an output whose manifest was lost: markers decide
    paths[2].unlink()
    assert run_pipeline(cfg).ran == 0
    assert not list((tmp_path / "o").rglob("part-00002*"))


def test_different_config_in_same_output_needs_force(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=5)
    run_pipeline(config(tmp_path / "in", tmp_path / "o"))
    other = config(tmp_path / "in", tmp_path / "o", stages=[{"length": {"min_words": 1}}])
    with pytest.raises(OutputConflictError, match="another run: the configuration changed"):
        run_pipeline(other)
    assert run_pipeline(other, force=True).ran == 1
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(OutputConflictError, match="not a datacraft output"):
        run_pipeline(config(tmp_path / "in", tmp_path / "foreign"))


def test_bad_records_are_quarantined_or_fail_the_run(tmp_path: Path) -> None:
    lines = [b'{"id": "1", "text": "' + b"good " * 12 + b'"}', b"{broken", b'{"id": "3"}', b'{"text": "caf\xe9"}']
    write_jsonl(tmp_path / "in" / "a.jsonl", [], raw_lines=lines)
    result = run_pipeline(config(tmp_path / "in", tmp_path / "o", max_quarantine_fraction=1))
    t = result.merged["totals"]
    assert (t["docs_in"], t["kept"], t["quarantined"]) == (4, 1, 3)
    q = [json.loads(x) for x in (tmp_path / "o" / "quarantine" / "part-00000-0000.jsonl").read_text().splitlines()]
    assert [(r["file"], r["position"]) for r in q] == [("a.jsonl", f"line {n}") for n in (2, 3, 4)]
    with pytest.raises(InputError, match=r"bad record: a\.jsonl, line 2: invalid JSON"):
        run_pipeline(config(tmp_path / "in", tmp_path / "o2", on_error="fail"))
    assert not list((tmp_path / "o2" / "_done").glob("*.json"))
    assert not list((tmp_path / "o2").rglob("*.parquet"))


def test_unreadable_file_fails_without_marking_done(tmp_path: Path) -> None:
    paths = make_corpus(tmp_path / "in", shards=2, docs=200)
    paths[1].write_bytes(paths[1].read_bytes()[:300])
    with pytest.raises(InputError, match=r"shard-01\.jsonl\.gz: cannot read past line"):
        run_pipeline(config(tmp_path / "in", tmp_path / "o"))
    assert [p.name for p in (tmp_path / "o" / "_done").glob("*.json")] == ["part-00000.json"]
    assert not list((tmp_path / "o").rglob("part-00001*"))


def test_jsonl_output_and_no_rejected(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=10)
    cfg = config(
        tmp_path / "in", tmp_path / "o", output={"path": str(tmp_path / "o"), "format": "jsonl.gz", "rejected": False}
    )
    result = run_pipeline(cfg)
    assert [p.name for p in (tmp_path / "o" / "data").iterdir()] == ["part-00000-0000.jsonl.gz"]
    assert not (tmp_path / "o" / "rejected").exists() and result.merged["ledger_balanced"]
