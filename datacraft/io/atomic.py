"""Atomic file writes: write to a hidden temporary name, rename when complete.

For a URL (an object store has no rename) the temporary file is a local staging file, uploaded as
the final object on completion (see :mod:`datacraft.io.fs`): readers see the whole object or none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datacraft.io import fs


def tmp_path_for(final: str | Path | fs.RemotePath, keep_suffix: bool = False) -> Path:
    """The temporary name a file is written under before it is renamed (or uploaded) to ``final``.

    ``keep_suffix`` ends the name with ``final``'s suffix, for writers that insist on one (Keras).
    """
    final = fs.as_path(final)
    suffix = final.suffix if keep_suffix else ""
    tag = fs.tmp_tag()
    if isinstance(final, fs.RemotePath):
        fs.clean_dead_staging()
        staged = fs.staging_path(final, tag)
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged.with_name(staged.name + suffix)
    return final.with_name(f".{final.name}.{tag}{suffix}")


@contextmanager
def atomic_path(path: str | Path | fs.RemotePath, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary local path to write; move it to ``path`` on success, delete it on failure."""
    path = fs.as_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(path, keep_suffix)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fs.replace(tmp, path)


def write_bytes_atomic(path: str | Path | fs.RemotePath, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    target = fs.as_path(path)
    if isinstance(target, fs.RemotePath):  # one PUT: the object appears whole
        target.write_bytes(data)
        return
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_text_atomic(path: str | Path | fs.RemotePath, text: str) -> None:
    """Text variant of :func:`write_bytes_atomic` (UTF-8)."""
    write_bytes_atomic(path, text.encode("utf-8"))
