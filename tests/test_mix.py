"""Weighted mixing: proportions within tolerance, deterministic, up- and down-sampling, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.errors import ConfigError
from datacraft.mix.config import build_mix_config
from datacraft.mix.sampler import run_mix
from tests.helpers import read_parquet_rows, tree_digest, write_jsonl


def corpus(root: Path) -> dict[str, Path]:
    paths = {}
    for name, n, words in (("big", 400, 30), ("small", 60, 20)):
        rows = [
            {
                "id": f"{name}-{i}",
                "text": " ".join(f"{name}{i}w{k}" for k in range(words + i % 7)),
                "lang": ["en", "de", "fr"][i % 3],
            }
            for i in range(n)
        ]
        paths[name] = write_jsonl(root / f"{name}.jsonl.gz", rows)
    return paths


def test_downsampling_to_proportions_is_exact_and_deterministic(tmp_path: Path) -> None:
    p = corpus(tmp_path)
    raw = {
        "sources": [
            {"name": "big", "paths": [str(p["big"])], "weight": 0.5},
            {"name": "small", "paths": [str(p["small"])], "weight": 0.5},
        ],
        "output": str(tmp_path / "m1"),
    }
    report = run_mix(build_mix_config(raw))
    groups = report["groups"]
    assert groups["small"]["size_out"] == groups["small"]["available"]  # the scarce source is used fully
    assert abs(groups["big"]["achieved"] - 0.5) < 0.01 and groups["big"]["rows_out"] < 400
    rows = read_parquet_rows(tmp_path / "m1" / "data")
    assert {r["mix_group"] for r in rows} == {"big", "small"} and all(r["mix_copy"] == 0 for r in rows)
    raw["output"] = str(tmp_path / "m2")
    raw["workers"] = 2
    run_mix(build_mix_config(raw))
    assert tree_digest(tmp_path / "m1", ("data",)) == tree_digest(tmp_path / "m2", ("data",))
    raw["seed"] = 1
    raw["output"] = str(tmp_path / "m3")
    run_mix(build_mix_config(raw))
    assert tree_digest(tmp_path / "m1", ("data",)) != tree_digest(tmp_path / "m3", ("data",))


def test_upsampling_by_column_with_target(tmp_path: Path) -> None:
    p = corpus(tmp_path)
    raw = {
        "sources": [{"name": "all", "paths": [str(p["small"])]}],
        "group_by": "lang",
        "weights": {"en": 0.6, "de": 0.4},
        "unit": "docs",
        "target": 100,
        "output": str(tmp_path / "m"),
    }
    report = run_mix(build_mix_config(raw))
    g = report["groups"]
    assert (g["en"]["rows_out"], g["de"]["rows_out"]) == (60, 40)  # 20 docs each available: 3× and 2×
    assert report["excluded_docs"] == {"fr": 20}
    rows = read_parquet_rows(tmp_path / "m" / "data")
    en = [r for r in rows if r["mix_group"] == "en"]
    assert max(r["mix_copy"] for r in en) == 2 and len({r["id"] for r in en}) == 20
    saved = json.loads((tmp_path / "m" / "mix_report.json").read_text())
    assert saved["groups"]["en"]["asked"] == pytest.approx(0.6)


def test_fractional_upsampling_is_within_one_document(tmp_path: Path) -> None:
    p = corpus(tmp_path)
    raw = {
        "sources": [{"name": "s", "paths": [str(p["small"])], "weight": 1}],
        "unit": "words",
        "target": 2.5 * 60 * 23,
        "output": str(tmp_path / "m"),
    }
    report = run_mix(build_mix_config(raw))
    g = report["groups"]["s"]
    assert abs(g["size_out"] - 2.5 * 60 * 23) <= 30  # one document is at most 26 words


def test_bad_mix_configs() -> None:
    with pytest.raises(ConfigError, match="sources without a weight: a"):
        build_mix_config({"sources": [{"name": "a", "paths": ["x"]}], "output": "o"})
    with pytest.raises(ConfigError, match="needs `weights`"):
        build_mix_config({"sources": [{"name": "a", "paths": ["x"]}], "group_by": "lang", "output": "o"})
    with pytest.raises(ConfigError, match="unit: Input should be"):
        build_mix_config({"sources": [{"name": "a", "paths": ["x"], "weight": 1}], "unit": "bytes", "output": "o"})


def test_mix_cli(tmp_path: Path) -> None:
    p = corpus(tmp_path)
    result = CliRunner().invoke(
        main, ["mix", "-s", f"big={p['big']}:0.7", "-s", f"small={p['small']}:0.3", "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    assert "big" in result.stderr and "70.0%" in result.stderr
    result = CliRunner().invoke(main, ["mix", "-s", f"big={p['big']}", "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "sources without a weight" in result.stderr
    for bad, message in (
        (["-s", "no-equals-sign"], "expected NAME=PATH[:WEIGHT]"),
        (["-s", f"a={p['big']}", "--by", "lang", "--weight", "en=lots"], "expected GROUP=NUMBER"),
    ):
        result = CliRunner().invoke(main, ["mix", *bad, "-o", str(tmp_path / "m")])
        assert result.exit_code == 2 and message in result.stderr
    result = CliRunner().invoke(main, ["mix", "-s", f"x={tmp_path / 'missing.jsonl'}:1", "-o", str(tmp_path / "m")])
    assert result.exit_code == 1 and "input not found" in result.stderr
