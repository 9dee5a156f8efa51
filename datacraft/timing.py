"""Honest clocks: wall seconds and CPU seconds of this process and the worker processes it reaped."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field


def tree_cpu_seconds() -> float:
    """User + system CPU of this process and of its waited-for children (local worker pools are)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Clock:
    """Started on creation; :meth:`read` gives wall seconds and process-tree CPU seconds since then."""

    wall0: float = field(default_factory=time.perf_counter)
    cpu0: float = field(default_factory=tree_cpu_seconds)

    def read(self) -> dict[str, float]:
        """``{"wall_seconds": …, "cpu_seconds": …}`` since the clock started."""
        return {
            "wall_seconds": time.perf_counter() - self.wall0,
            "cpu_seconds": tree_cpu_seconds() - self.cpu0,
        }
