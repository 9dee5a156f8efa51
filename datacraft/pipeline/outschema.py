"""The schema of a run's outputs, decided by the driver before any shard is written.

Input fields are declared in ``input.fields`` or discovered once, when the run is planned, and
written back into the config every task receives (so every worker builds the same schema):

- Parquet inputs: the columns of the file footers (up to :data:`PARQUET_FOOTERS` files), with their
  types; a field whose type differs between files gets one type by :func:`unify_types`.
- JSON Lines: the fields of the first :data:`SAMPLE_RECORDS` records of the first
  :data:`SAMPLE_SHARDS` shards; bool, int64 or float64 when every sampled value agrees, else string.
- WARC: the reader's fixed fields; plain text: none.

A field first seen after the sample, or a value that does not fit its column, is not lost: it is
kept in ``extra_fields`` (see :mod:`datacraft.io.schema`). Declare ``input.fields`` to fix the
columns and types yourself.
"""

from __future__ import annotations

import itertools
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from datacraft.document import Document
from datacraft.errors import ConfigError, InputError
from datacraft.io.paths import Shard
from datacraft.io.readers import FIXED_FIELDS, ReadOptions, read_shard
from datacraft.io.schema import (
    EXTRA,
    PARTITION_TYPE,
    SchemaError,
    build_schema,
    infer_type,
    merge_fields,
    parse_type,
    type_name,
    unify_types,
)
from datacraft.pipeline.config import PipelineConfig
from datacraft.stages.base import Stage

SAMPLE_SHARDS = 64
SAMPLE_RECORDS = 1000
PARQUET_FOOTERS = 10_000

#: Columns of ``rejected/``: the same in every file of every run.
REJECTED_FIELDS = (
    pa.field("id", pa.string()),
    pa.field("text", pa.string()),
    pa.field("stage", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("signals", pa.string()),
    pa.field("meta", pa.string()),
)


def _parquet_fields(shard: Shard, skip: set[str], types: dict[str, list[pa.DataType]]) -> None:
    try:
        schema = pq.read_schema(shard.path)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{shard.path}: not a readable Parquet file: {e}") from None
    for f in schema:
        if f.name not in skip:
            types.setdefault(f.name, []).append(f.type)


def _sample_fields(shard: Shard, opts: ReadOptions, values: dict[str, list[Any]]) -> None:
    try:
        for item in itertools.islice(read_shard(shard, opts), SAMPLE_RECORDS):
            if type(item) is Document:
                for key, value in item.meta.items():
                    values.setdefault(key, []).append(value)
    except InputError:
        pass  # an unreadable shard fails its own task, with the error, when it runs


def discover_fields(shards: list[Shard], opts: ReadOptions) -> dict[str, str]:
    """Input fields (name → type name) of ``shards``, as the module docstring describes; sorted by name."""
    if not opts.keep_fields:
        return {}
    skip = {opts.text_field, opts.id_field}
    types: dict[str, list[pa.DataType]] = {}
    values: dict[str, list[Any]] = {}
    sampled = 0
    for shard in shards[:PARQUET_FOOTERS]:
        if shard.format == "parquet":
            _parquet_fields(shard, skip, types)
        elif shard.format in FIXED_FIELDS:
            for name, t in FIXED_FIELDS[shard.format].items():
                types.setdefault(name, []).append(parse_type(t))
        elif sampled < SAMPLE_SHARDS:
            sampled += 1
            _sample_fields(shard, opts, values)
    for name, vals in values.items():
        types.setdefault(name, []).append(infer_type(vals))
    return {name: type_name(unify_types(ts)) for name, ts in sorted(types.items()) if name not in skip}


def input_fields(declared: dict[str, str] | None) -> list[pa.Field]:
    """Arrow fields of resolved ``input.fields``."""
    try:
        return [pa.field(name, parse_type(t)) for name, t in (declared or {}).items() if name != EXTRA]
    except SchemaError as e:
        raise ConfigError(f"input.fields: {e}") from None


def data_schema(
    fields: dict[str, str] | None,
    keep_fields: bool,
    stages: list[Stage],
    fingerprint: str,
    partition_by: str | None = None,
    added: list[pa.Field] | None = None,
) -> pa.Schema:
    """The schema of every file of ``data/``: id, text, input fields, stage columns, ``added``, extra_fields.

    A stage column replaces an input field of the same name (the stage writes it after reading).
    The partition column is a dictionary-encoded string column (its values are the folder names):
    the type pyarrow's hive discovery gives it, so directory readers merge the two without conflict.
    """
    stage_fields: list[pa.Field] = []
    for stage in stages:
        for f in stage.output_fields():
            if any(f.name == g.name and f.type != g.type for g in stage_fields):
                raise ConfigError(f"stage {stage.label}: column {f.name!r} is declared with another type earlier")
            stage_fields.append(f)
    columns = merge_fields(input_fields(fields if keep_fields else {}), stage_fields, added or [])
    if partition_by:  # in the files too, typed as pyarrow's hive discovery types the folder names
        columns = [pa.field(f.name, PARTITION_TYPE) if f.name == partition_by else f for f in columns]
        if partition_by not in {f.name for f in columns}:
            columns.append(pa.field(partition_by, PARTITION_TYPE))
    try:
        return build_schema(columns, extra=keep_fields, fingerprint=fingerprint)
    except SchemaError as e:
        raise ConfigError(str(e)) from None


def rejected_schema(fingerprint: str, extra: list[pa.Field] | None = None) -> pa.Schema:
    """The schema of every file of ``rejected/`` (dedup adds ``duplicate_of``)."""
    return build_schema([*REJECTED_FIELDS[2:], *(extra or [])], extra=False, fingerprint=fingerprint)


def output_schemas(config: PipelineConfig, stages: list[Stage], fingerprint: str) -> tuple[pa.Schema, pa.Schema]:
    """The schemas of ``data/`` and ``rejected/`` of a run (the same for every shard and worker)."""
    i, o = config.input, config.output
    return data_schema(i.fields, i.keep_fields, stages, fingerprint, o.partition_by), rejected_schema(fingerprint)


C = TypeVar("C", bound=BaseModel)


def resolve_fields(config: C, shards: list[Shard]) -> C:
    """``config`` (a pipeline or dedup config) with ``input.fields`` decided (declared, or discovered)."""
    i = config.input  # type: ignore[attr-defined]
    if i.fields is not None or not i.keep_fields:
        return config
    opts = ReadOptions(
        text_field=i.text_field,
        id_field=i.id_field,
        keep_fields=True,
        max_record_bytes=i.max_record_bytes,
        parquet_batch_rows=i.parquet_batch_rows,
    )
    fields = discover_fields(shards, opts)
    return config.model_copy(update={"input": i.model_copy(update={"fields": fields})})
