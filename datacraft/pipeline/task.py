"""The shard task: one pipeline over one input shard, idempotent and atomic.

Outputs are written under temporary names, renamed when the shard is complete, then the
completion marker is written. A task that dies leaves nothing that looks complete.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io import fs
from datacraft.io.arrays import utf8_chars
from datacraft.io.atomic import write_text_atomic
from datacraft.io.files import file_checksum, file_size
from datacraft.io.paths import Shard
from datacraft.io.readers import ReadOptions, read_shard
from datacraft.io.records import BadRecord, Skipped
from datacraft.io.schema import EXTRA, LEADING, with_previous_extra
from datacraft.io.writers import (
    JsonlShardWriter,
    PartitionedWriter,
    ShardWriter,
    StdoutWriter,
    TableParquetShardWriter,
    make_writer,
)
from datacraft.pipeline.config import PipelineConfig
from datacraft.pipeline.fingerprint import input_identity
from datacraft.pipeline.layout import DATA, QUARANTINE, REJECTED, OutputLayout, shard_stem
from datacraft.pipeline.ledger import ShardStats, StageStats
from datacraft.pipeline.outschema import output_schemas
from datacraft.progress import report_docs
from datacraft.stages.base import Stage
from datacraft.stages.registry import get_stage_class


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to run one shard (picklable)."""

    config: dict[str, Any]
    fingerprint: str
    shard: Shard
    out_dir: str


_STAGE_CACHE: dict[str, list[Stage]] = {}
#: Counter group (in stats ``counters``) of records the reader skipped by design, by kind.
READ_COUNTER = "read"


def build_stages(config: PipelineConfig) -> list[Stage]:
    """Instantiate the configured stages (validated parameters) in order."""
    stages = []
    for spec in config.stages:
        cls = get_stage_class(spec.name)
        stages.append(cls(cls.Params(**spec.params), label=spec.label))
    return stages


def stages_for(config: PipelineConfig, fingerprint: str) -> list[Stage]:
    """Stages for a config, built once per process and set up."""
    stages = _STAGE_CACHE.get(fingerprint)
    if stages is None:
        stages = build_stages(config)
        _STAGE_CACHE[fingerprint] = stages
    for s in stages:
        s.ensure_setup()
    return stages


def read_options(config: PipelineConfig) -> ReadOptions:
    """Reader options from the input config."""
    i = config.input
    return ReadOptions(
        text_field=i.text_field,
        id_field=i.id_field,
        keep_fields=i.keep_fields,
        max_record_bytes=i.max_record_bytes,
        parquet_batch_rows=i.parquet_batch_rows,
    )


class ShardContext:
    """The StageContext of one shard task: counts drops and routes them to ``rejected/``."""

    def __init__(self, stats: ShardStats, rejected: ShardWriter | None) -> None:
        self.stats = stats
        self.rejected = rejected
        self._rejected_rows: list[dict[str, Any]] = []

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        self.stats.add_drop(stage, reason)
        if self.rejected is not None:
            self._rejected_rows.append(
                {
                    "id": doc.id,
                    "text": doc.text,
                    "stage": stage,
                    "reason": reason,
                    "signals": orjson.dumps(signals or {}, default=str).decode(),
                    "meta": orjson.dumps(doc.meta, default=str).decode(),
                }
            )

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.stats.add_count(stage, key, n)

    def flush(self) -> None:
        if self.rejected is not None and self._rejected_rows:
            self.rejected.write(self._rejected_rows)
            self._rejected_rows = []


def doc_row(doc: Document) -> dict[str, Any]:
    """The output row of a kept document: id, text, then its meta as columns.

    The ``id`` and ``text`` columns are always the document's own (from the source's ``id_field`` and
    ``text_field``); a meta key named ``id`` or ``text`` (a record's own key, when those fields have other
    names) is kept under its name in ``extra_fields`` (see :func:`clashing_keys_row`)."""
    meta = doc.meta
    if "id" in meta or "text" in meta:
        return clashing_keys_row(doc)
    row = {"id": doc.id, "text": doc.text}
    row.update(meta)
    return row


def clashing_keys_row(doc: Document) -> dict[str, Any]:
    """The row of a document whose meta has ``id``/``text`` keys: those go into ``extra_fields`` (merged
    with what it already holds, as :func:`~datacraft.io.schema.conform_columns` merges), never into the
    document's own columns."""
    row: dict[str, Any] = dict(doc.meta)
    clash = with_previous_extra(row.get(EXTRA), {k: row.pop(k) for k in LEADING if k in row})
    row[EXTRA] = orjson.dumps(clash, default=str, option=orjson.OPT_SORT_KEYS).decode()
    row["id"], row["text"] = doc.id, doc.text
    return row


class ShardRun:
    """Runs documents of one shard through the stages into writers; fills the stats."""

    def __init__(
        self,
        config: PipelineConfig,
        stages: list[Stage],
        stats: ShardStats,
        data: ShardWriter,
        rejected: ShardWriter | None,
        quarantine: ShardWriter | None,
    ) -> None:
        self.config = config
        self.stages = stages
        self.stats = stats
        self.data = data
        self.quarantine = quarantine
        self.ctx = ShardContext(stats, rejected)
        for s in stages:
            stats.stages.setdefault(s.label, StageStats())

    def bad_record(self, bad: BadRecord) -> None:
        self.stats.docs_in += 1
        self.stats.quarantined += 1
        self.stats.add_quarantine(bad.error, f"{bad.file}, {bad.position}")
        if self.config.on_error == "fail":
            raise InputError(f"bad record: {bad.describe()} (rerun with --on-error quarantine to set it aside)")
        if self.quarantine is not None:
            self.quarantine.write([{"file": bad.file, "position": bad.position, "error": bad.error, "raw": bad.raw}])

    def run_batch(self, docs: list[Document]) -> None:
        stats = self.stats
        stats.docs_in += len(docs)
        chars = sum(len(d.text) for d in docs)
        stats.chars_in += chars
        for stage in self.stages:
            st = stats.stages[stage.label]
            st.docs_in += len(docs)
            st.chars_in += chars
            t0, c0 = time.perf_counter(), time.process_time()
            docs = stage.run_batch(docs, self.ctx)
            st.seconds += time.perf_counter() - t0
            st.cpu_seconds += time.process_time() - c0
            chars = sum(len(d.text) for d in docs)
            st.docs_out += len(docs)
            st.chars_out += chars
            if not docs:
                break
        t0, c0 = time.perf_counter(), time.process_time()
        self.ctx.flush()
        if docs:
            stats.kept += len(docs)
            stats.chars_out += chars
            self.data.write([doc_row(d) for d in docs])
        stats.write_seconds += time.perf_counter() - t0
        stats.write_cpu_seconds += time.process_time() - c0

    def run_table(self, table: pa.Table) -> None:
        """Write a block of records read as columns (no stages: every record is kept as it is)."""
        n = table.num_rows
        chars = utf8_chars(table.column("text"))
        stats = self.stats
        stats.docs_in += n
        stats.chars_in += chars
        stats.kept += n
        stats.chars_out += chars
        t0, c0 = time.perf_counter(), time.process_time()
        self.data.write_arrow(table)  # type: ignore[attr-defined]
        stats.write_seconds += time.perf_counter() - t0
        stats.write_cpu_seconds += time.process_time() - c0
        report_docs(n)

    def run(self, items: Any) -> None:
        batch: list[Document] = []
        size = self.config.batch_size
        t_read, c_read = time.perf_counter(), time.process_time()
        for item in items:
            if type(item) is Document:
                batch.append(item)
                if len(batch) >= size:
                    self.stats.read_seconds += time.perf_counter() - t_read
                    self.stats.read_cpu_seconds += time.process_time() - c_read
                    self.run_batch(batch)
                    report_docs(len(batch))
                    batch = []
                    t_read, c_read = time.perf_counter(), time.process_time()
            elif type(item) is Skipped:
                self.stats.add_count(READ_COUNTER, f"skipped_{item.kind}")
            elif type(item) is pa.Table:
                self.stats.read_seconds += time.perf_counter() - t_read
                self.stats.read_cpu_seconds += time.process_time() - c_read
                if batch:  # rows keep their order
                    self.run_batch(batch)
                    report_docs(len(batch))
                    batch = []
                self.run_table(item)
                t_read, c_read = time.perf_counter(), time.process_time()
            else:
                self.bad_record(item)
        self.stats.read_seconds += time.perf_counter() - t_read
        self.stats.read_cpu_seconds += time.process_time() - c_read
        if batch:
            self.run_batch(batch)
            report_docs(len(batch))


def _writer_factory(fmt: str, config: PipelineConfig, schema: pa.Schema) -> Callable[[Path, str], ShardWriter]:
    """A factory of writers in ``fmt`` with the output's rotation and compression settings."""

    def make(where: Path, stem: str) -> ShardWriter:
        return make_writer(fmt, where, stem, schema=schema, **_file_options(config))

    return make


def _file_options(config: PipelineConfig) -> dict[str, Any]:
    """The output's file rotation, row-group and compression settings, as writer keyword arguments."""
    o = config.output
    return {
        "rows_per_file": o.rows_per_file,
        "bytes_per_file": o.bytes_per_file,
        "row_group_rows": o.row_group_rows,
        "compression": o.compression,
    }


def make_data_writer(config: PipelineConfig, directory: Path, stem: str, schema: pa.Schema) -> ShardWriter:
    """The writer for kept documents of one shard (one per value of ``output.partition_by``, if set)."""
    o = config.output
    factory = _writer_factory(o.format, config, schema)

    def make(where: Path) -> ShardWriter:
        return factory(where, stem)

    return PartitionedWriter(directory, stem, o.partition_by, make) if o.partition_by else make(directory)


def make_rejected_writer(config: PipelineConfig, directory: Path, stem: str, schema: pa.Schema) -> ShardWriter | None:
    """The Parquet writer of dropped documents (None when ``output.rejected`` is off)."""
    return _writer_factory("parquet", config, schema)(directory, stem) if config.output.rejected else None


#: Whether shard tasks may read JSONL as columns (see :func:`columnar_reader`); tests turn it off to compare.
COLUMNAR = True


def columnar_reader(
    config: PipelineConfig, stages: list[Stage], shard: Shard, schema: pa.Schema
) -> Callable[[], Iterator[Any]] | None:
    """The columnar JSONL reader for a shard whose records only get written (no stages, Parquet output,
    no partitions, a plain schema: :func:`datacraft.io.jsoncols.columnar_plan`), else None."""
    o = config.output
    if not COLUMNAR or stages or shard.format != "jsonl" or o.format != "parquet" or o.partition_by:
        return None
    from datacraft.io.jsoncols import columnar_plan, read_jsonl_columns

    opts = read_options(config)
    plan = columnar_plan(schema, opts)
    if plan is None:
        return None
    return lambda: read_jsonl_columns(shard, opts, plan)


def make_table_writer(config: PipelineConfig, directory: Path, stem: str, schema: pa.Schema) -> ShardWriter:
    """The Parquet writer of kept documents that also takes Arrow tables (the columnar reader's blocks)."""
    return TableParquetShardWriter(directory, stem, schema=schema, **_file_options(config))


def run_shard_task(task: ShardTask) -> dict[str, Any]:
    """Run one shard end to end and return its stats as JSON (skips nothing: the driver decides)."""
    t0, c0 = time.perf_counter(), time.process_time()
    config = PipelineConfig(**task.config)
    layout = OutputLayout(fs.as_path(task.out_dir))
    shard = task.shard
    layout.clear_shard(shard.index)
    stem = shard_stem(shard.index)
    stages = stages_for(config, task.fingerprint)
    stats = ShardStats(shard=shard.index, input=shard.path)
    data_schema_, rejected_schema_ = output_schemas(config, stages, task.fingerprint)
    columns = columnar_reader(config, stages, shard, data_schema_)
    if columns is not None:
        data = make_table_writer(config, layout.dir(DATA), stem, data_schema_)
    else:
        data = make_data_writer(config, layout.dir(DATA), stem, data_schema_)
    rejected = make_rejected_writer(config, layout.dir(REJECTED), stem, rejected_schema_)
    quarantine = JsonlShardWriter(layout.dir(QUARANTINE), stem)
    with abort_on_error(data, rejected, quarantine):
        items = columns() if columns is not None else read_shard(shard, read_options(config))
        ShardRun(config, stages, stats, data, rejected, quarantine).run(items)
        stats.check()
    return finish_shard(layout, shard, task.fingerprint, stats, data, rejected, quarantine, t0, cpu0=c0)


@contextmanager
def abort_on_error(*writers: ShardWriter | None) -> Iterator[None]:
    """Delete every writer's temporary files if the block fails (or is interrupted)."""
    try:
        yield
    except BaseException:
        for w in writers:
            if w is not None:
                w.abort()
        raise


def finish_shard(
    layout: OutputLayout,
    shard: Shard,
    fingerprint: str,
    stats: ShardStats,
    data: ShardWriter,
    rejected: ShardWriter | None,
    quarantine: ShardWriter,
    t0: float,
    cpu0: float | None = None,
    **marker_extra: Any,
) -> dict[str, Any]:
    """Commit a complete shard: rename its files, write its stats, then (last) its completion marker."""
    out_dir = str(layout.root)
    tw, cw = time.perf_counter(), time.process_time()  # closing the files is writing too
    with abort_on_error(data, rejected, quarantine):
        stats.outputs = {
            DATA: [os.path.relpath(p, out_dir) for p in data.commit()],
            REJECTED: [os.path.relpath(p, out_dir) for p in rejected.commit()] if rejected else [],
            QUARANTINE: [os.path.relpath(p, out_dir) for p in quarantine.commit()],
        }
    # Sizes and checksums as the writers measured them on the local files they committed (one read, no download).
    taken = {
        os.path.relpath(p, out_dir): d
        for w in (data, rejected, quarantine)
        if w is not None
        for p, d in w.digests.items()
    }
    digests = {
        p: taken.get(p) or (file_size(fs.join(out_dir, p)) or 0, file_checksum(fs.join(out_dir, p)))
        for ps in stats.outputs.values()
        for p in ps
    }
    stats.write_seconds += time.perf_counter() - tw
    stats.write_cpu_seconds += time.process_time() - cw
    stats.seconds = time.perf_counter() - t0
    stats.cpu_seconds = time.process_time() - cpu0 if cpu0 is not None else 0.0
    result = stats.to_json()
    write_text_atomic(layout.stats_file(shard.index), json.dumps(result, indent=1, sort_keys=True))
    marker = {
        "shard": shard.index,
        "input": shard.path,
        "name": shard.name,
        "fingerprint": fingerprint,
        **input_identity(shard.path),
        # What the marker vouches for: a marker whose files are gone or changed (a late duplicate attempt
        # clearing them, a lost file on shared storage) is not trusted, and the shard is redone.
        # Checksums (xxh3 of the bytes) are for `datacraft verify`; resume compares sizes only.
        "outputs": {p: digests[p][0] for p in digests},
        "checksums": {p: digests[p][1] for p in digests},
        **marker_extra,
    }
    write_text_atomic(layout.marker(shard.index), json.dumps(marker, sort_keys=True))
    return result


def run_stream(
    config: PipelineConfig, items: Any, out: ShardWriter | None = None, quarantine: ShardWriter | None = None
) -> ShardStats:
    """Run the stages over any stream of documents/bad records (e.g. stdin), writing to ``out``."""
    t0, c0 = time.perf_counter(), time.process_time()
    stages = build_stages(config)
    for s in stages:
        s.ensure_setup()
    stats = ShardStats(shard=0, input="<stream>")
    writer = out or StdoutWriter()
    ShardRun(config, stages, stats, writer, None, quarantine).run(items)
    writer.commit()
    if quarantine is not None:
        quarantine.commit()
    stats.check()
    stats.seconds = time.perf_counter() - t0
    stats.cpu_seconds = time.process_time() - c0
    return stats
