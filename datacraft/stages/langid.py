"""``langid``: language identification over langdetect's 55 profiles, then keep/drop by language.

Every document gets its top language and probability (``und`` and 0.0 when the text has too
few letters or no known n-gram); ``mode: filter`` then drops documents that are undetermined,
not in ``allowed`` or below ``min_score``. Results depend only on the text (seeded, batch-free).
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any, Literal

import pyarrow as pa
from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.langid import UND, Detection, Engine, language_codes, make_engine
from datacraft.langid.engines import DEFAULT_RESCORE_BELOW, DEFAULT_SAMPLE_CHARS
from datacraft.langid.script import CJK_LANGS, HANGUL, LETTER, has_letters, letter_count, ruled_out, script_counts
from datacraft.stages.base import Filter, FilterParams, FilterResult, StageContext, columns_to_fields
from datacraft.stages.registry import register

__all__ = ["LangId", "LangIdParams", "letter_count"]


class LangIdParams(FilterParams):
    engine: Literal["fast", "langdetect"] = Field(
        "fast", description="fast: deterministic vectorized naive Bayes; langdetect: the library (seeded, far slower)"
    )
    allowed: list[str] | None = Field(
        None, description="language codes to keep (e.g. [en, de, zh-cn]); unset keeps every language"
    )
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="drop documents whose top-language probability is lower")
    min_letters: int = Field(
        10, ge=0, description="texts with fewer letters (Unicode L*/M*: marks count) are `und`, not guessed"
    )
    und: Literal["drop", "keep"] = Field("drop", description="what mode: filter does with undetermined documents")
    topk: int = Field(0, ge=0, le=55, description="also write the k most probable languages as <column>_topk")
    max_chars: int = Field(10_000, gt=0, description="score only the first N characters (langdetect's default)")
    sample_chars: int = Field(
        DEFAULT_SAMPLE_CHARS,
        ge=0,
        description="fast engine: score ~N characters of longer texts, in windows spread over them (0: all)",
    )
    rescore_below: float = Field(
        DEFAULT_RESCORE_BELOW,
        ge=0.0,
        le=1.0,
        description="fast engine: a sampled text whose top score is lower is scored again on all its characters",
    )
    script: bool = Field(
        True, description="decide ja/ko/zh-cn/zh-tw by script evidence (Hangul, kana, Han variants) when CJK wins"
    )
    cjk_min_share: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="with script: a ja/ko/zh detection its scripts settle alone (CJK >= this share of the letters) "
        "is not dropped for min_score",
    )
    seed: int = Field(0, description="random seed of the langdetect engine (the fast engine draws nothing)")
    n_trial: int = Field(7, ge=1, description="langdetect engine: random trials averaged per text (more: stabler)")
    column: str = Field("lang", min_length=1, description="output column; the score goes to <column>_score")

    @field_validator("allowed")
    @classmethod
    def _known_codes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("empty list keeps nothing; leave `allowed` unset to keep every language")
        codes = language_codes()
        for code in value:
            if code == UND:
                raise ValueError("use `und: keep` to keep undetermined documents, not `und` in allowed")
            if code not in codes:
                close = difflib.get_close_matches(code, codes, n=3, cutoff=0.5)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ValueError(f"unknown language code {code!r}{hint}; known: {', '.join(codes)}")
        return value


@register("langid")
class LangId(Filter):
    """Identify the language (55 langdetect languages, fast or reference engine); filter by language and score."""

    Params = LangIdParams

    def __init__(self, params: LangIdParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        self._engine: Engine | None = None
        p: LangIdParams = self.params  # type: ignore[assignment]
        self._allowed = frozenset(p.allowed) if p.allowed else None

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {
            "lang": "string",  # language code, or und
            "lang_score": "float64",  # probability of lang; 0 for und
            "lang_topk": "list<struct<lang: string, prob: float64>>",  # when topk > 0
        }

    def output_fields(self) -> list[pa.Field]:
        """``<column>``, ``<column>_score`` (and ``<column>_topk``) in both modes; drop reason when annotating."""
        p: LangIdParams = self.params  # type: ignore[assignment]
        cols = self.output_columns()
        declared = {p.column: cols["lang"], f"{p.column}_score": cols["lang_score"]}
        if p.topk:
            declared[f"{p.column}_topk"] = cols["lang_topk"]
        fields = columns_to_fields(declared)
        if p.mode == "annotate":
            fields.append(pa.field(f"{self.label}_drop_reason", pa.string()))
        return fields

    def setup(self) -> None:
        p: LangIdParams = self.params  # type: ignore[assignment]
        self._engine = make_engine(
            p.engine,
            max_chars=p.max_chars,
            sample_chars=p.sample_chars,
            rescore_below=p.rescore_below,
            seed=p.seed,
            n_trial=p.n_trial,
            script=p.script,
        )

    def detect(self, texts: list[str]) -> list[Detection]:
        """Detect a batch: ``und`` for too few letters, otherwise the engine's result."""
        self.ensure_setup()
        assert self._engine is not None
        p: LangIdParams = self.params  # type: ignore[assignment]
        enough = has_letters(texts, p.min_letters, p.max_chars).tolist()
        found = iter(self._engine.detect([t for t, ok in zip(texts, enough, strict=True) if ok]))
        und = Detection(UND, 0.0, None)
        return [next(found) if ok else und for ok in enough]

    def script_sure(self, text: str, det: Detection) -> bool:
        """Whether the scripts alone settle a CJK detection: they rule out every other CJK language and
        CJK characters are at least ``cjk_min_share`` of the letters (then ``min_score`` does not apply)."""
        p: LangIdParams = self.params  # type: ignore[assignment]
        if not p.script or det.lang not in CJK_LANGS:
            return False
        counts = script_counts(text[: p.max_chars])
        cjk = int(counts[HANGUL:].sum())
        if cjk < p.cjk_min_share * int(counts[LETTER:].sum()):
            return False
        return ruled_out(counts) == set(CJK_LANGS) - {det.lang}

    def decide(self, det: Detection, script_sure: bool = False) -> FilterResult:
        """Keep or drop one detection; the signals are the output columns."""
        p: LangIdParams = self.params  # type: ignore[assignment]
        col = p.column
        signals: dict[str, Any] = {col: det.lang, f"{col}_score": round(det.score, 6)}
        if p.topk:
            assert self._engine is not None
            top = det.topk(self._engine.langs, p.topk)
            signals[f"{col}_topk"] = [{"lang": t["lang"], "prob": round(float(t["prob"]), 6)} for t in top]
        if det.lang == UND:
            return FilterResult(p.und == "keep", "lang_und", signals)
        if self._allowed is not None and det.lang not in self._allowed:
            return FilterResult(False, "lang_not_allowed", signals)
        if det.score < p.min_score and not script_sure:
            return FilterResult(False, "lang_low_score", signals)
        return FilterResult(True, None, signals)

    def check_batch(self, docs: list[Document]) -> list[FilterResult]:
        p: LangIdParams = self.params  # type: ignore[assignment]
        dets = self.detect([doc.text for doc in docs])
        return [
            self.decide(d, d.score < p.min_score and self.script_sure(doc.text, d))
            for doc, d in zip(docs, dets, strict=True)
        ]

    def check(self, doc: Document) -> FilterResult:
        return self.check_batch([doc])[0]

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        results = self.check_batch(docs)
        col = self.params.column  # type: ignore[attr-defined]
        for doc, result in zip(docs, results, strict=True):
            doc.meta.update(result.signals)  # kept and dropped documents both carry their language
        for lang, n in sorted(Counter(r.signals[col] for r in results).items()):
            ctx.count(self.label, f"{col}={lang}", n)
        return self.route(docs, results, ctx)
