"""The one place where errors become exit codes: 0 ok, 1 runtime failure, 2 usage or config error."""

from __future__ import annotations

from typing import Any

import click

from datacraft.errors import DatacraftError


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
            return super().invoke(ctx)
        except DatacraftError as e:
            raise CliError(str(e), e.exit_code) from None
        except FileNotFoundError as e:
            raise CliError(f"file not found: {e.filename}", 1) from None
        except PermissionError as e:
            raise CliError(f"permission denied: {e.filename}", 1) from None
