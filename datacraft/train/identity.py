"""The identity of the data a model was trained on: every file's name, size and content checksum.

A model directory records it in its manifest; ``train`` into that directory with data of another
identity is refused (exit 2) unless ``--force`` replaces the model. Checksums are xxh3-64 of the
file bytes, streamed (one read per file, far cheaper than the tokenization that follows).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import xxhash

CHUNK = 1 << 20


def file_checksum(path: str | Path) -> str:
    """xxh3-64 of a file's bytes (hex)."""
    h = xxhash.xxh3_64()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _common_root(files: list[str]) -> str:
    if not files:
        return ""
    if len(files) == 1:
        return os.path.dirname(os.path.abspath(files[0]))
    return os.path.commonpath([os.path.abspath(f) for f in files])


def data_identity(files: list[str]) -> dict[str, Any]:
    """``{"digest", "root", "files": [{"path", "bytes", "xxh3"}]}``; paths relative to their common
    folder, so a moved copy of the same data has the same digest."""
    root = _common_root(files)
    entries = []
    for f in files:
        rel = os.path.relpath(os.path.abspath(f), root) if root else f
        entries.append({"path": rel, "bytes": os.path.getsize(f), "xxh3": file_checksum(f)})
    entries.sort(key=lambda e: e["path"])
    digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()[:16]
    return {"digest": digest, "root": root, "files": entries}


def describe_difference(old: dict[str, Any], new: dict[str, Any], limit: int = 3) -> str:
    """A short human account of how two identities differ (added/removed/changed files)."""
    a = {e["path"]: e for e in old.get("files", [])}
    b = {e["path"]: e for e in new.get("files", [])}
    added = sorted(set(b) - set(a))
    removed = sorted(set(a) - set(b))
    changed = sorted(p for p in set(a) & set(b) if (a[p]["bytes"], a[p]["xxh3"]) != (b[p]["bytes"], b[p]["xxh3"]))
    parts = []
    for label, names in (("changed", changed), ("added", added), ("removed", removed)):
        if names:
            more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
            parts.append(f"{label}: {', '.join(names[:limit])}{more}")
    return "; ".join(parts) or f"{len(b)} file(s), digest {old.get('digest')} → {new.get('digest')}"
