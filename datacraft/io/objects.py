"""Simple operations on paths that may be URLs: open, size, identity (ETag), delete a tree, check access."""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import IO, Any

from datacraft.errors import StorageError
from datacraft.io.remote import RemotePath, as_path, check_writable
from datacraft.io.scratch import clean_dead_staging
from datacraft.io.storage_errors import storage_errors


def open_input(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a file or object for binary reading (a seekable stream)."""
    p = as_path(path)
    if isinstance(p, RemotePath):
        return p.open("rb")
    return open(p, "rb")


def parquet_source(path: str | os.PathLike[str] | RemotePath) -> Any:
    """What to hand to ``pyarrow.parquet.ParquetFile``: the local path, or an open (seekable) remote file."""
    p = as_path(path)
    return p.open("rb") if isinstance(p, RemotePath) else p


def size(path: str | os.PathLike[str] | RemotePath) -> int:
    """Size in bytes."""
    return as_path(path).stat().st_size


def identity(path: str) -> dict[str, Any]:
    """What identifies an input's contents cheaply: size and mtime (local), size and ETag (object stores)."""
    p = as_path(path)
    if isinstance(p, RemotePath):
        info = p.stat().info
        tag = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("sha") or ""
        if not tag:
            mtime = info.get("LastModified") or info.get("mtime") or info.get("updated") or ""
            tag = str(mtime)
        return {"size": int(info.get("size") or 0), "etag": str(tag).strip('"')}
    st = os.stat(p)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def rmtree(path: str | os.PathLike[str] | RemotePath) -> None:
    """Delete a folder and everything under it (missing is fine)."""
    p = as_path(path)
    if isinstance(p, RemotePath):
        with storage_errors(p.url), contextlib.suppress(FileNotFoundError):
            files = p.fs.find(p.key, detail=False, withdirs=False)
            if files:
                p.fs.rm(files)
        return
    shutil.rmtree(p, ignore_errors=True)


def check_access(path: str, write: bool = False) -> None:
    """Fail early, with one clear line, when a URL's store cannot be used (credentials, bucket, driver)."""
    p = as_path(path)
    if not isinstance(p, RemotePath):
        return
    if write:
        check_writable(p)
        clean_dead_staging()  # what a killed run on this host left in the local staging folder
    bucket = p.key.split("/", 1)[0]
    if p.proto not in ("s3", "s3a", "gs", "gcs"):
        return
    with storage_errors(p.url):
        try:
            p.fs.ls(bucket, detail=False, refresh=True)  # raises for missing credentials or bucket
        except FileNotFoundError:
            raise StorageError(f"{p.url}: the bucket {bucket!r} does not exist (create it first)") from None
