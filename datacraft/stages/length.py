"""``length``: keep documents whose character, word and line counts are within bounds.

Character bounds are fair across scripts: for a document whose ``lang`` is Chinese, Japanese or
Korean (``CHAR_SCALE``), ``min_chars`` and ``max_chars`` are scaled by how many characters that
language needs for the text English writes in one (200 → 52 for Chinese); ``lang_defaults: false``
turns this off and ``per_lang: {xx: {min_chars: …}}`` sets a language's bounds outright.
"""

from __future__ import annotations

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import KEEP, FilterResult
from datacraft.stages.quality.languages import CHAR_SCALE, base_lang
from datacraft.stages.quality.perlang import LangAware, LangParams
from datacraft.stages.registry import register


class LengthParams(LangParams):
    min_chars: int | None = Field(None, ge=0, description="fewest characters")
    max_chars: int | None = Field(None, ge=0, description="most characters")
    min_words: int | None = Field(None, ge=0, description="fewest whitespace-separated words")
    max_words: int | None = Field(None, ge=0, description="most whitespace-separated words")
    min_lines: int | None = Field(None, ge=0, description="fewest non-empty lines")
    max_lines: int | None = Field(None, ge=0, description="most non-empty lines")


@register("length")
class Length(LangAware):
    """Drop documents that are too short or too long, by characters, words or lines."""

    Params = LengthParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"length_chars": "int64", "length_words": "int64", "length_lines": "int64"}

    def _make_variant(self, lang: str) -> tuple[LangAware, tuple[str, ...]]:
        p: LengthParams = self.params  # type: ignore[assignment]
        base = base_lang(lang) or lang
        scale = CHAR_SCALE.get(base) if p.lang_defaults else None
        over = {
            key: round(value * scale)
            for key in ("min_chars", "max_chars")
            if scale is not None and (value := getattr(p, key)) is not None
        }
        user = p.per_lang.get(lang.lower()) or p.per_lang.get(base) or {}
        if not over and not user:
            return self, ()
        params = type(p)(**{**p.model_dump(exclude={"per_lang"}), **over, **user})
        return type(self)(params, self.label), ()

    def check_lang(self, doc: Document) -> FilterResult:
        p: LengthParams = self.params  # type: ignore[assignment]
        text = doc.text
        chars = len(text)
        signals: dict[str, int] = {"length_chars": chars}
        annotate = p.mode == "annotate"
        if p.min_words is not None or p.max_words is not None or annotate:
            signals["length_words"] = len(text.split())
        if p.min_lines is not None or p.max_lines is not None or annotate:
            signals["length_lines"] = sum(1 for line in text.split("\n") if line.strip())
        checks = (
            ("length_chars", p.min_chars, p.max_chars, "chars"),
            ("length_words", p.min_words, p.max_words, "words"),
            ("length_lines", p.min_lines, p.max_lines, "lines"),
        )
        for key, lo, hi, unit in checks:
            if lo is not None and signals[key] < lo:
                return FilterResult(False, f"too_few_{unit}", signals)
            if hi is not None and signals[key] > hi:
                return FilterResult(False, f"too_many_{unit}", signals)
        return FilterResult(True, None, signals) if annotate else KEEP
