"""threshold: the rule parser, its errors, and annotate → Parquet → threshold equals filtering directly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard

from datacraft.document import Document
from datacraft.errors import ConfigError, InputError
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.stages.threshold import Threshold, ThresholdParams, parse_rule


def test_parse_rules() -> None:
    assert parse_rule("gopher_mean_word_length >= 3").text == "gopher_mean_word_length >= 3"
    assert parse_rule("  x<0.67 ").text == "x < 0.67"
    assert parse_rule("x == true").value == 1.0 and parse_rule("x != False").value == 0.0
    assert parse_rule("x > -1e-3").value == -0.001
    for bad in ("x >= ", "x => 3", "3 >= x", "x >= y", "__import__('os') >= 1", "x >= 3; y < 2", "x >= nan"):
        with pytest.raises(ValueError):
            parse_rule(bad)


def keep(rules: list[str], meta: dict) -> tuple[bool, str | None]:
    r = Threshold(ThresholdParams(rules=rules)).check(Document("doc-1", "text", meta))
    return r.keep, r.reason


def test_rules_hold_or_name_the_failing_rule() -> None:
    rules = ["a >= 3", "b <= 0.67", "c == 0"]
    assert keep(rules, {"a": 3, "b": 0.67, "c": False}) == (True, None)
    assert keep(rules, {"a": 2.999, "b": 0.5, "c": False}) == (False, "a >= 3")
    assert keep(rules, {"a": 3, "b": 0.671, "c": False}) == (False, "b <= 0.67")
    assert keep(rules, {"a": 3, "b": 0.1, "c": True}) == (False, "c == 0")
    assert keep(rules, {"a": None, "b": 0.1, "c": False}) == (False, "a >= 3 (null)")
    assert keep(rules, {"a": float("nan"), "b": 0.1, "c": False}) == (False, "a >= 3 (null)")


def test_missing_or_non_numeric_column_is_a_clear_error() -> None:
    with pytest.raises(InputError, match=r"column 'gopher_x'.*missing in document 'doc-1'.*its columns: a"):
        keep(["gopher_x >= 1"], {"a": 1})
    with pytest.raises(InputError, match="not numeric"):
        keep(["a >= 1"], {"a": "high"})


def test_bad_rule_in_a_pipeline_names_the_key() -> None:
    raw = {"input": {"paths": ["x"]}, "output": {"path": "y"}, "stages": [{"threshold": {"rules": ["a >> 1"]}}]}
    with pytest.raises(ConfigError, match=r"stages\[0\]\.threshold\.rules.*cannot parse rule 'a >> 1'"):
        build_config(raw)


FILTERS = ["gopher_repetition", "gopher_quality", "c4", "fineweb_quality"]
RULES = [
    "gopher_rep_dup_para_frac <= 0.3",
    "gopher_rep_dup_para_char_frac <= 0.2",
    "gopher_rep_dup_line_frac <= 0.3",
    "gopher_rep_dup_line_char_frac <= 0.2",
    "gopher_rep_top_2_gram_char_frac <= 0.2",
    "gopher_rep_top_3_gram_char_frac <= 0.18",
    "gopher_rep_top_4_gram_char_frac <= 0.16",
    "gopher_rep_dup_5_gram_char_frac <= 0.15",
    "gopher_rep_dup_6_gram_char_frac <= 0.14",
    "gopher_rep_dup_7_gram_char_frac <= 0.13",
    "gopher_rep_dup_8_gram_char_frac <= 0.12",
    "gopher_rep_dup_9_gram_char_frac <= 0.11",
    "gopher_rep_dup_10_gram_char_frac <= 0.10",
    "gopher_word_count >= 50",
    "gopher_word_count <= 100000",
    "gopher_mean_word_length >= 3",
    "gopher_mean_word_length <= 10",
    "gopher_hash_ratio <= 0.1",
    "gopher_ellipsis_ratio <= 0.1",
    "gopher_bullet_line_ratio <= 0.9",
    "gopher_ellipsis_line_ratio <= 0.3",
    "gopher_alpha_word_ratio >= 0.8",
    "gopher_stop_word_count >= 2",
    "c4_lorem_ipsum == 0",
    "c4_curly_bracket == 0",
    "c4_sentences >= 5",
    "fineweb_line_punct_ratio >= 0.12",
    "fineweb_short_line_ratio <= 0.67",
    "fineweb_char_dup_ratio <= 0.01",
    "fineweb_list_ratio <= 0.3",
]


def make_inputs(sample_dir: Path, tmp: Path) -> Path:
    """Two small shards of real sample text plus edge cases (empty, lorem ipsum, braces, lists)."""
    src = tmp / "in"
    src.mkdir()
    with gzip.open(sample_dir / "fortunes-00.jsonl.gz", "rt", encoding="utf-8") as f:
        fortunes = [json.loads(line) for _, line in zip(range(200), f, strict=False)]
    with zstandard.open(sample_dir / "kjv-chapters.jsonl.zst", "rt", encoding="utf-8") as f:
        kjv = [json.loads(line) for _, line in zip(range(20), f, strict=False)]
    with gzip.open(sample_dir / "udhr-55.jsonl.gz", "rt", encoding="utf-8") as f:
        udhr = [json.loads(line) for line in f]
    good = "\n".join(
        [
            "The river rose slowly through the night, and the farmers watched it from the hills above the valley.",
            "By morning the old stone bridge that had stood for two hundred years was gone.",
            "Nobody in the village could remember a flood like this one, not even the oldest of them.",
            "The school stayed closed for a week while the water went down and the roads were cleared.",
            "When the children came back, they wrote stories about the river and read them to each other.",
            "Their teacher kept the best of them in a box that she still has today.",
        ]
    )
    edge = [
        {"id": "empty", "text": ""},
        {"id": "lorem", "text": good + "\nLorem ipsum dolor sit amet, it is said."},
        {"id": "braces", "text": good + "\nUse { and } in code, they say."},
        {"id": "list", "text": "\n".join(f"- item number {i} is here." for i in range(80))},
    ]
    rows = [{"id": r["id"], "text": r["text"]} for r in fortunes + kjv + udhr] + edge
    half = len(rows) // 2
    for i, part in enumerate((rows[:half], rows[half:])):
        with open(src / f"part-{i}.jsonl", "w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return src


def kept_rows(out: Path) -> dict[str, str]:
    table = pq.read_table(sorted((out / "data").glob("*.parquet")))
    return dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True))


def test_annotate_then_threshold_equals_filtering(sample_dir: Path, tmp_path: Path) -> None:
    src = make_inputs(sample_dir, tmp_path)
    base = {"input": {"paths": [str(src)]}}
    direct = build_config(base | {"output": {"path": str(tmp_path / "direct")}, "stages": FILTERS})
    annotate = build_config(
        base | {"output": {"path": str(tmp_path / "annotated")}, "stages": [{f: {"mode": "annotate"}} for f in FILTERS]}
    )
    res_direct = run_pipeline(direct)
    res_annot = run_pipeline(annotate)
    assert res_annot.merged["totals"]["kept"] == res_annot.merged["totals"]["docs_in"]  # annotate keeps every document

    # signal columns are typed in Parquet: floats as double, counts as int64, flags as bool
    schema = pq.read_schema(next((tmp_path / "annotated" / "data").glob("*.parquet")))
    assert str(schema.field("gopher_mean_word_length").type) == "double"
    assert str(schema.field("gopher_word_count").type) == "int64"
    assert str(schema.field("c4_curly_bracket").type) == "bool"
    assert str(schema.field("fineweb_list_ratio").type) == "double"

    thresholded = build_config(
        {
            "input": {"paths": [str(tmp_path / "annotated" / "data")]},
            "output": {"path": str(tmp_path / "thresholded")},
            "stages": [{"threshold": {"rules": RULES}}],
        }
    )
    res_thr = run_pipeline(thresholded)
    direct_rows = kept_rows(tmp_path / "direct")
    assert 10 < len(direct_rows) < res_direct.merged["totals"]["docs_in"]  # some kept, some dropped
    assert kept_rows(tmp_path / "thresholded") == direct_rows  # same ids, same (C4-cleaned) text
    assert res_thr.merged["totals"]["dropped"] == res_direct.merged["totals"]["docs_in"] - len(direct_rows)
    reasons = res_thr.merged["dropped"]["threshold"]
    assert "c4_lorem_ipsum == 0" in reasons and "c4_curly_bracket == 0" in reasons
    assert "gopher_rep_dup_para_frac <= 0.3 (null)" in reasons  # the empty document
    assert set(res_direct.merged["dropped"]["c4"]) >= {"lorem_ipsum", "curly_bracket", "too_few_sentences"}


@pytest.mark.parametrize("name", ["quality.yaml", "quality-annotate.yaml", "quality-threshold.yaml"])
def test_shipped_quality_pipelines_validate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from datacraft.pipeline.config import load_pipeline

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(repo)  # list files are relative to the repository root
    config = load_pipeline(repo / "pipelines" / name)
    assert config.stages
    if name == "quality-threshold.yaml":
        assert config.stages[0].params["rules"] == RULES  # the documented defaults, kept in sync
