"""The dedup driver: plan the four phases, skip finished tasks, run the rest, merge stats.

Every phase runs its tasks through an executor (in-process, local pool or Ray). A task that
finished for the same configuration and input has a valid marker and is skipped, so a killed
run resumes where it stopped; when any task of a phase reruns, the later phases rerun too.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacraft import __version__
from datacraft.dedup.config import DedupConfig
from datacraft.dedup.filter import FilterTask, filter_task
from datacraft.dedup.layout import WorkLayout
from datacraft.dedup.phases import (
    STAGE,
    ClusterTask,
    GroupTask,
    SignatureTask,
    cluster_task,
    group_task,
    marker_valid,
    signature_task,
)
from datacraft.errors import ConfigError, LedgerError, OutputConflictError
from datacraft.executors import Executor, close_executor, make_executor
from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.io.paths import Shard, list_shards
from datacraft.io.readers import ReadOptions
from datacraft.pipeline.layout import DATA, SUBDIRS, OutputLayout
from datacraft.pipeline.ledger import ShardStats, merge_stats
from datacraft.pipeline.task import input_identity, read_options
from datacraft.progress import RunProgress

PHASES = ("signatures", "groups", "clusters", "filter")


@dataclass
class DedupResult:
    """What a dedup run did."""

    merged: dict[str, Any]
    shards: list[Shard]
    ran: dict[str, int]
    seconds: float
    shard_stats: list[ShardStats] = field(default_factory=list)


def resolve_inputs(paths: list[str]) -> list[str]:
    """A datacraft output directory as input means its ``data/`` folder."""
    out = []
    for p in paths:
        path = fs.as_path(p)
        if path.is_dir() and (path / DATA).is_dir() and ((path / "_run.json").is_file() or (path / "_done").is_dir()):
            out.append(str(path / DATA))
        else:
            out.append(p)
    return out


def input_fingerprint(shards: list[Shard]) -> str:
    """Hash of the shard names, sizes and modification times: any change means starting over."""
    ident = [[s.name, s.format, *input_identity(s.path).values()] for s in shards]
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]


def _check_paths(config: DedupConfig, shards: list[Shard]) -> None:
    out = fs.as_path(config.output.path).resolve()
    for s in shards:
        if out in fs.as_path(s.path).resolve().parents:
            raise ConfigError(f"input {s.path} is inside the output directory {config.output.path}; choose another")


def _prepare_output(config: DedupConfig, fp: str, input_fp: str, force: bool) -> None:
    layout = OutputLayout(fs.as_path(config.output.path))
    work = WorkLayout(layout.root)
    root = layout.root
    if root.exists() and not force:
        if layout.manifest.is_file():
            try:
                previous = json.loads(layout.manifest.read_text())
            except ValueError:
                previous = {}
            if previous.get("fingerprint") != fp:
                raise OutputConflictError(
                    f"{root} holds the output of a different run configuration; "
                    "rerun with --force to replace it, or choose another output directory"
                )
            if previous.get("input_fingerprint") != input_fp:
                force = True  # same settings, changed input: start over
        elif any(root.iterdir()) and not any((root / d).exists() for d in SUBDIRS):
            raise OutputConflictError(f"{root} is not empty and is not a datacraft output; choose another output")
    if force:
        layout.clear_all()
        fs.rmtree(work.root)
    root.mkdir(parents=True, exist_ok=True)


def _run_phase(
    executor: Executor,
    fn: Callable[[Any], Any],
    tasks: list[Any],
    total: int,
    desc: str,
    show_progress: bool,
    unit: str = "docs",
) -> None:
    progress = RunProgress(total, enabled=show_progress, unit=unit, desc=desc)
    for _ in range(total - len(tasks)):
        progress.shard_done()
    try:
        for _task, _result in executor.run(fn, tasks, progress):
            progress.shard_done()
    finally:
        progress.close()


def run_dedup(
    config: DedupConfig, *, force: bool = False, show_progress: bool = False, executor: Executor | None = None
) -> DedupResult:
    """Run (or resume) exact and/or near dedup from ``config.input`` into ``config.output``."""
    t0 = time.perf_counter()
    fs.check_access(config.output.path, write=True)  # credentials and bucket, before anything runs
    paths = resolve_inputs(config.input.paths)
    shards = list_shards(paths, config.input.format)
    _check_paths(config, shards)
    p = config.dedup
    fp = config.fingerprint()
    input_fp = input_fingerprint(shards)
    _prepare_output(config, fp, input_fp, force)
    out = fs.as_path(config.output.path)
    layout = OutputLayout(out)
    work = WorkLayout(out)
    bands, rows = p.lsh()
    write_text_atomic(
        layout.manifest,
        json.dumps(
            {
                "kind": "dedup",
                "fingerprint": fp,
                "input_fingerprint": input_fp,
                "datacraft": __version__,
                "config": config.model_dump(mode="json"),
                "lsh": {"bands": bands, "rows": rows} if p.near else None,
                "shards": [s.name for s in shards],
            },
            indent=1,
        ),
    )
    for index in layout.shard_indexes_present():
        if index >= len(shards):
            layout.clear_shard(index)
    own_executor = executor is None
    if executor is None:
        executor = make_executor(config.executor, config.workers, config.ray_address, config.ray.model_dump())
    try:
        params = p.model_dump(mode="json")
        ran = dict.fromkeys(PHASES, 0)
        out_s = str(out)

        # Phase 1: signatures per shard (ids and signals only: other fields are read again in phase 4).
        ro = read_options(config.pipeline())
        ro = ReadOptions(
            text_field=ro.text_field,
            id_field=ro.id_field,
            keep_fields=p.keep == "signal",
            max_record_bytes=ro.max_record_bytes,
            parquet_batch_rows=ro.parquet_batch_rows,
        )
        sig_tasks = [
            SignatureTask(s, params, ro, out_s, fp)
            for s in shards
            if not marker_valid(work.marker(f"sig-{s.index:05d}"), fp)
        ]
        stale = bool(sig_tasks)
        _run_phase(executor, signature_task, sig_tasks, len(shards), "dedup 1/4 signatures", show_progress)
        ran["signatures"] = len(sig_tasks)

        # Phase 2: candidate pairs per band, and exact-duplicate pairs.
        indexes = tuple(s.index for s in shards)
        groups = ([GroupTask(-1, indexes, params, out_s, fp)] if p.exact else []) + (
            [GroupTask(b, indexes, params, out_s, fp) for b in range(bands)] if p.near else []
        )
        group_todo = [g for g in groups if stale or not marker_valid(work.marker(g.name), fp)]
        stale = stale or bool(group_todo)
        _run_phase(executor, group_task, group_todo, len(groups), "dedup 2/4 pairs", show_progress, unit="groups")
        ran["groups"] = len(group_todo)

        # Phase 3: clusters and representatives.
        cluster_todo = []
        if stale or not marker_valid(work.marker("clusters"), fp):
            cluster_todo = [ClusterTask(tuple(g.name for g in groups), indexes, params, out_s, fp)]
            stale = True
        _run_phase(executor, cluster_task, cluster_todo, 1, "dedup 3/4 clusters", show_progress, unit="tasks")
        ran["clusters"] = len(cluster_todo)

        # Phase 4: filter each shard.
        docs_per_shard = {s.index: json.loads(work.marker(f"sig-{s.index:05d}").read_text())["docs"] for s in shards}
        cfg_json = config.model_dump(mode="json")
        filter_todo = [
            FilterTask(cfg_json, fp, s, out_s, docs_per_shard[s.index])
            for s in shards
            if stale or not _filter_marker_valid(layout, s, fp)
        ]
        _run_phase(executor, filter_task, filter_todo, len(shards), "dedup 4/4 filter", show_progress)
        ran["filter"] = len(filter_todo)

        shard_stats = [ShardStats.from_json(json.loads(layout.stats_file(s.index).read_text())) for s in shards]
        merged = merge_stats(shard_stats)
        merged.update(
            {
                "pipeline": config.name,
                "fingerprint": fp,
                "shards": len(shards),
                "dedup": _dedup_summary(config, work, shards, groups, layout),
                "per_shard": [s.to_json() for s in shard_stats],
            }
        )
        write_text_atomic(layout.merged_stats, json.dumps(merged, indent=1, sort_keys=True))
        if not merged["ledger_balanced"]:
            raise LedgerError(f"ledger does not balance for {layout.root}; see {layout.merged_stats}")
        return DedupResult(merged, shards, ran, time.perf_counter() - t0, shard_stats)
    finally:
        if own_executor:
            close_executor(executor)


def _filter_marker_valid(layout: OutputLayout, shard: Shard, fp: str) -> bool:
    try:
        marker = json.loads(layout.marker(shard.index).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("fingerprint") == fp and layout.stats_file(shard.index).is_file()


def _read_marker(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _dedup_summary(
    config: DedupConfig, work: WorkLayout, shards: list[Shard], groups: list[GroupTask], layout: OutputLayout
) -> dict[str, Any]:
    """Settings, cluster counts and per-phase task resources (CPU seconds, peak RSS) for stats.json."""
    p = config.dedup
    bands, rows = p.lsh()
    tasks: dict[str, list[dict[str, Any]]] = {
        "signatures": [_read_marker(work.marker(f"sig-{s.index:05d}")) for s in shards],
        "groups": [_read_marker(work.marker(g.name)) for g in groups],
        "clusters": [_read_marker(work.marker("clusters"))],
        "filter": [_read_marker(layout.marker(s.index)) for s in shards],
    }
    phases = {
        name: {
            "tasks": len(ts),
            "cpu_seconds": sum(t.get("cpu_seconds", 0.0) for t in ts),
            "max_task_peak_rss_mib": max((t.get("peak_rss_mib", 0.0) for t in ts), default=0.0),
        }
        for name, ts in tasks.items()
    }
    cl = tasks["clusters"][0]
    return {
        "stage": STAGE,
        "mode": p.mode,
        "shingle": f"{p.shingle} {p.ngram}-grams",
        "num_perm": p.num_perm,
        "bands": bands if p.near else None,
        "rows": rows if p.near else None,
        "verify": p.verify,
        "keep": p.keep,
        "clusters": cl["clusters"],
        "clustered_docs": cl["clustered_docs"],
        "removed": cl["removed"],
        "largest_cluster": cl["largest_cluster"],
        "pairs": {g["group"]: {"candidates": g["candidates"], "pairs": g["pairs"]} for g in tasks["groups"]},
        "phases": phases,
        "cpu_seconds": sum(ph["cpu_seconds"] for ph in phases.values()),
    }
