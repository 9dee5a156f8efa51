"""The local scratch folder: staged uploads, cached downloads, and cleaning what dead processes left.

``DATACRAFT_SCRATCH`` (default the system temp folder) holds ``datacraft-scratch/staging`` (files written
before their upload; see :func:`datacraft.io.transfer.replace`), ``cache`` (read-back objects) and ``dirs``
(downloaded folders). A staged file is named with the host and pid of its writer, so the files of a process
that was killed (kill -9: nothing could clean up) are found and deleted by the next run on that host.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datacraft.io.remote import RemotePath

#: This host's short name: with the pid it tags temporary and staging files, so two attempts of a task on
#: hosts sharing a filesystem (a Ray retry beside a still-running zombie) never write the same file.
HOST = socket.gethostname().split(".")[0] or "host"


def tmp_tag() -> str:
    """``tmp-<host>-<pid>``: the tag of this process's temporary and staging files."""
    return f"tmp-{HOST}-{os.getpid()}"


def scratch_dir() -> Path:
    """Local folder for staged uploads and cached downloads: ``DATACRAFT_SCRATCH`` or the system temp folder."""
    root = Path(os.environ.get("DATACRAFT_SCRATCH") or tempfile.gettempdir()) / "datacraft-scratch"
    root.mkdir(parents=True, exist_ok=True)
    return root


def staging_path(final: RemotePath, tag: str) -> Path:
    """A local file to write before uploading it as ``final`` (unique per process and ``tag``)."""
    digest = hashlib.sha256(final.url.encode()).hexdigest()[:16]
    return scratch_dir() / "staging" / f"{digest}-{tag}-{final.name}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_staging(tag_prefix: str) -> int:
    """Delete staging files left by dead processes of this host (a run killed mid-upload); return how many.

    Staging files are named ``<hash>-<tag_prefix><pid>-<name>`` (see :func:`staging_path`): only names with
    this host's ``tag_prefix`` and a pid that no longer runs are removed; other hosts' and live files stay.
    """
    folder = scratch_dir() / "staging"
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    for e in entries:
        head, _, rest = e.name.partition("-")
        if len(head) != 16 or not rest.startswith(tag_prefix):
            continue
        pid_text = rest[len(tag_prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or pid_alive(int(pid_text)):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(e.path)
            removed += 1
    return removed


@functools.cache
def clean_dead_staging() -> int:
    """Once per process: :func:`clean_staging` for this host (called by the driver and by each writer)."""
    return clean_staging(f"tmp-{HOST}-")


def scratch_for(url: str, kind: str) -> Path:
    """A local folder of kind ``kind`` (``dirs``) for ``url``, named after it."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return scratch_dir() / kind / f"{digest}-{url.rstrip('/').rsplit('/', 1)[-1]}"
