"""A local cache of derived read-only arrays (the fast engine's tables), memory-mapped when loaded.

Building the fast engine's tables from langdetect's profiles costs ~0.5–1 CPU-s per process; loading
them from ``.npy`` files costs almost nothing. The cache is a folder per key under
``$DATACRAFT_CACHE`` (default ``$XDG_CACHE_HOME/datacraft`` or ``~/.cache/datacraft``); the key is a
hash of everything the arrays are derived from (the caller's inputs, including the source of the code
that builds them), so a stale entry is never read. Entries are written to a temporary folder and
renamed whole; any failure to read or write simply means building again. ``DATACRAFT_CACHE=off``
disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
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
        pass
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
