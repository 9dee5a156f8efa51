"""``datacraft apply STAGE[,STAGE…]``: run stages without a YAML file, also as a Unix filter."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from datacraft.cli.completion import complete_stage_list
from datacraft.cli.options import on_error_option, quiet_option, set_option, workers_default_one_option
from datacraft.cli.summary import echo_summary, format_summary
from datacraft.errors import ConfigError, QuarantineBudgetError

if TYPE_CHECKING:
    from datacraft.io.writers import ShardWriter


def stderr_quarantine() -> ShardWriter:
    """A quarantine writer for a stream: bad records reported one JSON line each on stderr."""
    import orjson

    from datacraft.io.writers import ShardWriter

    class _StderrQuarantine(ShardWriter):
        def __init__(self) -> None:
            super().__init__(".", "quarantine")

        def write(self, rows: list[dict[str, Any]]) -> None:
            for row in rows:
                sys.stderr.write("quarantined: " + orjson.dumps(row).decode() + "\n")

        def close(self) -> None:
            sys.stderr.flush()

    return _StderrQuarantine()


@click.command()
@click.argument("stage_names", metavar="STAGE[,STAGE…]", shell_complete=complete_stage_list)
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    required=True,
    help="Input file, directory or glob (repeatable), or - for JSONL on stdin.",
)
@click.option("--output", "-o", required=True, help="Output directory, or - for JSONL on stdout.")
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["parquet", "jsonl", "jsonl.gz"]),
    default="parquet",
    show_default=True,
    help="Output format for a directory output.",
)
@click.option("--text-field", default="text", show_default=True, help="Field of the input that holds the text.")
@click.option(
    "--id-field", default="id", show_default=True, help="Field of the input that holds the id (else file:line)."
)
@click.option("--no-rejected", is_flag=True, help="Do not write dropped documents to rejected/.")
@set_option
@workers_default_one_option
@on_error_option
@click.option("--force", is_flag=True, help="Redo every shard, replacing an earlier run's output.")
@quiet_option
def apply(
    stage_names: str,
    inputs: tuple[str, ...],
    output: str,
    out_format: str,
    text_field: str,
    id_field: str,
    no_rejected: bool,
    overrides: tuple[str, ...],
    workers: int | None,
    on_error: str | None,
    force: bool,
    quiet: int,
) -> None:
    """Apply stages without a YAML file, on files or as a Unix filter on JSONL.

    With -i - JSONL is read from stdin and with -o - kept documents are written as JSONL
    to stdout; drops are counted in the summary on stderr.

    \b
    Examples:
      datacraft apply normalize,length -i data/sample -o out/short --set length.min_words=50
      zcat raw.jsonl.gz | datacraft apply clean,pii -i - -o - > clean.jsonl
      datacraft apply normalize -i data/sample/udhr-55.jsonl.gz -o out/udhr --format jsonl.gz -q
    """
    # Imported here, not with the module: `datacraft apply --help` needs neither pydantic nor pyarrow.
    from datacraft.pipeline.config import apply_overrides, build_config
    from datacraft.pipeline.runner import run_pipeline

    names = [n.strip() for n in stage_names.split(",") if n.strip()]
    if not names:
        raise ConfigError("name at least one stage, e.g. normalize,length")
    raw: dict[str, Any] = {
        "name": "apply",
        "input": {"paths": list(inputs), "text_field": text_field, "id_field": id_field},
        "output": {"path": output, "format": out_format, "rejected": not no_rejected},
        "stages": [{n: {}} for n in names],
        "workers": workers or 1,
        "on_error": on_error or "quarantine",
    }
    raw = apply_overrides(raw, list(overrides))
    streaming = "-" in inputs or output == "-"
    if not streaming:
        config = build_config(raw, "apply")
        try:
            result = run_pipeline(config, force=force, show_progress=not quiet)
        except QuarantineBudgetError as e:
            if e.result is not None:
                r = e.result
                echo_summary(
                    format_summary(r.merged, out=output, ran=r.ran, skipped=len(r.plan.skipped), seconds=r.seconds)
                )
            raise
        echo_summary(
            format_summary(
                result.merged, out=output, ran=result.ran, skipped=len(result.plan.skipped), seconds=result.seconds
            )
        )
        return
    if inputs != ("-",) or output != "-":
        raise click.UsageError("stream mode needs both --input - and --output -")
    from datacraft.io.readers import iter_lines, jsonl_items
    from datacraft.pipeline.ledger import merge_stats
    from datacraft.pipeline.runner import check_quarantine_budget
    from datacraft.pipeline.task import read_options, run_stream

    raw["output"]["path"] = "-"
    config = build_config(raw, "apply")
    opts = read_options(config)
    items = jsonl_items(iter_lines(sys.stdin.buffer, "<stdin>", max_bytes=opts.max_record_bytes), "stdin", opts)
    stats = run_stream(config, items, quarantine=stderr_quarantine())
    merged = merge_stats([stats])
    echo_summary(format_summary(merged, out="stdout", ran=1, skipped=0, seconds=stats.seconds))
    # the same budget as a run on files: a stream that was mostly bad input must not exit 0
    check_quarantine_budget(merged, config.max_quarantine_fraction, "the 'quarantined:' lines on stderr")
