"""``datacraft mix``: deterministic weighted sampling over sources or a column (e.g. ``lang``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from datacraft.cli.options import quiet_option, workers_config_option
from datacraft.errors import ConfigError


def _parse_source(text: str) -> dict[str, Any]:
    try:
        name, rest = text.split("=", 1)
    except ValueError:
        raise ConfigError(f"--source {text!r}: expected NAME=PATH[:WEIGHT]") from None
    path, _, weight = rest.rpartition(":") if rest.rpartition(":")[2].replace(".", "", 1).isdigit() else (rest, "", "")
    return {"name": name, "paths": [path], "weight": float(weight) if weight else None}


def _parse_weight(text: str) -> tuple[str, float]:
    key, _, value = text.partition("=")
    try:
        return key, float(value)
    except ValueError:
        raise ConfigError(f"--weight {text!r}: expected GROUP=NUMBER") from None


def format_report(report: dict[str, Any]) -> str:
    """Asked vs achieved proportions per group as a table."""
    lines = [
        f"{'group':<16} {'weight':>7} {'asked':>7} {'achieved':>9} {'available':>13} {'written':>13} "
        f"{'docs in':>9} {'rows out':>9}"
    ]
    excluded = report.get("excluded_docs", {})
    for g, e in report["groups"].items():
        if g in excluded:
            continue
        lines.append(
            f"{g:<16} {e.get('weight', 0):>7.3g} {e.get('asked', 0):>7.1%} {e.get('achieved', 0):>9.1%} "
            f"{e.get('available', 0):>13,} {e.get('size_out', 0):>13,} {e.get('docs_in', 0):>9,} "
            f"{e.get('rows_out', 0):>9,}"
        )
    lines.append(
        f"target {report['target']:,.0f} {report['unit']}, written {report['size_out']:,} "
        f"in {report['rows_out']:,} rows (seed {report['seed']})"
    )
    if excluded:
        names = ", ".join(list(excluded)[:12]) + (", …" if len(excluded) > 12 else "")
        lines.append(f"excluded (no weight): {len(excluded)} groups, {sum(excluded.values()):,} documents ({names})")
    return "\n".join(lines)


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="A mix YAML file.")
@click.option(
    "--source",
    "-s",
    "sources",
    multiple=True,
    metavar="NAME=PATH[:WEIGHT]",
    help="A named input (file, directory or glob) and its weight when mixing by source (repeatable).",
)
@click.option("--by", "group_by", default=None, help="Mix by this column (e.g. lang) instead of by source.")
@click.option("--weight", "weights", multiple=True, metavar="GROUP=W", help="Weight of a column value (repeatable).")
@click.option("--unit", type=click.Choice(["words", "chars", "docs"]), default=None, help="What the target counts.")
@click.option("--target", type=float, default=None, help="Total size in --unit (default: no upsampling).")
@click.option(
    "--seed", type=int, default=None, help="Seed of the sampling hash [0]; the same seed gives the same rows."
)
@click.option("--output", "-o", default=None, help="Output directory.")
@workers_config_option
@quiet_option
def mix(
    config_path: str | None,
    sources: tuple[str, ...],
    group_by: str | None,
    weights: tuple[str, ...],
    unit: str | None,
    target: float | None,
    seed: int | None,
    output: str | None,
    workers: int | None,
    quiet: bool,
) -> None:
    """Sample sources or languages to target proportions, deterministically (up- and down-sampling).

    \b
    Examples:
      datacraft mix -s books=out/books/data:0.3 -s web=out/web/data:0.7 -o out/mix
      datacraft mix -s all=out/multi/data --by lang --weight en=0.5 --weight de=0.25 --weight fr=0.25 \\
          --target 2e6 -o out/mix-lang
    """
    # Imported here, not with the module: `datacraft mix --help` needs neither pydantic nor pyarrow.
    from datacraft.io.lock import output_lock
    from datacraft.mix.config import build_mix_config
    from datacraft.mix.sampler import run_mix
    from datacraft.pipeline.config import load_yaml
    from datacraft.pipeline.outdir import check_not_foreign, check_output_path

    raw: dict[str, Any] = load_yaml(config_path) if config_path else {}
    if sources:
        raw["sources"] = [_parse_source(s) for s in sources]
    if group_by:
        raw["group_by"] = group_by
    if weights:
        raw["weights"] = dict(_parse_weight(w) for w in weights)
    for key, value in (("unit", unit), ("target", target), ("seed", seed), ("output", output), ("workers", workers)):
        if value is not None:
            raw[key] = value
    cfg = build_mix_config(raw, config_path or "mix")
    check_output_path(cfg.output, [p for s in cfg.sources for p in s.paths])
    check_not_foreign(Path(cfg.output))
    with output_lock(cfg.output):
        report = run_mix(cfg)
    if not quiet:
        click.echo(format_report(report), err=True)
    click.echo(f"{cfg.output}/data  ({cfg.output}/mix_report.json)")
