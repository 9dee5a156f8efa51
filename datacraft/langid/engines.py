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


DEFAULT_SAMPLE_CHARS = 1000  # fast engine: characters scored per long text (0: all of the first max_chars)
DEFAULT_RESCORE_BELOW = 0.99  # fast engine: a sampled text scoring lower is scored again on all of it


def make_engine(
    name: EngineName,
    *,
    max_chars: int = 10_000,
    alpha: float = 0.5,
    sample_chars: int = DEFAULT_SAMPLE_CHARS,
    rescore_below: float = DEFAULT_RESCORE_BELOW,
    seed: int = 0,
    n_trial: int = 7,
    script: bool = True,
) -> Engine:
    """Build an engine: ``fast`` (vectorized naive Bayes; ``sample_chars``, ``rescore_below`` only apply to it) or
    ``langdetect`` (the library, seeded; ``seed`` and ``n_trial`` only apply to it). With ``script``,
    CJK results are refined by script evidence (:func:`datacraft.langid.script.refine_cjk`)."""
    if name == "fast":
        from datacraft.langid.fast import FastEngine

        return FastEngine(
            max_chars=max_chars, alpha=alpha, sample_chars=sample_chars, rescore_below=rescore_below, script=script
        )
    if name == "langdetect":
        from datacraft.langid.reference import LangdetectEngine

        return LangdetectEngine(max_chars=max_chars, alpha=alpha, seed=seed, n_trial=n_trial, script=script)
    raise ValueError(f"unknown language-identification engine {name!r} (fast, langdetect)")
