"""Fingerprints of contents: what decides a run's output bytes, and what it read.

A run's identity has three parts, recorded in ``OUT/_run.json``:

- ``fingerprint`` (content): the configuration's own hash, the datacraft version, and the
  bytes of every side file a stage parameter names (block lists, model folders, …). Side files
  are found generically: any string parameter (or string inside a list or mapping parameter)
  that names an existing file or directory is hashed (xxh3 of the bytes; a directory by every
  file under it with its relative path). Completion markers carry it: a shard is reused only
  for the same content fingerprint.
- ``input_fingerprint``: the input set as names, sizes and modification times of its files
  (one ``stat`` per file; hashing terabytes of input on every resume would cost more than a
  run). A different input set into the same output is refused without ``--force``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import xxhash

from datacraft import __version__
from datacraft.io import fs
from datacraft.io.files import walk_files
from datacraft.io.paths import Shard

_CHUNK = 1 << 20


def _hash_file(h: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)


def content_hash(path: str | Path) -> str:
    """xxh3 of a file's bytes, or of a directory's files (relative path and bytes, in name order)."""
    p = Path(path)
    h = xxhash.xxh3_128()
    if p.is_dir():
        for f in sorted(walk_files(p), key=lambda f: f.relative_to(p).as_posix()):
            h.update(f.relative_to(p).as_posix().encode() + b"\0")
            _hash_file(h, f)
            h.update(b"\0")
    else:
        _hash_file(h, p)
    return h.hexdigest()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)


def side_files(stage_params: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Content hashes of every existing file or folder that a stage parameter names."""
    found: dict[str, str] = {}
    for params in stage_params:
        for s in _strings(params):
            if s in ("", ".", "..", "/") or "\n" in s or len(s) > 4096:
                continue
            if os.path.exists(s) and s not in found:
                found[s] = content_hash(s)
    return dict(sorted(found.items()))


def content_fingerprint(config_fp: str, side: dict[str, str]) -> str:
    """The fingerprint completion markers carry: config, datacraft version and side-file contents."""
    data = {"config": config_fp, "datacraft": __version__, "side_files": side}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def input_identity(path: str) -> dict[str, Any]:
    """Size and mtime (an object's size and ETag) of an input: a marker is valid only for the same input."""
    return fs.identity(path)


def input_set_fingerprint(shards: list[Shard], idents: dict[str, dict[str, Any]] | None = None) -> str:
    """Hash of the shard names, formats, sizes and modification times (``idents``: already stat'ed)."""
    idents = idents or {}
    ident = [[s.name, s.format, *(idents.get(s.path) or input_identity(s.path)).values()] for s in shards]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def describe_change(previous: dict[str, Any], current: dict[str, Any]) -> str:
    """Say in words what differs between two run identities (manifest dicts)."""
    changes = []
    if previous.get("config_fingerprint", previous.get("fingerprint")) != current.get("config_fingerprint"):
        changes.append("the configuration")
    if previous.get("datacraft") != current.get("datacraft"):
        changes.append(f"the datacraft version ({previous.get('datacraft')} → {current.get('datacraft')})")
    old_side, new_side = previous.get("side_files") or {}, current.get("side_files") or {}
    changed = sorted(k for k in set(old_side) | set(new_side) if old_side.get(k) != new_side.get(k))
    if changed:
        changes.append("the contents of " + ", ".join(changed[:5]) + (" …" if len(changed) > 5 else ""))
    if previous.get("input_fingerprint") != current.get("input_fingerprint"):
        changes.append("the input files (names, sizes or modification times)")
    return ", ".join(changes) or "the run identity"


def run_identity(
    config_fp: str,
    stage_params: Iterable[dict[str, Any]],
    shards: list[Shard],
    idents: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything that identifies a run's output, as recorded in ``_run.json``."""
    side = side_files(stage_params)
    return {
        "fingerprint": content_fingerprint(config_fp, side),
        "config_fingerprint": config_fp,
        "datacraft": __version__,
        "side_files": side,
        "input_fingerprint": input_set_fingerprint(shards, idents),
    }


def same_run(previous: dict[str, Any], current: dict[str, Any]) -> bool:
    """True when a manifest was written by a run of the same identity (contents and input set)."""
    return previous.get("fingerprint") == current["fingerprint"] and previous.get("input_fingerprint") == current.get(
        "input_fingerprint"
    )
