"""Reusable click option decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: int) -> int:
    from datacraft.log import STATE, setup_logging

    if value:
        setup_logging(verbosity=max(value, STATE.verbosity))
    return value


def _set_log_format(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from datacraft.log import setup_logging

    if value:
        setup_logging(fmt=value)
    return value


QUIET_HELP = "-q: only the final one-line summary (and errors) on stderr; -qq: nothing. Logs still go to OUT/logs/."
LOG_FORMAT_HELP = "stderr and OUT/logs/ as timestamped text (default) or one JSON object per line (for schedulers)."


def quiet_option(f: F) -> F:
    """``-q``/``-qq``: quieter stderr for batch jobs (the value is the count: 0, 1, 2)."""
    return click.option("--quiet", "-q", count=True, callback=_set_verbosity, help=QUIET_HELP)(f)


def add_logging_options(cmd: click.Command) -> click.Command:
    """Give a command ``--log-format`` and (if it lacks one) ``-q`` without touching its signature."""
    names = {n for p in cmd.params for n in getattr(p, "opts", [])}
    if "--log-format" not in names:
        cmd.params.append(
            click.Option(
                ["--log-format"],
                type=click.Choice(["text", "json"]),
                default=None,
                expose_value=False,
                is_eager=True,
                callback=_set_log_format,
                help=LOG_FORMAT_HELP,
            )
        )
    if "-q" not in names and "--quiet" not in names:
        cmd.params.append(
            click.Option(["--quiet", "-q"], count=True, expose_value=False, callback=_set_verbosity, help=QUIET_HELP)
        )
    return cmd


def set_option(f: F) -> F:
    """``--set stage.param=value`` (repeatable)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a stage parameter (length.min_words=50) or config key (workers=4).",
    )(f)


def train_set_option(f: F) -> F:
    """``--set key=value`` for training configs (repeatable)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a training config key, e.g. --set epochs=2 --set model.rnn=gru.",
    )(f)


def _workers(default_help: str) -> Callable[[F], F]:
    """``--workers N`` (``-w``) whose help names where the default comes from."""
    return click.option(
        "--workers", "-w", type=click.IntRange(min=1), default=None, help=f"Worker processes (default: {default_help})."
    )


def workers_option(f: F) -> F:
    """``--workers N`` for pipeline commands."""
    return _workers("the pipeline's setting")(f)


def workers_default_one_option(f: F) -> F:
    """``--workers N`` for commands without a pipeline file (default 1: in this process)."""
    return _workers("1, in this process")(f)


def workers_config_option(f: F) -> F:
    """``--workers N`` for commands that may read a --config file."""
    return _workers("the --config file's workers, else 1")(f)


def on_error_option(f: F) -> F:
    """``--on-error quarantine|fail``."""
    return click.option(
        "--on-error",
        type=click.Choice(["quarantine", "fail"]),
        default=None,
        help="Bad records: set aside in quarantine/ (default) or fail the run with exit 1.",
    )(f)


def executor_options(f: F) -> F:
    """``--executor`` and ``--ray-address``."""
    f = click.option(
        "--ray-address",
        default=None,
        envvar="RAY_ADDRESS",
        show_envvar=True,
        metavar="auto|HOST:PORT",
        help="Ray cluster to join (implies --executor ray, unless --executor local); without it, --executor ray "
        "starts a local Ray.",
    )(f)
    return click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default=None,
        help="Where shard tasks run (default: the pipeline's setting, else local).",
    )(f)
