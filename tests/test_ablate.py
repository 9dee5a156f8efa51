"""Ablation (same budget, same tokenizer, raw vs curated) and the ``model_quality`` stage (tiny shapes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.errors import ConfigError
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from tests.helpers import read_parquet_rows, write_jsonl

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
TINY = {
    "epochs": 2,
    "batch_size": 4,
    "data": {"seq_len": 8, "max_length": 24, "val_fraction": 0.25, "shuffle_buffer": 32},
    "tokenizer": {"vocab_size": 200, "min_frequency": 1},
    "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4, "dropout": 0.0},
    "optimizer": {"learning_rate": 0.01},
}
PROSE = [
    "the king went to the city and the people came to him with gifts",
    "and the lord spake unto moses saying speak unto the children of israel",
    "she walked along the river bank and looked at the water for a long time",
    "the boy ran into the house and told his mother what he had seen",
]
JUNK = ["3920 1844 xq zz 0091 ### 7777 kk", "http www com 123 456 789 !!! ???", "aaaa bbbb 0000 1111 ++++ ----"]


def _parquet(path: Path, rows: list[dict]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path / "part-00000-0000.parquet")
    return path


def _prose(n: int, prefix: str) -> list[dict]:
    return [{"id": f"{prefix}{i}", "text": f"{PROSE[i % 4]} {PROSE[(i * 3 + 1) % 4]}"} for i in range(n)]


def _junk(n: int) -> list[dict]:
    return [{"id": f"j{i}", "text": f"{JUNK[i % 3]} {JUNK[(i + 1) % 3]}"} for i in range(n)]


def test_budget_batches_are_a_fixed_slice_of_repeated_passes(tmp_path: Path) -> None:
    from datacraft.train.tokfile import TokenFile
    from datacraft.train.windows import lm_batches, lm_budget_batches

    stream = [t for i in range(30) for t in [*range(3 + i, 3 + i + 5 + i % 4), 2]]
    np.asarray(stream, dtype="<u2").tofile(tmp_path / "train.tokens")
    toks = TokenFile(tmp_path / "train.tokens", "<u2")
    per_pass = sum(1 for _ in lm_batches(toks, 4, 3, seed=7, epoch=0, buffer=8))
    assert per_pass > 0
    kw = {"seed": 7, "buffer": 8, "batches_per_pass": per_pass}
    total = 3 * per_pass + 1  # more than the data holds: passes repeat with their own shuffle
    whole = list(lm_budget_batches(toks, 4, 3, start=0, count=total, **kw))
    assert len(whole) == total
    parts = []
    for start in range(0, total, 5):
        parts += lm_budget_batches(toks, 4, 3, start=start, count=min(5, total - start), **kw)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(whole, parts, strict=True))
    assert not np.array_equal(whole[0][0], whole[per_pass][0])  # pass 1 is shuffled differently


def test_token_budget_config_errors() -> None:
    from datacraft.train.config import build_train_config

    with pytest.raises(ConfigError, match="task lm only"):
        build_train_config({"task": "classify", "data": {"label_column": "y"}, "max_train_tokens": 10**6})
    with pytest.raises(ConfigError, match="less than one batch"):
        build_train_config({"max_train_tokens": 10, "batch_size": 4, "data": {"seq_len": 8}})


def test_ablation_end_to_end_same_tokens_table_and_plot(tmp_path: Path) -> None:
    raw = _parquet(tmp_path / "raw", _prose(30, "p") + _junk(30))
    curated = _parquet(tmp_path / "curated", _prose(30, "p"))
    heldout = _parquet(tmp_path / "heldout", _prose(12, "h"))
    cfg = tmp_path / "cfg.json"  # YAML is a superset of JSON
    cfg.write_text(json.dumps(TINY))
    out = tmp_path / "abl"
    args = ["ablate", "--raw", str(raw), "--curated", str(curated)]
    args += ["--eval", str(heldout), "--config", str(cfg), "--tokens", "160", "--out", str(out), "--quiet"]
    args += ["--set", "epochs=1"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    res = json.loads((out / "ablation.json").read_text())
    rows = {v["name"]: v for v in res["variants"]}
    assert list(rows) == ["raw", "curated"]
    # 160 tokens / (1 epoch · 4 · 8) = 5 batches, on every variant
    assert {v["train_tokens"] for v in rows.values()} == {5 * 4 * 8}
    assert rows["curated"]["passes"] > rows["raw"]["passes"]  # less data, repeated to fill the budget
    assert rows["curated"]["heldout_loss"] != rows["raw"]["heldout_loss"]
    tokenizers = {(Path(v["model_dir"]) / "tokenizer.json").read_text() for v in rows.values()}
    assert len(tokenizers) == 1
    md = (out / "ablation.md").read_text()
    assert "| raw |" in md and "| curated |" in md and "held-out ppl" in md
    assert (out / "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a rerun resumes (models complete) and gives the same table
    r2 = CliRunner().invoke(main, args)
    assert r2.exit_code == 0 and (out / "ablation.md").read_text() == md


def test_ablation_usage_errors_exit_2(tmp_path: Path) -> None:
    d = _parquet(tmp_path / "d", _prose(8, "p"))
    base = ["ablate", "--raw", str(d), "--curated", str(d), "--eval", str(d), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 2 and "token budget" in r.output
    r = CliRunner().invoke(main, [*base, "--tokens", "999", "--variant", "nopath"])
    assert r.exit_code == 2 and "NAME=PATH" in r.output
    r = CliRunner().invoke(main, [*base, "--tokens", "999", "--variant", "raw=" + str(d)])
    assert r.exit_code == 2 and "used twice" in r.output


@pytest.fixture(scope="module")
def quality_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny classifier: prose is label 1 (good), junk is label 0."""
    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.train.config import build_train_config
    from datacraft.train.loop import fit

    root = tmp_path_factory.mktemp("qm")
    rows = [{**r, "label": 1} for r in _prose(40, "p")] + [{**r, "label": 0} for r in _junk(40)]
    data = _parquet(root / "data", rows)
    cfg = build_train_config(
        {**TINY, "task": "classify", "epochs": 4, "data": {**TINY["data"], "label_column": "label"}}
    )
    fit(data, cfg, root / "model", quiet=True)
    return root / "model"


def _pipeline(inp: Path, out: Path, **stage: object) -> object:
    return build_config(
        {
            "input": {"paths": [str(inp)]},
            "output": {"path": str(out), "rejected": True},
            "stages": [{"model_quality": stage}],
            "batch_size": 16,
        }
    )


def test_model_quality_in_pipeline_drops_with_reason_and_score(quality_model: Path, tmp_path: Path) -> None:
    docs = [{"id": f"g{i}", "text": PROSE[i % 4]} for i in range(20)] + [
        {"id": f"b{i}", "text": JUNK[i % 3]} for i in range(20)
    ]
    write_jsonl(tmp_path / "in" / "docs.jsonl", docs)
    res = run_pipeline(_pipeline(tmp_path / "in", tmp_path / "o", model=str(quality_model), threshold=0.5))
    t = res.merged["totals"]
    assert res.merged["ledger_balanced"] and t["docs_in"] == 40 and t["kept"] + t["dropped"] == 40
    kept = read_parquet_rows(tmp_path / "o" / "data")
    rejected = read_parquet_rows(tmp_path / "o" / "rejected")
    assert {r["id"][0] for r in kept} == {"g"} and {r["id"][0] for r in rejected} == {"b"}
    assert {(r["stage"], r["reason"]) for r in rejected} == {("model_quality", "low_model_quality")}
    assert all(json.loads(r["signals"])["model_quality_score"] < 0.5 for r in rejected)
    # annotate mode keeps everything and writes the score column
    res = run_pipeline(_pipeline(tmp_path / "in", tmp_path / "a", model=str(quality_model), mode="annotate"))
    rows = read_parquet_rows(tmp_path / "a" / "data")
    assert len(rows) == 40 and all(0 <= r["model_quality_score"] <= 1 for r in rows)
    good = np.mean([r["model_quality_score"] for r in rows if r["id"][0] == "g"])
    assert good > np.mean([r["model_quality_score"] for r in rows if r["id"][0] == "b"])


def test_model_quality_errors_name_the_model(quality_model: Path, tmp_path: Path) -> None:
    from datacraft.stages.model_quality import ModelQuality

    write_jsonl(tmp_path / "in" / "docs.jsonl", [{"id": "x", "text": "hello"}])
    for params, message in (
        ({"model": str(tmp_path / "missing")}, "model directory not found"),
        ({"model": str(quality_model), "positive_label": "good"}, "not one of its labels"),
    ):
        stage = ModelQuality(ModelQuality.Params(**params))
        with pytest.raises(ConfigError, match=message):
            stage.setup()
