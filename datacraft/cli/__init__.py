"""The ``datacraft`` command line. Commands load lazily so that ``--help`` stays fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

from datacraft import __version__
from datacraft.cli.errors import DatacraftGroup
from datacraft.cli.options import LOG_FORMAT_HELP, QUIET_HELP, add_logging_options
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
}


class LazyGroup(DatacraftGroup):
    """Imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
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
