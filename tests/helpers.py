"""Small helpers for tests: write real input files, read real output files."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import zstandard


def write_jsonl(path: Path, rows: list[Any], *, raw_lines: list[bytes] | None = None) -> Path:
    """Write rows (dicts, or raw bytes lines) as JSONL; compression from the suffix (.gz, .zst)."""
    lines = raw_lines if raw_lines is not None else [json.dumps(r, ensure_ascii=False).encode() for r in rows]
    data = b"".join(line + b"\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        with gzip.GzipFile(path, "wb", mtime=0) as fh:
            fh.write(data)
    elif path.name.endswith(".zst"):
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    return path


def read_parquet_rows(directory: Path) -> list[dict[str, Any]]:
    """All rows of every Parquet file under ``directory``, in file-name order."""
    rows: list[dict[str, Any]] = []
    for f in sorted(directory.rglob("*.parquet")):
        rows += pq.read_table(f).to_pylist()
    return rows


def tree_digest(root: Path, subdirs: tuple[str, ...] = ("data", "rejected", "quarantine")) -> dict[str, str]:
    """sha256 of every file under the given subdirectories, keyed by relative path."""
    out = {}
    for sub in subdirs:
        d = root / sub
        if d.is_dir():
            for f in sorted(d.rglob("*")):
                if f.is_file():
                    out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def make_corpus(root: Path, shards: int = 3, docs: int = 50, suffix: str = ".jsonl.gz") -> list[Path]:
    """A small deterministic corpus of ``shards`` files with short and long documents."""
    paths = []
    for s in range(shards):
        rows = []
        for i in range(docs):
            words = " ".join(f"w{(s * 7 + i * 13 + k) % 97}" for k in range((i * 7) % 40 + 1))
            rows.append({"id": f"s{s}-d{i}", "text": f"Doc {s}/{i}:  {words}\n\n\n\nend", "src": f"shard{s}"})
        paths.append(write_jsonl(root / f"shard-{s:02d}{suffix}", rows))
    return paths
