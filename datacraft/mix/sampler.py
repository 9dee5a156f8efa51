"""Two passes over the inputs: count sizes per group, then write each document 0…k times.

Selection is by a seeded hash of the document id, so it is deterministic, independent of shard order
and worker count, and exact to within one document: per group, documents are ranked by hash and the
cheapest prefix reaching the target fraction is taken (downsampling), after whole copies (upsampling).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import xxhash

from datacraft.document import Document
from datacraft.executors import close_executor, make_executor
from datacraft.io.atomic import write_text_atomic
from datacraft.io.paths import Shard, list_shards
from datacraft.io.readers import ReadOptions, read_shard
from datacraft.io.writers import ParquetShardWriter
from datacraft.mix.config import MixConfig
from datacraft.pipeline.card import write_mix_card
from datacraft.pipeline.layout import shard_stem
from datacraft.pipeline.outschema import data_schema, discover_fields
from datacraft.pipeline.task import doc_row

MISSING = "__missing__"


@dataclass(frozen=True)
class MixShard:
    """One input shard and the source it belongs to."""

    shard: Shard
    source: str


@dataclass(frozen=True)
class GroupPlan:
    """How often documents of a group are written: ``copies`` times, plus once more if hash ≤ threshold."""

    copies: int
    threshold: int  # documents with hash <= threshold get one extra copy; -1: none


def doc_hash(seed: int, doc_id: str) -> int:
    """The seeded 63-bit rank of a document."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seed) >> 1


def doc_size(doc: Document, unit: str) -> int:
    """A document's size in the mix unit."""
    if unit == "words":
        return len(doc.text.split())
    if unit == "chars":
        return len(doc.text)
    return 1


def doc_group(doc: Document, source: str, group_by: str) -> str:
    """The group a document belongs to."""
    if group_by == "source":
        return source
    value = doc.meta.get(group_by)
    return MISSING if value is None else str(value)


def _docs(ms: MixShard, cfg: MixConfig) -> Any:
    opts = ReadOptions(text_field=cfg.text_field, id_field=cfg.id_field)
    for item in read_shard(ms.shard, opts):
        if isinstance(item, Document):
            yield item


def count_task(args: tuple[MixShard, dict[str, Any], str]) -> str:
    """Pass 1 for one shard: per group, the hash and size of every document (saved as .npz)."""
    ms, cfg_json, work = args
    cfg = MixConfig(**cfg_json)
    hashes: dict[str, list[int]] = {}
    sizes: dict[str, list[int]] = {}
    for doc in _docs(ms, cfg):
        g = doc_group(doc, ms.source, cfg.group_by)
        hashes.setdefault(g, []).append(doc_hash(cfg.seed, doc.id))
        sizes.setdefault(g, []).append(doc_size(doc, cfg.unit))
    path = Path(work) / f"{shard_stem(ms.shard.index)}.npz"
    arrays = {}
    for g in hashes:
        arrays[f"h::{g}"] = np.array(hashes[g], dtype=np.int64)
        arrays[f"s::{g}"] = np.array(sizes[g], dtype=np.int64)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return str(path)


def plan_groups(cfg: MixConfig, count_files: list[str]) -> tuple[dict[str, GroupPlan], dict[str, Any]]:
    """From pass-1 counts, decide copies and hash thresholds per group; also return the plan report."""
    hashes: dict[str, list[np.ndarray]] = {}
    sizes: dict[str, list[np.ndarray]] = {}
    for f in count_files:
        with np.load(f) as data:
            for key in data.files:
                kind, g = key.split("::", 1)
                (hashes if kind == "h" else sizes).setdefault(g, []).append(data[key])
    totals = {g: int(sum(int(a.sum()) for a in sizes[g])) for g in sizes}
    weights = {g: w for g, w in cfg.group_weights().items() if w > 0}
    wsum = sum(weights.values())
    share = {g: w / wsum for g, w in weights.items()}
    empty = [g for g in share if totals.get(g, 0) == 0]
    if empty:
        from datacraft.errors import InputError

        raise InputError(f"mix: no documents for weighted group(s) {', '.join(sorted(empty))}")
    target = cfg.target if cfg.target is not None else min(totals[g] / share[g] for g in share)
    plans: dict[str, GroupPlan] = {}
    for g, p in share.items():
        want = target * p
        ratio = want / totals[g]
        copies = math.floor(ratio + 1e-12)
        frac_tokens = want - copies * totals[g]
        threshold = -1
        if frac_tokens > 0.5:
            h = np.concatenate(hashes[g])
            s = np.concatenate(sizes[g])
            order = np.argsort(h, kind="stable")
            cum = np.cumsum(s[order])
            k = int(np.searchsorted(cum, frac_tokens, side="left"))
            k = min(k, len(order) - 1)
            threshold = int(h[order[k]])
        plans[g] = GroupPlan(copies, threshold)
    report = {
        "unit": cfg.unit,
        "target": target,
        "seed": cfg.seed,
        "groups": {
            g: {"weight": cfg.group_weights().get(g, 0.0), "asked": share.get(g, 0.0), "available": totals[g]}
            for g in sorted(totals)
        },
    }
    for g in sorted(set(share) - set(totals)):
        report["groups"][g] = {"weight": weights[g], "asked": share[g], "available": 0}
    return plans, report


#: Columns the mix adds to every row.
MIX_FIELDS = [pa.field("mix_group", pa.string()), pa.field("mix_copy", pa.int64())]


def mix_schema(cfg_json: dict[str, Any], fields: dict[str, str]) -> pa.Schema:
    """The schema of every file of a mix: id, text, the inputs' fields, mix_group, mix_copy, extra_fields."""
    decides = {k: v for k, v in cfg_json.items() if k not in ("output", "workers")}  # not paths or worker counts
    fingerprint = xxhash.xxh64_hexdigest(json.dumps({"mix": decides, "fields": fields}, sort_keys=True).encode())
    return data_schema(fields, True, [], fingerprint, added=MIX_FIELDS)


def write_task(
    args: tuple[MixShard, dict[str, Any], dict[str, tuple[int, int]], str, dict[str, str]],
) -> dict[str, Any]:
    """Pass 2 for one shard: write each document its planned number of times; return per-group counts."""
    ms, cfg_json, plans_raw, out, fields = args
    cfg = MixConfig(**cfg_json)
    plans = {g: GroupPlan(*v) for g, v in plans_raw.items()}
    stem = shard_stem(ms.shard.index)
    schema = mix_schema(cfg_json, fields)
    writer = ParquetShardWriter(Path(out) / "data", stem, schema=schema, row_group_rows=cfg.row_group_rows)
    counts: dict[str, dict[str, int]] = {}
    batch: list[dict[str, Any]] = []
    try:
        for doc in _docs(ms, cfg):
            g = doc_group(doc, ms.source, cfg.group_by)
            c = counts.setdefault(g, {"docs_in": 0, "size_in": 0, "docs_selected": 0, "rows_out": 0, "size_out": 0})
            size = doc_size(doc, cfg.unit)
            c["docs_in"] += 1
            c["size_in"] += size
            plan = plans.get(g)
            if plan is None:
                continue
            n = plan.copies + (1 if plan.threshold >= 0 and doc_hash(cfg.seed, doc.id) <= plan.threshold else 0)
            if n:
                c["docs_selected"] += 1
                c["rows_out"] += n
                c["size_out"] += n * size
                row = doc_row(doc)
                row["mix_group"] = g
                for copy in range(n):
                    batch.append({**row, "mix_copy": copy})
            if len(batch) >= cfg.row_group_rows:
                writer.write(batch)
                batch = []
        writer.write(batch)
        files = writer.commit()
    except BaseException:
        writer.abort()
        raise
    result = {"shard": ms.shard.index, "input": ms.shard.path, "groups": counts, "files": files}
    write_text_atomic(Path(out) / "stats" / f"{stem}.json", json.dumps(result, indent=1, sort_keys=True))
    return result


def run_mix(cfg: MixConfig, show_progress: bool = False) -> dict[str, Any]:
    """Run both passes and write ``OUT/mix_report.json``; a failed run leaves no output folder it created."""
    out = Path(cfg.output)
    created = not out.exists()
    try:
        return _run_mix(cfg, show_progress)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run_mix(cfg: MixConfig, show_progress: bool = False) -> dict[str, Any]:
    """Run both passes and write ``OUT/mix_report.json``; returns the report."""
    out = Path(cfg.output)
    for sub in ("data", "stats", "_counts"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "_counts").mkdir(parents=True, exist_ok=True)
    shards: list[MixShard] = []
    for source in cfg.sources:
        for s in list_shards(source.paths):
            shards.append(MixShard(Shard(len(shards), s.path, s.name, s.format), source.name))
    cfg_json = cfg.model_dump(mode="json")
    executor = make_executor("local", cfg.workers)
    try:
        count_tasks = [(ms, cfg_json, str(out / "_counts")) for ms in shards]
        count_files = [r for _, r in executor.run(count_task, count_tasks)]
        plans, report = plan_groups(cfg, sorted(count_files))
        plans_raw = {g: (p.copies, p.threshold) for g, p in plans.items()}
        opts = ReadOptions(text_field=cfg.text_field, id_field=cfg.id_field)
        fields = discover_fields([ms.shard for ms in shards], opts)  # one schema for every file, decided here
        tasks = [(ms, cfg_json, plans_raw, str(out), fields) for ms in shards]
        results = [r for _, r in executor.run(write_task, tasks)]
    finally:
        close_executor(executor)  # the pool's workers end with the mix, not at garbage collection
    shutil.rmtree(out / "_counts", ignore_errors=True)
    totals: dict[str, dict[str, int]] = {}
    for r in sorted(results, key=lambda r: r["shard"]):
        for g, c in r["groups"].items():
            t = totals.setdefault(g, dict.fromkeys(c, 0))
            for k, v in c.items():
                t[k] += v
    size_out = sum(t["size_out"] for t in totals.values()) or 1
    excluded = {}
    for g, t in totals.items():
        entry = report["groups"].setdefault(g, {"weight": 0.0, "asked": 0.0, "available": t["size_in"]})
        entry.update(t)
        entry["achieved"] = t["size_out"] / size_out
        if g not in plans:
            excluded[g] = t["docs_in"]
    report["excluded_docs"] = excluded
    report["size_out"] = sum(t["size_out"] for t in totals.values())
    report["rows_out"] = sum(t["rows_out"] for t in totals.values())
    files = sorted(os.path.relpath(f, out) for r in results for f in r["files"])
    write_mix_card(out, "mix", report, files)  # OUT/README.md: load_dataset(OUT) reads data/ only
    write_text_atomic(out / "mix_report.json", json.dumps(report, indent=1, sort_keys=True))
    return report
