"""The Document record that flows through every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Document:
    """One document: a stable ``id``, its ``text`` and free-form ``meta`` (source, signals, …)."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
