"""Phase 4: per shard, keep representatives and unique documents, route the others to ``rejected/``.

It reuses the pipeline's shard machinery (reader, batches, writers, ledger, quarantine), with one
stage that applies the decisions of phase 3 by the document's position in the shard.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from datacraft.dedup.config import DedupConfig
from datacraft.dedup.layout import WorkLayout
from datacraft.dedup.phases import STAGE, read_decisions, start_task, task_resources
from datacraft.dedup.rowgroups import arrow_buffered
from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io import fs
from datacraft.io.paths import Shard
from datacraft.io.readers import read_shard
from datacraft.io.writers import JsonlShardWriter, ShardWriter
from datacraft.pipeline.layout import DATA, QUARANTINE, REJECTED, OutputLayout, shard_stem
from datacraft.pipeline.ledger import ShardStats
from datacraft.pipeline.outschema import output_schemas
from datacraft.pipeline.task import (
    ShardContext,
    ShardRun,
    abort_on_error,
    finish_shard,
    make_data_writer,
    make_rejected_writer,
    read_options,
)
from datacraft.stages.base import Stage, StageContext, columns_to_fields

#: ``dup_cluster`` of a document that has no duplicate.
NO_CLUSTER = -1


def with_rejected_column(schema: pa.Schema) -> pa.Schema:
    """``rejected/`` of dedup: the common columns plus ``duplicate_of`` (the kept document's id)."""
    return schema.append(pa.field("duplicate_of", pa.string()))


class DedupContext(ShardContext):
    """A shard context whose rejected rows also carry a ``duplicate_of`` column."""

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        super().drop(doc, stage, reason, signals)
        if self.rejected is not None:
            self._rejected_rows[-1]["duplicate_of"] = (signals or {}).get("duplicate_of")


class ApplyDecisions(Stage):
    """Keeps or drops each document by its position in the shard, as phase 3 decided."""

    name = STAGE
    kind = "filter"

    def __init__(self, decisions: dict[int, tuple[int, int, bool, str | None, str | None]]) -> None:
        super().__init__(label=STAGE)
        self.decisions = decisions
        self.position = 0

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"dup_cluster": "int64", "dup_count": "int64"}

    def output_fields(self) -> list[pa.Field]:
        """Every kept document gets its cluster (-1: none) and the cluster's size."""
        return columns_to_fields(self.output_columns())

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        kept = []
        for doc in docs:
            decision = self.decisions.get(self.position)
            self.position += 1
            if decision is None:
                doc.meta["dup_cluster"] = NO_CLUSTER
                doc.meta["dup_count"] = 1
                kept.append(doc)
                continue
            cluster, count, keep, duplicate_of, reason = decision
            if keep:
                doc.meta["dup_cluster"] = cluster
                doc.meta["dup_count"] = count
                kept.append(doc)
            else:
                signals = {"duplicate_of": duplicate_of, "dup_cluster": cluster, "dup_count": count}
                ctx.drop(doc, STAGE, reason or "near_dup", signals)
        return kept


@dataclass(frozen=True)
class FilterTask:
    """Phase 4 for one shard (picklable)."""

    config: dict[str, Any]
    fingerprint: str
    shard: Shard
    out: str
    expected_docs: int
    work: str = ""  # the work files' base folder (see dedup.layout.work_base); "" = out


def filter_task(task: FilterTask) -> dict[str, Any]:
    """Write one shard's kept documents, rejected duplicates, quarantine, stats and marker."""
    t0 = time.perf_counter()
    t_cpu = start_task()
    config = DedupConfig(**task.config)
    pconf = config.pipeline()
    layout = OutputLayout(fs.as_path(task.out))
    shard = task.shard
    layout.clear_shard(shard.index)
    stem = shard_stem(shard.index)
    stage = ApplyDecisions(read_decisions(WorkLayout(fs.as_path(task.work or task.out)), shard.index))
    stats = ShardStats(shard=shard.index, input=shard.path)
    data_schema, rejected_schema = output_schemas(pconf, [stage], task.fingerprint)
    # Row groups held as Arrow columns until written (same files); the two columns this phase adds are ints.
    data = arrow_buffered(make_data_writer(pconf, layout.dir(DATA), stem, data_schema), ("dup_cluster", "dup_count"))
    rejected_schema = with_rejected_column(rejected_schema)
    rejected: ShardWriter | None = arrow_buffered(
        make_rejected_writer(pconf, layout.dir(REJECTED), stem, rejected_schema)
    )
    quarantine = JsonlShardWriter(layout.dir(QUARANTINE), stem)
    with abort_on_error(data, rejected, quarantine):
        run = ShardRun(pconf, [stage], stats, data, rejected, quarantine)
        run.ctx = DedupContext(stats, rejected)
        run.run(read_shard(shard, read_options(pconf)))
        if stage.position != task.expected_docs:
            raise InputError(
                f"{shard.path} now holds {stage.position} documents, {task.expected_docs} when its signatures "
                "were computed: the input changed during the run; rerun to start over"
            )
        stats.check()
    return finish_shard(
        layout, shard, task.fingerprint, stats, data, rejected, quarantine, t0, cpu0=t_cpu, **task_resources(t_cpu)
    )
