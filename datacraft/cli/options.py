"""Reusable click option decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def quiet_option(f: F) -> F:
    """``--quiet``: no progress bars or summary (for batch jobs)."""
    return click.option("--quiet", "-q", is_flag=True, help="No progress bars or summary on stderr.")(f)


def set_option(f: F) -> F:
    """``--set stage.param=value`` (repeatable)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a stage parameter (length.min_words=50) or config key (workers=4).",
    )(f)


def workers_option(f: F) -> F:
    """``--workers N``."""
    return click.option(
        "--workers",
        "-w",
        type=click.IntRange(min=1),
        default=None,
        help="Worker processes (default: the pipeline's setting).",
    )(f)


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
