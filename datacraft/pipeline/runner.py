"""The run driver: plan shard tasks, skip finished ones, execute, merge stats, check the ledger.

Before anything is written the driver checks the output (a directory, outside every input, not
another run's output) and takes the output lock; it then sweeps files no marker vouches for
once, runs the tasks, merges stats and checks the ledger and the quarantine budget.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacraft.errors import LedgerError, QuarantineBudgetError
from datacraft.executors import Executor, close_executor, make_executor
from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.io.files import file_size
from datacraft.io.lock import output_lock
from datacraft.io.paths import Shard, list_shards
from datacraft.log import attach_run_log, get_logger
from datacraft.pipeline.card import write_card
from datacraft.pipeline.config import PipelineConfig
from datacraft.pipeline.fingerprint import input_identity, run_identity
from datacraft.pipeline.layout import DATA, OutputLayout
from datacraft.pipeline.ledger import ShardStats, merge_stats
from datacraft.pipeline.outdir import check_identity, check_not_foreign, check_output_path
from datacraft.pipeline.outschema import resolve_fields
from datacraft.pipeline.task import ShardTask, run_shard_task
from datacraft.progress import RunProgress
from datacraft.stages.registry import check_importable_in_workers
from datacraft.tasklog import LoggedTask
from datacraft.timing import Clock


@dataclass
class RunPlan:
    """Which shards a run will process and which it will skip as already complete."""

    config: PipelineConfig
    shards: list[Shard]
    todo: list[Shard]
    skipped: list[Shard]
    out: Path
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """What a run did: merged stats plus how many shards ran or were skipped."""

    plan: RunPlan
    merged: dict[str, Any]
    ran: int
    seconds: float
    shard_stats: list[ShardStats] = field(default_factory=list)


def _marker_valid(layout: OutputLayout, shard: Shard, fingerprint: str, ident: dict[str, Any]) -> bool:
    """A shard is complete when its marker is for the same contents and input file (``ident``: its size
    and mtime), and vouches for files that are all there with their sizes (no folder is listed)."""
    marker = layout.read_marker(shard.index)
    if marker is None:
        return False
    return (
        marker.get("fingerprint") == fingerprint
        and marker.get("name") == shard.name
        and all(marker.get(k) == v for k, v in ident.items())
        and file_size(layout.stats_file(shard.index)) is not None
        and all(file_size(layout.root / rel) == size for rel, size in marker.get("outputs", {}).items())
    )


def identity_of(
    config: PipelineConfig, shards: list[Shard], idents: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The run identity of a pipeline over ``shards`` (content fingerprint, input set, version)."""
    return run_identity(config.fingerprint(), [spec.params for spec in config.stages], shards, idents)


def check_run_paths(config: PipelineConfig) -> None:
    """Usage checks before anything is written: outputs are directories outside every input (exit 2)."""
    check_output_path(config.output.path, config.input.paths)
    if config.dedup is not None:
        from datacraft.dedup.config import dedup_from_pipeline  # the dedup package imports this module

        dedup_out = dedup_from_pipeline(config).output.path
        check_output_path(dedup_out, config.input.paths, "dedup output")
        check_output_path(dedup_out, [config.output.path], "dedup output")


def plan_run(config: PipelineConfig, force: bool = False, shards: list[Shard] | None = None) -> RunPlan:
    """List shards and decide which are already complete (valid marker for the same contents and input)."""
    if shards is None:
        shards = list_shards(config.input.paths, config.input.format)
    config = resolve_fields(config, shards)  # the output schema's input columns, decided once here
    layout = OutputLayout(fs.as_path(config.output.path))
    idents = {s.path: input_identity(s.path) for s in shards}  # one stat per input file
    identity = identity_of(config, shards, idents)
    fp = identity["fingerprint"]
    if force or not layout.root.exists():
        todo, skipped = list(shards), []
    else:
        done = {s.index for s in shards if _marker_valid(layout, s, fp, idents[s.path])}
        todo = [s for s in shards if s.index not in done]
        skipped = [s for s in shards if s.index in done]
    return RunPlan(config, shards, todo, skipped, layout.root, identity)


def run_pipeline(
    config: PipelineConfig, *, force: bool = False, show_progress: bool = False, executor: Executor | None = None
) -> RunResult:
    """Run a pipeline over all its shards; finished shards of an earlier run are skipped."""
    t0, clock = time.perf_counter(), Clock()
    check_run_paths(config)
    fs.check_access(config.output.path, write=True)  # credentials and bucket, before anything runs
    layout = OutputLayout(fs.as_path(config.output.path))
    check_not_foreign(layout.root)
    own_executor = executor is None
    check_importable_in_workers([s.name for s in config.stages], config.workers if config.executor == "local" else 2)
    if executor is None:  # before anything is written: a missing engine is a config error (it connects in run)
        executor = make_executor(config.executor, config.workers, config.ray_address, config.ray.model_dump())
    try:
        with output_lock(layout.root):
            result = _run_locked(config, layout, executor, force, show_progress, t0, clock)
    finally:
        if own_executor:
            close_executor(executor)
    check_quarantine_budget(result.merged, config.max_quarantine_fraction, f"{layout.dir('quarantine')}/", result)
    return result


def _run_locked(
    config: PipelineConfig,
    layout: OutputLayout,
    executor: Executor,
    force: bool,
    show_progress: bool,
    t0: float,
    clock: Clock,
) -> RunResult:
    shards = list_shards(config.input.paths, config.input.format)
    config = resolve_fields(config, shards)  # the output schema's input columns, decided once here
    plan = plan_run(config, force=force, shards=shards)
    check_identity(layout, plan.identity, force)
    fp = plan.identity["fingerprint"]
    layout.dir(DATA).mkdir(parents=True, exist_ok=True)  # an empty dataset is an empty data/, never absent
    attach_run_log(layout.root)
    get_logger("run").info(
        f"run {config.name}: {len(plan.todo)} of {len(plan.shards)} shards to do, into {layout.root}"
    )
    manifest = {**plan.identity, "config": config.model_dump(mode="json"), "shards": [s.name for s in plan.shards]}
    write_text_atomic(layout.manifest, json.dumps(manifest, indent=1))
    # One sweep per run: files of shards to redo, of shards no longer in the input, and temporary files.
    layout.sweep((s.index for s in plan.todo), len(plan.shards))
    tasks = [ShardTask(manifest["config"], fp, shard, str(layout.root)) for shard in plan.todo]
    progress = RunProgress(len(plan.shards), enabled=show_progress, desc=config.name)
    for _ in plan.skipped:
        progress.shard_done(skipped=True)
    try:
        for _task, _result in executor.run(LoggedTask(run_shard_task, layout.root / "logs"), tasks, progress):
            progress.shard_done()
    finally:
        progress.close()
    if tasks:
        layout.sweep((), len(plan.shards))  # temporary files of task attempts that died and were retried
    shard_stats = [ShardStats.from_json(json.loads(layout.stats_file(s.index).read_text())) for s in plan.shards]
    merged = merge_stats(shard_stats)
    order = [spec.label for spec in config.stages]
    merged["stages"] = {k: merged["stages"][k] for k in order if k in merged["stages"]}
    merged["dropped"] = {k: merged["dropped"][k] for k in order if k in merged["dropped"]} | {
        k: v for k, v in merged["dropped"].items() if k not in order
    }
    merged.update(
        {
            "pipeline": config.name,
            "fingerprint": fp,
            "shards": len(plan.shards),
            "per_shard": [s.to_json() for s in shard_stats],
            # Process-tree CPU (driver + reaped local workers); Ray workers are not our children.
            "time": clock.read() if config.executor == "local" else {"wall_seconds": clock.read()["wall_seconds"]},
        }
    )
    write_card(layout, manifest, merged)  # before stats.json, which stays the file written last
    write_text_atomic(layout.merged_stats, json.dumps(merged, indent=1))
    if not merged["ledger_balanced"]:
        raise LedgerError(f"ledger does not balance for {layout.root}; see {layout.merged_stats}")
    return RunResult(plan, merged, len(tasks), time.perf_counter() - t0, shard_stats)


def quarantine_lines(merged: dict[str, Any], limit: int = 3) -> list[str]:
    """The most frequent quarantine error kinds with a count and an example position each."""
    q = merged.get("quarantine") or {}
    examples = q.get("examples", {})
    return [f"{kind} ×{n:,} (e.g. {examples.get(kind, '?')})" for kind, n in list(q.get("reasons", {}).items())[:limit]]


def check_quarantine_budget(merged: dict[str, Any], max_fraction: float, where: str, result: Any = None) -> None:
    """Raise QuarantineBudgetError (exit 1) when more records were quarantined than the budget allows.

    ``where`` names the place the quarantined records went (a directory, or stderr for a stream)."""
    t = merged["totals"]
    if not t["docs_in"] or t["quarantined"] / t["docs_in"] <= max_fraction:
        return
    raise QuarantineBudgetError(
        f"{t['quarantined']:,} of {t['docs_in']:,} input records ({t['quarantined'] / t['docs_in']:.1%}) were "
        f"quarantined, more than max_quarantine_fraction={max_fraction:g}: "
        + "; ".join(quarantine_lines(merged))
        + f". See {where}; fix the input or the reader settings (e.g. --text-field), or allow "
        "more with --set max_quarantine_fraction=F",
        result,
    )
