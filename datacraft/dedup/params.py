"""Dedup parameters (typed, documented) and the named presets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from datacraft.dedup.minhash import optimal_bands
from datacraft.dedup.presets import PRESETS
from datacraft.errors import ConfigError
from datacraft.validation import format_validation_error


class DedupParams(BaseModel):
    """How documents are compared and which one of a cluster is kept."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["exact", "near", "both"] = Field(
        "both", description="exact: equal normalized text; near: MinHash LSH; both: either"
    )
    shingle: Literal["word", "char"] = Field("word", description="shingles: word n-grams or character n-grams")
    ngram: int = Field(5, ge=1, le=64, description="n of the n-gram shingles")
    num_perm: int = Field(112, ge=2, le=1024, description="MinHash permutations (signature length)")
    threshold: float = Field(0.75, gt=0.0, lt=1.0, description="target Jaccard similarity of near duplicates")
    bands: int | None = Field(14, ge=1, description="LSH bands (None: derived from threshold and num_perm)")
    rows: int | None = Field(8, ge=1, description="rows per band (None: derived from threshold and num_perm)")
    verify: Literal["none", "signature", "exact"] = Field(
        "none",
        description="keep only candidate pairs whose Jaccard ≥ verify_threshold: signature (estimated from the "
        "MinHash values) or exact (from the stored shingle sets; ~4 bytes per shingle on disk)",
    )
    verify_threshold: float | None = Field(None, gt=0.0, le=1.0, description="default: threshold")
    keep: Literal["first", "longest", "signal"] = Field(
        "first", description="representative of a cluster: first by id, longest text, or highest signal_column"
    )
    signal_column: str | None = Field(None, description="column compared by keep: signal (higher is kept)")
    seed: int = Field(1, ge=0, description="seed of the MinHash permutations")
    batch_size: int = Field(1000, gt=0, description="documents per signature batch")

    @model_validator(mode="after")
    def _check(self) -> DedupParams:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (to derive them from threshold)")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands × rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.keep == "signal" and not self.signal_column:
            raise ValueError("keep: signal needs signal_column")
        return self

    def lsh(self) -> tuple[int, int]:
        """(bands, rows): as given, or datasketch's optimum for threshold and num_perm."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return optimal_bands(self.threshold, self.num_perm)

    @property
    def near(self) -> bool:
        """Whether MinHash LSH runs."""
        return self.mode in ("near", "both")

    @property
    def exact(self) -> bool:
        """Whether exact-hash grouping runs."""
        return self.mode in ("exact", "both")

    def effective_verify_threshold(self) -> float:
        """The estimated-Jaccard cut used by verification."""
        return self.verify_threshold if self.verify_threshold is not None else self.threshold


def build_params(preset: str = "default", **overrides: Any) -> DedupParams:
    """A preset with overrides applied; ``threshold``/``num_perm`` alone re-derive bands × rows."""
    if preset not in PRESETS:
        raise KeyError(preset)
    raw = dict(PRESETS[preset])
    given = {k: v for k, v in overrides.items() if v is not None}
    if ("threshold" in given or "num_perm" in given) and "bands" not in given and "rows" not in given:
        raw["bands"] = raw["rows"] = None
    raw.update(given)
    return DedupParams(**raw)


def parse_dedup_section(raw: Any, where: str) -> DedupParams:
    """Validate a ``dedup:`` mapping; ``preset: NAME`` picks a starting point that other keys override."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of dedup parameters")
    raw = dict(raw)
    work_dir = raw.pop("work_dir", None)  # where the phase files go (read by the caller), not a parameter
    if work_dir is not None and not isinstance(work_dir, str):
        raise ConfigError(f"{where}.work_dir: expected a folder path, got {work_dir!r}")
    preset = raw.pop("preset", "default")
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ConfigError(f"{where}.preset: unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
    base = dict(PRESETS[preset])
    if ("threshold" in raw or "num_perm" in raw) and "bands" not in raw and "rows" not in raw:
        base["bands"] = base["rows"] = None
    base.update(raw)
    try:
        return DedupParams(**base)
    except ValidationError as e:
        known = ", ".join(["preset", *DedupParams.model_fields])
        raise ConfigError(f"{format_validation_error(e, where)} (dedup parameters: {known})") from None
