"""The dataset card OUT/README.md (HF `datasets` configs: data/ and rejected/) and the run ledger with created docs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.cli.summary import format_summary
from datacraft.pipeline.card import render_card
from tests.helpers import make_corpus, write_jsonl

REPO = Path(__file__).resolve().parents[1]


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def _merged(outputs: list[dict[str, list[str]]], created: int = 0) -> dict:
    return {
        "pipeline": "p",
        "shards": len(outputs),
        "fingerprint": "f00",
        "totals": {
            "docs_in": 10,
            "created": created,
            "kept": 6 + created,
            "dropped": 3,
            "quarantined": 1,
            "chars_in": 0,
            "chars_out": 0,
        },
        "dropped": {"length": {"too_few_words": 3}},
        "counters": {"split": {"docs_created": created}} if created else {},
        "per_shard": [{"outputs": o} for o in outputs],
    }


def test_card_configs_name_data_and_rejected_only_when_there_are_files() -> None:
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    files = {"data": ["data/part-00000.parquet"], "rejected": ["rejected/part-00000.parquet"]}
    both = render_card({}, _merged([files]), schema)
    assert front_matter(both)["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]},
        {"config_name": "rejected", "data_files": [{"split": "train", "path": "rejected/*.parquet"}]},
    ]
    assert "| text | string |" in both and "| length | too_few_words | 3 |" in both
    assert "in = kept + dropped + quarantined" in both and str(Path.cwd()) not in both
    only = render_card({}, _merged([{"data": ["data/lang=en/part-00000.parquet"], "rejected": []}], created=2), schema)
    assert front_matter(only)["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/*/*.parquet"}]}
    ]
    assert "created by split" in only and "in + created = kept + dropped + quarantined" in only
    assert "No data files" in render_card({}, _merged([{"data": []}]), None)


def test_summary_accounts_for_created_documents() -> None:
    merged = _merged([{}], created=2) | {"stages": {}, "ledger_balanced": True}
    text = format_summary(merged, out="o", ran=1, skipped=0, seconds=1.0)
    assert "in 10 + 2 created by split = kept 8 (66.7%) + dropped 3 + quarantined 1" in text
    assert text.line.startswith("o: in 10 + 2 created by split = kept 8 ")
    assert "ledger      balanced: in + created = kept + dropped + quarantined" in text
    plain = format_summary(
        _merged([{}]) | {"stages": {}, "ledger_balanced": True}, out="o", ran=1, skipped=0, seconds=1.0
    )
    assert "documents   in 10 = kept 6 (60.0%) + dropped 3 + quarantined 1" in plain and "created" not in plain


def _pipeline(tmp_path: Path, out: Path, workers: int = 1) -> Path:
    raw = {
        "name": "card",
        "input": {"paths": [str(tmp_path / "in")]},
        "output": {"path": str(out), "rejected": True},
        "workers": workers,
        "stages": [{"split": {"by": "window", "max_chars": 80}}, {"length": {"min_words": 8}}],
    }
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_run_writes_card_that_verify_checks(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=16)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(_pipeline(tmp_path, out))])
    assert r.exit_code == 0, r.output
    totals = json.loads((out / "stats.json").read_text())["totals"]
    assert totals["created"] > 0 and totals["dropped"] > 0
    assert f"in {totals['docs_in']} + {totals['created']} created by split = kept {totals['kept']} " in r.stderr
    card = (out / "README.md").read_text()
    assert [c["config_name"] for c in front_matter(card)["configs"]] == ["default", "rejected"]
    assert f"| kept (`data/`) | {totals['kept']} |" in card
    stats = CliRunner().invoke(main, ["stats", str(out)])
    assert f"in {totals['docs_in']} + {totals['created']} created by split   kept" in stats.output
    assert CliRunner().invoke(main, ["verify", str(out)]).exit_code == 0
    (out / "README.md").write_text(card.replace("rejected/*.parquet", "*.parquet"))
    r = CliRunner().invoke(main, ["verify", str(out)])
    assert r.exit_code == 1 and "README.md differs" in r.output and "configs" in r.output
    (out / "README.md").unlink()
    r = CliRunner().invoke(main, ["verify", str(out)])
    assert r.exit_code == 1 and "README.md" in r.output and "missing" in r.output
    assert CliRunner().invoke(main, ["run", str(_pipeline(tmp_path, out))]).exit_code == 0  # a rerun rewrites it
    assert (out / "README.md").read_text() == card


def test_mix_writes_a_card_for_data_only(tmp_path: Path) -> None:
    for name, n in (("a", 30), ("b", 10)):
        rows = [{"id": f"{name}{i}", "text": f"{name} text number {i}"} for i in range(n)]
        write_jsonl(tmp_path / f"{name}.jsonl", rows)
    cards = []
    for out in ("m1", "m2"):
        args = ["mix", "-s", f"a={tmp_path / 'a.jsonl'}:0.5", "-s", f"b={tmp_path / 'b.jsonl'}:0.5"]
        r = CliRunner().invoke(main, [*args, "-o", str(tmp_path / out), "-q"])
        assert r.exit_code == 0, r.output
        cards.append((tmp_path / out / "README.md").read_text())
    assert cards[0] == cards[1]  # not of the folder's path
    assert front_matter(cards[0])["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]}
    ]
    assert "| a | 0.5 | 50.0% | 50.0% | 30 | 10 | 40 |" in cards[0] and "| mix_group | string |" in cards[0]


@pytest.mark.slow
def test_datasets_loads_run_and_dedup_folders_offline_same_card_for_any_workers(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    make_corpus(tmp_path / "in", shards=3, docs=40)
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        r = subprocess.run(
            [sys.executable, "-m", "datacraft", "run", str(_pipeline(tmp_path, out, workers)), "-q"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        outs.append(out)
    assert (outs[0] / "README.md").read_bytes() == (outs[1] / "README.md").read_bytes()
    dedup = tmp_path / "dedup"
    r = subprocess.run(
        [sys.executable, "-m", "datacraft", "dedup", str(outs[0]), str(dedup), "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert subprocess.run([sys.executable, "-m", "datacraft", "verify", str(dedup)], cwd=REPO).returncode == 0
    script = (
        "import json, sys\n"
        "from datasets import load_dataset\n"
        "out, cache = sys.argv[1], sys.argv[2]\n"
        "t = json.load(open(out + '/stats.json'))['totals']\n"
        "ds = load_dataset(out, split='train', cache_dir=cache)\n"
        "assert ds.num_rows == t['kept'], (ds.num_rows, t)\n"
        "assert 'id' in ds.column_names and 'text' in ds.column_names\n"
        "if t['dropped'] and 'rejected' in open(out + '/README.md').read():\n"
        "    rej = load_dataset(out, 'rejected', split='train', cache_dir=cache)\n"
        "    assert rej.num_rows == t['dropped'], (rej.num_rows, t)\n"
        "    assert {'stage', 'reason'} <= set(rej.column_names), rej.column_names\n"
    )
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    for out in (outs[0], dedup):
        r = subprocess.run(
            [sys.executable, "-c", script, str(out), str(tmp_path / "cache")],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert r.returncode == 0, r.stderr[-3000:]
