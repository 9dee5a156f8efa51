"""The model directory: manifest, tokenizer, model and training artifacts, and safe loading.

```
MODEL_DIR/
  datacraft_model.json   manifest: format version, task, labels, config, data and tokenizer stats, status
  tokenizer.json         the subword tokenizer (Hugging Face tokenizers format)
  model.keras            best weights by validation loss (Keras v3 format, loaded in safe mode)
  history.json curve.png per-epoch metrics and the training curves
  checkpoints/           epoch-NNNN.keras (with optimizer state) and state.json, for resume
  cache/                 token ids of the train/val splits (Parquet), reused on resume
  export/                SavedModel, TFLite and export.json (``datacraft export``)
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacraft import __version__
from datacraft.errors import ConfigError
from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.train.config import TrainConfig, build_train_config
from datacraft.train.tokenizer import TextTokenizer

MANIFEST = "datacraft_model.json"
FORMAT = "datacraft-model"
FORMAT_VERSION = 1
MODEL_FILE, TOKENIZER_FILE = "model.keras", "tokenizer.json"
HISTORY_FILE, CURVE_FILE = "history.json", "curve.png"
CKPT_DIR, CACHE_DIR, EXPORT_DIR = "checkpoints", "cache", "export"


def write_json(path: Path, data: Any) -> None:
    """Atomic, pretty JSON."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_manifest(model_dir: str | Path) -> dict[str, Any]:
    """Read and check the manifest: a clear error for a non-model dir or another format version."""
    path = Path(model_dir) / MANIFEST
    if not Path(model_dir).is_dir():
        raise ConfigError(f"model directory not found: {model_dir}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{model_dir}: not a datacraft model directory (no {MANIFEST}); train one first") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: corrupt manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{path}: not a datacraft model manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: model format version {manifest.get('format_version')!r} (datacraft "
            f"{manifest.get('datacraft_version', '?')}); this datacraft {__version__} reads version "
            f"{FORMAT_VERSION}: retrain the model or use the matching datacraft"
        )
    return manifest


def manifest_config(manifest: dict[str, Any], model_dir: str | Path) -> TrainConfig:
    """The training config stored in a manifest, validated (a bad config names the key)."""
    return build_train_config(manifest.get("config"), source=f"{Path(model_dir) / MANIFEST} config")


@dataclass
class LoadedModel:
    """A trained model with everything needed to use it."""

    dir: Path
    manifest: dict[str, Any]
    config: TrainConfig
    tokenizer: TextTokenizer
    model: Any  # keras.Model

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.get("labels") or [])

    @property
    def length(self) -> int:
        """Input length the model was trained on (LM window or classifier max length)."""
        return self.config.data.seq_len if self.task == "lm" else self.config.data.max_length


def load_model_dir(model_dir: str | Path) -> LoadedModel:
    """Load manifest, tokenizer and ``model.keras`` (Keras safe mode, no arbitrary code)."""
    model_dir = Path(fs.local_dir(str(model_dir)))  # a URL: downloaded to local scratch
    manifest = read_manifest(model_dir)
    config = manifest_config(manifest, model_dir)
    if manifest.get("status") != "complete" and not (model_dir / MODEL_FILE).exists():
        raise ConfigError(f"{model_dir}: training has not finished an epoch yet (status {manifest.get('status')!r})")
    tokenizer = TextTokenizer.load(model_dir / TOKENIZER_FILE)
    model = load_keras(model_dir / MODEL_FILE)
    return LoadedModel(model_dir, manifest, config, tokenizer, model)


def load_keras(path: Path, compile: bool = False) -> Any:
    """``keras.saving.load_model`` in safe mode, with errors that name the file."""
    import keras

    import datacraft.train.model  # noqa: F401 - registers custom layers

    if not path.exists():
        raise ConfigError(f"{path}: model file missing")
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as e:  # Keras raises ValueError/TypeError/OSError variously for bad files
        raise ConfigError(f"{path}: cannot load the model ({type(e).__name__}: {str(e)[:300]})") from None
