"""Build a language-identification engine by name (imports the engine modules, which import only the types)."""

from __future__ import annotations

from datacraft.langid.engines import DEFAULT_SAMPLE_CHARS, Engine, EngineName


def make_engine(
    name: EngineName,
    *,
    max_chars: int = 10_000,
    alpha: float = 0.5,
    sample_chars: int = DEFAULT_SAMPLE_CHARS,
    seed: int = 0,
    n_trial: int = 7,
) -> Engine:
    """Build an engine: ``fast`` (vectorized naive Bayes; ``sample_chars`` only applies to it) or
    ``langdetect`` (the library, seeded; ``seed`` and ``n_trial`` only apply to it)."""
    if name == "fast":
        from datacraft.langid.fast import FastEngine

        return FastEngine(max_chars=max_chars, alpha=alpha, sample_chars=sample_chars)
    if name == "langdetect":
        from datacraft.langid.reference import LangdetectEngine

        return LangdetectEngine(max_chars=max_chars, alpha=alpha, seed=seed, n_trial=n_trial)
    raise ValueError(f"unknown language-identification engine {name!r} (fast, langdetect)")
