"""Turn input specs (files, directories, globs) into an ordered list of shards."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from datacraft.errors import InputError

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


def list_shards(specs: list[str], fmt: str = "auto") -> list[Shard]:
    """Expand files, directories (recursive) and globs into shards in a defined order.

    Shards are ordered by spec, then by path within a spec; a file named twice is kept once.
    """
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for spec in specs:
        matches: list[tuple[str, str]] = []
        if glob.has_magic(spec):
            root = _static_prefix(spec)
            for p in sorted(glob.glob(spec, recursive=True)):
                if os.path.isfile(p):
                    matches.append((p, os.path.relpath(p, root)))
            if not matches:
                raise InputError(f"no input files match {spec!r}")
        elif os.path.isdir(spec):
            for dirpath, dirnames, filenames in os.walk(spec):
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
            key = os.path.realpath(path)
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
