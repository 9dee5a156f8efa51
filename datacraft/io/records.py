"""What readers yield besides documents: records that could not be one (bad) or are not one (skipped)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BadRecord:
    """A record that cannot become a document: it is quarantined, or fails the run."""

    file: str
    position: str
    error: str
    raw: str = ""

    def describe(self) -> str:
        """One line naming file, position and error."""
        return f"{self.file}, {self.position}: {self.error}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is not a document by design (a WARC request, a non-HTML response…): counted by kind."""

    kind: str


@dataclass(frozen=True, slots=True)
class TooLong:
    """A line longer than the limit, never held whole: its length and first bytes."""

    size: int
    head: bytes
