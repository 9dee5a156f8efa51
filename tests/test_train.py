"""Training, evaluation and use of the Keras model (tiny shapes; needs the train extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.io.paths import list_shards
from datacraft.io.readers import ReadOptions, read_shard

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")
pytest.importorskip("tokenizers")

TINY = {
    "epochs": 3,
    "batch_size": 8,
    "early_stopping_patience": None,
    "data": {"seq_len": 16, "max_length": 32, "val_fraction": 0.2, "shuffle_buffer": 64},
    "tokenizer": {"vocab_size": 300, "min_frequency": 1},
    "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4, "dropout": 0.0},
    "optimizer": {"learning_rate": 0.01},
}


def _sample_docs(path: Path, n: int) -> list[dict]:
    rows = []
    for doc in read_shard(list_shards([str(path)])[0], ReadOptions()):
        rows.append({"id": doc.id, "text": doc.text, **doc.meta})
        if len(rows) == n:
            break
    return rows


@pytest.fixture(scope="module")
def lm_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 KJV chapters as a curated-style Parquet shard."""
    d = tmp_path_factory.mktemp("lm") / "data"
    d.mkdir()
    rows = _sample_docs(Path(__file__).parents[1] / "data/sample/kjv-chapters.jsonl.zst", 30)
    for r in rows:
        r["text"] = r["text"][:400]
    pq.write_table(pa.Table.from_pylist(rows), d / "part-00000-0000.parquet")
    return d.parent


@pytest.fixture(scope="module")
def cls_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """UDHR articles in 3 languages with a ``lang`` column, split over two shards."""
    d = tmp_path_factory.mktemp("cls")
    rows = [r for r in _sample_docs(Path(__file__).parents[1] / "data/sample/udhr-55.jsonl.gz", 10**6)]
    rows = [{**r, "text": r["text"][:300]} for r in rows if r["lang"] in ("en", "de", "fi")]
    assert len(rows) >= 60
    pq.write_table(pa.Table.from_pylist(rows[::2]), d / "a.parquet")
    pq.write_table(pa.Table.from_pylist(rows[1::2]), d / "b.parquet")
    return d


def _write_config(path: Path, raw: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(raw))
    return path


def _config(**over: object) -> dict:
    raw = json.loads(json.dumps(TINY))
    raw.update(over)
    return raw


def test_loss_decreases_over_steps(lm_data: Path, tmp_path: Path) -> None:
    from datacraft.train import data as D
    from datacraft.train.config import build_train_config
    from datacraft.train.identity import data_identity
    from datacraft.train.loop import compile_model, prepare_data
    from datacraft.train.model import ModelSpec, build_model
    from datacraft.train.tokfile import TokenFile
    from datacraft.train.windows import lm_batches

    cfg = build_train_config(_config())
    files = D.parquet_files(lm_data)
    tok, _, _ = prepare_data(files, cfg, tmp_path, None, data_identity(files))
    x, y = next(lm_batches(TokenFile.open(tmp_path / "cache", "train"), 16, 8))
    model = build_model(ModelSpec.from_config(cfg, tok.vocab_size))
    compile_model(model, cfg, 10)
    losses = [float(model.train_on_batch(x, y)[0]) for _ in range(8)]
    assert losses[-1] < losses[0] * 0.9


def test_split_is_deterministic_and_packing_exact(lm_data: Path, tmp_path: Path) -> None:
    from datacraft.train import data as D
    from datacraft.train.tokfile import TokenFile
    from datacraft.train.windows import lm_batches

    ids = [f"doc-{i}" for i in range(2000)]
    a = [D.split_of(i, 7, 0.1) for i in ids]
    assert a == [D.split_of(i, 7, 0.1) for i in ids]
    assert 120 < a.count("val") < 280
    assert a != [D.split_of(i, 8, 0.1) for i in ids]
    # packing: windows overlap by one token, every token after the first is a target once
    cache = tmp_path / "c.parquet"
    seqs = [[5, 6, 7], [8, 9], [10, 11, 12, 13]]
    pq.write_table(pa.table({"id": ["a", "b", "c"], "ids": seqs, "label": [-1, -1, -1]}, schema=D.CACHE_SCHEMA), cache)
    stream = [5, 6, 7, 2, 8, 9, 2, 10, 11, 12, 13, 2]
    wins = list(D.lm_windows(cache, 4, 2))
    assert len(wins) == D.count_lm_windows(len(stream), 4) == 2
    assert [w.tolist() for w in wins] == [stream[0:5], stream[4:9]]
    # the flat token file holds the same stream and gives the same windows
    tf = tmp_path / "c.tokens"
    np.asarray(stream, dtype="<u2").tofile(tf)
    toks = TokenFile(tf, "<u2")
    assert toks.windows(4) == 2
    flat = [np.concatenate([x, y[:, -1:]], axis=1).tolist() for x, y in lm_batches(toks, 4, 1)]
    assert flat == [[stream[0:5]], [stream[4:9]]]
    shuf = [b[0].tolist() for b in lm_batches(toks, 2, 1, seed=3, epoch=1)]
    assert shuf == [b[0].tolist() for b in lm_batches(toks, 2, 1, seed=3, epoch=1)]
    assert sorted(map(str, shuf)) == sorted(map(str, [b[0].tolist() for b in lm_batches(toks, 2, 1)]))


def test_save_load_round_trip_identical(lm_data: Path, tmp_path: Path) -> None:
    from datacraft.train.config import build_train_config
    from datacraft.train.loop import _save_keras, compile_model
    from datacraft.train.model import ModelSpec, build_model
    from datacraft.train.modeldir import load_keras

    for task, extra in (("lm", {}), ("classify", {"data": {**TINY["data"], "label_column": "lang"}})):
        cfg = build_train_config(_config(task=task, **extra))
        model = build_model(ModelSpec.from_config(cfg, 300, 3))
        compile_model(model, cfg, 10)
        x = np.random.default_rng(0).integers(0, 300, size=(4, 16)).astype("int32")
        x[0, 10:] = 0  # padding
        y = np.zeros((4, 16) if task == "lm" else (4,), "int32")
        model.train_on_batch(x, y)
        _save_keras(model, tmp_path / f"{task}.keras")
        again = load_keras(tmp_path / f"{task}.keras")
        np.testing.assert_array_equal(model.predict_on_batch(x), again.predict_on_batch(x))


class Kill(Exception):
    pass


def test_resume_continues_the_same_run(lm_data: Path, tmp_path: Path) -> None:
    import keras

    from datacraft.train.config import build_train_config
    from datacraft.train.loop import fit
    from datacraft.train.modeldir import load_keras

    cfg = build_train_config(
        _config(epochs=2, optimizer={"learning_rate": 0.01, "schedule": "warmup_cosine", "warmup_steps": 3})
    )
    full = fit(lm_data, cfg, tmp_path / "full", quiet=True)

    class KillAfterEpoch1(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            raise Kill

    with pytest.raises(Kill):
        fit(lm_data, cfg, tmp_path / "killed", quiet=True, extra_callbacks=[KillAfterEpoch1()])
    state = json.loads((tmp_path / "killed/checkpoints/state.json").read_text())
    assert state["epoch"] == 1
    resumed = fit(lm_data, cfg, tmp_path / "killed", quiet=True)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    for a, b in zip(full["history"], resumed["history"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
        assert a["lr"] == pytest.approx(b["lr"], rel=1e-6)
    wa = load_keras(tmp_path / "full/checkpoints/epoch-0002.keras").get_weights()
    wb = load_keras(tmp_path / "killed/checkpoints/epoch-0002.keras").get_weights()
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
    assert (tmp_path / "killed/curve.png").stat().st_size > 0
    again = fit(lm_data, cfg, tmp_path / "killed", quiet=True)
    assert again["status"] == "already complete"


def test_kfold_splits_stratified_and_disjoint() -> None:
    from datacraft.train.cv import kfold_splits

    y = np.asarray([0] * 30 + [1] * 12 + [2] * 6)
    folds = kfold_splits(y, 3, seed=1)
    tests = [set(te.tolist()) for _, te in folds]
    assert set().union(*tests) == set(range(len(y)))
    assert sum(len(t) for t in tests) == len(y)
    for tr, te in folds:
        assert not set(tr.tolist()) & set(te.tolist())
        assert np.bincount(y[te]).tolist() == [10, 4, 2]
    from datacraft.errors import ConfigError

    with pytest.raises(ConfigError, match="smallest class"):
        kfold_splits(y, 7, seed=1)


def test_classifier_train_evaluate_predict_cli(cls_data: Path, tmp_path: Path) -> None:
    raw = _config(task="classify", class_weight="balanced", epochs=2)
    raw["data"]["label_column"] = "lang"
    conf = _write_config(tmp_path / "c.yaml", raw)
    runner = CliRunner()
    model = tmp_path / "m"
    res = runner.invoke(main, ["train", str(cls_data), "-c", str(conf), "-o", str(model), "-q"])
    assert res.exit_code == 0, res.output
    manifest = json.loads((model / "datacraft_model.json").read_text())
    assert manifest["labels"] == ["de", "en", "fi"] and manifest["status"] == "complete"
    assert manifest["data"]["tokens"]["train"]["unk_rate"] == 0.0
    assert len(json.loads((model / "history.json").read_text())) == 2
    res = runner.invoke(main, ["evaluate", str(model), str(cls_data), "--json", "--k", "5"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert set(m["per_class"]) == {"de", "en", "fi"}
    assert sum(map(sum, m["confusion_matrix"])) == m["documents"]
    assert 0 <= m["macro_f1"] <= 1 and "precision_at_5" in m and "ndcg_at_5" in m
    assert (model / "eval/confusion.png").exists()
    res = runner.invoke(main, ["predict", str(model), str(cls_data), str(tmp_path / "pred"), "-q"])
    assert res.exit_code == 0, res.output
    src = pq.read_table(cls_data / "a.parquet")
    out = pq.read_table(tmp_path / "pred/a.parquet")
    assert out.column("id").to_pylist() == src.column("id").to_pylist()
    probs = np.stack([out.column(f"prob_{lab}").to_numpy() for lab in ("de", "en", "fi")], axis=1)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert set(out.column("pred_label").to_pylist()) <= {"de", "en", "fi"}
    res = runner.invoke(main, ["evaluate", str(model), str(cls_data), "--kfold", "2", "--epochs", "1", "--json"])
    assert res.exit_code == 0, res.output
    kf = json.loads(res.stdout)
    assert [f["test_docs"] for f in kf["folds"]] and sum(f["test_docs"] for f in kf["folds"]) == m["documents"]
    # files with different columns and an empty file: one output schema, loadable as one dataset
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(src.slice(0, 5), mixed / "a.parquet")
    pq.write_table(src.slice(5, 5).append_column("source", pa.array(["web"] * 5)), mixed / "b.parquet")
    pq.write_table(src.slice(0, 0), mixed / "c.parquet")
    res = runner.invoke(main, ["predict", str(model), str(mixed), str(tmp_path / "pred2"), "-q"])
    assert res.exit_code == 0, res.output
    outs = sorted((tmp_path / "pred2").glob("*.parquet"))
    assert [p.name for p in outs] == ["a.parquet", "b.parquet", "c.parquet"]
    schemas = {str(pq.read_schema(p)) for p in outs}
    assert len(schemas) == 1 and "source" in next(iter(schemas)) and "prob_fi" in next(iter(schemas))
    import pyarrow.dataset as pads

    table = pads.dataset(str(tmp_path / "pred2"), format="parquet").to_table()
    assert table.num_rows == 10 and table.column("source").null_count == 5
    assert not list((tmp_path / "pred2").glob(".*"))


def test_lm_generate_is_seeded_and_export_matches(lm_data: Path, tmp_path: Path) -> None:
    conf = _write_config(tmp_path / "lm.yaml", _config(epochs=1, data={**TINY["data"], "max_docs": 24}))
    runner = CliRunner()
    model = tmp_path / "lm"
    assert runner.invoke(main, ["train", str(lm_data), "-c", str(conf), "-o", str(model), "-q"]).exit_code == 0
    args = ["generate", str(model), "--prompt", "And God said", "--max-tokens", "12", "--seed", "5"]
    a, b = runner.invoke(main, args), runner.invoke(main, args)
    assert a.exit_code == 0, a.output
    assert a.output == b.output and a.output.startswith("And God said")
    res = runner.invoke(main, ["evaluate", str(model), str(lm_data), "--split", "val", "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["perplexity"] == pytest.approx(np.exp(m["loss"])) and 0 <= m["accuracy"] <= m["top5_accuracy"] <= 1
    # the model's own val split is made of the documents it read (data.max_docs), unless --max-docs says
    assert (m["data"]["max_docs"], m["data"]["counts"]["rows"]) == (24, 24)
    for extra, rows in (
        (["--split", "val", "--max-docs", "0"], 30),
        (["--split", "all"], 30),
        (["--max-docs", "5"], 5),
    ):
        res = runner.invoke(main, ["evaluate", str(model), str(lm_data), "--baseline", "none", "--json", *extra])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["data"]["counts"]["rows"] == rows, extra
    res = runner.invoke(main, ["export", str(model), "--repeats", "2", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["saved_model"]["matches"] and rep["tflite"]["matches"], rep
    assert rep["tflite"]["bytes"] < rep["keras"]["bytes"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"model": {"rnn_unitz": 8}}, "model.rnn_unitz: unknown key"),
        ({"epochs": "many"}, "epochs:"),
        ({"optimizer": {"name": "adamx"}}, "optimizer.name:"),
        ({"task": "classify"}, "data.label_column"),
        ({"task": "classify", "data": {"label_column": "quality"}}, "no column 'quality'"),
    ],
)
def test_bad_configs_exit_2(lm_data: Path, tmp_path: Path, raw: dict, message: str) -> None:
    conf = _write_config(tmp_path / "bad.yaml", raw)
    res = CliRunner().invoke(main, ["train", str(lm_data), "-c", str(conf), "-o", str(tmp_path / "m")])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_model_dir_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["generate", str(tmp_path)])
    assert res.exit_code == 2 and "not a datacraft model directory" in res.output
    (tmp_path / "datacraft_model.json").write_text(json.dumps({"format": "datacraft-model", "format_version": 99}))
    res = runner.invoke(main, ["evaluate", str(tmp_path), str(tmp_path)])
    assert res.exit_code == 2 and "format version 99" in res.output
    (tmp_path / "datacraft_model.json").write_text(
        json.dumps({"format": "datacraft-model", "format_version": 1, "config": {"model": {"rnn": "transformer"}}})
    )
    res = runner.invoke(main, ["predict", str(tmp_path), str(tmp_path), str(tmp_path / "o")])
    assert res.exit_code == 2 and "model.rnn" in res.output


@pytest.mark.slow  # trains a tiny classifier and 2 × 2 fold models (~1 min on a loaded 2-core machine)
def test_kfold_reads_only_max_docs(cls_data: Path, tmp_path: Path) -> None:
    """--kfold folds the documents the config trains on (data.max_docs), or those --max-docs allows."""
    rows = pq.read_table(cls_data).to_pylist()
    by_lang = {lang: [r for r in rows if r["lang"] == lang] for lang in ("de", "en", "fi")}
    mixed = [r for group in zip(*by_lang.values(), strict=False) for r in group]  # de, en, fi, de, …
    data = tmp_path / "data"
    data.mkdir()
    pq.write_table(pa.Table.from_pylist(mixed), data / "a.parquet")
    raw = _config(task="classify", epochs=1)
    raw["data"].update(label_column="lang", max_docs=14)
    conf = _write_config(tmp_path / "c.yaml", raw)
    runner = CliRunner()
    model = tmp_path / "m"
    res = runner.invoke(main, ["train", str(data), "-c", str(conf), "-o", str(model), "-q"])
    assert res.exit_code == 0, res.output
    for extra, expected in (([], 14), (["--max-docs", "12"], 12)):
        args = ["evaluate", str(model), str(data), "--kfold", "2", "--epochs", "1", "--json", *extra]
        res = runner.invoke(main, args)
        assert res.exit_code == 0, res.output
        kf = json.loads(res.stdout)
        assert sum(f["test_docs"] for f in kf["folds"]) == expected
        assert kf["data"]["max_docs"] == expected and sum(kf["data"]["counts"]["docs"].values()) == expected
