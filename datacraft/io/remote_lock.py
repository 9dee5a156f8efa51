"""A writer lock on an object-store output: ``OUT/_lock`` created by a conditional PUT.

S3 creates an object with ``If-None-Match: *`` only when none exists (AWS since 2024; MinIO, moto and
others too), so exactly one writer creates the lock. The holder rewrites it every ``ttl / 5`` seconds
(``If-Match`` its own ETag) with a fresh heartbeat time; a lock whose heartbeat is older than the TTL
(``DATACRAFT_LOCK_TTL`` seconds, default 300), or whose holder ran on this host and is gone, is taken
over by a conditional overwrite of exactly that version.

The heartbeat's age is measured on the store's own clock, never by comparing two hosts' clocks: the
lock object's ``Last-Modified`` (set by the store on the holder's last write) against the ``Date`` of
the store's answer to the read (both whole seconds). Only a store that sends no ``Date`` header falls
back to this host's clock against ``Last-Modified``. The ``heartbeat`` fields in the lock's body are
for people to read. A store that ignores or refuses the
condition gets no lock, with a warning (one writer per prefix is then the user's to ensure).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from datacraft.errors import DatacraftError, OutputLockedError
from datacraft.io import fs

log = logging.getLogger(__name__)

TTL_ENV = "DATACRAFT_LOCK_TTL"
DEFAULT_TTL = 300.0


class Unsupported(DatacraftError):
    """The store does not honour conditional writes (caught by :func:`datacraft.io.lock.output_lock`).

    A DatacraftError so that :func:`datacraft.io.fs.storage_errors` lets it through unchanged."""


def lock_ttl() -> float:
    """Seconds after its last heartbeat that a lock is stale (``DATACRAFT_LOCK_TTL``)."""
    try:
        return max(1.0, float(os.environ.get(TTL_ENV) or DEFAULT_TTL))
    except ValueError:
        return DEFAULT_TTL


def _code(err: BaseException) -> str:
    """The S3 error code behind an s3fs exception (``PreconditionFailed``, ``NotImplemented``…), or ''."""
    cause = err.__cause__ or err.__context__
    response = getattr(cause, "response", None) or getattr(err, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    if isinstance(err, FileExistsError):
        return "PreconditionFailed"
    if isinstance(err, OSError) and err.errno == errno.ENOSYS:
        return "NotImplemented"
    return ""


def _precondition_failed(err: BaseException) -> bool:
    return isinstance(err, FileExistsError) or _code(err) in ("PreconditionFailed", "412", "ConditionalRequestConflict")


def _unsupported(err: BaseException) -> bool:
    return _code(err) in ("NotImplemented", "501", "InvalidArgument", "InvalidRequest")


def holder_text(info: dict[str, Any], age: float | None = None) -> str:
    """``pid P on host H since T (command), last heartbeat N s ago`` for messages (``age``: seconds
    since the lock's last write, on the store's clock)."""
    ago = f", last heartbeat {max(0.0, age):.0f} s ago" if age is not None else ""
    return (
        f"pid {info.get('pid')} on host {info.get('host')} since {info.get('started')} "
        f"({info.get('command') or 'datacraft'}){ago}"
    )


def lock_age(response: dict[str, Any]) -> float | None:
    """Seconds since the object of a GetObject ``response`` was last written, on the store's clock: its
    ``LastModified`` against the answer's ``Date`` header (this host's clock when the store sends no
    ``Date``); None without ``LastModified``."""
    modified = response.get("LastModified")
    if not isinstance(modified, datetime):
        return None
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    try:
        now = parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError, IndexError):
        log.debug("no Date header from the store: the lock's age is judged on this host's clock")
        now = datetime.now(UTC)
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now - modified).total_seconds()


class S3Lock:
    """The lock object of one output prefix on an S3-compatible store."""

    def __init__(self, root: fs.RemotePath, command: str = "", ttl: float | None = None) -> None:
        self.path = root / "_lock"
        self.bucket, _, self.key = self.path.key.partition("/")
        self.ttl = ttl if ttl is not None else lock_ttl()
        self.etag: str | None = None
        self.lost = False
        self.info = {
            "pid": os.getpid(),
            "host": fs.HOST,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": command or " ".join(["datacraft", *sys.argv[1:]])[:500],
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- requests
    def _body(self) -> bytes:
        now = time.time()
        beat = {"heartbeat": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "heartbeat_unix": now}
        return json.dumps({**self.info, **beat, "ttl_seconds": self.ttl}).encode()

    def _put(self, **condition: str) -> str:
        out = self.path.fs.call_s3("put_object", Bucket=self.bucket, Key=self.key, Body=self._body(), **condition)
        return str(out.get("ETag", ""))

    def _read(self) -> tuple[dict[str, Any], str, float | None] | None:
        """The current lock's contents, ETag and age (of the same version; :func:`lock_age`), or None when
        there is none."""
        from fsspec.asyn import sync

        store = self.path.fs

        async def get() -> tuple[bytes, str, float | None]:
            out = await store._call_s3("get_object", Bucket=self.bucket, Key=self.key)
            body = out["Body"]
            try:
                return await body.read(), str(out.get("ETag", "")), lock_age(out)
            finally:
                body.close()

        try:
            data, etag, age = sync(store.loop, get)
        except FileNotFoundError:
            return None
        try:
            info = json.loads(data)
        except ValueError:
            info = {}
        return (info if isinstance(info, dict) else {}), etag, age

    def _stale(self, info: dict[str, Any], age: float | None) -> bool:
        """Stale: no heartbeat within the TTL (``age`` on the store's clock; unknown: stale), or its holder
        ran on this host and is gone."""
        if age is None or age > self.ttl:
            return True
        if info.get("host") == fs.HOST and isinstance(info.get("pid"), int):
            return not fs.pid_alive(int(info["pid"]))  # a holder on this host that died (kill -9)
        return False

    # -- protocol
    def acquire(self) -> None:
        """Create (or take over a stale) lock; OutputLockedError when held, Unsupported without conditions."""
        with fs.storage_errors(self.path.url, writing=True):
            for _ in range(5):
                try:
                    self.etag = self._put(IfNoneMatch="*")
                except Exception as e:
                    if _unsupported(e):
                        raise Unsupported(str(e)) from None
                    if not _precondition_failed(e):
                        raise
                else:
                    self._check_honoured()
                    self._start_heartbeat()
                    return
                current = self._read()
                if current is None:
                    continue  # released meanwhile: try to create it again
                info, etag, age = current
                if not self._stale(info, age):
                    raise OutputLockedError(
                        f"{self.path.parent} is being written by {holder_text(info, age)}; wait for it to finish or "
                        f"stop it (a lock whose heartbeat is older than {self.ttl:.0f} s ({TTL_ENV}), or whose "
                        f"holder on this host died, is taken over automatically)"
                    )
                try:
                    self.etag = self._put(IfMatch=etag)  # take over exactly the stale version
                except Exception as e:
                    if _unsupported(e):
                        raise Unsupported(str(e)) from None
                    if not (_precondition_failed(e) or isinstance(e, FileNotFoundError)):
                        raise
                    continue  # another writer took it over first, or it was released: look again
                log.warning("took over the stale lock of %s: %s", self.path.parent, holder_text(info, age))
                self._start_heartbeat()
                return
        raise OutputLockedError(f"{self.path.parent}: could not take its lock (writers keep racing for it); retry")

    def _check_honoured(self) -> None:
        """A second exclusive create must fail; a store that lets it through ignores the condition."""
        try:
            self.etag = self._put(IfNoneMatch="*")
        except Exception as e:
            if _precondition_failed(e):
                return
            raise
        self.path.fs.call_s3("delete_object", Bucket=self.bucket, Key=self.key)
        raise Unsupported("the store accepted a second exclusive create (If-None-Match is ignored)")

    def _start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="datacraft-lock-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        interval = max(0.2, self.ttl / 5)
        while not self._stop.wait(interval):
            try:
                self.etag = self._put(IfMatch=self.etag or "*")
            except Exception as e:
                if _precondition_failed(e) or isinstance(e, FileNotFoundError):
                    self.lost = True
                    log.error(
                        "the lock of %s was taken over by another writer (this run looked stale): stop one "
                        "of the two runs, then rerun",
                        self.path.parent,
                    )
                    return
                log.warning("could not refresh the lock of %s (%s); retrying", self.path.parent, e)

    def release(self) -> None:
        """Stop the heartbeat and delete the lock if it is still this run's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.lost or self.etag is None:
            return
        try:
            self.path.fs.call_s3("delete_object", Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except Exception as e:  # the run is over; a lock left behind goes stale
            if not (_precondition_failed(e) or isinstance(e, FileNotFoundError)):
                log.warning("could not delete the lock of %s (%s)", self.path.parent, e)
