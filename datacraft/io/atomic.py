"""Atomic file writes: write to a hidden temporary name, rename when complete."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Host and process of this writer: two attempts of a task on different hosts of a cluster sharing a
#: filesystem (a Ray retry beside a still-running zombie) never write to the same temporary file.
_HOST = socket.gethostname().split(".")[0] or "host"


def tmp_path_for(final: str | Path, keep_suffix: bool = False) -> Path:
    """The temporary name a file is written under before it is renamed to ``final``.

    ``keep_suffix`` ends the name with ``final``'s suffix, for writers that insist on one (Keras).
    """
    final = Path(final)
    suffix = final.suffix if keep_suffix else ""
    return final.with_name(f".{final.name}.tmp-{_HOST}-{os.getpid()}{suffix}")


@contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; rename it to ``path`` on success, delete it on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(path, keep_suffix)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_text_atomic(path: str | Path, text: str) -> None:
    """Text variant of :func:`write_bytes_atomic` (UTF-8)."""
    write_bytes_atomic(path, text.encode("utf-8"))
