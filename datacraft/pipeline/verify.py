"""``datacraft verify OUT``: re-check a finished output against its own bookkeeping.

Checks: every shard of ``_run.json`` has a completion marker for the run's fingerprint; every
file a marker lists is present with its size and checksum; the Parquet files of ``data/`` (and of
``rejected/``) share one schema; the ledger balances, per shard and against the rows actually in
the files; no file in the dataset folders is unaccounted for (temporary files included); and the
dataset card ``README.md`` is the one the manifest, stats and data schema give.
Works for pipeline runs (``run``, ``apply``) and dedup outputs.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datacraft.errors import DatacraftError
from datacraft.io import fs
from datacraft.io.files import file_checksum, file_size, walk_files
from datacraft.pipeline.card import data_schema_of, render_card
from datacraft.pipeline.layout import CARD, DATA, QUARANTINE, REJECTED, SUBDIRS, OutputLayout
from datacraft.pipeline.ledger import ShardStats
from datacraft.pipeline.outdir import read_manifest


class VerificationError(DatacraftError):
    """``datacraft verify`` found problems (exit 1)."""

    exit_code = 1


@dataclass
class VerifyReport:
    """What verify checked and what is wrong (empty ``problems``: the output is sound)."""

    root: Path
    shards: int = 0
    files: int = 0
    bytes: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rel(path: Path | fs.RemotePath, root: Path | fs.RemotePath) -> str:
    """``path`` relative to the output root (local paths and URLs alike)."""
    return str(path)[len(str(root)) :].lstrip("/")


def _rows(path: Path) -> int:
    """Rows in a Parquet file (from its footer) or lines in a JSONL (.gz) file (local or on a store)."""
    with fs.open_input(path) as raw:
        if path.name.endswith((".parquet", ".pq")):
            return pq.ParquetFile(raw).metadata.num_rows
        fh: Any = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
        return sum(1 for _ in fh)


def _check_schemas(report: VerifyReport, sub: str, files: list[Path]) -> None:
    first: tuple[Path, pa.Schema] | None = None
    for f in files:
        if not f.name.endswith(".parquet"):
            continue
        try:
            with fs.open_input(f) as fh:
                schema = pq.read_schema(fh)
        except (OSError, pa.ArrowException) as e:
            report.problems.append(f"{_rel(f, report.root)}: not readable as Parquet ({e})")
            continue
        if first is None:
            first = (f, schema)
        elif not schema.equals(first[1], check_metadata=False):
            a = ", ".join(f"{x.name}: {x.type}" for x in first[1])
            b = ", ".join(f"{x.name}: {x.type}" for x in schema)
            report.problems.append(
                f"{sub}/ has more than one schema: {_rel(first[0], report.root)} ({a}) but {_rel(f, report.root)} ({b})"
            )
            return


def _shard_checks(report: VerifyReport, layout: OutputLayout, manifest: dict[str, Any]) -> Iterator[tuple[str, Path]]:
    """Check markers and their files; yield (subdir, path) of every vouched-for output file."""
    fp = manifest.get("fingerprint")
    for index, name in enumerate(manifest.get("shards", [])):
        marker = layout.read_marker(index)
        if marker is None:
            report.problems.append(f"shard {index} ({name}): no completion marker; the run did not finish")
            continue
        if marker.get("fingerprint") != fp or marker.get("name") != name:
            report.problems.append(f"shard {index} ({name}): its marker is from another run (stale)")
        if file_size(layout.stats_file(index)) is None:
            report.problems.append(f"shard {index} ({name}): stats file {layout.stats_file(index)} is missing")
        checksums = marker.get("checksums", {})
        for rel, size in marker.get("outputs", {}).items():
            path = layout.root / rel
            actual = file_size(path)
            if actual is None:
                report.problems.append(f"{rel}: listed in the marker of shard {index} but missing")
                continue
            report.files += 1
            report.bytes += actual
            if actual != size:
                report.problems.append(f"{rel}: {actual:,} bytes, the marker says {size:,}")
            elif rel not in checksums:
                report.problems.append(f"{rel}: no checksum in the marker of shard {index} (written by an older run)")
            elif file_checksum(path) != checksums[rel]:
                report.problems.append(f"{rel}: checksum differs from the marker's (the file changed)")
            yield rel.split("/", 1)[0], path


def verify_output(root: str | Path) -> VerifyReport:
    """Re-check a finished output; the report lists every problem found."""
    layout = OutputLayout(fs.as_path(root))  # a local folder or a URL
    report = VerifyReport(layout.root)
    if not layout.root.is_dir():
        report.problems.append(f"{layout.root} is not a directory")
        return report
    manifest = read_manifest(layout)
    if manifest is None:
        report.problems.append(f"{layout.manifest} is missing or unreadable: not a datacraft output, or never started")
        return report
    report.shards = len(manifest.get("shards", []))
    files: dict[str, list[Path]] = {sub: [] for sub in SUBDIRS}
    for sub, path in _shard_checks(report, layout, manifest):
        files.setdefault(sub, []).append(path)
    for sub in (DATA, REJECTED):
        _check_schemas(report, sub, sorted(files.get(sub, [])))
    stats = [_read_stats(report, layout, i) for i in range(report.shards)]
    _check_ledger(report, layout, [s for s in stats if s is not None], files)
    _check_card(report, layout, manifest)
    allowed = {p for ps in files.values() for p in ps}
    allowed |= {layout.marker(i) for i in range(report.shards)} | {layout.stats_file(i) for i in range(report.shards)}
    for sub in SUBDIRS:
        for p in sorted(walk_files(layout.root / sub)):
            if p not in allowed:
                report.problems.append(f"{_rel(p, layout.root)}: foreign file (no marker lists it)")
    return report


def _read_stats(report: VerifyReport, layout: OutputLayout, index: int) -> ShardStats | None:
    try:
        return ShardStats.from_json(json.loads(layout.stats_file(index).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _check_ledger(
    report: VerifyReport, layout: OutputLayout, stats: list[ShardStats], files: dict[str, list[Path]]
) -> None:
    for s in stats:
        if not s.balanced():
            report.problems.append(
                f"shard {s.shard}: ledger does not balance (in {s.docs_in} ≠ kept {s.kept} + dropped "
                f"{s.dropped_total} + quarantined {s.quarantined})"
            )
    try:
        merged = json.loads(layout.merged_stats.read_text())
    except (OSError, ValueError):
        report.problems.append(f"{layout.merged_stats} is missing or unreadable")
        merged = None
    kept, dropped, quarantined = (sum(getattr(s, k) for s in stats) for k in ("kept", "dropped_total", "quarantined"))
    if merged is not None:
        t = merged.get("totals", {})
        if (t.get("kept"), t.get("dropped"), t.get("quarantined")) != (kept, dropped, quarantined):
            report.problems.append(f"{layout.merged_stats} totals differ from the per-shard stats")
    rows = {sub: sum(_rows(p) for p in files.get(sub, [])) for sub in (DATA, REJECTED, QUARANTINE)}
    report.rows = rows
    if rows[DATA] != kept:
        report.problems.append(f"data/ holds {rows[DATA]:,} rows but the ledger kept {kept:,}")
    if files.get(REJECTED) and rows[REJECTED] != dropped:
        report.problems.append(f"rejected/ holds {rows[REJECTED]:,} rows but the ledger dropped {dropped:,}")
    if rows[QUARANTINE] != quarantined:
        report.problems.append(f"quarantine/ holds {rows[QUARANTINE]:,} records but the ledger has {quarantined:,}")


def _check_card(report: VerifyReport, layout: OutputLayout, manifest: dict[str, Any]) -> None:
    """``README.md`` is the card this output's manifest, stats and schema give (what ``datasets`` loads by)."""
    try:
        merged = json.loads(layout.merged_stats.read_text())
        text = (layout.root / CARD).read_text(encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError):
        if layout.merged_stats.is_file():
            report.problems.append(
                f"{CARD} (the dataset card `datasets.load_dataset(OUT)` reads) is missing or unreadable; "
                "rerun the same command to write it"
            )
        return
    try:
        expected = render_card(manifest, merged, data_schema_of(layout, merged))
    except (OSError, pa.ArrowException) as e:
        report.problems.append(f"{CARD}: cannot recompute the card ({e})")
        return
    if text != expected:
        what = "its configs: block" if text.split("\n---\n", 1)[0] != expected.split("\n---\n", 1)[0] else "its body"
        report.problems.append(
            f"{CARD} differs from the card of this output ({what}: edited, or left by another run); "
            "rerun the same command to rewrite it"
        )


def format_report(report: VerifyReport, limit: int = 50) -> str:
    """The problems (at most ``limit``), or one line saying what was checked."""
    if report.ok:
        r = report.rows
        return (
            f"{report.root}: ok — {report.shards:,} shards, {report.files:,} files ({report.bytes:,} bytes) "
            f"checked; data {r.get(DATA, 0):,} rows, rejected {r.get(REJECTED, 0):,}, "
            f"quarantine {r.get(QUARANTINE, 0):,}; ledger balanced"
        )
    lines = [f"{report.root}: {len(report.problems)} problem(s)"]
    lines += [f"  {p}" for p in report.problems[:limit]]
    if len(report.problems) > limit:
        lines.append(f"  … and {len(report.problems) - limit} more")
    return "\n".join(lines)
