"""The output directory layout of one run, and file names per shard.

Bookkeeping is O(1) per shard: a shard's committed files are listed in its completion marker,
and its stats file and marker have fixed names, so a task clears its own shard without listing
any folder. Files no marker vouches for (temporary files of a killed attempt, files renamed
before the marker was written) are removed by one sweep of the tree per run (:meth:`sweep`),
done by the driver while it holds the output lock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from datacraft.io import fs
from datacraft.io.files import remove_file, walk_files

DATA, REJECTED, QUARANTINE, STATS, DONE = "data", "rejected", "quarantine", "stats", "_done"
MANIFEST, MERGED_STATS = "_run.json", "stats.json"
CARD = "README.md"  # the dataset card (datacraft/pipeline/card.py)
SUBDIRS = (DATA, REJECTED, QUARANTINE, STATS, DONE)
#: Files at the top of an output that belong to datacraft (besides SUBDIRS).
TOP_FILES = (MANIFEST, MERGED_STATS, CARD, "_lock")
TMP_MARK = ".tmp-"


def shard_stem(index: int) -> str:
    """File-name stem of a shard's outputs: ``part-00003``."""
    return f"part-{index:05d}"


def shard_index_of(name: str) -> int | None:
    """The shard index in a file name (``part-00003-0000.parquet``, ``.part-00003….tmp-…``), else None."""
    name = name.lstrip(".")
    if not name.startswith("part-"):
        return None
    digits = ""
    for ch in name[5:]:
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if len(digits) >= 5 else None


def is_temporary(name: str) -> bool:
    """True for the hidden temporary name a file is written under before its rename."""
    return name.startswith(".") and TMP_MARK in name


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

    def read_marker(self, index: int) -> dict | None:
        """A shard's completion marker, or None when absent or unreadable."""
        try:
            marker = json.loads(self.marker(index).read_text())
        except (OSError, ValueError):
            return None
        return marker if isinstance(marker, dict) else None

    def scan(self) -> dict[int, list[Path]]:
        """One walk of the output tree: every file (final or temporary) grouped by shard index."""
        found: dict[int, list[Path]] = {}
        for sub in SUBDIRS:
            for p in walk_files(self.root / sub):
                index = shard_index_of(p.name)
                if index is not None:
                    found.setdefault(index, []).append(p)
        return found

    def shard_files(self, index: int) -> list[Path]:
        """Every file (final or temporary) of shard ``index`` (walks the tree: for tools and tests)."""
        return sorted(self.scan().get(index, []))

    def clear_shard(self, index: int, extra: Iterable[Path] = ()) -> None:
        """Delete shard ``index``: its marker first (so it never looks complete), then the files the
        marker lists, its stats file, and ``extra``. No folder is listed."""
        marker = self.read_marker(index)
        remove_file(self.marker(index))
        for rel in (marker or {}).get("outputs", {}):
            remove_file(self.root / rel)
        remove_file(self.stats_file(index))
        for p in extra:
            remove_file(p)

    def sweep(self, redo: Iterable[int], n_shards: int) -> int:
        """Before tasks run (lock held): remove every temporary file, and every file of a shard in
        ``redo`` or of an index beyond ``n_shards``. One walk for the whole run; returns files removed."""
        redo_set = set(redo)
        removed = 0
        for index, files in self.scan().items():
            whole = index in redo_set or index >= n_shards
            if whole:
                remove_file(self.marker(index))
            for p in files:
                if whole or is_temporary(p.name):
                    remove_file(p)
                    removed += 1
        return removed

    def clear_all(self) -> None:
        """Remove everything a run writes (never other files the user keeps there)."""
        for sub in SUBDIRS:
            fs.rmtree(self.root / sub)
        for f in (self.manifest, self.merged_stats, self.root / CARD):
            f.unlink(missing_ok=True)
