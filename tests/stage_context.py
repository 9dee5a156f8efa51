"""A StageContext for stage tests: records drops and counters."""

from __future__ import annotations

from typing import Any

from datacraft.document import Document


class Ctx:
    """A StageContext recording drops and counters."""

    def __init__(self) -> None:
        self.drops: list[tuple[str, str, str]] = []
        self.counts: dict[tuple[str, str], int] = {}

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        self.drops.append((doc.id, stage, reason))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.counts[stage, key] = self.counts.get((stage, key), 0) + n
