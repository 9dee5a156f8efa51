"""``datacraft dedup IN… OUT``: exact and MinHash near-duplicate removal across all shards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from datacraft.cli.options import executor_options, quiet_option, workers_config_option
from datacraft.cli.summary import echo_summary, format_summary
from datacraft.dedup.presets import PRESETS  # imports nothing: --help stays cheap (config/params import numpy)
from datacraft.errors import ConfigError

if TYPE_CHECKING:
    from datacraft.dedup.config import DedupConfig


def format_dedup_summary(result_merged: dict[str, Any]) -> str:
    """Dedup-specific lines: settings, clusters and CPU time per phase."""
    d = result_merged["dedup"]
    lsh = f", {d['bands']} bands × {d['rows']} rows" if d["bands"] else ""
    lines = [
        f"dedup       mode {d['mode']}, {d['shingle']}, {d['num_perm']} permutations{lsh}, verify {d['verify']}, "
        f"keep {d['keep']}",
        f"clusters    {d['clusters']:,} holding {d['clustered_docs']:,} documents; {d['removed']:,} removed; "
        f"largest {d['largest_cluster']:,}",
        "phases      wall s, CPU s in tasks, CPU s all processes (worker start-up included)",
        *(
            f"  {k:<12} {v.get('wall_seconds', 0.0):8.2f} {v['cpu_seconds']:8.2f} "
            + (f"{v['tree_cpu_seconds']:8.2f}" if v.get("tree_cpu_seconds") is not None else "       -")
            for k, v in d["phases"].items()
        ),
    ]
    return "\n".join(lines)


def run_and_report(config: DedupConfig, *, force: bool, quiet: int) -> None:
    """Run a dedup config and print the summary unless ``quiet``."""
    from datacraft.dedup.runner import run_dedup

    result = run_dedup(config, force=force, show_progress=not quiet)
    ran = result.ran["filter"]
    text = format_summary(
        result.merged,
        out=config.output.path,
        ran=ran,
        skipped=len(result.shards) - ran,
        seconds=result.seconds,
    )
    echo_summary(text + "\n" + format_dedup_summary(result.merged))


def _run_dedup_section(inputs: tuple[str, ...]) -> dict[str, Any] | None:
    """The ``dedup:`` settings of a pipeline run given as the only input (without its output path)."""
    import json
    from pathlib import Path

    if len(inputs) != 1:
        return None
    try:
        section = json.loads((Path(inputs[0]) / "_run.json").read_text())["config"].get("dedup")
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    if not isinstance(section, dict):
        return None
    return {k: v for k, v in section.items() if k not in ("output", "work_dir")}


@click.command()
@click.argument("paths", nargs=-1, metavar="[IN…] OUT")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="A dedup YAML (see pipelines/dedup.yaml)."
)
@click.option(
    "--preset", type=click.Choice(list(PRESETS)), default=None, help="Starting settings: default or high-recall."
)
@click.option("--mode", type=click.Choice(["exact", "near", "both"]), default=None, help="What to remove [both].")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Target Jaccard similarity [0.75]; bands × rows are derived from it unless given.",
)
@click.option("--ngram", type=click.IntRange(1, 64), default=None, help="n of the shingles [5].")
@click.option("--shingle", type=click.Choice(["word", "char"]), default=None, help="word or char n-grams [word].")
@click.option("--num-perm", type=click.IntRange(2, 1024), default=None, help="MinHash permutations [112].")
@click.option("--bands", type=click.IntRange(min=1), default=None, help="LSH bands (with --rows).")
@click.option("--rows", type=click.IntRange(min=1), default=None, help="Rows per band (with --bands).")
@click.option(
    "--verify",
    type=click.Choice(["none", "signature", "exact"]),
    is_flag=False,
    flag_value="signature",
    default=None,
    help="Check candidate pairs (drops LSH false positives): signature = estimated Jaccard (plain --verify), "
    "exact = true Jaccard of the shingle sets (high-recall's default), none.",
)
@click.option("--no-verify", is_flag=True, default=False, help="Same as --verify none.")
@click.option(
    "--keep",
    type=click.Choice(["first", "longest", "signal"]),
    default=None,
    help="Document kept per cluster: first by id, longest text, or highest --signal-column "
    "[first, or IN's dedup: setting].",
)
@click.option("--signal-column", default=None, help="Column compared by --keep signal (highest kept).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed of the MinHash permutations [1].")
@click.option("--text-field", default=None, help="Text field of the input [text].")
@click.option("--id-field", default=None, help="Id field of the input [id].")
@click.option("--no-rejected", is_flag=True, help="Do not write removed duplicates to rejected/.")
@click.option(
    "--work-dir",
    default=None,
    metavar="DIR",
    help="Keep the phase files in DIR/<output>-<hash>/_dedup instead of OUT/_dedup (e.g. local disk when OUT "
    "is s3://); rerun with the same DIR to resume. [env DATACRAFT_DEDUP_WORK_DIR; default OUT/_dedup]",
)
@workers_config_option
@executor_options
@click.option("--force", is_flag=True, help="Start over, replacing an earlier run's output.")
@quiet_option
def dedup(
    paths: tuple[str, ...],
    config_path: str | None,
    preset: str | None,
    mode: str | None,
    threshold: float | None,
    ngram: int | None,
    shingle: str | None,
    num_perm: int | None,
    bands: int | None,
    rows: int | None,
    verify: str | None,
    no_verify: bool,
    keep: str | None,
    signal_column: str | None,
    seed: int | None,
    text_field: str | None,
    id_field: str | None,
    no_rejected: bool,
    work_dir: str | None,
    workers: int | None,
    executor: str | None,
    ray_address: str | None,
    force: bool,
    quiet: int,
) -> None:
    """Remove exact and near duplicates across all shards of IN (files, directories, globs, or a
    datacraft output directory) into OUT (data/, rejected/, stats/, stats.json).

    \b
    Kept documents get dup_cluster (-1 when unique) and dup_count columns; removed ones go to
    rejected/ with reason exact_dup or near_dup and duplicate_of. Rerun the same command after
    a kill to resume. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
    When IN is a pipeline run with a dedup: section, its settings are the defaults.

    \b
    Examples:
      datacraft dedup out/demo out/demo-dedup                    as `make demo` did (the run's dedup: settings)
      datacraft dedup out/demo out/demo-near --mode near --threshold 0.8 --workers 2
      datacraft dedup --config pipelines/dedup.yaml
      datacraft dedup s3://bucket/curated s3://bucket/dedup --work-dir /mnt/scratch   phase files on local disk
    """
    from datacraft.dedup.memory import prefer_system_allocator

    prefer_system_allocator()  # before pyarrow is imported: this process only runs dedup
    from datacraft.dedup.config import build_dedup_config
    from datacraft.pipeline.config import load_yaml

    if (bands is None) != (rows is None):
        raise click.UsageError("give --bands and --rows together (or neither, to derive them from --threshold)")
    if config_path:
        raw = load_yaml(config_path)
        if paths and len(paths) < 2:
            raise click.UsageError("with --config give no paths, or IN… OUT to replace the config's")
        source = config_path
    else:
        if len(paths) < 2:
            raise click.UsageError("give at least one input and the output directory: datacraft dedup IN… OUT")
        raw = {"input": {}, "output": {}}
        source = "command line"
        run_section = _run_dedup_section(paths[:-1])
        if run_section:  # IN is a pipeline run with a dedup: section: start from its settings
            raw["dedup"] = run_section
    if paths:
        raw.setdefault("input", {})["paths"] = list(paths[:-1])
        raw.setdefault("output", {})["path"] = paths[-1]
    section = raw.get("dedup") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: dedup: expected a mapping of dedup parameters")
    section = dict(section)
    given = {
        "preset": preset,
        "mode": mode,
        "threshold": threshold,
        "ngram": ngram,
        "shingle": shingle,
        "num_perm": num_perm,
        "bands": bands,
        "rows": rows,
        "verify": "none" if no_verify else verify,
        "keep": keep,
        "signal_column": signal_column,
        "seed": seed,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if ("threshold" in given or "num_perm" in given) and not ({"bands", "rows"} & given.keys()):
        section.pop("bands", None)
        section.pop("rows", None)
        section["bands"] = section["rows"] = None
    section.update(given)
    raw["dedup"] = section
    if text_field:
        raw["input"]["text_field"] = text_field
    if id_field:
        raw["input"]["id_field"] = id_field
    if no_rejected:
        raw["output"]["rejected"] = False
    if work_dir:  # the command line wins over the config's work_dir / dedup.work_dir
        section.pop("work_dir", None)
        raw["work_dir"] = work_dir
    for key, value in (("workers", workers), ("executor", executor), ("ray_address", ray_address)):
        if value:
            raw[key] = value
    if ray_address and not executor:
        raw["executor"] = "ray"  # joining a cluster means running on it, as for `datacraft run`
    config = build_dedup_config(raw, source)
    run_and_report(config, force=force, quiet=quiet)
