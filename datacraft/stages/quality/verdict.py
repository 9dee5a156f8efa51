"""Collects a filter's signals and its first failing rule, with early exit unless annotating."""

from __future__ import annotations

from typing import Any

from datacraft.stages.base import FilterResult


class Verdict:
    """Signals so far plus the first failure.

    In filter mode :meth:`fail` says "stop now" (the rest need not be computed); in annotate mode
    every signal is computed and the first failing rule is still the one reported.
    """

    __slots__ = ("annotate", "reason", "signals")

    def __init__(self, annotate: bool) -> None:
        self.annotate = annotate
        self.reason: str | None = None
        self.signals: dict[str, Any] = {}

    def fail(self, reason: str) -> bool:
        """Record a failing rule; True when the caller should return at once."""
        if self.reason is None:
            self.reason = reason
        return not self.annotate

    def result(self) -> FilterResult:
        """The FilterResult for what was recorded."""
        return FilterResult(self.reason is None, self.reason, self.signals)


def ratio(num: float, den: float) -> float:
    """``num / den`` as a float, 0.0 when there is nothing to divide by."""
    return float(num) / den if den else 0.0


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of repeated elements, characters in them): every occurrence after the first counts.

    Every occurrence but the first of each distinct element counts, so both are totals minus the
    distinct elements' share: set building, ``len`` and ``sum`` only, no per-element Python loop.
    """
    distinct = set(items)
    n = len(items) - len(distinct)
    if not n:
        return 0, 0
    return n, sum(map(len, items)) - sum(map(len, distinct))
