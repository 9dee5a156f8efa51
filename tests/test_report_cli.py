"""``datacraft stats``, ``inspect`` and ``explain`` on a real tiny run: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from report_fixtures import make_run, pipeline_raw

from datacraft.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def pipeline_file(run_dir: Path) -> Path:
    path = run_dir.parent / "tiny.yaml"
    path.write_text(yaml.safe_dump(pipeline_raw(run_dir.parent / "in", run_dir.parent / "unused")))
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# --- stats -----------------------------------------------------------------------------------------


def test_stats_table(run_dir: Path) -> None:
    code, out = invoke("stats", run_dir)
    assert code == 0
    assert "in 49   kept 36 (73.5%)   dropped 12 (24.5%)   quarantined 1" in out
    assert "too_few_words" in out and "normalize: changed=16" in out
    assert "ledger      balanced" in out
    assert "part-1.jsonl.gz" not in out
    code, out = invoke("stats", run_dir, "--shards")
    assert code == 0 and "part-1.jsonl.gz" in out


def test_stats_json_matches_stats_file(run_dir: Path) -> None:
    code, out = invoke("stats", run_dir, "--json")
    assert code == 0
    data = json.loads(out)
    on_disk = json.loads((run_dir / "stats.json").read_text())
    assert data["totals"] == on_disk["totals"] and data["dropped"] == on_disk["dropped"]
    assert "per_shard" not in data and data["partial"] is False
    data = json.loads(invoke("stats", run_dir, "--json", "--shards")[1])
    assert len(data["per_shard"]) == 2


def test_stats_errors(tmp_path: Path) -> None:
    code, out = invoke("stats", tmp_path)
    assert code == 1 and "not the output of `datacraft run`" in out
    (tmp_path / "stats.json").write_text("{not json")
    code, out = invoke("stats", tmp_path)
    assert code == 1 and "stats.json is not valid JSON" in out


# --- inspect ---------------------------------------------------------------------------------------


def test_inspect_samples_with_signals(run_dir: Path) -> None:
    code, out = invoke("inspect", run_dir, "--stage", "length", "--reason", "too_few_words", "-n", "3")
    assert code == 0
    assert out.startswith("12 documents dropped by length for too_few_words; showing 3 chosen with seed 0")
    assert out.count("stage=length  reason=too_few_words") == 3
    assert "signals: length_chars=" in out and "length_words=3" in out
    assert "    │ " in out  # text preview


def test_inspect_json_is_seeded_and_complete(run_dir: Path) -> None:
    def sample(seed: int, n: int = 4) -> dict:
        code, out = invoke("inspect", run_dir, "--stage", "length", "-n", n, "--seed", seed, "--json")
        assert code == 0
        return json.loads(out)

    a, b = sample(7), sample(7)
    assert a == b and a["matches"] == 12 and len(a["docs"]) == 4
    for d in a["docs"]:
        assert d["reason"] == "too_few_words" and d["signals"]["length_words"] < 5
        assert d["text"] and d["meta"]["lang"] in ("en", "fr", "de")
    assert {d["id"] for d in sample(1, 12)["docs"]} == {d["id"] for d in sample(2, 50)["docs"]}  # all 12
    assert [d["id"] for d in sample(1)["docs"]] != [d["id"] for d in sample(2)["docs"]]


def test_inspect_truncates_text(run_dir: Path) -> None:
    data = json.loads(invoke("inspect", run_dir, "-n", "1", "--chars", "4", "--json")[1])
    doc = data["docs"][0]
    assert len(doc["text"]) == 4 and doc["truncated"] and doc["text_chars"] > 4


def test_inspect_unknown_stage_or_reason_lists_what_exists(run_dir: Path) -> None:
    code, out = invoke("inspect", run_dir, "--stage", "lenght")
    assert code == 2 and "did you mean 'length'" in out and "stages with drops: length (12)" in out
    code, out = invoke("inspect", run_dir, "--stage", "length", "--reason", "too_long")
    assert code == 2 and "reasons: too_few_words (12)" in out


def test_inspect_without_rejected_output(tmp_path: Path) -> None:
    out_dir = make_run(tmp_path, rejected=False)
    code, out = invoke("inspect", out_dir)
    assert code == 1 and "output.rejected: false" in out


# --- explain ---------------------------------------------------------------------------------------


def test_explain_dropped_document(run_dir: Path, pipeline_file: Path) -> None:
    code, out = invoke("explain", run_dir.parent / "in", "--id", "doc-0", "--pipeline", pipeline_file)
    assert code == 0
    assert "1. normalize" in out and "changed" in out and "\\x07" in out  # the control character in the diff
    assert "DROPPED  reason=too_few_words" in out and "length_words=3" in out
    assert "not run (the document was dropped before)" in out
    assert out.rstrip().endswith("result    dropped by length (too_few_words)")


def test_explain_json_kept_document(run_dir: Path, pipeline_file: Path) -> None:
    code, out = invoke("explain", "--id", "doc-101", "-p", pipeline_file, "--json")  # input from the pipeline
    assert code == 0
    data = json.loads(out)
    assert data["result"] == {"kept": True, "stage": None, "reason": None}
    steps = {s["label"]: s for s in data["steps"]}
    assert steps["normalize"]["decision"] == "unchanged"
    assert steps["length"]["decision"] == "kept"
    assert steps["size"]["decision"] == "kept" and steps["size"]["signals"]["length_words"] > 5
    assert steps["size"]["meta_added"]["size_drop_reason"] is None


def test_explain_annotate_would_drop(run_dir: Path, pipeline_file: Path) -> None:
    code, out = invoke("explain", "--id", "doc-7", "-p", pipeline_file, "--set", "size.max_words=10", "--json")
    assert code == 0
    size = json.loads(out)["steps"][2]
    assert size["decision"] == "kept" and size["reason"] == "annotate mode: would drop (too_many_words)"


def test_explain_errors(run_dir: Path, pipeline_file: Path, tmp_path: Path) -> None:
    code, out = invoke("explain", "--id", "nope", "-p", pipeline_file)
    assert code == 1 and "no document with id 'nope' among 48 documents" in out and "'doc-0'" in out
    code, out = invoke("explain", "--id", "part-1.jsonl.gz:6", "-p", pipeline_file)
    assert code == 1 and "bad record, quarantined" in out
    code, out = invoke("explain", "--id", "doc-0", "-p", tmp_path / "missing.yaml")
    assert code == 2 and "missing.yaml" in out
    code, out = invoke("explain", "--id", "doc-0", "-p", pipeline_file, "--set", "length.min_wordz=3")
    assert code == 2 and "min_wordz" in out
