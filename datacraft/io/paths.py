"""Turn input specs (files, directories, globs) into an ordered list of shards."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from datacraft.errors import InputError
from datacraft.io import fs

#: File suffixes (after stripping compression) mapped to reader formats.
FORMAT_SUFFIXES: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".warc": "warc",
    ".arc": "warc",
    ".wet": "warc",
}
COMPRESSION_SUFFIXES = (".gz", ".zst", ".zstd", ".bz2", ".xz")


@dataclass(frozen=True, slots=True)
class Shard:
    """One input file, the unit of work. ``name`` is stable and used to derive document ids."""

    index: int
    path: str
    name: str
    format: str


def detect_format(path: str) -> str | None:
    """Return the reader format for ``path`` from its suffixes, or None when unknown."""
    name = path.lower()
    for comp in COMPRESSION_SUFFIXES:
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    return FORMAT_SUFFIXES.get(os.path.splitext(name)[1])


def _static_prefix(pattern: str) -> str:
    parts = Path(pattern).parts
    static: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        static.append(part)
    return str(Path(*static)) if static else "."


def _walk_error(err: OSError) -> None:
    raise InputError(f"cannot read input directory {err.filename}: {err.strerror or err}")


def _hidden(rel: str) -> bool:
    return any(part.startswith((".", "_")) for part in rel.split("/"))


def _remote_matches(spec: str, fmt: str) -> list[tuple[str, str]]:
    """(url, name) of the objects a URL spec names: one object, a prefix (recursive) or a glob."""
    root = fs.as_path(spec)
    assert isinstance(root, fs.RemotePath)
    store, proto = root.fs, root.proto
    matches: list[tuple[str, str]] = []
    with fs.storage_errors(spec):
        if glob.has_magic(spec):
            static = root.key.split("/")
            cut = next((i for i, part in enumerate(static) if glob.has_magic(part)), len(static))
            prefix = "/".join(static[:cut])
            for key in sorted(store.glob(root.key)):
                if store.isfile(key):
                    matches.append((f"{proto}://{key}", key[len(prefix) :].lstrip("/")))
            if not matches:
                raise InputError(f"no input files match {spec!r}")
        elif store.isdir(root.key):
            for key in sorted(store.find(root.key, withdirs=False)):
                rel = key[len(root.key) :].lstrip("/")
                if rel and not _hidden(rel) and (fmt != "auto" or detect_format(key)):
                    matches.append((f"{proto}://{key}", rel))
            if not matches:
                raise InputError(f"input directory {spec!r} holds no readable files")
        elif store.isfile(root.key):
            matches.append((root.url, root.name))
        else:
            raise InputError(f"input not found: {spec!r}")
    return matches


def list_shards(specs: list[str], fmt: str = "auto") -> list[Shard]:
    """Expand files, directories (recursive) and globs into shards in a defined order.

    Specs may be URLs (``s3://bucket/prefix/``, ``s3://bucket/raw/*.jsonl.gz``, ``hf://datasets/…``).
    Shards are ordered by spec, then by path within a spec; a file named twice is kept once.
    A subdirectory that cannot be read is an error, never skipped.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in specs:
        matches: list[tuple[str, str]] = []
        if fs.is_url(spec):
            matches = _remote_matches(spec, fmt)
        elif glob.has_magic(spec):
            root = _static_prefix(spec)
            for p in sorted(glob.glob(spec, recursive=True)):
                if os.path.isfile(p):
                    matches.append((p, os.path.relpath(p, root)))
            if not matches:
                raise InputError(f"no input files match {spec!r}")
        elif os.path.isdir(spec):
            for dirpath, dirnames, filenames in os.walk(spec, onerror=_walk_error):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
                for f in sorted(filenames):
                    p = os.path.join(dirpath, f)
                    if not f.startswith((".", "_")) and (fmt != "auto" or detect_format(p)):
                        matches.append((p, os.path.relpath(p, spec)))
            matches.sort(key=lambda m: m[1])
            if not matches:
                raise InputError(f"input directory {spec!r} holds no readable files")
        elif os.path.isfile(spec):
            matches.append((spec, os.path.basename(spec)))
        else:
            raise InputError(f"input not found: {spec!r}")
        for path, name in matches:
            key = path if fs.is_url(path) else os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                found.append((path, name.replace(os.sep, "/")))
    shards = []
    for i, (path, name) in enumerate(found):
        shard_fmt = fmt if fmt != "auto" else detect_format(path)
        if shard_fmt is None:
            raise InputError(
                f"cannot tell the format of {path!r} from its name; set input.format "
                f"(one of: {', '.join(sorted(set(FORMAT_SUFFIXES.values())))})"
            )
        shards.append(Shard(index=i, path=path, name=name, format=shard_fmt))
    return shards
