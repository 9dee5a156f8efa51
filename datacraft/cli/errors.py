"""The one place where errors become exit codes: 0 ok, 1 runtime failure, 2 usage or config error,
130 interrupted by SIGINT (Ctrl-C), 143 terminated by SIGTERM."""

from __future__ import annotations

import errno
from typing import Any

import click

from datacraft.errors import DatacraftError
from datacraft.interrupt import Terminated, sigterm_raises

EXIT_SIGINT, EXIT_SIGTERM = 130, 143
RESUME_HINT = "workers stopped; rerun the same command to resume"


def os_error_message(e: OSError) -> tuple[str, int]:
    """One line and an exit code for an operating-system error (the file it names, what to do)."""
    where = e.filename if e.filename is not None else "?"
    if e.filename2 is not None:
        where = f"{where} → {e.filename2}"
    if e.errno == errno.ENOSPC:
        return f"no space left on device writing {where}; free space (or choose another --output) and rerun", 1
    if e.errno == errno.EDQUOT:
        return f"disk quota exceeded writing {where}; free space and rerun", 1
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {where}", 1
    if e.errno == errno.EROFS:
        return f"read-only file system: {where}", 1
    if e.errno == errno.ENOENT:
        return f"file not found: {where}", 1
    if e.errno == errno.EISDIR:
        return f"{where} is a directory where a file was expected", 2
    if e.errno == errno.ENOTDIR:
        return f"{where}: a part of this path is a file where a directory was expected", 2
    return f"{e.strerror or e}: {where}", 1


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail again on a closed pipe."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class CliError(click.ClickException):
    """A DatacraftError shown as ``error: message`` with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def format_message(self) -> str:
        return self.message


class DatacraftGroup(click.Group):
    """A click group that maps DatacraftError (and OS errors) to exit codes without tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with sigterm_raises():
                return super().invoke(ctx)
        except DatacraftError as e:
            raise CliError(str(e), e.exit_code) from None
        except KeyboardInterrupt:
            raise CliError(f"interrupted (SIGINT): {RESUME_HINT}", EXIT_SIGINT) from None
        except Terminated:
            raise CliError(f"terminated (SIGTERM): {RESUME_HINT}", EXIT_SIGTERM) from None
        except BrokenPipeError:  # stdout's reader went away (`datacraft stages | head`): end quietly, exit 1
            silence_stdout()
            ctx.exit(1)
        except OSError as e:
            message, code = os_error_message(e)
            raise CliError(message, code) from None
