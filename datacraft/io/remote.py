"""URLs as paths: :class:`RemotePath` over an fsspec filesystem (s3fs, gcsfs, huggingface_hub, HTTP).

A local path stays a :class:`pathlib.Path`; a URL becomes a :class:`RemotePath` whose methods are the
part of ``Path`` datacraft uses, each turning a store's failure into one-line :class:`StorageError`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from datacraft.io.storage_errors import storage_errors

T = TypeVar("T")

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")


#: Protocols that can be written; the others (hf, http, https) are read-only here.
WRITABLE = {"s3", "s3a", "gs", "gcs", "memory", "file"}


#: The extra that brings each protocol's fsspec implementation.
_EXTRA = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "hf": "hf", "http": "cloud", "https": "cloud"}


def protocol(path: str | os.PathLike[str]) -> str | None:
    """The URL scheme of ``path`` (``s3``, ``gs``, …), or None for a local path (``file://`` counts as local)."""
    m = _URL.match(str(path))
    if m is None:
        return None
    proto = m.group(1).lower()
    return None if proto == "file" else proto


def is_url(path: Any) -> bool:
    """Whether ``path`` names an object in a remote store rather than a local file."""
    return isinstance(path, RemotePath) or (isinstance(path, str) and protocol(path) is not None)


def _local(path: str) -> str:
    return path[len("file://") :] if path.lower().startswith("file://") else path


@functools.lru_cache(maxsize=16)
def filesystem(proto: str) -> Any:
    """The fsspec filesystem of a protocol (one per process), or a ConfigError saying which extra to install."""
    try:
        import fsspec

        fs = fsspec.filesystem(proto)
    except ImportError as e:
        from datacraft.errors import ConfigError

        extra = _EXTRA.get(proto, "cloud")
        raise ConfigError(
            f"{proto}:// paths need an fsspec driver that is not installed ({e}); "
            f"install it with: pip install 'datacraft[{extra}]'"
        ) from None
    except ValueError as e:
        from datacraft.errors import ConfigError

        raise ConfigError(f"{proto}:// is not a supported storage protocol ({e})") from None
    return fs


def reset() -> None:
    """Forget cached filesystem objects (after the environment that configures them changed)."""
    filesystem.cache_clear()
    with contextlib.suppress(ImportError):
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()


def _guard(fn: Callable[..., T]) -> Callable[..., T]:
    """Run a RemotePath method under :func:`storage_errors` (``write_*`` methods as writes)."""
    writing = fn.__name__.startswith("write")

    @functools.wraps(fn)
    def wrapper(self: RemotePath, *args: Any, **kw: Any) -> T:
        with storage_errors(self.url, writing=writing):
            return fn(self, *args, **kw)

    return wrapper


class _Stat:
    def __init__(self, info: dict[str, Any]) -> None:
        self.st_size = int(info.get("size") or 0)
        self.info = info


class RemotePath:
    """The part of :class:`pathlib.Path` datacraft uses, for a URL (no ``__fspath__``: os functions refuse it)."""

    __slots__ = ("_known_file", "proto", "url")

    def __init__(self, url: str, _known_file: bool = False) -> None:
        self._known_file = _known_file  # listed as a file: is_file() needs no request
        proto = protocol(url)
        if proto is None:
            raise ValueError(f"not a URL: {url!r}")
        rest = url[len(proto) + 3 :]
        rest = re.sub(r"/{2,}", "/", rest)
        self.proto = proto
        self.url = f"{proto}://{rest.rstrip('/') if rest.rstrip('/') else rest}"

    # -- names
    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"RemotePath({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    def __lt__(self, other: RemotePath) -> bool:
        return self.url < other.url

    def __truediv__(self, part: str) -> RemotePath:
        return RemotePath(f"{self.url}/{str(part).lstrip('/')}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemotePath, (self.url,))

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        return os.path.splitext(self.name)[1]

    @property
    def parent(self) -> RemotePath:
        head = self.url.rstrip("/").rsplit("/", 1)[0]
        return RemotePath(head) if "://" in head and head.split("://", 1)[1] else self

    @property
    def parents(self) -> list[RemotePath]:
        out, p = [], self.parent
        while p != (out[-1] if out else self):
            out.append(p)
            p = p.parent
        return out

    def with_name(self, name: str) -> RemotePath:
        return self.parent / name

    def resolve(self) -> RemotePath:
        return self

    @property
    def fs(self) -> Any:
        return filesystem(self.proto)

    @property
    def key(self) -> str:
        """The path as the filesystem names it (``bucket/key`` for S3)."""
        return self.fs._strip_protocol(self.url)

    def _child(self, key: str) -> RemotePath:
        return RemotePath(f"{self.proto}://{key}")

    # -- queries
    @_guard
    def exists(self) -> bool:
        return bool(self.fs.exists(self.key))

    @_guard
    def is_file(self) -> bool:
        return self._known_file or bool(self.fs.isfile(self.key))

    @_guard
    def is_dir(self) -> bool:
        return bool(self.fs.isdir(self.key))

    @_guard
    def stat(self) -> _Stat:
        return _Stat(self.fs.info(self.key))

    @_guard
    def iterdir(self) -> Iterator[RemotePath]:
        try:
            names = self.fs.ls(self.key, detail=False, refresh=True)
        except FileNotFoundError:
            return iter(())
        return iter(sorted(self._child(n) for n in names if n.rstrip("/") != self.key.rstrip("/")))

    @_guard
    def rglob(self, pattern: str) -> Iterator[RemotePath]:
        """Files (not folders) below this path whose name matches ``pattern``."""
        import fnmatch

        try:
            found = self.fs.find(self.key, detail=False, withdirs=False)
        except FileNotFoundError:
            return iter(())
        keys = sorted(k for k in found if fnmatch.fnmatch(k.rsplit("/", 1)[-1], pattern))
        return iter(RemotePath(f"{self.proto}://{k}", _known_file=True) for k in keys)

    @_guard
    def glob(self, pattern: str) -> Iterator[RemotePath]:
        """Files and folders directly in this folder whose name matches ``pattern``."""
        keys = sorted(self.fs.glob(f"{self.key}/{pattern}"))
        return iter(self._child(k) for k in keys)

    # -- reading and writing
    def open(self, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
        """Open for reading, or for writing (the object appears when the file is closed)."""
        if "r" not in mode:
            check_writable(self)
        with storage_errors(self.url, writing="r" not in mode):
            return self.fs.open(self.key, mode, encoding=encoding) if "b" not in mode else self.fs.open(self.key, mode)

    @_guard
    def read_bytes(self) -> bytes:
        return bytes(self.fs.cat_file(self.key))

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    @_guard
    def write_bytes(self, data: bytes) -> int:
        check_writable(self)
        self.fs.pipe_file(self.key, data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    @_guard
    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.rm_file(self.key)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Object stores have no folders: nothing to do (a bucket is never created here)."""


AnyPath = Path | RemotePath


def as_path(path: str | os.PathLike[str] | RemotePath) -> AnyPath:
    """``path`` as a :class:`pathlib.Path`, or a :class:`RemotePath` for a URL."""
    if isinstance(path, RemotePath):
        return path
    text = str(path)
    return RemotePath(text) if protocol(text) else Path(_local(text))


def resolve(path: str | os.PathLike[str]) -> str:
    """An absolute local path, or the URL unchanged: what to send to a worker on another machine."""
    text = str(path)
    if protocol(text) or text == "-":
        return str(as_path(text))
    return os.path.abspath(_local(text))


def join(base: str | os.PathLike[str] | RemotePath, *parts: str) -> str:
    """``base/part/…`` for local paths and URLs alike."""
    p = as_path(base)
    for part in parts:
        p = p / part
    return str(p)


def check_writable(p: RemotePath) -> None:
    """ConfigError (exit 2) for a protocol datacraft only reads (hf, http, https)."""
    if p.proto not in WRITABLE:
        from datacraft.errors import ConfigError

        raise ConfigError(f"{p.url}: {p.proto}:// is read-only in datacraft; write to a local path, s3:// or gs://")
