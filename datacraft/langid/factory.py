"""Build a language-identification engine by name (imports the engine modules, which import only the types)."""

from __future__ import annotations

from datacraft.langid.engines import DEFAULT_RESCORE_BELOW, DEFAULT_SAMPLE_CHARS, Engine, EngineName


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
