"""A local cache of derived read-only arrays (the fast engine's tables), memory-mapped when loaded.

Building the fast engine's tables from langdetect's profiles costs ~0.5–1 CPU-s per process; loading
them from ``.npy`` files costs almost nothing. The cache is a folder per key under
``$DATACRAFT_CACHE`` (default ``$XDG_CACHE_HOME/datacraft`` or ``~/.cache/datacraft``); the key is a
hash of everything the arrays are derived from (the caller's inputs, including the source of the code
that builds them), so a stale entry is never read. Entries are written to a temporary folder and
renamed whole; any failure to read or write simply means building again. ``DATACRAFT_CACHE=off``
disables it.

Entries of other versions (another checkout, edited code, new tables) are pruned: reading an entry
marks it used (the mtime of its ``meta.json``, at most once an hour), and writing a new one removes
the entries of the same name unused for :data:`AUTO_PRUNE_DAYS` days, and builders' leftovers older
than :data:`LEFTOVER_SECONDS`. Only folders of our own naming are touched (``<name>-<32 hex>`` holding a
``meta.json``, and ``.<name>-…`` temporary folders). An entry is renamed away before it is deleted, and
entries are never changed once in place, so a process reading one either has it (memory-mapped files
stay readable after deletion) or fails to load it and builds again. ``datacraft cache`` lists the
entries and prunes on demand.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def cache_root() -> Path | None:
    """The cache folder, or None when disabled."""
    env = os.environ.get("DATACRAFT_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "datacraft"


def cache_key(*parts: bytes | str) -> str:
    """A hex key from the byte or text parts an entry is derived from."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:32]


def load_arrays(name: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The arrays (memory-mapped, read-only) and JSON metadata of entry ``name``/``key``, or None."""
    root = cache_root()
    if root is None:
        return None
    folder = root / f"{name}-{key}"
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        arrays = {a: np.load(folder / f"{a}.npy", mmap_mode="r", allow_pickle=False) for a in meta["arrays"]}
    except (OSError, ValueError, KeyError):
        return None
    mark_used(folder / "meta.json")
    return arrays, meta["meta"]


def save_arrays(name: str, key: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write entry ``name``/``key`` (atomically: a whole folder renamed into place); errors are ignored."""
    root = cache_root()
    if root is None:
        return
    final = root / f"{name}-{key}"
    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        for a, value in arrays.items():
            np.save(tmp / f"{a}.npy", np.ascontiguousarray(value), allow_pickle=False)
        (tmp / "meta.json").write_text(json.dumps({"arrays": list(arrays), "meta": meta}), encoding="utf-8")
        os.rename(tmp, final)  # fails if another process got there first: theirs is the same
        tmp = None
    except OSError:
        return
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    # a new entry (new code or tables): entries of other versions of this name may be long unused
    prune(root, keep={final.name}, unused_for=AUTO_PRUNE_DAYS * 86400, names={name})


#: Entries of other versions unused for this many days are removed when a new entry is written.
AUTO_PRUNE_DAYS = 7
#: A temporary folder older than this is a dead builder's leftover (a build takes seconds).
LEFTOVER_SECONDS = 3600
#: How often (seconds) reading an entry refreshes its last-used time.
USED_RESOLUTION = 3600
_ENTRY = re.compile(r"(?P<name>[a-z][a-z0-9-]*)-(?P<key>[0-9a-f]{32})")
_LEFTOVER = re.compile(r"\.(?P<name>[a-z][a-z0-9-]*)-[A-Za-z0-9_]+")


def mark_used(meta: Path) -> None:
    """Set ``meta``'s mtime to now (the entry's last use), unless done within the last hour; errors ignored."""
    try:
        if time.time() - meta.stat().st_mtime > USED_RESOLUTION:
            os.utime(meta)
    except OSError:
        pass


@dataclass(frozen=True)
class Entry:
    """One folder of the cache: an entry (``key`` set) or a temporary folder left by a builder."""

    path: Path
    name: str
    key: str | None
    size: int
    last_used: float  # entry: mtime of meta.json; temporary folder: its own mtime


def _size(folder: Path) -> int:
    total = 0
    for p in folder.iterdir():
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def list_entries(root: Path) -> list[Entry]:
    """The cache's entries and leftovers (only folders of our naming), by name then last use (newest first)."""
    out = []
    try:
        children = list(root.iterdir())
    except OSError:
        return []
    for p in children:
        entry, leftover = _ENTRY.fullmatch(p.name), _LEFTOVER.fullmatch(p.name)
        try:
            if entry and (p / "meta.json").is_file():
                out.append(Entry(p, entry["name"], entry["key"], _size(p), (p / "meta.json").stat().st_mtime))
            elif leftover and p.is_dir() and not p.is_symlink():
                out.append(Entry(p, leftover["name"], None, _size(p), p.stat().st_mtime))
        except OSError:
            continue
    return sorted(out, key=lambda e: (e.name, e.key is None, -e.last_used, e.path.name))


def remove_entry(entry: Entry) -> bool:
    """Delete an entry: renamed away first (readers never see half of it), then removed; False if gone already."""
    trash = entry.path
    if entry.key is not None:
        trash = entry.path.with_name(f".{entry.name}-trash{os.getpid()}_{entry.key}")
        try:
            os.rename(entry.path, trash)
        except OSError:
            return False
    shutil.rmtree(trash, ignore_errors=True)
    return True


def prune(
    root: Path, keep: set[str], unused_for: float, names: set[str] | None = None, now: float | None = None
) -> list[Entry]:
    """Remove entries not in ``keep`` (folder names) unused for ``unused_for`` seconds, and leftovers older
    than :data:`LEFTOVER_SECONDS` (of ``names`` only, when given); returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    for e in list_entries(root):
        if (names is not None and e.name not in names) or e.path.name in keep:
            continue
        age = now - e.last_used
        if (age >= LEFTOVER_SECONDS if e.key is None else age >= unused_for) and remove_entry(e):
            removed.append(e)
    return removed
