"""`datacraft tune` (3 trials, resumable) and `datacraft explain-model` on a classifier whose label is
decided by one token.

CPU budget: 3 tiny 1-epoch trials (~30 s) and one small classifier (~6 epochs on 240 short docs, ~40 s).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from datacraft.cli import main

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")
pytest.importorskip("keras_tuner")

FILLER = ["river", "stone", "cloud", "green", "table", "music", "paper", "light", "north", "water", "glass", "field"]


def _decided_by_one_token(folder: Path, n: int = 240) -> Path:
    """Label ``yes`` exactly when the word ``zebra`` occurs (at a random position), else ``no``."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        words = list(rng.choice(FILLER, 8))
        label = "yes" if i % 2 else "no"
        if label == "yes":
            words.insert(int(rng.integers(0, 9)), "zebra")
        rows.append({"id": f"d{i}", "text": " ".join(words), "label": label})
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "p.parquet")
    return folder


def test_tune_three_trials_resumes_and_writes_best(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rows = [{"id": f"d{i}", "text": "the cat sat on the mat and the dog sat on the log " * 2} for i in range(40)]
    pq.write_table(pa.Table.from_pylist(rows), data / "p.parquet")
    base = {
        "epochs": 1,
        "batch_size": 4,
        "data": {"seq_len": 16, "val_fraction": 0.25},
        "tokenizer": {"vocab_size": 100, "min_frequency": 1},
        "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4},
    }
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    space = {
        "model.rnn_units": {"values": [4, 8, 12]},
        "optimizer.learning_rate": {"min": 1e-3, "max": 3e-2, "sampling": "log"},
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    args = ["tune", str(data), "-c", str(tmp_path / "base.yaml"), "-s", str(tmp_path / "space.yaml")]
    args += ["-o", str(tmp_path / "t"), "--trials", "3", "--algorithm", "random"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    trials = json.loads((tmp_path / "t/trials.json").read_text())
    assert len(trials) == 3 and all(t["val_loss"] is not None for t in trials)
    assert {t["model.rnn_units"] for t in trials} <= {4, 8, 12}
    assert all(1e-3 <= t["optimizer.learning_rate"] <= 3e-2 for t in trials)
    best = yaml.safe_load((tmp_path / "t/best.yaml").read_text())
    winner = min(trials, key=lambda t: t["val_loss"])
    assert best["model"]["rnn_units"] == winner["model.rnn_units"]
    assert best["optimizer"]["learning_rate"] == pytest.approx(winner["optimizer.learning_rate"])
    assert "val_loss" in (tmp_path / "t/trials.csv").read_text().splitlines()[0]
    # rerun: finished trials are kept, not retrained
    before = (tmp_path / "t/trials.json").read_text()
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "t/trials.json").read_text()) == json.loads(before)
    # the best config trains as is
    res = CliRunner().invoke(
        main, ["train", str(data), "-c", str(tmp_path / "t/best.yaml"), "-o", str(tmp_path / "m"), "-q"]
    )
    assert res.exit_code == 0, res.output


def test_tune_bad_space_exit_2(tmp_path: Path) -> None:
    (tmp_path / "space.yaml").write_text(yaml.safe_dump({"tokenizer.vocab_size": {"values": [100, 200]}}))
    res = CliRunner().invoke(
        main, ["tune", str(tmp_path), "-s", str(tmp_path / "space.yaml"), "-o", str(tmp_path / "t")]
    )
    assert res.exit_code == 2 and "fixed by the base config" in res.output


def test_explain_model_points_at_the_deciding_token(tmp_path: Path) -> None:
    data = _decided_by_one_token(tmp_path / "data")
    raw = {
        "task": "classify",
        "epochs": 8,
        "batch_size": 16,
        "early_stopping_patience": None,
        "data": {"label_column": "label", "val_fraction": 0.2, "max_length": 16},
        "tokenizer": {"kind": "wordpiece", "vocab_size": 80, "min_frequency": 1},
        "model": {
            "embed_dim": 16,
            "rnn": "gru",
            "rnn_units": 16,
            "attention_heads": 1,
            "attention_dim": 4,
            "dropout": 0.0,
        },
        "optimizer": {"learning_rate": 0.02},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    runner = CliRunner()
    res = runner.invoke(main, ["train", str(data), "-c", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "m"), "-q"])
    assert res.exit_code == 0, res.output
    texts = ["river stone zebra cloud green table music", "paper light north zebra", "zebra water glass field river"]
    args = ["explain-model", str(tmp_path / "m"), "-o", str(tmp_path / "x")]
    args += [a for t in [*texts, "river stone cloud green table"] for a in ("--text", t)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "x/explanations.json").read_text())
    for r in out[:3]:
        assert r["label"] == "yes"
        top = int(np.argmax(r["attributions"]))
        # WordPiece may split the rare word (z ##e ##b ##r ##a): map each piece to its word
        words, word = [], -1
        for piece in r["tokens"]:
            word += not piece.startswith("##")
            words.append(word)
        text_words = r["text"].split()
        assert text_words[words[top]] == "zebra", (r["tokens"], r["attributions"])
        # completeness of integrated gradients: attributions sum to the logit gain over the baseline
        assert sum(r["attributions"]) == pytest.approx(r["logit"] - r["baseline_logit"], rel=0.1, abs=0.1)
        assert sum(r["pooling_weights"]) == pytest.approx(1.0, abs=1e-4)
    assert out[3]["label"] == "no"
    page = (tmp_path / "x/index.html").read_text()
    assert "predicted <b>yes</b>" in page and "<span" in page and (tmp_path / "x/text-000.png").stat().st_size > 1000


def test_explain_lm_surprisal_and_attention(tmp_path: Path) -> None:
    from datacraft.train.config import build_train_config
    from datacraft.train.explain import explain_texts
    from datacraft.train.loop import fit
    from datacraft.train.modeldir import load_model_dir

    data = tmp_path / "data"
    data.mkdir()
    rows = [{"id": f"d{i}", "text": "the cat sat on the mat and the dog sat on the log"} for i in range(30)]
    pq.write_table(pa.Table.from_pylist(rows), data / "p.parquet")
    cfg = build_train_config(
        {
            "epochs": 1,
            "batch_size": 4,
            "data": {"seq_len": 16, "val_fraction": 0.3},
            "tokenizer": {"vocab_size": 80, "min_frequency": 1},
            "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 2, "attention_dim": 4},
        }
    )
    fit(data, cfg, tmp_path / "m", quiet=True)
    res = explain_texts(load_model_dir(tmp_path / "m"), ["the cat sat on the mat"], tmp_path / "x")
    r = res["results"][0]
    T = len(r["ids"])
    assert len(r["surprisal_bits"]) == T - 1 and all(s >= 0 for s in r["surprisal_bits"])
    att = np.asarray(r["attention"])
    assert att.shape == (2, T, T)
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-5)
    assert np.allclose(np.triu(att, 1), 0)  # causal
    assert (tmp_path / "x/text-000-head-1.png").exists()
