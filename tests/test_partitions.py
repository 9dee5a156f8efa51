"""Partition columns are real columns: datacraft's own commands read hive-partitioned outputs with them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datacraft.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "udhr-55.jsonl.gz"
LANGS = ("en", "de", "fr")


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A langid run partitioned by lang: data/lang=en/, lang=de/, lang=fr/ (two shards)."""
    root = tmp_path_factory.mktemp("parts")
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    chosen = [r for code in LANGS for r in [r for r in rows if r.get("lang") == code][:8]]
    (root / "in").mkdir()
    for k in range(2):
        with open(root / "in" / f"s{k}.jsonl", "w", encoding="utf-8") as fh:
            for r in chosen[k::2]:
                fh.write(json.dumps({"id": r["id"], "text": r["text"], "label": r["lang"]}) + "\n")
    pipe = root / "p.yaml"
    pipe.write_text(
        f"name: parts\ninput: {{paths: [{root / 'in'}]}}\n"
        f"output: {{path: {root / 'out'}, partition_by: lang}}\n"
        "stages:\n  - langid: {allowed: [en, de, fr]}\n"
    )
    result = CliRunner().invoke(main, ["run", str(pipe), "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (root / "out" / "data").iterdir()) == ["lang=de", "lang=en", "lang=fr"]
    return root / "out"


def test_files_carry_the_partition_column(partitioned: Path) -> None:
    for folder in (partitioned / "data").iterdir():
        for f in folder.glob("*.parquet"):
            assert pq.read_schema(f).field("lang").type == pa.dictionary(pa.int32(), pa.string())
            assert set(pq.read_table(f).column("lang").to_pylist()) == {folder.name.split("=")[1]}


def test_mix_by_lang_reads_partitioned_output(partitioned: Path, tmp_path: Path) -> None:
    out = tmp_path / "mix"
    weights = [x for code in ("en", "de", "fr") for x in ("--weight", f"{code}=1")]
    args = ["mix", "-s", f"all={partitioned / 'data'}", "--by", "lang", *weights, "--unit", "docs", "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "data").to_pylist()
    assert {r["mix_group"] for r in rows} == {"en", "de", "fr"} and {r["lang"] for r in rows} == {"en", "de", "fr"}


def test_dedup_of_partitioned_output_keeps_the_column(partitioned: Path, tmp_path: Path) -> None:
    out = tmp_path / "dd"
    result = CliRunner().invoke(main, ["dedup", str(partitioned), str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "data")
    assert set(table.column("lang").to_pylist()) == {"en", "de", "fr"}
    assert len({pq.read_schema(f) for f in (out / "data").rglob("*.parquet")}) == 1


def test_report_stats_and_inspect_see_the_languages(partitioned: Path) -> None:
    from datacraft.report.build import gather

    inputs = gather(partitioned)
    assert set(inputs.kept.columns["lang"]) == {"en", "de", "fr"}
    stats = CliRunner().invoke(main, ["stats", str(partitioned)])
    assert stats.exit_code == 0 and "kept" in stats.output
    inspect = CliRunner().invoke(main, ["inspect", str(partitioned)])
    assert inspect.exit_code == 0, inspect.output


def test_training_reads_the_partition_column_as_labels(partitioned: Path) -> None:
    from datacraft.train.data import iter_rows, parquet_files

    files = parquet_files(partitioned / "data")
    labels = [lab for b in iter_rows(files, "text", "id", "lang", 100) for lab in b.labels or []]
    assert set(labels) == {"en", "de", "fr"}
