"""Executors decide where shard tasks run; stages never import an engine."""

from __future__ import annotations

from datacraft.executors.base import Executor
from datacraft.executors.local import InProcessExecutor, LocalExecutor


def make_executor(kind: str, workers: int, ray_address: str | None = None) -> Executor:
    """Build the executor named in a config or on the command line."""
    if kind == "ray":
        from datacraft.executors.ray import RayExecutor  # optional extra

        return RayExecutor(workers=workers, address=ray_address)
    if workers <= 1:
        return InProcessExecutor()
    return LocalExecutor(workers)


__all__ = ["Executor", "InProcessExecutor", "LocalExecutor", "make_executor"]
