"""Pipeline configuration: YAML (``safe_load``) validated into typed models.

Every error names the offending key, e.g. ``stages[1].length.min_wordz: unknown parameter``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ByteSize, ConfigDict, Field, ValidationError, field_validator, model_validator

from datacraft.errors import ConfigError
from datacraft.stages.base import StageParams
from datacraft.stages.registry import get_stage_class


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputConfig(_Strict):
    """Where documents come from and how records become documents."""

    paths: list[str] = Field(..., min_length=1, description="files, directories or globs")
    format: str = Field("auto", description="auto (by suffix), jsonl, text, parquet, warc")
    text_field: str = "text"
    id_field: str = "id"
    keep_fields: bool = Field(True, description="carry other input fields through as columns")
    max_record_bytes: int = Field(16 * 1024 * 1024, gt=0, description="larger records are quarantined")
    parquet_batch_rows: int = Field(4096, gt=0)


class OutputConfig(_Strict):
    """Where curated documents go."""

    path: str
    format: Literal["parquet", "jsonl", "jsonl.gz"] = "parquet"
    rejected: bool = Field(True, description="write dropped documents to rejected/ with stage and reason")
    rows_per_file: int = Field(1_000_000, gt=0)
    bytes_per_file: int = Field(512 * 1024 * 1024, gt=0)
    row_group_rows: int = Field(10_000, gt=0)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    partition_by: str | None = Field(
        None,
        pattern=r"^[^/\\=.][^/\\=]*$",
        description="column whose values split data/ into Hive folders, e.g. lang → data/lang=en/",
    )

    @field_validator("partition_by")
    @classmethod
    def _not_id_or_text(cls, value: str | None) -> str | None:
        if value in ("id", "text"):
            raise ValueError(f"cannot partition by {value!r} (it is a column of every file); use e.g. lang")
        return value


class StageSpec(_Strict):
    """One validated stage entry: registry name, label (unique in the pipeline) and parameters."""

    name: str
    label: str
    params: dict[str, Any] = Field(default_factory=dict)


class RayConfig(_Strict):
    """How tasks run with ``executor: ray``. None of it changes the output bytes."""

    num_cpus: float = Field(1.0, gt=0, description="CPUs each task requests from Ray")
    memory: ByteSize | None = Field(
        None, description="memory each task requests (e.g. 2GiB); Ray runs no more tasks on a node than fit"
    )
    max_retries: int = Field(
        3, ge=0, description="reruns of a task whose worker process or node died; errors a task raises are not retried"
    )
    max_in_flight: int | None = Field(
        None, gt=0, description="tasks submitted to Ray at once (default: twice the CPU slots)"
    )
    object_store_memory: ByteSize | None = Field(
        None, description="object store size of the local Ray that datacraft starts (default: Ray's own)"
    )
    task_timeout: float | None = Field(
        None, gt=0, description="seconds one task may run before it is cancelled and the run fails (default: none)"
    )


class PipelineConfig(_Strict):
    """A whole pipeline: reader, stages, writer and how to run it."""

    name: str = "pipeline"
    input: InputConfig
    output: OutputConfig
    stages: list[StageSpec] = Field(default_factory=list)
    workers: int = Field(1, ge=1)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(
        None, description="Ray cluster to join (auto or HOST:PORT); None starts a local Ray"
    )
    ray: RayConfig = Field(default_factory=RayConfig, description="Ray task resources and retries")
    on_error: Literal["quarantine", "fail"] = "quarantine"
    batch_size: int = Field(1000, gt=0, description="documents per batch passed between stages")
    dedup: dict[str, Any] | None = Field(
        None,
        description="global dedup of the output after the stages: dedup parameters (preset, mode, threshold, …) "
        "and `output` (default: <output.path>-dedup)",
    )

    @model_validator(mode="after")
    def _check_dedup(self) -> PipelineConfig:
        if self.dedup is not None:
            from datacraft.dedup.config import dedup_from_pipeline  # the dedup package imports this module

            dedup_from_pipeline(self)
        return self

    def fingerprint(self) -> str:
        """Hash of everything that decides the output bytes (not workers, executor, paths or on_error)."""
        data = self.model_dump(mode="json")
        for key in ("workers", "executor", "ray_address", "ray", "name", "on_error", "dedup"):
            data.pop(key, None)
        data["output"].pop("path", None)
        data["input"].pop("paths", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_validation_error(err: ValidationError, prefix: str = "") -> str:
    """Render pydantic errors as ``key: message`` lines."""
    lines = []
    for e in err.errors():
        key = _loc((prefix, *tuple(e["loc"])) if prefix else tuple(e["loc"]))
        msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        if e["type"] not in ("missing", "extra_forbidden") and "input" in e:
            msg += f" (got {e['input']!r})"
        lines.append(f"{key}: {msg}")
    return "; ".join(lines)


def validate_stage_params(name: str, params: dict[str, Any], where: str) -> StageParams:
    """Validate one stage's parameters against its registered model."""
    cls = get_stage_class(name)
    try:
        return cls.Params(**params)
    except ValidationError as e:
        known = ", ".join(cls.Params.model_fields)
        raise ConfigError(f"{format_validation_error(e, where)} (parameters of {name!r}: {known})") from None


def _parse_stage_entries(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("stages: expected a list of `- name: {params}` entries")
    specs: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, dict) and len(entry) == 1:
            name, params = next(iter(entry.items()))
            params = params or {}
        else:
            raise ConfigError(f"stages[{i}]: expected `- name: {{params}}` or `- name`, got {entry!r}")
        if not isinstance(params, dict):
            raise ConfigError(f"stages[{i}].{name}: parameters must be a mapping, got {params!r}")
        params = dict(params)
        label = params.pop("label", None) or name
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}_{seen[label]}"
        validate_stage_params(name, params, f"stages[{i}].{name}")
        specs.append({"name": name, "label": label, "params": params})
    return specs


def parse_value(text: str) -> Any:
    """Parse a command-line value as YAML (``50`` → int, ``true`` → bool, ``[a, b]`` → list)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides; a first key naming a stage label sets its parameter."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. length.min_words=50")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        stages = raw.get("stages") or []
        labels = {}
        for i, entry in enumerate(stages):
            if isinstance(entry, str):
                stages[i] = entry = {entry: {}}
            if isinstance(entry, dict) and len(entry) == 1:
                name, params = next(iter(entry.items()))
                if params is None:
                    entry[name] = params = {}
                labels[(params or {}).get("label", name)] = entry[name]
        if parts[0] in labels and len(parts) == 2:
            labels[parts[0]][parts[1]] = parse_value(value)
            continue
        if parts[0] not in PipelineConfig.model_fields:
            raise ConfigError(
                f"--set {key}: no stage {parts[0]!r} in this pipeline "
                f"(stages: {', '.join(labels) or 'none'}) and no such config key"
            )
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is not a mapping")
        node[parts[-1]] = parse_value(value)
    return raw


def build_config(raw: Any, source: str = "config") -> PipelineConfig:
    """Validate a raw mapping (from YAML or built in code) into a PipelineConfig."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    raw = dict(raw)
    raw["stages"] = _parse_stage_entries(raw.get("stages"))
    try:
        return PipelineConfig(**raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {format_validation_error(e)}") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML file safely; errors name the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read pipeline {path}: {e.strerror or e}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_pipeline(
    path: str | Path, overrides: list[str] | None = None, updates: dict[str, Any] | None = None
) -> PipelineConfig:
    """Load a pipeline YAML, apply ``--set`` overrides and direct updates, validate."""
    raw = load_yaml(path)
    for key, value in (updates or {}).items():
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    raw = apply_overrides(raw, overrides or [])
    return build_config(raw, str(path))
