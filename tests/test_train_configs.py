"""The shipped training configs (configs/train-*.yaml) validate, and their LM models build at the
configured sizes and round-trip through save/load (weights and logits unchanged).

CPU budget: untrained models at the configs' real sizes (≤ 0.3 M parameters), one forward pass each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.train
pytest.importorskip("tensorflow")

from datacraft.train.config import load_train_config  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("train-*.yaml")), ids=lambda p: p.name)
def test_shipped_config_validates(path: Path) -> None:
    cfg = load_train_config(path)
    assert cfg.epochs >= 1 and cfg.batch_size >= 1


@pytest.mark.parametrize("name", ["train-lm.yaml", "train-demo.yaml"])
def test_shipped_lm_config_builds_and_round_trips(name: str, tmp_path: Path) -> None:
    import keras

    from datacraft.train.model import ModelSpec, build_model

    cfg = load_train_config(CONFIGS / name)
    assert cfg.task == "lm"
    V, L = cfg.tokenizer.vocab_size, cfg.data.seq_len
    model = build_model(ModelSpec.from_config(cfg, V))
    x = np.random.default_rng(0).integers(3, V, (2, L)).astype("int32")
    before = np.asarray(model.predict_on_batch(x))
    assert before.shape == (2, L, V)
    if cfg.model.tie_embeddings:  # the output projection is the embedding: no separate V-wide Dense
        assert not any(layer.name == "next_token_logits" for layer in model.layers)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded.predict_on_batch(x)), before, rtol=1e-5, atol=1e-5)
