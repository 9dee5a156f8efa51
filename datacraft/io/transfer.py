"""Moving whole files between local disk and a store: commit by upload, cached reads, folder mirrors."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from datacraft.io.objects import check_access, identity
from datacraft.io.remote import RemotePath, as_path, check_writable
from datacraft.io.scratch import scratch_dir, scratch_for
from datacraft.io.storage_errors import storage_errors


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str] | RemotePath) -> None:
    """Move the finished local file ``src`` to ``dst``: a rename locally, an upload (then delete) to a store."""
    target = as_path(dst)
    if isinstance(target, RemotePath):
        check_writable(target)
        with storage_errors(target.url, writing=True):
            target.fs.put_file(os.fspath(src), target.key)
        os.unlink(src)
        return
    os.replace(src, target)


def local_copy(path: str | os.PathLike[str] | RemotePath) -> str:
    """A local file with the contents of ``path``: the path itself, or a cached download of the object.

    The cache (under :func:`scratch_dir`) is keyed by URL, size and ETag, so a changed object is fetched again.
    """
    p = as_path(path)
    if not isinstance(p, RemotePath):
        return str(p)
    with storage_errors(p.url):
        ident = identity(p.url)
        key = hashlib.sha256(f"{p.url}|{ident['size']}|{ident['etag']}".encode()).hexdigest()[:24]
        dest = scratch_dir() / "cache" / f"{key}-{p.name}"
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
            p.fs.get_file(p.key, str(tmp))
            os.replace(tmp, dest)
    return str(dest)


def download_dir(url: str | RemotePath, dest: Path) -> Path:
    """Copy every object under ``url`` into the local folder ``dest`` (emptied first); return ``dest``."""
    p = as_path(url)
    assert isinstance(p, RemotePath)
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    with storage_errors(p.url):
        for key in p.fs.find(p.key, withdirs=False):
            rel = key[len(p.key) :].lstrip("/")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            p.fs.get_file(key, str(target))
    return dest


def upload_dir(src: Path, url: str | RemotePath, last: str | None = None) -> None:
    """Mirror the local folder ``src`` to ``url``: upload every file (``last`` after all others), delete the rest."""
    p = as_path(url)
    assert isinstance(p, RemotePath)
    check_writable(p)
    files = sorted(f for f in src.rglob("*") if f.is_file())
    files.sort(key=lambda f: f.name == last)
    keep = set()
    with storage_errors(p.url, writing=True):
        try:
            existing = set(p.fs.find(p.key, withdirs=False))
        except FileNotFoundError:
            existing = set()
        for f in files:
            key = f"{p.key}/{f.relative_to(src).as_posix()}"
            keep.add(key)
            p.fs.put_file(str(f), key)
        stale = sorted(existing - keep)
        if stale:
            p.fs.rm(stale)


def local_dir(path: str) -> str:
    """A local folder with the contents of ``path``: the path itself, or a fresh download of the URL's objects."""
    p = as_path(path)
    if not isinstance(p, RemotePath):
        return str(p)
    return str(download_dir(p, scratch_for(p.url, "dirs")))


@contextlib.contextmanager
def synced_dir(path: str, last: str | None = None) -> Iterator[str]:
    """A local folder to work in for ``path``: itself, or (for a URL) a download uploaded back on exit.

    The upload happens on failure too (a killed process excepted), so a rerun resumes from what was
    saved; ``last`` names the file uploaded after all others (the completion manifest).
    """
    p = as_path(path)
    if not isinstance(p, RemotePath):
        yield str(p)
        return
    check_access(p.url, write=True)
    local = download_dir(p, scratch_for(p.url, "dirs"))
    try:
        yield str(local)
    finally:
        upload_dir(local, p, last=last)
