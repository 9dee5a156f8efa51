"""The ``datacraft`` command line. Commands load lazily so that ``--help`` stays fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

from datacraft import __version__
from datacraft.cli.errors import DatacraftGroup
from datacraft.cli.options import LOG_FORMAT_HELP, QUIET_HELP, add_logging_options
from datacraft.entrypoints import skip_pydantic_plugin_scan
from datacraft.suggest import unknown_command_message

#: command name → "module:attribute". Keep alphabetical within each family.
COMMANDS: dict[str, str] = {
    "run": "datacraft.cli.run:run",
    "apply": "datacraft.cli.apply:apply",
    "dedup": "datacraft.cli.dedup:dedup",
    "stages": "datacraft.cli.stages:stages",
    "mix": "datacraft.cli.mix:mix",
    "report": "datacraft.cli.report:report",
    "stats": "datacraft.cli.report:stats",
    "inspect": "datacraft.cli.inspect:inspect",
    "explain": "datacraft.cli.inspect:explain",
    "train": "datacraft.cli.train:train",
    "evaluate": "datacraft.cli.evaluate:evaluate",
    "generate": "datacraft.cli.infer:generate",
    "predict": "datacraft.cli.infer:predict",
    "export": "datacraft.cli.export:export",
    "ablate": "datacraft.cli.ablate:ablate",
    "verify": "datacraft.cli.verify:verify",
    "completion": "datacraft.cli.completion:completion",
    "tune": "datacraft.cli.tune:tune",
    "explain-model": "datacraft.cli.explain_model:explain_model",
    "cache": "datacraft.cli.cache:cache",
}

#: command name → the first paragraph of its help (or its short help), for the command list of
#: ``datacraft --help`` without importing any command (tests/test_startup.py checks them against the commands).
SUMMARIES: dict[str, str] = {
    "run": "Run a YAML pipeline over its input shards.",
    "apply": "Apply stages without a YAML file, on files or as a Unix filter on JSONL.",
    "dedup": "Remove exact and near duplicates across all shards of IN (files, directories, globs, or a datacraft "
    "output directory) into OUT (data/, rejected/, stats/, stats.json).",
    "stages": "List stages with their parameters and defaults (or one stage by NAME), built-in and user stages.",
    "mix": "Sample sources or languages to target proportions, deterministically (up- and down-sampling).",
    "report": "HTML report of a run, with plots.",
    "stats": "A run's merged counts (table or --json).",
    "inspect": "Sampled dropped documents with their signals.",
    "explain": "One document through a pipeline's stages.",
    "train": "Train a tokenizer and a Keras model on curated Parquet DATA (a run directory, folder or files).",
    "evaluate": "Score a trained model on curated Parquet DATA.",
    "generate": "Continue PROMPT with a trained language model (prints prompt + continuation).",
    "predict": "Append predictions to Parquet IN, writing OUT/<same file names>.",
    "export": "Export to SavedModel and TFLite in MODEL_DIR/export; compare size, latency and predictions.",
    "ablate": "Does curation help? Train the same LM with the same token budget, seed and tokenizer on each data "
    "variant and compare perplexity on one clean held-out set.",
    "verify": "Re-check a finished output of run, apply or dedup.",
    "completion": "Print the shell completion script for SHELL (commands, options, file names and stage names).",
    "tune": "Search hyperparameters of a training config with KerasTuner on curated Parquet DATA.",
    "explain-model": "Explain a trained model's predictions token by token, as an HTML page with PNG heat maps.",
    "cache": "List the local cache of derived tables (langid) with sizes and last use; --prune removes old entries.",
}
#: the commands whose summary is their own ``short_help`` (never shortened), not the first paragraph of their help
SHORT_HELP = frozenset({"report", "stats", "inspect", "explain"})


def command_summary(name: str) -> click.Command:
    """A stand-in for command ``name`` that gives the same short help, without importing it."""
    if name in SHORT_HELP:
        return click.Command(name, short_help=SUMMARIES[name])
    return click.Command(name, help=SUMMARIES[name])


class LazyGroup(DatacraftGroup):
    """Imports a command's module only when that command is used (``--help`` lists them from SUMMARIES)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with each command's short help made from :data:`SUMMARIES`."""
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        rows = [(name, command_summary(name).get_short_help_str(limit)) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        skip_pydantic_plugin_scan()  # before the command builds its pydantic models
        cmd: Any = getattr(importlib.import_module(module), attr)
        return add_logging_options(cmd)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0]) if args else ""
        if args and name not in COMMANDS and not name.startswith("-"):
            raise click.UsageError(unknown_command_message(name, list(COMMANDS)), ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="datacraft")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", help=LOG_FORMAT_HELP)
@click.option("--quiet", "-q", count=True, help=QUIET_HELP)
def main(log_format: str = "text", quiet: int = 0) -> None:
    """Curate raw text shards into a pretraining corpus; train and evaluate a model on it.

    \b
    Typical use:
      datacraft run pipelines/demo.yaml          run a YAML pipeline (stages, then dedup)
      datacraft apply clean,pii -i - -o -        stages as a Unix filter on JSONL
      datacraft stages                           list stages and their parameters
      datacraft dedup out/demo out/demo-dedup    exact + MinHash near-dedup across shards
      datacraft report out/demo                  HTML report of a run (stats, inspect, explain: details)
      datacraft train out/demo-dedup -c configs/train-lm.yaml -o models/lm

    Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
    Logs: progress bars on a terminal, timestamped lines otherwise (--log-format json for schedulers),
    and OUT/logs/driver.log for every run; -q prints only the final summary line, -qq nothing.
    Shell completion: eval "$(datacraft completion bash)" (or zsh, fish).
    """
    from datacraft.log import detach_run_log, setup_logging

    setup_logging(verbosity=quiet, fmt=log_format)  # a subcommand's own -q / --log-format adjust it
    click.get_current_context().call_on_close(detach_run_log)
