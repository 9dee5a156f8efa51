"""The run driver: plan shard tasks, skip finished ones, execute, merge stats, check the ledger."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacraft import __version__
from datacraft.errors import LedgerError, OutputConflictError
from datacraft.executors import Executor, close_executor, make_executor
from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.io.paths import Shard, list_shards
from datacraft.pipeline.config import PipelineConfig
from datacraft.pipeline.layout import SUBDIRS, OutputLayout
from datacraft.pipeline.ledger import ShardStats, merge_stats
from datacraft.pipeline.task import ShardTask, input_identity, run_shard_task
from datacraft.progress import RunProgress


@dataclass
class RunPlan:
    """Which shards a run will process and which it will skip as already complete."""

    config: PipelineConfig
    shards: list[Shard]
    todo: list[Shard]
    skipped: list[Shard]
    out: Path


@dataclass
class RunResult:
    """What a run did: merged stats plus how many shards ran or were skipped."""

    plan: RunPlan
    merged: dict[str, Any]
    ran: int
    seconds: float
    shard_stats: list[ShardStats] = field(default_factory=list)


def _marker_valid(layout: OutputLayout, shard: Shard, fingerprint: str) -> bool:
    try:
        marker = json.loads(layout.marker(shard.index).read_text())
    except (OSError, ValueError):
        return False
    return (
        marker.get("fingerprint") == fingerprint
        and marker.get("name") == shard.name
        and all(marker.get(k) == v for k, v in input_identity(shard.path).items())
        and layout.stats_file(shard.index).is_file()
        and all(_size(layout.root / rel) == size for rel, size in marker.get("outputs", {}).items())
    )


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _check_output_dir(layout: OutputLayout, config: PipelineConfig, force: bool) -> None:
    root = layout.root
    if not root.exists():
        return
    if force:
        layout.clear_all()
        return
    if layout.manifest.is_file():
        try:
            previous = json.loads(layout.manifest.read_text()).get("fingerprint")
        except ValueError:
            previous = None
        if previous != config.fingerprint():
            raise OutputConflictError(
                f"{root} holds the output of a different pipeline configuration; "
                "rerun with --force to replace it, or choose another --output"
            )
    elif any(root.iterdir()) and not any((root / d).exists() for d in SUBDIRS):
        raise OutputConflictError(f"{root} is not empty and is not a datacraft output; choose another --output")


def plan_run(config: PipelineConfig, force: bool = False) -> RunPlan:
    """List shards and decide which are already complete (valid marker for the same config and input)."""
    shards = list_shards(config.input.paths, config.input.format)
    layout = OutputLayout(fs.as_path(config.output.path))
    fp = config.fingerprint()
    if force or not layout.root.exists():
        todo, skipped = list(shards), []
    else:
        todo = [s for s in shards if not _marker_valid(layout, s, fp)]
        skipped = [s for s in shards if s not in todo]
    return RunPlan(config, shards, todo, skipped, layout.root)


def run_pipeline(
    config: PipelineConfig, *, force: bool = False, show_progress: bool = False, executor: Executor | None = None
) -> RunResult:
    """Run a pipeline over all its shards; finished shards of an earlier run are skipped."""
    t0 = time.perf_counter()
    own_executor = executor is None
    if executor is None:  # before anything is written: a missing engine is a config error (it connects in run)
        executor = make_executor(config.executor, config.workers, config.ray_address, config.ray.model_dump())
    fs.check_access(config.output.path, write=True)  # credentials and bucket, before anything runs
    layout = OutputLayout(fs.as_path(config.output.path))
    _check_output_dir(layout, config, force)
    plan = plan_run(config, force=force)
    layout.root.mkdir(parents=True, exist_ok=True)
    fp = config.fingerprint()
    write_text_atomic(
        layout.manifest,
        json.dumps(
            {
                "fingerprint": fp,
                "datacraft": __version__,
                "config": config.model_dump(mode="json"),
                "shards": [s.name for s in plan.shards],
            },
            indent=1,
        ),
    )
    # Outputs of shards that no longer exist in the input would otherwise linger.
    for index in layout.shard_indexes_present():
        if index >= len(plan.shards):
            layout.clear_shard(index)
    cfg_json = config.model_dump(mode="json")
    tasks = [ShardTask(cfg_json, fp, shard, str(layout.root)) for shard in plan.todo]
    progress = RunProgress(len(plan.shards), enabled=show_progress, desc=config.name)
    for _ in plan.skipped:
        progress.shard_done()
    try:
        for _task, _result in executor.run(run_shard_task, tasks, progress):
            progress.shard_done()
    finally:
        progress.close()
        if own_executor:
            close_executor(executor)
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
        }
    )
    write_text_atomic(layout.merged_stats, json.dumps(merged, indent=1))
    if not merged["ledger_balanced"]:
        raise LedgerError(f"ledger does not balance for {layout.root}; see {layout.merged_stats}")
    return RunResult(plan, merged, len(tasks), time.perf_counter() - t0, shard_stats)
