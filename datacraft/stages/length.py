"""``length``: keep documents whose character, word and line counts are within bounds."""

from __future__ import annotations

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import KEEP, Filter, FilterParams, FilterResult
from datacraft.stages.registry import register


class LengthParams(FilterParams):
    min_chars: int | None = Field(None, ge=0, description="fewest characters")
    max_chars: int | None = Field(None, ge=0, description="most characters")
    min_words: int | None = Field(None, ge=0, description="fewest whitespace-separated words")
    max_words: int | None = Field(None, ge=0, description="most whitespace-separated words")
    min_lines: int | None = Field(None, ge=0, description="fewest non-empty lines")
    max_lines: int | None = Field(None, ge=0, description="most non-empty lines")


@register("length")
class Length(Filter):
    """Drop documents that are too short or too long, by characters, words or lines."""

    Params = LengthParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"length_chars": "int64", "length_words": "int64", "length_lines": "int64"}

    def check(self, doc: Document) -> FilterResult:
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
