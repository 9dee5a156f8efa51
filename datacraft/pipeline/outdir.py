"""Checks on an output directory before a run writes to it (shared by run, apply and dedup)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datacraft.errors import ConfigError, OutputConflictError
from datacraft.io import fs
from datacraft.io.lock import LOCK_NAME
from datacraft.io.overlap import check_disjoint
from datacraft.pipeline.fingerprint import describe_change, same_run
from datacraft.pipeline.layout import SUBDIRS, OutputLayout


def check_output_path(output: str, inputs: list[str], what: str = "output") -> None:
    """The output must be a directory (or not exist yet) and must not overlap any input (exit 2)."""
    if fs.is_url(output):
        if fs.as_path(output).is_file():
            raise ConfigError(f"the {what} {output} is an existing object, not a folder; choose a folder")
        check_disjoint(inputs, output, what)
        return
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"the {what} {output} is an existing file, not a directory; choose a directory")
    for parent in path.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"the {what} {output} cannot be created: {parent} is a file")
    check_disjoint(inputs, output, what)


def check_not_foreign(root: Path | fs.RemotePath, what: str = "--output") -> None:
    """Refuse a non-empty directory that is not a datacraft output (never delete a user's files)."""
    if not root.is_dir():
        return
    names = [p.name for p in root.iterdir() if p.name != LOCK_NAME]
    if names and not any((root / d).exists() for d in SUBDIRS) and not (root / "_run.json").exists():
        raise OutputConflictError(f"{root} is not empty and is not a datacraft output; choose another {what}")


def read_manifest(layout: OutputLayout) -> dict[str, Any] | None:
    """The ``_run.json`` of an output, or None."""
    try:
        data = json.loads(layout.manifest.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_identity(layout: OutputLayout, identity: dict[str, Any], force: bool, what: str = "--output") -> None:
    """Refuse (exit 2) an output written by a run of another identity, unless ``force`` (then clear it)."""
    if force:
        layout.clear_all()
        return
    previous = read_manifest(layout)
    if previous is not None and not same_run(previous, identity):
        raise OutputConflictError(
            f"{layout.root} holds the output of another run: {describe_change(previous, identity)} changed; "
            f"rerun with --force to replace it, or choose another {what}"
        )
