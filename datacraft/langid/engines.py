"""The result type shared by the engines (the factory is in :mod:`datacraft.langid.factory`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from datacraft.langid.profiles import UND

EngineName = Literal["fast", "langdetect"]


@dataclass(frozen=True, slots=True)
class Detection:
    """One document's result: top language (``und`` when undetermined), its probability, and the
    full distribution over :attr:`Engine.langs` (None when undetermined)."""

    lang: str
    score: float
    probs: np.ndarray | None = None

    def topk(self, langs: tuple[str, ...], k: int) -> list[dict[str, float | str]]:
        """The ``k`` most probable languages as ``[{"lang": code, "prob": p}, …]`` (ties: code order)."""
        if self.probs is None or k <= 0:
            return []
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [{"lang": langs[i], "prob": float(self.probs[i])} for i in order]


UNDETERMINED = Detection(UND, 0.0, None)


class Engine(Protocol):
    """Scores a batch of texts; the same text always gets the same result, whatever the batch."""

    langs: tuple[str, ...]

    def detect(self, texts: list[str]) -> list[Detection]:
        """One :class:`Detection` per text (``und`` for text without any known n-gram)."""


DEFAULT_SAMPLE_CHARS = 1000  # fast engine: characters scored per long text (0: all of the first max_chars)
DEFAULT_RESCORE_BELOW = 0.99  # fast engine: a sampled text scoring lower is scored again on all of it
