"""Mid-epoch step checkpoints (kill and SIGTERM) and accelerator settings.

CPU budget: two tiny trainings on 10 documents and a plateau check without training; marked slow: a
third training (plateau state) and one subprocess training one step on two logical CPU devices with
mixed precision (~30 s, mostly TensorFlow start-up).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")

REPO = Path(__file__).resolve().parents[1]
RAW = {
    "epochs": 2,
    "batch_size": 4,
    "early_stopping_patience": None,
    "data": {"seq_len": 16, "val_fraction": 0.2, "shuffle_buffer": 32},
    "tokenizer": {"vocab_size": 150, "min_frequency": 1},
    "model": {"embed_dim": 8, "rnn_units": 8, "attention_heads": 1, "attention_dim": 4, "dropout": 0.3},
    "optimizer": {"learning_rate": 0.01, "schedule": "warmup_cosine", "warmup_steps": 3},
    "checkpoint_every_steps": 2,
}


class Kill(Exception):
    pass


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("steps") / "data"
    d.mkdir()
    words = [
        "in",
        "the",
        "beginning",
        "god",
        "created",
        "the",
        "heaven",
        "and",
        "the",
        "earth",
        "and",
        "the",
        "earth",
        "was",
        "without",
        "form",
    ]
    rng = np.random.default_rng(0)
    # 10 documents give 19 steps per epoch: enough room for the kills below, and few step checkpoints to save
    # (saving a .keras file is most of a fit's cost here; 40 documents gave 48 steps and took 3x as long)
    rows = [{"id": f"d{i}", "text": " ".join(rng.choice(words, 40))} for i in range(10)]
    pq.write_table(pa.Table.from_pylist(rows), d / "p.parquet")
    return d


def _weights(path: Path) -> list[np.ndarray]:
    from datacraft.train.modeldir import load_keras

    return load_keras(path).get_weights()


def test_step_checkpoint_resume_equals_uninterrupted(data: Path, tmp_path: Path) -> None:
    import keras

    from datacraft.train.config import build_train_config
    from datacraft.train.loop import fit

    cfg = build_train_config(RAW)
    full = fit(data, cfg, tmp_path / "full", quiet=True)
    steps = full["manifest"]["steps_per_epoch"]
    assert steps >= 5

    class KillMidEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.epoch == 1 and batch == 4:  # after the step-4 checkpoint, step 5 is lost
                raise Kill

    with pytest.raises(Kill):
        fit(data, cfg, tmp_path / "killed", quiet=True, extra_callbacks=[KillMidEpoch2()])
    state = json.loads((tmp_path / "killed/checkpoints/state.json").read_text())
    assert (state["epoch"], state["step"]) == (1, 4) and state["checkpoint"] == "step-0002-00000004.keras"
    assert state["rng"], "dropout seed-generator states are recorded"
    resumed = fit(data, cfg, tmp_path / "killed", quiet=True)
    assert resumed["status"] == "trained"
    assert not list((tmp_path / "killed/checkpoints").glob("step-*"))
    for a, b in zip(
        _weights(tmp_path / "full/checkpoints/epoch-0002.keras"),
        _weights(tmp_path / "killed/checkpoints/epoch-0002.keras"),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert resumed["history"][1]["val_loss"] == pytest.approx(full["history"][1]["val_loss"], rel=1e-5)


def test_plateau_counters_come_back_in_a_resumed_run() -> None:
    """The fast cover of the slow test below, without training: patience 2 on a flat val loss lowers
    the lr at the end of epoch 3; counters saved after epoch 2 (wait = 1) and restored (through JSON,
    as state.json holds them) lower it at the same epoch, also when ``fit`` begins twice on resume."""
    import keras

    from datacraft.train.steps import ResumablePlateau

    def plateau(saved: dict | None = None) -> tuple[ResumablePlateau, keras.Model]:
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3), loss="mse")
        cb = ResumablePlateau(monitor="val_loss", factor=0.5, patience=2, saved=saved)
        cb.set_model(model)
        cb.on_train_begin()
        return cb, model

    def lr(model: keras.Model) -> float:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))

    full, model = plateau()
    lrs = []
    for epoch in range(3):
        full.on_epoch_end(epoch, {"val_loss": 1.0})
        lrs.append(lr(model))
    assert lrs == pytest.approx([1e-3, 1e-3, 5e-4])
    first, _ = plateau()
    for epoch in range(2):
        first.on_epoch_end(epoch, {"val_loss": 1.0})
    saved = json.loads(json.dumps(first.state()))
    assert saved == {"best": 1.0, "wait": 1, "cooldown_counter": 0}
    resumed, model = plateau(saved)
    resumed.on_train_begin()  # the second fit of a resumed run keeps the counters
    resumed.on_epoch_end(2, {"val_loss": 1.0})
    assert lr(model) == pytest.approx(5e-4)
    reset, model = plateau()  # what a resume without the saved counters would do: no drop yet
    reset.on_epoch_end(2, {"val_loss": 1.0})
    assert lr(model) == pytest.approx(1e-3)


@pytest.mark.slow
def test_plateau_state_survives_a_mid_epoch_resume(data: Path, tmp_path: Path) -> None:
    """ReduceLROnPlateau's best/wait are checkpointed: with a learning rate too small to move the val
    loss, patience 2 lowers the lr at the end of epoch 3; a run killed inside epoch 3 (wait = 1 saved)
    must lower it at the same epoch (a reset wait would postpone it to epoch 4).

    Slow (three trainings, the costliest test of the suite): test_plateau_counters_come_back_in_a_resumed_run
    covers the counters' save and restore without training; test_sigterm_checkpoints_and_resumes covers a
    mid-epoch resume equal to an uninterrupted run."""
    import keras

    from datacraft.train.config import build_train_config
    from datacraft.train.loop import fit

    raw = {
        **RAW,
        "epochs": 3,
        "model": {**RAW["model"], "dropout": 0.0},
        "optimizer": {"learning_rate": 1e-9, "schedule": "plateau", "plateau_patience": 2, "step_gamma": 0.5},
    }
    cfg = build_train_config(raw)
    full = fit(data, cfg, tmp_path / "full", quiet=True)
    lrs = [h["lr"] for h in full["history"]]
    assert lrs[0] == lrs[1] == pytest.approx(1e-9) and lrs[2] == pytest.approx(5e-10), lrs

    class KillMidEpoch3(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.epoch == 2 and batch == 2:
                raise Kill

    with pytest.raises(Kill):
        fit(data, cfg, tmp_path / "killed", quiet=True, extra_callbacks=[KillMidEpoch3()])
    state = json.loads((tmp_path / "killed/checkpoints/state.json").read_text())
    assert (state["epoch"], state["step"]) == (2, 2) and state["plateau"]["wait"] == 1
    resumed = fit(data, cfg, tmp_path / "killed", quiet=True)
    assert [h["lr"] for h in resumed["history"]] == pytest.approx(lrs, rel=1e-6)


def test_sigterm_checkpoints_and_resumes(data: Path, tmp_path: Path) -> None:
    import keras

    from datacraft.train.config import build_train_config
    from datacraft.train.loop import fit
    from datacraft.train.steps import TrainingInterrupted

    cfg = build_train_config({**RAW, "checkpoint_every_steps": None, "epochs": 1})
    full = fit(data, cfg, tmp_path / "full", quiet=True)

    class Term(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            if batch == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted) as exc:
        fit(data, cfg, tmp_path / "term", quiet=True, extra_callbacks=[Term()])
    assert exc.value.exit_code == 143
    state = json.loads((tmp_path / "term/checkpoints/state.json").read_text())
    assert (state["epoch"], state["step"]) == (0, 3)
    fit(data, cfg, tmp_path / "term", quiet=True)
    for a, b in zip(_weights(tmp_path / "full/model.keras"), _weights(tmp_path / "term/model.keras"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert full["manifest"]["status"] == "complete"


@pytest.mark.slow
def test_mixed_precision_on_two_logical_devices_trains_a_step(data: Path, tmp_path: Path) -> None:
    """Mirrored strategy over the CPU split in two, mixed_bfloat16, XLA off: one real training step.

    Slow (a fresh TensorFlow process: the CPU split must precede TensorFlow's start-up): the fast suite
    keeps only the device check (test_unknown_device_is_a_config_error); `make test-all` runs this one."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from datacraft.train import quiet_tensorflow
        quiet_tensorflow()
        from datacraft.train.accel import split_cpu
        split_cpu(2)
        from datacraft.train.config import build_train_config
        from datacraft.train.loop import fit
        raw = json.loads(sys.argv[1])
        cfg = build_train_config(raw)
        res = fit({str(data)!r}, cfg, {str(tmp_path / "m")!r}, quiet=True)
        from datacraft.train.modeldir import load_keras
        m = load_keras(__import__("pathlib").Path({str(tmp_path / "m/model.keras")!r}))
        print(json.dumps({{"loss": res["history"][0]["loss"], "policy": m.get_layer("lstm_0").dtype_policy.name,
                           "out": str(m.outputs[0].dtype)}}))
        """
    )
    raw = {
        **RAW,
        "epochs": 1,
        "checkpoint_every_steps": None,
        "precision": "mixed_bfloat16",
        "jit_compile": False,
        "distribute": "mirrored",
        "devices": ["/cpu:0", "/cpu:1"],
        "max_train_tokens": 4 * 16 * 2,  # two batches of 4 windows, each split over the two devices
    }
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    res = subprocess.run(
        [sys.executable, "-c", script, json.dumps(raw)], capture_output=True, text=True, env=env, timeout=300
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert np.isfinite(out["loss"]) and out["policy"] == "mixed_bfloat16" and "float32" in out["out"]


def test_unknown_device_is_a_config_error(data: Path, tmp_path: Path) -> None:
    from datacraft.errors import ConfigError
    from datacraft.train.config import build_train_config
    from datacraft.train.loop import fit

    cfg = build_train_config({**RAW, "epochs": 1, "distribute": "mirrored", "devices": ["/gpu:7"]})
    with pytest.raises(ConfigError, match="devices"):
        fit(data, cfg, tmp_path / "m", quiet=True)
