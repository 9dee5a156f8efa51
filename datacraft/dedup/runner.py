"""The dedup driver: plan the four phases, skip finished tasks, run the rest, merge stats.

Every phase runs its tasks through an executor (in-process, local pool or Ray). A task that
finished for the same configuration and input has a valid marker and is skipped, so a killed
run resumes where it stopped; when any task of a phase reruns, the later phases rerun too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacraft.dedup.config import DedupConfig
from datacraft.dedup.filter import FilterTask, filter_task
from datacraft.dedup.layout import WorkLayout, claim_work_dir, work_base, work_dir_setting
from datacraft.dedup.memory import caller_pool_restored
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
from datacraft.errors import LedgerError
from datacraft.executors import Executor, LocalExecutor, close_executor, make_executor, pool_size
from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.io.files import file_size, walk_files
from datacraft.io.lock import output_lock
from datacraft.io.paths import Shard, list_shards
from datacraft.io.readers import ReadOptions
from datacraft.log import attach_run_log
from datacraft.pipeline.card import write_card
from datacraft.pipeline.fingerprint import input_set_fingerprint, run_identity
from datacraft.pipeline.layout import DATA, DONE, MANIFEST, OutputLayout
from datacraft.pipeline.ledger import ShardStats, merge_stats
from datacraft.pipeline.outdir import check_identity, check_not_foreign, check_output_path, read_manifest
from datacraft.pipeline.outschema import resolve_fields
from datacraft.pipeline.task import read_options
from datacraft.progress import RunProgress
from datacraft.tasklog import LoggedTask
from datacraft.timing import Clock

PHASES = ("signatures", "groups", "clusters", "filter")


@dataclass
class DedupResult:
    """What a dedup run did."""

    merged: dict[str, Any]
    shards: list[Shard]
    ran: dict[str, int]
    seconds: float
    shard_stats: list[ShardStats] = field(default_factory=list)


def is_datacraft_output(path: Path | fs.RemotePath) -> bool:
    """True for a folder written by ``datacraft run``/``apply``/``dedup`` (it has ``_run.json`` or ``_done/``)."""
    return path.is_dir() and ((path / MANIFEST).is_file() or (path / DONE).is_dir())


def _has_files(folder: Path | fs.RemotePath) -> bool:
    return any(not p.name.startswith((".", "_")) for p in walk_files(folder))


def resolve_inputs(paths: list[str]) -> list[str]:
    """Input specs to list: a datacraft output means its ``data/`` dataset only (never its rejected/,
    quarantine/ or stats), and an output whose ``data/`` is empty or absent contributes no shards."""
    out = []
    for p in paths:
        path = fs.as_path(p)
        if is_datacraft_output(path):
            if _has_files(path / DATA):
                out.append(str(path / DATA))
        else:
            out.append(p)
    return out


def input_fingerprint(shards: list[Shard]) -> str:
    """Hash of the shard names, sizes and modification times: any change means another run."""
    return input_set_fingerprint(shards)


def _identity(config: DedupConfig, shards: list[Shard]) -> dict[str, Any]:
    return run_identity(config.fingerprint(), [], shards)


def _prepare_output(
    layout: OutputLayout, work: WorkLayout, identity: dict[str, Any], force: bool, outside: bool
) -> None:
    check_identity(layout, identity, force, "output directory")
    if force:
        fs.rmtree(work.root)
    if outside:  # a work folder outside OUT: its files are this run's, or deleted
        claim_work_dir(work, str(layout.root), identity)


def _run_phase(
    executor: Executor,
    fn: Callable[[Any], Any],
    tasks: list[Any],
    total: int,
    desc: str,
    show_progress: bool,
    unit: str = "docs",
    log_dir: Path | None = None,
) -> dict[str, float]:
    clock = Clock()
    progress = RunProgress(total, enabled=show_progress, unit=unit, desc=desc)
    for _ in range(total - len(tasks)):
        progress.shard_done(skipped=True)
    try:
        for _task, _result in executor.run(LoggedTask(fn, log_dir) if log_dir else fn, tasks, progress):
            progress.shard_done()
    finally:
        progress.close()
    return clock.read()


def run_dedup(
    config: DedupConfig, *, force: bool = False, show_progress: bool = False, executor: Executor | None = None
) -> DedupResult:
    """Run (or resume) exact and/or near dedup from ``config.input`` into ``config.output``."""
    t0, clock = time.perf_counter(), Clock()
    out = fs.as_path(config.output.path)
    check_output_path(config.output.path, config.input.paths, "output directory")
    fs.check_access(config.output.path, write=True)  # credentials and bucket, before anything runs
    check_not_foreign(out, "output directory")
    paths = resolve_inputs(config.input.paths)
    shards = list_shards(paths, config.input.format) if paths else []
    with output_lock(out), caller_pool_restored():  # tasks run here switch Arrow's pool: the caller's comes back
        return _run_locked(config, shards, force, show_progress, executor, t0, clock)


def _run_locked(
    config: DedupConfig,
    shards: list[Shard],
    force: bool,
    show_progress: bool,
    executor: Executor | None,
    t0: float,
    clock: Clock,
) -> DedupResult:
    config = resolve_fields(config, shards)  # the output schema's input columns, decided once here
    p = config.dedup
    identity = _identity(config, shards)
    fp = identity["fingerprint"]
    out = fs.as_path(config.output.path)
    layout = OutputLayout(out)
    work_dir = work_dir_setting(config.work_dir)
    work_s = work_base(str(out), work_dir)  # what the phase tasks are given: their files go under work_s/_dedup
    work = WorkLayout(fs.as_path(work_s))
    _prepare_output(layout, work, identity, force, outside=work_dir is not None)
    attach_run_log(out)
    logs = out / "logs"
    bands, rows = p.lsh()
    layout.dir(DATA).mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        layout.manifest,
        json.dumps(
            {
                "kind": "dedup",
                **identity,
                "config": config.model_dump(mode="json"),
                "lsh": {"bands": bands, "rows": rows} if p.near else None,
                "shards": [s.name for s in shards],
            },
            indent=1,
        ),
    )
    if not shards:
        return _empty_result(config, layout, t0)
    own_executor = executor is None
    if executor is None:
        workers = config.workers
        if config.executor == "local":  # a small input runs with fewer workers (same output, less start-up)
            sizes = [file_size(s.path) for s in shards]
            workers = pool_size(workers, None if None in sizes else sum(s or 0 for s in sizes))
        if config.executor == "local" and workers > 1:  # the driver takes a worker's share: one process less
            executor = LocalExecutor(workers, inline=True)
        else:
            executor = make_executor(config.executor, workers, config.ray_address, config.ray.model_dump())
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
            SignatureTask(s, params, ro, work_s, fp)
            for s in shards
            if not marker_valid(work.marker(f"sig-{s.index:05d}"), fp)
        ]
        stale = bool(sig_tasks)
        times = {
            "signatures": _run_phase(
                executor, signature_task, sig_tasks, len(shards), "dedup 1/4 signatures", show_progress, log_dir=logs
            )
        }
        ran["signatures"] = len(sig_tasks)

        # Phase 2: candidate pairs per band, and exact-duplicate pairs.
        indexes = tuple(s.index for s in shards)
        groups = ([GroupTask(-1, indexes, params, work_s, fp)] if p.exact else []) + (
            [GroupTask(b, indexes, params, work_s, fp) for b in range(bands)] if p.near else []
        )
        group_todo = [g for g in groups if stale or not marker_valid(work.marker(g.name), fp)]
        stale = stale or bool(group_todo)
        times["groups"] = _run_phase(
            executor, group_task, group_todo, len(groups), "dedup 2/4 pairs", show_progress, unit="groups", log_dir=logs
        )
        ran["groups"] = len(group_todo)

        # Phase 3: clusters and representatives.
        cluster_todo = []
        if stale or not marker_valid(work.marker("clusters"), fp):
            cluster_todo = [ClusterTask(tuple(g.name for g in groups), indexes, params, work_s, fp)]
            stale = True
        times["clusters"] = _run_phase(
            executor, cluster_task, cluster_todo, 1, "dedup 3/4 clusters", show_progress, unit="tasks", log_dir=logs
        )
        ran["clusters"] = len(cluster_todo)

        # Phase 4: filter each shard.
        docs_per_shard = {s.index: json.loads(work.marker(f"sig-{s.index:05d}").read_text())["docs"] for s in shards}
        cfg_json = config.model_dump(mode="json")
        filter_todo = [
            FilterTask(cfg_json, fp, s, out_s, docs_per_shard[s.index], work_s)
            for s in shards
            if stale or not _filter_marker_valid(layout, s, fp)
        ]
        layout.sweep((t.shard.index for t in filter_todo), len(shards))  # one walk per run, lock held
        times["filter"] = _run_phase(
            executor, filter_task, filter_todo, len(shards), "dedup 4/4 filter", show_progress, log_dir=logs
        )
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
                "time": clock.read() if config.executor == "local" else {"wall_seconds": clock.read()["wall_seconds"]},
            }
        )
        for name, t in times.items():  # this run's phase clocks: wall, and CPU of all processes (None on Ray)
            merged["dedup"]["phases"][name]["wall_seconds"] = t["wall_seconds"]
            merged["dedup"]["phases"][name]["tree_cpu_seconds"] = (
                t["cpu_seconds"] if config.executor == "local" else None
            )
        write_card(layout, read_manifest(layout) or {}, merged)  # the dataset card; stats.json stays last
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
    return (
        marker.get("fingerprint") == fp
        and layout.stats_file(shard.index).is_file()
        and all(file_size(layout.root / rel) == size for rel, size in marker.get("outputs", {}).items())
    )


def _empty_result(config: DedupConfig, layout: OutputLayout, t0: float) -> DedupResult:
    """An empty input is an empty dataset: no shards, no documents, an empty ``data/``."""
    p = config.dedup
    bands, rows = p.lsh()
    layout.sweep((), 0)
    merged = merge_stats([])
    merged.update(
        {
            "pipeline": config.name,
            "fingerprint": json.loads(layout.manifest.read_text())["fingerprint"],
            "shards": 0,
            "dedup": {
                "stage": STAGE,
                "mode": p.mode,
                "shingle": f"{p.shingle} {p.ngram}-grams",
                "num_perm": p.num_perm,
                "bands": bands if p.near else None,
                "rows": rows if p.near else None,
                "verify": p.verify,
                "keep": p.keep,
                "clusters": 0,
                "clustered_docs": 0,
                "removed": 0,
                "largest_cluster": 0,
                "pairs": {},
                "phases": {name: {"tasks": 0, "cpu_seconds": 0.0, "max_task_peak_rss_mib": 0.0} for name in PHASES},
                "cpu_seconds": 0.0,
            },
            "per_shard": [],
        }
    )
    write_card(layout, read_manifest(layout) or {}, merged)
    write_text_atomic(layout.merged_stats, json.dumps(merged, indent=1, sort_keys=True))
    return DedupResult(merged, [], dict.fromkeys(PHASES, 0), time.perf_counter() - t0, [])


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
