"""Executors decide where shard tasks run; stages never import an engine."""

from __future__ import annotations

from typing import Any

from datacraft.executors.base import Executor
from datacraft.executors.local import InProcessExecutor, LocalExecutor, pool_size


def make_executor(
    kind: str, workers: int, ray_address: str | None = None, ray_options: dict[str, Any] | None = None
) -> Executor:
    """Build the executor named in a config or on the command line.

    ``ray_options`` are :class:`~datacraft.pipeline.config.RayConfig` fields (num_cpus, memory, max_retries,
    max_in_flight, object_store_memory). Close what this returns with :func:`close_executor` when done.
    """
    if kind == "ray":
        from datacraft.executors.ray import RayExecutor  # optional extra; imports Ray lazily

        return RayExecutor(workers=workers, address=ray_address, **(ray_options or {}))
    if workers <= 1:
        return InProcessExecutor()
    return LocalExecutor(workers)


def close_executor(executor: Executor) -> None:
    """Release what an executor holds (a local Ray it started); a no-op for the local executors."""
    close = getattr(executor, "close", None)
    if close is not None:
        close()


__all__ = ["Executor", "InProcessExecutor", "LocalExecutor", "close_executor", "make_executor", "pool_size"]
