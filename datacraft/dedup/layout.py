"""Where the dedup phases keep their intermediate files, under ``OUT/_dedup``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WORK = "_dedup"


@dataclass(frozen=True)
class WorkLayout:
    """Paths of the phase files and phase markers of one dedup run."""

    out: Path

    @property
    def root(self) -> Path:
        return self.out / WORK

    def shard_file(self, index: int, what: str) -> Path:
        """Phase-1 output ``what`` (docs.parquet, sig.npy, bands.npy, keys.npy, exact.npy) of a shard."""
        return self.root / "sig" / f"part-{index:05d}.{what}"

    def pairs(self, group: str) -> Path:
        """Phase-2 edges of one group (``band-003`` or ``exact``)."""
        return self.root / "pairs" / f"{group}.npy"

    def decisions(self, index: int) -> Path:
        """Phase-3 decisions for the documents of one shard that are in a cluster."""
        return self.root / "clusters" / f"part-{index:05d}.parquet"

    @property
    def cluster_summary(self) -> Path:
        return self.root / "clusters" / "summary.json"

    def marker(self, name: str) -> Path:
        """Completion marker of one phase task (``sig-00003``, ``band-007``, ``exact``, ``clusters``)."""
        return self.root / "_done" / f"{name}.json"
