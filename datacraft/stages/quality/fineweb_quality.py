"""``fineweb_quality``: the FineWeb line rules (Penedo et al. 2024)."""

from __future__ import annotations

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.quality.gopher_repetition import duplicates
from datacraft.stages.registry import register
from datacraft.text.punct import TERMINAL_TUPLE
from datacraft.text.words import words


class FineWebQualityParams(FilterParams):
    split_spaceless: bool = Field(
        True, description="count each Han/kana character and Thai-script letter as a word (False: runs, as spaCy)"
    )
    min_line_punct_ratio: float | None = Field(0.12, ge=0, description="fewest lines ending in terminal punctuation")
    line_punct_exclude_zero: bool = Field(False, description="keep documents where no line ends in punctuation")
    max_short_line_ratio: float | None = Field(0.67, ge=0, description="most lines of at most short_line_length chars")
    short_line_length: int = Field(30, ge=0, description="a line this short or shorter is a short line")
    max_dup_line_char_ratio: float | None = Field(0.01, ge=0, description="most characters in repeated lines")
    max_newline_word_ratio: float | None = Field(0.3, ge=0, description="most newlines per word (list-like pages)")


@register("fineweb_quality")
class FineWebQuality(Filter):
    """FineWeb rules: lines ending in punctuation, short lines, duplicated line characters, newlines per word."""

    Params = FineWebQualityParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {
            "fineweb_line_punct_ratio": "double",
            "fineweb_short_line_ratio": "double",
            "fineweb_dup_line_char_ratio": "double",
            "fineweb_newline_word_ratio": "double",
            "fineweb_quality_drop_reason": "string",
        }

    def check(self, doc: Document) -> FilterResult:
        p: FineWebQualityParams = self.params  # type: ignore[assignment]
        full = p.mode == "annotate"
        text = doc.text
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            return FilterResult(False, "empty", {})
        s: dict[str, float] = {}
        reason: str | None = None
        ratio = sum(1 for line in lines if line.endswith(TERMINAL_TUPLE)) / len(lines)
        s["fineweb_line_punct_ratio"] = ratio
        zero_ok = ratio == 0 and p.line_punct_exclude_zero
        if p.min_line_punct_ratio is not None and ratio < p.min_line_punct_ratio and not zero_ok:
            reason = "line_punct_ratio"
            if not full:
                return FilterResult(False, reason, s)
        short = p.short_line_length
        ratio = sum(1 for line in lines if len(line) <= short) / len(lines)
        s["fineweb_short_line_ratio"] = ratio
        if reason is None and p.max_short_line_ratio is not None and ratio > p.max_short_line_ratio:
            reason = "short_line_ratio"
            if not full:
                return FilterResult(False, reason, s)
        ratio = duplicates(lines)[1] / max(1, len(text) - text.count("\n"))
        s["fineweb_dup_line_char_ratio"] = ratio
        if reason is None and p.max_dup_line_char_ratio is not None and ratio > p.max_dup_line_char_ratio:
            reason = "char_dup_ratio"
            if not full:
                return FilterResult(False, reason, s)
        ratio = text.count("\n") / max(1, len(words(text, p.split_spaceless)))
        s["fineweb_newline_word_ratio"] = ratio
        if reason is None and p.max_newline_word_ratio is not None and ratio > p.max_newline_word_ratio:
            reason = "list_ratio"
        return FilterResult(reason is None, reason, s)
