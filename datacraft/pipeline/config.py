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
from datacraft.pipeline.yamlsafe import MAX_BYTES as MAX_YAML_BYTES
from datacraft.pipeline.yamlsafe import safe_load_bounded
from datacraft.stages.base import StageParams
from datacraft.stages.registry import get_stage_class, load_plugins, resolve_plugin
from datacraft.suggest import did_you_mean
from datacraft.validation import format_validation_error, parse_value

__all__ = ["PipelineConfig", "build_config", "format_validation_error", "load_pipeline", "parse_value"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputConfig(_Strict):
    """Where documents come from and how records become documents."""

    paths: list[str] = Field(..., min_length=1, description="files, directories or globs")
    format: str = Field("auto", description="auto (by suffix), jsonl, text, parquet, warc")
    text_field: str = "text"
    id_field: str = "id"
    keep_fields: bool = Field(True, description="carry other input fields through as columns")
    fields: dict[str, str] | None = Field(
        None,
        description="kept input fields as columns, name → type (string, int64, float64, bool, list<T>, struct<a: T>); "
        "unset: discovered from the inputs when the run is planned; other fields go to extra_fields",
    )
    max_record_bytes: int = Field(16 * 1024 * 1024, gt=0, description="larger records are quarantined")
    parquet_batch_rows: int = Field(4096, gt=0)

    @field_validator("fields")
    @classmethod
    def _known_types(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        from datacraft.io.schema import SchemaError, parse_type

        for name, t in (value or {}).items():
            try:
                parse_type(t)
            except SchemaError as e:
                raise ValueError(f"{name}: {e}") from None
        return value


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
    plugins: list[str] = Field(
        default_factory=list,
        description="modules (or .py files beside the pipeline) that register user stages; see docs/plugins.md",
    )
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
    max_quarantine_fraction: float = Field(
        0.01, ge=0, le=1, description="fail the run (exit 1) when more of its input records than this are quarantined"
    )
    dedup: dict[str, Any] | None = Field(
        None,
        description="global dedup of the output after the stages: dedup parameters (preset, mode, threshold, …) "
        "and `output` (default: <output.path>-dedup)",
    )

    @field_validator("plugins")
    @classmethod
    def _load_plugins(cls, value: list[str]) -> list[str]:
        load_plugins(value)  # also in worker processes, which rebuild the config from JSON
        return value

    @model_validator(mode="after")
    def _check_dedup(self) -> PipelineConfig:
        if self.dedup is not None:
            section = dict(self.dedup)
            out = section.pop("output", None)
            if out is not None and not isinstance(out, str):
                raise ConfigError(f"dedup.output: expected a directory path, got {out!r}")
            from datacraft.dedup.params import parse_dedup_section  # only a pipeline with a dedup: section

            parse_dedup_section(section, "dedup")
        return self

    def fingerprint(self) -> str:
        """Hash of everything that decides the output bytes (not workers, executor, paths or on_error)."""
        data = self.model_dump(mode="json")
        for key in ("workers", "executor", "ray_address", "ray", "name", "on_error", "dedup"):
            data.pop(key, None)
        data.pop("max_quarantine_fraction", None)  # decides the exit code, not the output
        data["output"].pop("path", None)
        data["input"].pop("paths", None)
        data["plugins"] = [_plugin_identity(p) for p in data.get("plugins", [])]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _plugin_identity(entry: str) -> str:
    """A plugin file by name and content hash (its location does not decide the output); modules by name."""
    if entry.endswith(".py"):
        try:
            return f"{Path(entry).name}:{hashlib.sha256(Path(entry).read_bytes()).hexdigest()[:16]}"
        except OSError:
            return entry
    return entry


def validate_stage_params(name: str, params: dict[str, Any], where: str) -> StageParams:
    """Validate one stage's parameters against its registered model."""
    cls = get_stage_class(name)
    try:
        return cls.Params(**params)
    except ValidationError as e:
        known = ", ".join(cls.Params.model_fields)
        text = format_validation_error(e, where, model=cls.Params)
        raise ConfigError(f"{text} (parameters of {name!r}: {known})") from None


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
        if not isinstance(label, str) or not isinstance(name, str):
            raise ConfigError(f"stages[{i}].{name}.label: expected a string, got {label!r}")
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}_{seen[label]}"
        validate_stage_params(name, params, f"stages[{i}].{name}")
        specs.append({"name": name, "label": label, "params": params})
    return specs


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
                f"{did_you_mean(parts[0], [*labels, *PipelineConfig.model_fields])}"
            )
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part!r} is not a mapping")
        node[parts[-1]] = parse_value(value)
    return raw


def _resolve_plugins(raw: dict[str, Any], source: str, base_dir: Path | None) -> None:
    plugins = raw.get("plugins")
    if plugins is None:
        return
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise ConfigError(f"{source}: plugins: expected a list of module names or .py files, got {plugins!r}")
    raw["plugins"] = [resolve_plugin(p, base_dir) for p in plugins]
    load_plugins(raw["plugins"])  # before the stages are validated: they may name plugin stages


def build_config(raw: Any, source: str = "config", base_dir: Path | None = None) -> PipelineConfig:
    """Validate a raw mapping (from YAML or built in code) into a PipelineConfig.

    ``base_dir``: where relative ``plugins:`` files are (the pipeline's folder).
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    raw = dict(raw)
    _resolve_plugins(raw, source, base_dir)
    raw["stages"] = _parse_stage_entries(raw.get("stages"))
    try:
        return PipelineConfig(**raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {format_validation_error(e, model=PipelineConfig)}") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML file safely; errors name the file and line."""
    try:
        if Path(path).stat().st_size > MAX_YAML_BYTES:
            raise ConfigError(f"{path}: larger than the {MAX_YAML_BYTES:,} bytes a config may have")
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read pipeline {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        data = safe_load_bounded(text, str(path))
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
    return build_config(raw, str(path), base_dir=Path(path).parent)
