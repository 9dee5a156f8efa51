"""Small file-system helpers that run bookkeeping goes through (one place to swap in a remote filesystem)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import xxhash

from datacraft.io import fs

_CHUNK = 1 << 20


def file_size(path: str | Path) -> int | None:
    """Size of a file in bytes, or None when it does not exist or is not a file."""
    if fs.is_url(path):
        p = fs.as_path(path)
        return fs.size(p) if p.is_file() else None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def file_checksum(path: str | Path) -> str:
    """``xxh3_64:<hex>`` of a file's bytes (streamed)."""
    h = xxhash.xxh3_64()
    with fs.as_path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return f"xxh3_64:{h.hexdigest()}"


def local_digest(path: str | Path) -> tuple[int, str]:
    """Size and ``xxh3_64:<hex>`` of a local file, in one read (for markers: before its upload or rename)."""
    h = xxhash.xxh3_64()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, f"xxh3_64:{h.hexdigest()}"


def remove_file(path: str | Path) -> None:
    """Delete a file if it exists."""
    fs.as_path(path).unlink(missing_ok=True)


def walk_files(root: str | Path) -> Iterator[Path]:  # a RemotePath for URLs
    """Every file under ``root`` (recursively, unordered); nothing when ``root`` does not exist."""
    if fs.is_url(root):
        r = fs.as_path(root)
        if r.is_dir():
            yield from (p for p in r.rglob("*") if p.is_file())
        return
    stack = [str(root)]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            else:
                yield Path(e.path)


def real(path: str | Path) -> Path:
    """The absolute, symlink-resolved form of a local path (for comparing inputs and outputs)."""
    return Path(os.path.realpath(os.path.abspath(os.path.expanduser(str(path)))))
