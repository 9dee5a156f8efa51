"""Where the dedup phases keep their intermediate files: ``OUT/_dedup``, or a configured work folder.

By default the work files live beside the output (``OUT/_dedup``). A work folder (``--work-dir``,
``dedup.work_dir``, or ``DATACRAFT_DEDUP_WORK_DIR``) moves them elsewhere, typically to fast local
disk when OUT is on an object store: each output gets its own subfolder there
(``WORK_DIR/<output name>-<hash of the output path>/_dedup``), which holds ``_work.json`` naming the
output, the run's content fingerprint and its input set. Files of another output or another run are deleted before use,
never trusted; every phase marker also carries the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic

WORK = "_dedup"
#: Environment variable naming the default work folder (when no --work-dir / dedup.work_dir is given).
WORK_DIR_ENV = "DATACRAFT_DEDUP_WORK_DIR"
#: The file in a work folder that says which output and which run its files belong to.
OWNER = "_work.json"


@dataclass(frozen=True)
class WorkLayout:
    """Paths of the phase files and phase markers of one dedup run, under ``out/_dedup``.

    ``out`` is the output directory, or (with a work folder) the output's subfolder of it: what
    :func:`work_base` returns, and what the phase tasks are given.
    """

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

    @property
    def owner(self) -> Path:
        return self.root / OWNER


def work_dir_setting(configured: str | None) -> str | None:
    """The work folder asked for: the configured one, else ``DATACRAFT_DEDUP_WORK_DIR``, else None (OUT/_dedup)."""
    value = configured or os.environ.get(WORK_DIR_ENV) or None
    return fs.resolve(value) if value else None


def work_base(output: str, work_dir: str | None) -> str:
    """The folder whose ``_dedup/`` holds the work files of ``output`` (absolute, or a URL).

    Without a work folder it is the output itself; with one, the output's own subfolder of it, named
    after the output and a hash of its full path (two outputs never share work files).
    """
    out = fs.resolve(output)
    if not work_dir:
        return out
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", out.rstrip("/").rsplit("/", 1)[-1]) or "out"
    digest = hashlib.sha256(out.encode()).hexdigest()[:12]
    return fs.join(fs.resolve(work_dir), f"{name}-{digest}")


def claim_work_dir(layout: WorkLayout, output: str, identity: dict[str, Any]) -> bool:
    """Make an outside work folder this run's: keep it when ``_work.json`` names this output, content
    fingerprint and input set, else delete its files first. Returns whether earlier work files were kept."""
    owner = {
        "output": fs.resolve(output),
        "fingerprint": identity["fingerprint"],
        "input_fingerprint": identity.get("input_fingerprint"),
    }
    try:
        kept = json.loads(layout.owner.read_text()) == owner
    except (OSError, ValueError):
        kept = False
    if not kept:
        fs.rmtree(layout.root)
    layout.root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(layout.owner, json.dumps(owner, sort_keys=True))
    return kept
