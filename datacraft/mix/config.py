"""Mix configuration: sources (or a group column), weights, target size, seed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from datacraft.errors import ConfigError
from datacraft.pipeline.config import format_validation_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MixSource(_Strict):
    """One named source: its input paths and, when grouping by source, its weight."""

    name: str
    paths: list[str] = Field(..., min_length=1)
    weight: float | None = Field(None, ge=0)


class MixConfig(_Strict):
    """What to mix, in which proportions, how much, and where to write it."""

    sources: list[MixSource] = Field(..., min_length=1)
    group_by: str = Field("source", description="'source', or a column name such as 'lang'")
    weights: dict[str, float] = Field(default_factory=dict, description="group → weight (for a column)")
    unit: Literal["words", "chars", "docs"] = Field("words", description="what the target counts")
    target: float | None = Field(None, gt=0, description="total size in `unit`; default: no upsampling")
    seed: int = 0
    output: str
    text_field: str = "text"
    id_field: str = "id"
    workers: int = Field(1, ge=1)
    row_group_rows: int = Field(10_000, gt=0)

    @model_validator(mode="after")
    def _weights_given(self) -> MixConfig:
        names = [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError("source names must be unique")
        if self.group_by == "source":
            missing = [s.name for s in self.sources if s.weight is None]
            if missing:
                raise ValueError(f"sources without a weight: {', '.join(missing)}")
        elif not self.weights:
            raise ValueError(f"grouping by column {self.group_by!r} needs `weights` (group → weight)")
        if sum(self.group_weights().values()) <= 0:
            raise ValueError("weights must not all be zero")
        return self

    def group_weights(self) -> dict[str, float]:
        """Normalized-later weights per group."""
        if self.group_by == "source":
            return {s.name: float(s.weight or 0.0) for s in self.sources}
        return dict(self.weights)


def build_mix_config(raw: dict, source: str = "mix") -> MixConfig:
    """Validate a raw mapping into a MixConfig (errors name the key, exit 2)."""
    try:
        return MixConfig(**raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {format_validation_error(e)}") from None
