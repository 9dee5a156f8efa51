"""Sample dropped documents from a run's ``rejected/`` Parquet, with the signals that dropped them.

Two passes, both bounded: count (stage, reason) per file from the two small columns, pick the
sample positions with a seeded RNG, then read only the row groups that hold a chosen row.
"""

from __future__ import annotations

import difflib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datacraft.errors import ConfigError, InputError
from datacraft.io import fs
from datacraft.pipeline.layout import REJECTED
from datacraft.report.runstats import load_run
from datacraft.report.sample import parquet_files

COLUMNS = ("id", "text", "stage", "reason", "signals", "meta")


@dataclass
class DroppedDoc:
    """One dropped document as stored in ``rejected/``."""

    id: str
    stage: str
    reason: str
    signals: dict[str, Any]
    meta: dict[str, Any]
    text: str
    file: str
    row: int

    def to_json(self, max_chars: int = 0) -> dict[str, Any]:
        """Plain data; ``text`` cut to ``max_chars`` (0: whole text), ``text_chars`` always the full length."""
        text = self.text if max_chars <= 0 else self.text[:max_chars]
        return {
            "id": self.id,
            "stage": self.stage,
            "reason": self.reason,
            "signals": self.signals,
            "meta": self.meta,
            "text": text,
            "text_chars": len(self.text),
            "truncated": len(text) < len(self.text),
            "file": self.file,
            "row": self.row,
        }


@dataclass
class DropSample:
    """Sampled drops and what they were drawn from."""

    matches: int
    docs: list[DroppedDoc]
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)


def _loads(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"_unparsed": raw}
    return obj if isinstance(obj, dict) else {"_value": obj}


def _stage_reason(path: Path) -> pa.Table:
    try:
        pf = pq.ParquetFile(fs.parquet_source(path))
        missing = [c for c in ("stage", "reason") if c not in pf.schema_arrow.names]
        if missing:
            raise InputError(f"{path}: no {', '.join(missing)} column: not a datacraft rejected/ file")
        return pf.read(columns=["stage", "reason"])
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file: {e}") from None


def count_drops(files: list[Path]) -> list[Counter[tuple[str, str]]]:
    """Per file, how many rows each (stage, reason) has."""
    out = []
    for path in files:
        table = _stage_reason(path)
        grouped = table.group_by(["stage", "reason"]).aggregate([([], "count_all")]).to_pylist()
        out.append(Counter({(g["stage"], g["reason"]): g["count_all"] for g in grouped}))
    return out


def _describe(counts: Counter[tuple[str, str]], stage: str | None = None) -> str:
    if stage is None:
        per_stage: Counter[str] = Counter()
        for (s, _), n in counts.items():
            per_stage[s] += n
        return ", ".join(f"{s} ({n:,})" for s, n in sorted(per_stage.items()))
    return ", ".join(f"{r} ({n:,})" for (s, r), n in sorted(counts.items()) if s == stage)


def _mask(table: pa.Table, stage: str | None, reason: str | None) -> np.ndarray:
    mask = None
    if stage is not None:
        mask = pc.equal(table.column("stage"), stage)
    if reason is not None:
        r = pc.equal(table.column("reason"), reason)
        mask = r if mask is None else pc.and_(mask, r)
    if mask is None:
        return np.ones(table.num_rows, dtype=bool)
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def sample_drops(out: str | Path, stage: str | None, reason: str | None, n: int, seed: int = 0) -> DropSample:
    """Up to ``n`` dropped documents of ``stage``/``reason`` (None: any), chosen with ``seed``, in file order."""
    run = load_run(out)
    files = parquet_files(run.out / REJECTED)
    dropped_total = run.merged["totals"].get("dropped", 0)
    if not files:
        if dropped_total:
            raise InputError(
                f"{run.out} dropped {dropped_total:,} documents but holds no {REJECTED}/ Parquet "
                "(the run had output.rejected: false); rerun with output.rejected: true to keep them"
            )
        return DropSample(0, [])
    per_file = count_drops(files)
    counts: Counter[tuple[str, str]] = sum(per_file, Counter())
    stages = {s for s, _ in counts}
    if stage is not None and stage not in stages:
        close = difflib.get_close_matches(stage, sorted(stages), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"no documents dropped by stage {stage!r}{hint} in {run.out}; stages with drops: {_describe(counts)}"
        )
    if reason is not None and reason not in {r for s, r in counts if stage is None or s == stage}:
        where = f"stage {stage!r}" if stage else "any stage"
        known = _describe(counts, stage) if stage else ", ".join(sorted({r for _, r in counts}))
        raise ConfigError(f"no documents dropped for reason {reason!r} by {where} in {run.out}; reasons: {known}")

    def matching(c: Counter[tuple[str, str]]) -> int:
        return sum(v for (s, r), v in c.items() if (stage is None or s == stage) and (reason is None or r == reason))

    file_matches = [matching(c) for c in per_file]
    total = sum(file_matches)
    chosen = sorted(random.Random(seed).sample(range(total), min(n, total)))
    docs: list[DroppedDoc] = []
    start = 0
    for path, m in zip(files, file_matches, strict=True):
        wanted = [p - start for p in chosen if start <= p < start + m]
        start += m
        if wanted:
            docs += _read_rows(path, stage, reason, wanted)
    return DropSample(total, docs, counts)


def _read_rows(path: Path, stage: str | None, reason: str | None, wanted: list[int]) -> list[DroppedDoc]:
    """Read the ``wanted``-th matching rows of one file, one row group at a time."""
    rows = np.flatnonzero(_mask(_stage_reason(path), stage, reason))[wanted]
    pf = pq.ParquetFile(fs.parquet_source(path))
    columns = [c for c in COLUMNS if c in pf.schema_arrow.names]
    bounds = np.cumsum([0] + [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)])
    docs = []
    for g in range(pf.num_row_groups):
        in_group = rows[(rows >= bounds[g]) & (rows < bounds[g + 1])]
        if not len(in_group):
            continue
        table = pf.read_row_group(g, columns=columns).take(pa.array(in_group - bounds[g]))
        for row, rec in zip(in_group, table.to_pylist(), strict=True):
            docs.append(
                DroppedDoc(
                    id=str(rec.get("id")),
                    stage=rec.get("stage") or "",
                    reason=rec.get("reason") or "",
                    signals=_loads(rec.get("signals")),
                    meta=_loads(rec.get("meta")),
                    text=rec.get("text") or "",
                    file=str(path),
                    row=int(row),
                )
            )
    return docs
