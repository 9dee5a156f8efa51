"""Model directory contract: data identity, refusing other data, failed runs not trusted (issue 12/16).

CPU budget: ~3 tiny trainings (seq 16, 8 units, 1 epoch), well under a minute on one core.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datacraft.cli import main

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")

TINY = {
    "epochs": 1,
    "batch_size": 4,
    "early_stopping_patience": None,
    "data": {"seq_len": 16, "val_fraction": 0.3, "shuffle_buffer": 16},
    "tokenizer": {"vocab_size": 120, "min_frequency": 1},
    "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4, "dropout": 0.0},
}

TEXT = (
    "the cat sat on the mat and the dog sat on the log while the bird sang in the tree by the river "
    "where the fish swam under the bridge near the old mill"
)


def write_docs(folder: Path, n: int, name: str = "part-0.parquet", salt: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"d{i}", "text": f"{TEXT} {salt} number {i}"} for i in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), folder / name)
    return folder


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    import yaml

    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(TINY))
    return p


def _train(data: Path, conf: Path, out: Path, *extra: str) -> object:
    return CliRunner().invoke(main, ["train", str(data), "-c", str(conf), "-o", str(out), "-q", *extra])


def test_model_records_data_identity_and_refuses_other_data(tmp_path: Path, conf: Path) -> None:
    data = write_docs(tmp_path / "data", 40)
    model = tmp_path / "m"
    res = _train(data, conf, model)
    assert res.exit_code == 0, res.output
    ident = json.loads((model / "datacraft_model.json").read_text())["data_identity"]
    assert [f["path"] for f in ident["files"]] == ["part-0.parquet"]
    assert ident["files"][0]["bytes"] == (data / "part-0.parquet").stat().st_size and ident["files"][0]["xxh3"]
    # same config, same data: nothing to do
    res = CliRunner().invoke(main, ["train", str(data), "-c", str(conf), "-o", str(model)])
    assert res.exit_code == 0 and "already trained with this config on this data" in res.output
    # same path, different contents: refused, the old model is kept
    before = (model / "model.keras").read_bytes()
    write_docs(data, 40, salt="changed")
    res = _train(data, conf, model)
    assert res.exit_code == 2, res.output
    assert "different data" in res.output and "changed: part-0.parquet" in res.output
    assert (model / "model.keras").read_bytes() == before
    # an added file is a difference too
    write_docs(data, 5, name="part-1.parquet")
    res = _train(data, conf, model)
    assert res.exit_code == 2 and "added: part-1.parquet" in res.output
    # --force retrains on the new data and records its identity
    res = _train(data, conf, model, "--force")
    assert res.exit_code == 0, res.output
    new = json.loads((model / "datacraft_model.json").read_text())["data_identity"]
    assert new["digest"] != ident["digest"] and len(new["files"]) == 2


def test_failed_run_leaves_nothing_a_rerun_trusts(tmp_path: Path, conf: Path) -> None:
    data = write_docs(tmp_path / "data", 2)  # too few tokens for one batch
    model = tmp_path / "m"
    res = _train(data, conf, model)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    manifest = json.loads((model / "datacraft_model.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"]
    # the data is fixed in place: the rerun starts afresh (no --force, no stale cache)
    write_docs(data, 40)
    res = _train(data, conf, model)
    assert res.exit_code == 0, res.output
    manifest = json.loads((model / "datacraft_model.json").read_text())
    assert manifest["status"] == "complete" and manifest["data"]["counts"]["docs"]["train"] > 2
    assert "error" not in manifest


def test_identity_is_independent_of_location(tmp_path: Path) -> None:
    from datacraft.train.identity import data_identity

    a = write_docs(tmp_path / "a", 3)
    b = write_docs(tmp_path / "b", 3)
    assert data_identity([str(a / "part-0.parquet")])["digest"] == data_identity([str(b / "part-0.parquet")])["digest"]
    write_docs(b, 4)
    assert data_identity([str(a / "part-0.parquet")])["digest"] != data_identity([str(b / "part-0.parquet")])["digest"]
