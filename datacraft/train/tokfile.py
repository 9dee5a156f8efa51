"""The flat token cache of a split: every document's token ids followed by ``[EOS]``, one file.

``cache/{split}.tokens`` holds the whole token stream of a split as little-endian ``uint16`` (vocab
≤ 65,536) or ``uint32``; ``cache/meta.json`` (written last, atomically) names the dtype, the token
count of each file and the *key* of the cache: data identity digest, tokenizer checksum, labels and
the config fields that decide which documents land in which split. A cache is reused only when its
meta.json exists, its key equals the current key and every file has the recorded size; a build that
was killed never wrote meta.json (the old one is removed before a rebuild starts), so it is rebuilt.

Readers use ``os.pread`` of the ranges they need (no memory map: touched mapped pages would count
in the process RSS and grow it with the corpus over an epoch).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from datacraft.io.atomic import write_text_atomic

META = "meta.json"
SUFFIX = ".tokens"
META_FORMAT = "datacraft-token-cache"
META_VERSION = 1


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype holding every id of the vocabulary."""
    return np.dtype("<u2") if vocab_size <= 1 << 16 else np.dtype("<u4")


def cache_key(parts: dict[str, Any]) -> str:
    """A short stable digest of the things that decide a cache's content."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


class TokenWriter:
    """Appends documents (each followed by ``eos``) to ``SPLIT.tokens.tmp``; :meth:`commit` renames it."""

    def __init__(self, path: Path, dtype: np.dtype, eos_id: int) -> None:
        self.path, self.dtype, self.eos = path, dtype, eos_id
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.fh: BinaryIO | None = open(self.tmp, "wb")  # noqa: SIM115 - closed by commit/abort
        self.tokens = 0

    def add(self, flat: np.ndarray, ends: np.ndarray) -> None:
        """Documents given as their concatenated ids and the end offset of each in ``flat``."""
        assert self.fh is not None
        stream = np.insert(flat.astype(self.dtype, copy=False), ends, self.eos)
        stream.tofile(self.fh)
        self.tokens += len(stream)

    def commit(self) -> int:
        """Flush, fsync and move the file into place; returns its token count."""
        assert self.fh is not None
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        self.fh = None
        os.replace(self.tmp, self.path)
        return self.tokens

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        self.tmp.unlink(missing_ok=True)


def write_meta(cache_dir: Path, dtype: np.dtype, eos_id: int, tokens: dict[str, int], key: str | None) -> None:
    meta = {
        "format": META_FORMAT,
        "version": META_VERSION,
        "dtype": dtype.str,
        "eos_id": eos_id,
        "tokens": tokens,
        "key": key,
    }
    write_text_atomic(cache_dir / META, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def read_meta(cache_dir: Path) -> dict[str, Any] | None:
    """The cache's meta.json, or None when absent/unreadable/another format."""
    try:
        meta = json.loads((cache_dir / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT or meta.get("version") != META_VERSION:
        return None
    return meta


def cache_valid(cache_dir: Path, key: str, splits: tuple[str, ...] = ("train", "val")) -> bool:
    """True when the cache was completed with this ``key`` and its token files are intact in size."""
    meta = read_meta(cache_dir)
    if meta is None or meta.get("key") != key:
        return False
    itemsize = np.dtype(meta["dtype"]).itemsize
    for s in splits:
        p = cache_dir / f"{s}{SUFFIX}"
        if not p.is_file() or p.stat().st_size != itemsize * int(meta["tokens"].get(s, -1)):
            return False
        if not (cache_dir / f"{s}.parquet").is_file():
            return False
    return True


def invalidate(cache_dir: Path) -> None:
    """Remove meta.json first, so a build killed after this point is never taken as complete."""
    (cache_dir / META).unlink(missing_ok=True)


class TokenFile:
    """Read access to one split's token stream by ranges (``os.pread``), as int32."""

    def __init__(self, path: Path, dtype: np.dtype | str) -> None:
        self.path, self.dtype = Path(path), np.dtype(dtype)
        self.tokens = self.path.stat().st_size // self.dtype.itemsize

    @classmethod
    def open(cls, cache_dir: Path, split: str) -> TokenFile:
        meta = read_meta(cache_dir)
        if meta is None:
            raise FileNotFoundError(f"{cache_dir}: no token cache ({META} missing)")
        return cls(cache_dir / f"{split}{SUFFIX}", meta["dtype"])

    def windows(self, seq_len: int) -> int:
        """Windows of ``seq_len + 1`` tokens with stride ``seq_len`` in this stream."""
        return max(0, (self.tokens - 1) // seq_len)

    def reader(self) -> RangeReader:
        return RangeReader(self.path, self.dtype)


class RangeReader:
    """An open file descriptor reading token ranges; use as a context manager."""

    def __init__(self, path: Path, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.fd = os.open(path, os.O_RDONLY)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Tokens ``start`` … ``stop - 1`` as int32."""
        size = self.dtype.itemsize
        want = (stop - start) * size
        buf = os.pread(self.fd, want, start * size)
        if len(buf) != want:
            raise OSError(f"token cache truncated: wanted {want} bytes at {start * size}, got {len(buf)}")
        return np.frombuffer(buf, dtype=self.dtype).astype(np.int32)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
