"""The executor interface."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """Runs independent tasks and yields ``(task, result)`` as each completes."""

    def run(self, fn: Callable[[T], Any], tasks: list[T], progress: Any = None) -> Iterator[tuple[T, Any]]:
        """Run ``fn(task)`` for every task; the first failure is raised after stopping the rest."""
        ...
