"""The result type shared by the engines, and the engine factory."""

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


def make_engine(name: EngineName, *, max_chars: int = 10_000, alpha: float = 0.5, seed: int = 0) -> Engine:
    """Build an engine: ``fast`` (vectorized naive Bayes) or ``langdetect`` (the library, seeded)."""
    if name == "fast":
        from datacraft.langid.fast import FastEngine

        return FastEngine(max_chars=max_chars, alpha=alpha)
    if name == "langdetect":
        from datacraft.langid.reference import LangdetectEngine

        return LangdetectEngine(max_chars=max_chars, alpha=alpha, seed=seed)
    raise ValueError(f"unknown language-identification engine {name!r} (fast, langdetect)")
