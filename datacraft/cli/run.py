"""``datacraft run PIPELINE.yaml``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from datacraft.cli.options import executor_options, on_error_option, quiet_option, set_option, workers_option
from datacraft.cli.summary import echo_summary, format_summary
from datacraft.errors import QuarantineBudgetError

if TYPE_CHECKING:
    from datacraft.pipeline.runner import RunResult


def _echo(result: RunResult, out: str, *, final: bool = True) -> None:
    echo_summary(
        format_summary(
            result.merged, out=out, ran=result.ran, skipped=len(result.plan.skipped), seconds=result.seconds
        ),
        final=final,
    )


@click.command()
@click.argument("pipeline", type=click.Path(dir_okay=False))
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    help="Input file, directory or glob (repeatable); replaces the pipeline's.",
)
@click.option(
    "--output",
    "-o",
    default=None,
    help="Output directory; replaces the pipeline's. The dedup: section then writes OUTPUT-dedup.",
)
@workers_option
@set_option
@on_error_option
@executor_options
@click.option("--force", is_flag=True, help="Redo every shard, replacing an earlier run's output.")
@click.option("--dry-run", is_flag=True, help="Validate the pipeline and show the plan; write nothing.")
@quiet_option
def run(
    pipeline: str,
    inputs: tuple[str, ...],
    output: str | None,
    workers: int | None,
    overrides: tuple[str, ...],
    on_error: str | None,
    executor: str | None,
    ray_address: str | None,
    force: bool,
    dry_run: bool,
    quiet: int,
) -> None:
    """Run a YAML pipeline over its input shards.

    Finished shards of an earlier run with the same configuration are skipped, so a killed
    run can simply be rerun. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
    Logs: OUT/logs/driver.log (and OUT/logs/shard-NNNNN.log where a task logged or printed).
    OUT/README.md is a dataset card: `datasets.load_dataset(OUT)` loads data/ (config "rejected": the drops).

    \b
    Examples:
      datacraft run pipelines/demo.yaml                          run (rerun the same command to resume)
      datacraft run pipelines/demo.yaml --dry-run                validate and show the plan
      datacraft run pipelines/demo.yaml -o out/x -w 4 --set length.min_words=50
      datacraft run pipelines/demo.yaml -q --log-format json 2>> run.log   for a batch job
    """
    # Imported here, not with the module: `datacraft run --help` needs neither pydantic nor pyarrow.
    from datacraft.pipeline.config import load_pipeline
    from datacraft.pipeline.runner import RunResult, check_run_paths, plan_run, run_pipeline

    updates: dict[str, Any] = {}
    if inputs:
        updates["input.paths"] = list(inputs)
    if output:
        updates["output.path"] = output
    if workers:
        updates["workers"] = workers
    if on_error:
        updates["on_error"] = on_error
    if executor:
        updates["executor"] = executor
    if ray_address:
        updates["ray_address"] = ray_address
        updates.setdefault("executor", "ray")  # joining a cluster means running on it
    config = load_pipeline(pipeline, list(overrides), updates)
    if output and config.dedup is not None and config.dedup.get("output"):
        # -o moves the whole run: the dedup output follows it to OUTPUT-dedup.
        config = config.model_copy(update={"dedup": {**config.dedup, "output": output.rstrip("/") + "-dedup"}})
    if dry_run:
        check_run_paths(config)
        plan = plan_run(config, force=force)
        click.echo(f"pipeline    {config.name} ({pipeline}), fingerprint {config.fingerprint()}")
        click.echo(f"input       {len(plan.shards)} shards; {len(plan.todo)} to run, {len(plan.skipped)} complete")
        for s in plan.shards[:20]:
            click.echo(f"  [{s.index:05d}] {s.path} ({s.format}){'  done' if s in plan.skipped else ''}")
        if len(plan.shards) > 20:
            click.echo(f"  … {len(plan.shards) - 20} more")
        click.echo("stages")
        for spec in config.stages:
            params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
            click.echo(f"  {spec.label:<20} {spec.name}({params})")
        click.echo(
            f"output      {config.output.path} ({config.output.format}), workers {config.workers}, "
            f"executor {config.executor}"
            + (f" ({config.ray_address or 'a local Ray'})" if config.executor == "ray" else "")
        )
        if config.dedup is not None:
            from datacraft.dedup.config import dedup_from_pipeline

            d = dedup_from_pipeline(config)
            click.echo(
                f"then dedup  {d.output.path} ({', '.join(f'{k}={v}' for k, v in d.dedup.model_dump().items())})"
            )
        return
    try:
        result = run_pipeline(config, force=force, show_progress=not quiet)
    except QuarantineBudgetError as e:
        if isinstance(e.result, RunResult):
            _echo(e.result, config.output.path)
        raise
    _echo(result, config.output.path, final=config.dedup is None)
    if config.dedup is not None:
        from datacraft.cli.dedup import run_and_report
        from datacraft.dedup.config import dedup_from_pipeline

        run_and_report(dedup_from_pipeline(config), force=force, quiet=quiet)
