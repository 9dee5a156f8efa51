"""The configuration of a dedup run: input, output, how to run, and the dedup parameters.

The same model serves ``datacraft dedup IN OUT`` (built from options), ``datacraft dedup
--config FILE.yaml`` and the ``dedup:`` section of a pipeline YAML.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from datacraft.dedup.params import DedupParams, parse_dedup_section
from datacraft.errors import ConfigError
from datacraft.pipeline.config import (
    InputConfig,
    OutputConfig,
    PipelineConfig,
    RayConfig,
)
from datacraft.validation import format_validation_error

__all__ = ["DedupConfig", "build_dedup_config", "dedup_from_pipeline", "parse_dedup_section"]


class DedupConfig(BaseModel):
    """A whole dedup run."""

    model_config = ConfigDict(extra="forbid")

    name: str = "dedup"
    input: InputConfig
    output: OutputConfig
    dedup: DedupParams = Field(default_factory=DedupParams)
    workers: int = Field(1, ge=1)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    ray: RayConfig = Field(default_factory=RayConfig, description="Ray task resources and retries")
    on_error: Literal["quarantine", "fail"] = "quarantine"
    batch_size: int = Field(1000, gt=0, description="documents per batch in the filtering phase")
    work_dir: str | None = Field(
        None,
        description="folder for the phase files (default OUT/_dedup; DATACRAFT_DEDUP_WORK_DIR when unset), "
        "e.g. local disk when OUT is on an object store",
    )

    def fingerprint(self) -> str:
        """Hash of everything that decides the output bytes (not workers, executor, paths or name)."""
        data = self.model_dump(mode="json")
        for key in ("workers", "executor", "ray_address", "ray", "name", "on_error", "work_dir"):
            data.pop(key, None)
        data["output"].pop("path", None)
        data["input"].pop("paths", None)
        data["kind"] = "dedup"
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def pipeline(self) -> PipelineConfig:
        """The equivalent stage-less pipeline config (reader, writer and error policy of the filtering phase)."""
        data = self.model_dump()
        data.pop("dedup")
        data.pop("work_dir")
        return PipelineConfig(**data)


def build_dedup_config(raw: dict[str, Any], source: str = "config") -> DedupConfig:
    """Validate a raw mapping into a DedupConfig; errors name the key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    raw = dict(raw)
    section = raw.pop("dedup", None)
    if isinstance(section, dict) and "work_dir" in section:  # dedup.work_dir: where, not how; not a parameter
        section = dict(section)
        raw["work_dir"] = section.pop("work_dir")
    params = parse_dedup_section(section, "dedup")
    if "stages" in raw:
        raise ConfigError(f"{source}: a dedup config has no stages (put `dedup:` in a pipeline to run it after them)")
    try:
        return DedupConfig(**raw, dedup=params)
    except ValidationError as e:
        raise ConfigError(f"{source}: {format_validation_error(e)}") from None


def dedup_from_pipeline(config: PipelineConfig) -> DedupConfig:
    """The dedup run a pipeline's ``dedup:`` section asks for: its output directory in, ``dedup.output`` out."""
    section = dict(config.dedup or {})
    out = section.pop("output", None) or config.output.path.rstrip("/") + "-dedup"
    if not isinstance(out, str):
        raise ConfigError(f"dedup.output: expected a directory path, got {out!r}")
    work_dir = section.pop("work_dir", None)
    params = parse_dedup_section(section, "dedup")
    return DedupConfig(
        name=f"{config.name}-dedup",
        input=InputConfig(paths=[config.output.path], text_field="text", id_field="id"),
        output=config.output.model_copy(update={"path": out}),
        dedup=params,
        workers=config.workers,
        executor=config.executor,
        ray_address=config.ray_address,
        ray=config.ray,
        on_error=config.on_error,
        batch_size=config.batch_size,
        work_dir=work_dir,
    )
