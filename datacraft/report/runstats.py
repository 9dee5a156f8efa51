"""Load a run's merged stats (``stats.json``), falling back to the per-shard files of an unfinished run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacraft.errors import InputError
from datacraft.io import fs
from datacraft.pipeline.layout import MANIFEST, MERGED_STATS, STATS
from datacraft.pipeline.ledger import ShardStats, merge_stats


@dataclass
class RunStats:
    """A run's merged stats, its manifest (config) and whether they come from a complete run."""

    out: Path
    merged: dict[str, Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    partial: bool = False

    @property
    def stage_order(self) -> list[str]:
        """Stage labels in pipeline order (from the manifest, else as found in the stats)."""
        labels = [s["label"] for s in self.manifest.get("config", {}).get("stages", [])]
        found = list(self.merged.get("stages", {})) + list(self.merged.get("dropped", {}))
        return labels + [s for s in dict.fromkeys(found) if s not in labels]

    @property
    def stage_names(self) -> dict[str, str]:
        """Stage label → registered stage name, from the manifest."""
        return {s["label"]: s["name"] for s in self.manifest.get("config", {}).get("stages", [])}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise InputError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def load_run(out: str | Path) -> RunStats:
    """Read ``OUT/stats.json`` (or merge ``OUT/stats/*.json`` when the run did not finish)."""
    root = fs.as_path(out)
    if not root.is_dir():
        raise InputError(f"{root} is not a directory; give the output directory of `datacraft run`")
    manifest = _read_json(root / MANIFEST) if (root / MANIFEST).is_file() else {}
    merged_path = root / MERGED_STATS
    if merged_path.is_file():
        merged = _read_json(merged_path)
        if "totals" not in merged:
            raise InputError(f"{merged_path} has no 'totals': not the stats of a datacraft run")
        return RunStats(root, merged, manifest, partial=False)
    shard_files = sorted((root / STATS).glob("part-*.json"))
    if not shard_files:
        raise InputError(
            f"{root} holds no {MERGED_STATS} and no {STATS}/part-*.json: not the output of `datacraft run` "
            "(or the run has not finished a shard yet)"
        )
    shards = []
    for p in shard_files:
        try:
            shards.append(ShardStats.from_json(_read_json(p)))
        except TypeError as e:
            raise InputError(f"{p}: not a datacraft shard stats file ({e})") from None
    merged = merge_stats(shards)
    merged["per_shard"] = [s.to_json() for s in shards]
    merged["shards"] = len(manifest.get("shards", [])) or len(shards)
    merged["pipeline"] = manifest.get("config", {}).get("name", "")
    return RunStats(root, merged, manifest, partial=True)
