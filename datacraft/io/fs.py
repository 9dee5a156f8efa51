"""Paths that may be URLs: local files, or object stores through fsspec (``s3://``, ``gs://``, ``hf://``, ``https://``).

Every path datacraft reads or writes goes through here. A local path stays a :class:`pathlib.Path` and
uses the operating system directly (rename makes writes atomic). A URL becomes a :class:`RemotePath`
over an fsspec filesystem (s3fs, gcsfs, huggingface_hub, HTTP), configured the standard way (for S3:
``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ~/.aws files).

Object stores have no rename, so files are *staged*: written under a local scratch folder
(``DATACRAFT_SCRATCH``, default the system temp folder) and uploaded as the final object on commit
(:func:`replace`); a PUT makes an object appear whole or not at all. Completion markers are written
last and list each file's size, so a run killed between two uploads is redone, never trusted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from datacraft.errors import DatacraftError

T = TypeVar("T")

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+)://")
#: Protocols that can be written; the others (hf, http, https) are read-only here.
WRITABLE = {"s3", "s3a", "gs", "gcs", "memory", "file"}
#: The extra that brings each protocol's fsspec implementation.
_EXTRA = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "hf": "hf", "http": "cloud", "https": "cloud"}


#: This host's short name: with the pid it tags temporary and staging files, so two attempts of a task on
#: hosts sharing a filesystem (a Ray retry beside a still-running zombie) never write the same file.
HOST = socket.gethostname().split(".")[0] or "host"


def tmp_tag() -> str:
    """``tmp-<host>-<pid>``: the tag of this process's temporary and staging files."""
    return f"tmp-{HOST}-{os.getpid()}"


class StorageError(DatacraftError):
    """A remote store cannot be reached or used: credentials, bucket, permissions (exit 1)."""

    exit_code = 1


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


def _describe(err: BaseException, where: str) -> str:
    name = type(err).__name__
    text = str(err).strip().splitlines()[0] if str(err).strip() else name
    if name in ("NoCredentialsError", "PartialCredentialsError") or "Unable to locate credentials" in text:
        return (
            f"{where}: no credentials for the object store ({text}); set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or ~/.aws/credentials), and AWS_ENDPOINT_URL for a "
            "store other than AWS"
        )
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower() or name == "NoSuchBucket":
        return f"{where}: the bucket does not exist ({text})"
    if isinstance(err, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return f"{where}: access denied ({text}); check the credentials and the bucket's permissions"
    if "EndpointConnectionError" in name or "Could not connect" in text or "Cannot connect" in text:
        return f"{where}: cannot reach the object store ({text}); check AWS_ENDPOINT_URL and the network"
    return f"{where}: {name}: {text}"


@contextlib.contextmanager
def storage_errors(where: str, writing: bool = False) -> Iterator[None]:
    """Turn a remote store's failures into one-line :class:`StorageError`.

    FileNotFoundError passes through when reading (callers handle a missing file); when writing it
    means the bucket is missing.
    """
    try:
        yield
    except DatacraftError:
        raise
    except FileNotFoundError as e:
        if not writing:
            raise
        raise StorageError(f"{where}: cannot write: the bucket does not exist or is not writable ({e})") from None
    except Exception as e:
        if type(e).__module__.split(".")[0] in ("builtins",) and not isinstance(e, OSError):
            raise
        raise StorageError(_describe(e, where)) from None


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
            _check_writable(self)
        with storage_errors(self.url, writing="r" not in mode):
            return self.fs.open(self.key, mode, encoding=encoding) if "b" not in mode else self.fs.open(self.key, mode)

    @_guard
    def read_bytes(self) -> bytes:
        return bytes(self.fs.cat_file(self.key))

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    @_guard
    def write_bytes(self, data: bytes) -> int:
        _check_writable(self)
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


def _check_writable(p: RemotePath) -> None:
    if p.proto not in WRITABLE:
        from datacraft.errors import ConfigError

        raise ConfigError(f"{p.url}: {p.proto}:// is read-only in datacraft; write to a local path, s3:// or gs://")


# -- simple operations on str paths ------------------------------------------------------------------


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


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str] | RemotePath) -> None:
    """Move the finished local file ``src`` to ``dst``: a rename locally, an upload (then delete) to a store."""
    target = as_path(dst)
    if isinstance(target, RemotePath):
        _check_writable(target)
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


def check_access(path: str, write: bool = False) -> None:
    """Fail early, with one clear line, when a URL's store cannot be used (credentials, bucket, driver)."""
    p = as_path(path)
    if not isinstance(p, RemotePath):
        return
    if write:
        _check_writable(p)
        clean_dead_staging()  # what a killed run on this host left in the local staging folder
    bucket = p.key.split("/", 1)[0]
    if p.proto not in ("s3", "s3a", "gs", "gcs"):
        return
    with storage_errors(p.url):
        try:
            p.fs.ls(bucket, detail=False, refresh=True)  # raises for missing credentials or bucket
        except FileNotFoundError:
            raise StorageError(f"{p.url}: the bucket {bucket!r} does not exist (create it first)") from None


def _scratch_for(url: str, kind: str) -> Path:
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return scratch_dir() / kind / f"{digest}-{url.rstrip('/').rsplit('/', 1)[-1]}"


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
    _check_writable(p)
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
    return str(download_dir(p, _scratch_for(p.url, "dirs")))


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
    local = download_dir(p, _scratch_for(p.url, "dirs"))
    try:
        yield str(local)
    finally:
        upload_dir(local, p, last=last)
