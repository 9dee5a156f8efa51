"""Training configuration: YAML (``safe_load``) validated by pydantic; errors name the key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from datacraft.errors import ConfigError
from datacraft.pipeline.yamlsafe import safe_load_bounded
from datacraft.validation import format_validation_error, parse_value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Which columns to read and how documents become training examples."""

    text_column: str = Field("text", description="column holding the document text")
    id_column: str = Field("id", description="column holding the document id (split key)")
    label_column: str | None = Field(None, description="class label column (task: classify)")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of documents (by id hash) held out")
    seq_len: int = Field(128, ge=4, le=8192, description="LM: packed sequence length in tokens")
    max_length: int = Field(256, ge=4, le=8192, description="classify: documents truncated to this many tokens")
    shuffle_buffer: int = Field(4096, ge=1, description="examples in the seeded shuffle buffer")
    read_batch_rows: int = Field(1024, ge=1, description="Parquet rows read (and tokenized) at a time")
    max_docs: int | None = Field(None, ge=1, description="use only the first N documents (quick runs)")


class TokenizerConfig(_Strict):
    """Subword tokenizer learned from the training split (Hugging Face ``tokenizers``)."""

    kind: Literal["bpe", "wordpiece", "unigram"] = Field("bpe", description="byte-level BPE has no OOV")
    vocab_size: int = Field(8000, ge=64, le=262144)
    min_frequency: int = Field(2, ge=1)
    lowercase: bool = False
    from_file: str | None = Field(
        None, description="use this tokenizer.json (e.g. another model's) instead of learning one; kind etc. ignored"
    )


class ModelConfig(_Strict):
    """Embedding → recurrent layers → attention → head."""

    embed_dim: int = Field(128, ge=4)
    rnn: Literal["lstm", "gru"] = "lstm"
    rnn_units: int = Field(256, ge=4)
    rnn_layers: int = Field(1, ge=1, le=8)
    attention_heads: int = Field(4, ge=1)
    attention_dim: int = Field(32, ge=4, description="key/query size per head")
    dropout: float = Field(0.1, ge=0, lt=1)
    l2: float = Field(0.0, ge=0, description="L2 penalty on kernel weights")
    tie_embeddings: bool = Field(
        False,
        description="LM: output logits = hidden · embeddingᵀ + bias (one shared matrix), with a learned "
        "projection hidden → embed_dim when rnn_units ≠ embed_dim",
    )


class OptimizerConfig(_Strict):
    """Optimizer and learning-rate schedule."""

    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0, description="adamw only")
    clipnorm: float | None = Field(1.0, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1, description="sgd only")
    schedule: Literal["constant", "warmup_cosine", "step", "plateau"] = "constant"
    warmup_steps: int = Field(100, ge=0, description="warmup_cosine: linear warmup steps")
    min_lr_ratio: float = Field(0.05, ge=0, le=1, description="warmup_cosine: final lr / learning_rate")
    step_epochs: int = Field(2, ge=1, description="step: decay every N epochs")
    step_gamma: float = Field(0.5, gt=0, le=1, description="step / plateau: lr multiplier")
    plateau_patience: int = Field(1, ge=0, description="plateau: epochs without val_loss gain before decay")


class TrainConfig(_Strict):
    """A whole training run."""

    task: Literal["lm", "classify"] = "lm"
    seed: int = 1234
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    early_stopping_patience: int | None = Field(3, ge=1, description="epochs without val_loss gain; null: off")
    class_weight: Literal["none", "balanced"] | dict[str, float] = Field(
        "none", description="classify: none, balanced, or {label: weight}"
    )
    keep_checkpoints: int = Field(2, ge=1, description="per-epoch checkpoints kept for resume")
    max_train_tokens: int | None = Field(
        None,
        ge=1,
        description="LM: train on exactly epochs × (N // (epochs × batch_size × seq_len)) batches, whatever the data "
        "size (the seeded data order repeats when the data is smaller); an epoch is an equal share of the budget",
    )
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16"] = Field(
        "float32", description="Keras dtype policy: mixed_* compute in 16 bits, keep float32 weights and logits"
    )
    jit_compile: bool | Literal["auto"] = Field("auto", description="XLA-compile the train step (Keras' default: auto)")
    distribute: Literal["none", "mirrored"] = Field(
        "none", description="tf.distribute strategy: mirrored = synchronous data parallel over `devices`"
    )
    devices: list[str] | None = Field(None, description="mirrored: devices (default: all GPUs, else the CPU)")
    checkpoint_every_steps: int | None = Field(
        None, ge=1, description="also checkpoint every N train steps (and on SIGTERM) for mid-epoch resume"
    )
    data: DataConfig = Field(default_factory=DataConfig)
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)

    def fingerprint(self) -> str:
        """Hash of everything that decides the trained model (a changed config cannot resume a run);
        where the run executes (``EXECUTION_KEYS``) is left out, so a run may resume elsewhere."""
        raw = self.model_dump(mode="json", exclude=set(EXECUTION_KEYS))
        return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]


#: keys that decide how and where a run executes, not what it learns (outside the fingerprint)
EXECUTION_KEYS = ("jit_compile", "distribute", "devices", "checkpoint_every_steps")


def _set_key(raw: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = raw
    for p in parts[:-1]:
        child = node.get(p)
        if child is None:
            child = node[p] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {p!r} is not a section")
        node = child
    node[parts[-1]] = value


def build_train_config(raw: Any, overrides: list[str] | None = None, source: str = "config") -> TrainConfig:
    """Validate a raw mapping (plus ``key.path=value`` overrides) into a :class:`TrainConfig`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of training settings, got {type(raw).__name__}")
    raw = json.loads(json.dumps(raw))
    for item in overrides or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. optimizer.learning_rate=0.01")
        key, value = item.split("=", 1)
        _set_key(raw, key.strip(), parse_value(value))
    try:
        config = TrainConfig(**raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {format_validation_error(e)}") from None
    if config.task == "classify" and not config.data.label_column:
        raise ConfigError(f"{source}: data.label_column: task classify needs the column holding class labels")
    if config.task != "lm" and config.max_train_tokens is not None:
        raise ConfigError(f"{source}: max_train_tokens: a token budget applies to task lm only")
    if config.max_train_tokens is not None:
        per_batch = config.epochs * config.batch_size * config.data.seq_len
        if config.max_train_tokens < per_batch:
            raise ConfigError(
                f"{source}: max_train_tokens: {config.max_train_tokens} is less than one batch per epoch "
                f"(epochs × batch_size × data.seq_len = {per_batch})"
            )
    return config


def load_train_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML training config (None: all defaults) and apply overrides."""
    if path is None:
        return build_train_config({}, overrides, "config")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    try:
        raw = safe_load_bounded(text, str(path))
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    return build_train_config(raw, overrides, str(path))
