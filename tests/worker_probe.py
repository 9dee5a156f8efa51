"""Task functions that report on the worker process running them (imported by worker processes)."""

from __future__ import annotations

import os
import sys

#: Modules a dedup worker has no use for.
HEAVY = (
    "pandas",
    "pyarrow.dataset",
    "pyarrow.compute",
    "tensorflow",
    "keras",
    "scipy",
    "datasketch",
    "trafilatura",
    "sklearn",
    "torch",
    "polars",
    "duckdb",
)


def heavy_modules(_: object) -> tuple[int, list[str]]:
    """(this worker's pid, the heavy modules it has imported)."""
    return os.getpid(), sorted(m for m in HEAVY if m in sys.modules)
