"""An advisory lock on an output directory: one writer at a time.

The lock is ``OUT/_lock``, held with ``flock`` for as long as the writer runs and holding JSON with
its pid, host, command and start time. The kernel releases ``flock`` when the holder dies (even by
SIGKILL), so a lock file left by a dead process is simply taken over by the next writer. On an
object store the lock is an object created by a conditional PUT (see :mod:`datacraft.io.remote_lock`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from datacraft.errors import OutputLockedError, OutputLockLostError
from datacraft.io import fs

LOCK_NAME = "_lock"
log = logging.getLogger(__name__)


def lock_path(out: str | Path) -> Path:
    """Where the lock of output directory ``out`` lives."""
    return Path(out) / LOCK_NAME


def _holder_text(path: Path) -> str:
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return "another process"
    return (
        f"pid {info.get('pid')} on host {info.get('host')} since {info.get('started')} "
        f"({info.get('command') or 'datacraft'})"
    )


def _try_lock(path: Path) -> int | None:
    """Open and flock ``path``; the fd when this process now holds it, None when another does."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the holder may have removed the file between our open and our flock: lock the new one
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextmanager
def _remote_lock(root: fs.RemotePath, command: str) -> Iterator[fs.RemotePath]:
    """The lock of an object-store output, or (without conditional writes) none and a warning."""
    from datacraft.io.remote_lock import S3Lock, Unsupported

    lock = S3Lock(root, command) if root.proto in ("s3", "s3a") else None
    why = "" if lock else f"{root.proto}:// has no conditional create in datacraft"
    if lock is not None:
        try:
            lock.acquire()
        except Unsupported as e:
            why = f"the store does not honour conditional writes: {e}"
    if why:
        log.warning("no writer lock on %s (%s): do not run two writers on it at once", root, why)
        yield root / LOCK_NAME
        return
    assert lock is not None
    try:
        yield lock.path
    finally:
        lock.release()
    if lock.lost:  # the block finished, but another writer held the output meanwhile: not a trusted result
        raise OutputLockLostError(
            f"the lock of {root} was taken over by another writer during this run (its heartbeat looked stale "
            f"to them): the output may mix both runs; stop the other writer, then rerun this command"
        )


@contextmanager
def output_lock(out: str | Path, command: str = "") -> Iterator[Path]:
    """Hold the lock of ``out`` (created if needed) for the block; OutputLockedError if held elsewhere.

    Object stores have no ``flock``: an ``s3://`` output gets a lock object created by a conditional
    PUT, kept alive by a heartbeat (:mod:`datacraft.io.remote_lock`). Where conditional writes are not
    honoured (other protocols, some S3-compatible stores) there is no lock, with a warning: one writer
    per output prefix is then the user's to ensure, as with Spark's and datatrove's committers.
    """
    if fs.is_url(out):
        with _remote_lock(fs.as_path(out), command) as path:  # type: ignore[arg-type]
            yield path  # type: ignore[misc]
        return
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    path = lock_path(root)
    fd = _try_lock(path)
    if fd is None:
        raise OutputLockedError(
            f"{root} is being written by {_holder_text(path)}; wait for it to finish or stop it "
            f"(a lock of a process that died is taken over automatically)"
        )
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command or " ".join(["datacraft", *sys.argv[1:]])[:500],
    }
    data = json.dumps(info).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    try:
        yield path
    finally:
        try:
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)
