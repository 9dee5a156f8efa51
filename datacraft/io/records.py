"""What readers yield besides documents: records that could not be turned into one."""

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
