"""The output directory layout of one run, and file names per shard."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datacraft.io import fs

DATA, REJECTED, QUARANTINE, STATS, DONE = "data", "rejected", "quarantine", "stats", "_done"
MANIFEST, MERGED_STATS = "_run.json", "stats.json"
SUBDIRS = (DATA, REJECTED, QUARANTINE, STATS, DONE)


def shard_stem(index: int) -> str:
    """File-name stem of a shard's outputs: ``part-00003``."""
    return f"part-{index:05d}"


@dataclass(frozen=True)
class OutputLayout:
    """Paths inside one run's output directory."""

    root: Path

    def dir(self, name: str) -> Path:
        return self.root / name

    def marker(self, index: int) -> Path:
        return self.root / DONE / f"{shard_stem(index)}.json"

    def stats_file(self, index: int) -> Path:
        return self.root / STATS / f"{shard_stem(index)}.json"

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def merged_stats(self) -> Path:
        return self.root / MERGED_STATS

    def shard_files(self, index: int) -> list[Path]:
        """Every file (final or temporary) that belongs to shard ``index``."""
        stem = shard_stem(index)
        files: list[Path] = []
        for sub in SUBDIRS:
            d = self.root / sub
            if d.is_dir():
                files += [
                    p for p in d.rglob("*") if p.is_file() and (p.name.startswith((stem + "-", stem + ".", "." + stem)))
                ]
        return files

    def clear_shard(self, index: int) -> None:
        """Delete everything of shard ``index`` (its marker first, so it never looks complete)."""
        self.marker(index).unlink(missing_ok=True)
        for p in self.shard_files(index):
            p.unlink(missing_ok=True)

    def shard_indexes_present(self) -> set[int]:
        """Indexes of shards that have any file in the output."""
        found: set[int] = set()
        for sub in SUBDIRS:
            d = self.root / sub
            if d.is_dir():
                for p in d.rglob("*part-*"):
                    digits = p.name.lstrip(".").split("-")[1][:5]
                    if digits.isdigit():
                        found.add(int(digits))
        return found

    def clear_all(self) -> None:
        """Remove everything a run writes (never other files the user keeps there)."""
        for sub in SUBDIRS:
            fs.rmtree(self.root / sub)
        for f in (self.manifest, self.merged_stats):
            f.unlink(missing_ok=True)
