"""Honest clocks: wall seconds and CPU seconds of this process and the worker processes it reaped."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: CPU seconds of processes started by this one and not reaped yet (a local pool's live workers).
_LIVE_CPU: list[Callable[[], float]] = []


def add_live_cpu(source: Callable[[], float]) -> None:
    """Count ``source()`` in :func:`tree_cpu_seconds` until it is removed (when its processes are reaped)."""
    _LIVE_CPU.append(source)


def remove_live_cpu(source: Callable[[], float]) -> None:
    """Stop counting a source added by :func:`add_live_cpu` (no error if absent)."""
    if source in _LIVE_CPU:
        _LIVE_CPU.remove(source)


def tree_cpu_seconds() -> float:
    """User + system CPU of this process, of its waited-for children and of live pool workers."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + sum(f() for f in list(_LIVE_CPU))


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
