"""The dataset card ``OUT/README.md``: what makes a finished output folder loadable by Hugging Face ``datasets``.

``datasets.load_dataset(OUT)`` reads the YAML ``configs:`` block of ``OUT/README.md`` and loads only
the files it names (``data/`` as the ``train`` split of the default config; ``rejected/`` as the
``rejected`` config), never the stats and bookkeeping files beside them. The body is a short human
summary: the ledger, drops by stage and reason, the schema and how to load the data elsewhere.

The card is a pure function of the run's manifest, its merged stats (counts only: no clocks) and the
schema of its data files (never of the folder's path), so the same input gives the same bytes for
any worker count and output folder, on resume and on rerun, and ``datacraft verify`` recomputes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from datacraft import __version__
from datacraft.io import fs
from datacraft.io.atomic import write_text_atomic
from datacraft.pipeline.layout import CARD, DATA, REJECTED, OutputLayout
from datacraft.pipeline.ledger import creating_stages

#: Columns listed in the card's schema table before it says "… N more".
MAX_COLUMNS = 40


def output_files(merged: dict[str, Any], sub: str) -> list[str]:
    """The files of ``sub`` (``data``, ``rejected``) the shards committed, relative to OUT, sorted."""
    return sorted(p for s in merged.get("per_shard", []) for p in (s.get("outputs") or {}).get(sub, []))


#: File suffixes of datasets, longest first (``datasets`` reads all three).
SUFFIXES = (".jsonl.gz", ".jsonl", ".parquet")


def suffix_of(files: Iterable[str]) -> str:
    """The dataset files' suffix (``.parquet``; ``.jsonl``/``.jsonl.gz`` for ``output.format: jsonl``)."""
    found = {next((x for x in SUFFIXES if p.endswith(x)), "") for p in files} - {""}
    return found.pop() if len(found) == 1 else ".parquet"


def glob_for(sub: str, files: Iterable[str]) -> str:
    """The pattern matching ``files`` (``data/*.parquet``; ``data/*/*.parquet`` for Hive partitions)."""
    files = list(files)
    suffix = suffix_of(files)
    depths = {p.count("/") for p in files if p.endswith(suffix)}
    if depths and depths != {1}:
        return f"{sub}/*/*{suffix}" if depths == {2} else f"{sub}/**/*{suffix}"
    return f"{sub}/*{suffix}"


def has_rejected(merged: dict[str, Any]) -> bool:
    """True when the shards wrote files to ``rejected/``."""
    return any(p.endswith(SUFFIXES) for p in output_files(merged, REJECTED))


def configs_yaml(merged: dict[str, Any]) -> str:
    """The YAML front matter: the default config (data/ as train) and, when it has files, ``rejected``."""
    lines = ["---", "configs:"]
    subs = [("default", DATA)] + ([("rejected", REJECTED)] if has_rejected(merged) else [])
    for name, sub in subs:
        lines += [
            f"- config_name: {name}",
            "  data_files:",
            "  - split: train",
            f"    path: {glob_for(sub, output_files(merged, sub))}",
        ]
    return "\n".join([*lines, "---"])


def data_schema_of(layout: OutputLayout, merged: dict[str, Any]) -> pa.Schema | None:
    """The Arrow schema of the first data file (every file has the same one), or None without files."""
    files = [p for p in output_files(merged, DATA) if p.endswith(".parquet")]
    if not files:
        return None
    with fs.open_input(layout.root / files[0]) as fh:
        return pq.read_schema(fh)


def _totals_table(t: dict[str, Any], created_by: list[str]) -> list[str]:
    rows = [("in (records read)", t.get("docs_in", 0))]
    if t.get("created"):
        rows.append((f"created by {', '.join(created_by) or 'stages'} (one document cut into several)", t["created"]))
    rows += [
        ("kept (`data/`)", t.get("kept", 0)),
        ("dropped (`rejected/`)", t.get("dropped", 0)),
        ("quarantined: unreadable records (`quarantine/`)", t.get("quarantined", 0)),
    ]
    lines = ["| | documents |", "|---|---:|"] + [f"| {label} | {n:,} |" for label, n in rows]
    plus = " + created" if t.get("created") else ""
    lines += ["", f"Every document is accounted for: in{plus} = kept + dropped + quarantined."]
    return lines


def _drops_table(dropped: dict[str, dict[str, int]]) -> list[str]:
    if not dropped:
        return []
    lines = ["", "### Dropped by stage and reason", "", "| stage | reason | documents |", "|---|---|---:|"]
    for stage, reasons in dropped.items():
        for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {stage} | {reason} | {n:,} |")
    return lines


def _schema_table(schema: pa.Schema | None, files: list[str]) -> list[str]:
    lines = ["", "## Schema (`data/`)", ""]
    if schema is None and any(p.endswith((".jsonl", ".jsonl.gz")) for p in files):
        return [*lines, "JSON Lines files: every line has the same keys (`id`, `text`, then the signal columns)."]
    if schema is None:
        return [
            *lines,
            "No data files: nothing was kept. `datasets` cannot load an empty `data/` (nor, then, any config of",
            'this card): read the drops with `load_dataset("parquet", data_files=f"{OUT}/rejected/*.parquet")`.',
        ]
    lines += ["| column | type |", "|---|---|"]
    lines += [f"| {f.name} | {f.type} |" for f in list(schema)[:MAX_COLUMNS]]
    if len(schema) > MAX_COLUMNS:
        lines.append(f"| … {len(schema) - MAX_COLUMNS} more | |")
    return lines


RUN_FOOTER = (
    "Read `data/` (or `rejected/`), not the whole folder: `stats/`, `_done/` and `logs/` are bookkeeping.",
    "`stats.json` has every count and timing; `datacraft verify OUT` re-checks the files, their schema, the",
    "ledger and this card.",
)
MIX_FOOTER = ("Read `data/`, not the whole folder: `mix_report.json` and `stats/` hold the counts.",)


def _loading(data_glob: str, rejected: bool, footer: tuple[str, ...] = RUN_FOOTER) -> list[str]:
    lines = [
        "",
        "## Loading",
        "",
        "`OUT` is this folder (a local path; or the repository id once uploaded to the Hugging Face Hub).",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset(OUT, split="train")  # data/ only, as the configs above say',
    ]
    if rejected:
        lines.append('rejected = load_dataset(OUT, "rejected", split="train")  # each drop with its stage and reason')
    if data_glob.endswith(".parquet"):
        lines += [
            "",
            "import polars as pl",
            f'df = pl.scan_parquet(f"{{OUT}}/{data_glob}").collect()',
            "",
            "import duckdb",
            f"duckdb.sql(f\"SELECT count(*) FROM read_parquet('{{OUT}}/{data_glob}')\")",
            "",
            "import pandas as pd",
            f'df = pd.read_parquet(f"{{OUT}}/{DATA}")',
        ]
    else:  # output.format: jsonl
        lines += ["", "import duckdb", f"duckdb.sql(f\"SELECT count(*) FROM read_json('{{OUT}}/{data_glob}')\")"]
    lines += [
        "```",
        "",
        *footer,
    ]
    return lines


def render_card(manifest: dict[str, Any], merged: dict[str, Any], schema: pa.Schema | None) -> str:
    """The whole card text for an output with this manifest, merged stats and data schema."""
    config = manifest.get("config") or {}
    name = merged.get("pipeline") or config.get("name") or "dataset"
    kind = manifest.get("kind", "run")
    what = "deduplicated by `datacraft dedup`" if kind == "dedup" else f"curated by the pipeline `{name}`"
    created_by = sorted(creating_stages(merged))
    data_files = output_files(merged, DATA)
    fmt = "Parquet" if suffix_of(data_files) == ".parquet" else "JSON Lines"
    body = [
        configs_yaml(merged),
        f"# {name}",
        "",
        f"{fmt} dataset {what} with datacraft {manifest.get('datacraft', __version__)} "
        f"from {merged.get('shards', 0):,} input shard(s); content fingerprint `{merged.get('fingerprint', '?')}`.",
        "",
        "## Counts",
        "",
        *_totals_table(merged.get("totals") or {}, created_by),
        *_drops_table(merged.get("dropped") or {}),
        *_schema_table(schema, data_files),
        *_loading(glob_for(DATA, data_files), has_rejected(merged)),
    ]
    return "\n".join(body) + "\n"


def write_card(layout: OutputLayout, manifest: dict[str, Any], merged: dict[str, Any]) -> str:
    """Write ``OUT/README.md`` atomically; returns its text."""
    text = render_card(manifest, merged, data_schema_of(layout, merged))
    write_text_atomic(layout.root / CARD, text)
    return text


def _data_only(data_files: list[str]) -> dict[str, Any]:
    """Merged-stats shape naming only ``data_files`` (a mix output has no shards' stats)."""
    return {"per_shard": [{"outputs": {DATA: data_files}}]}


def render_mix_card(name: str, report: dict[str, Any], data_files: list[str], schema: pa.Schema | None) -> str:
    """The card of a ``datacraft mix`` output: data/ as the train split, the groups asked and achieved."""
    unit = report.get("unit", "docs")
    lines = [
        configs_yaml(_data_only(data_files)),
        f"# {name}",
        "",
        f"Parquet dataset mixed by `datacraft mix` with datacraft {__version__}: {report.get('rows_out', 0):,} rows, "
        f"{report.get('size_out', 0):,} {unit} (seed {report.get('seed', 0)}). Columns `mix_group` and `mix_copy` "
        "say which group a row came from and which copy of its document it is.",
        "",
        "## Groups",
        "",
        f"| group | weight | asked | achieved | documents in | rows out | {unit} out |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    excluded = report.get("excluded_docs") or {}
    for g, e in (report.get("groups") or {}).items():
        if g not in excluded:
            lines.append(
                f"| {g} | {e.get('weight', 0):.3g} | {e.get('asked', 0):.1%} | {e.get('achieved', 0):.1%} | "
                f"{e.get('docs_in', 0):,} | {e.get('rows_out', 0):,} | {e.get('size_out', 0):,} |"
            )
    if excluded:
        lines += ["", f"Excluded (no weight): {len(excluded)} groups, {sum(excluded.values()):,} documents."]
    lines += [*_schema_table(schema, data_files), *_loading(glob_for(DATA, data_files), False, MIX_FOOTER)]
    return "\n".join(lines) + "\n"


def write_mix_card(out: Any, name: str, report: dict[str, Any], data_files: list[str]) -> None:
    """Write the card of a mix output ``out`` atomically (``data_files`` relative to ``out``)."""
    layout = OutputLayout(fs.as_path(out))
    schema = data_schema_of(layout, _data_only(data_files))
    write_text_atomic(layout.root / CARD, render_mix_card(name, report, data_files, schema))
