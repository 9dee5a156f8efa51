"""``gopher_repetition``: the repetition rules of Gopher (Rae et al. 2021, table A1)."""

from __future__ import annotations

import re
from collections import Counter

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register
from datacraft.text.words import words

_PARAGRAPH = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items that repeat an earlier one, their total characters)."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


def top_ngram_chars(toks: list[str], n: int) -> int:
    """Characters covered by the most frequent n-gram: its length (words joined by spaces) × its count."""
    grams = Counter(zip(*(toks[i:] for i in range(n)), strict=False))
    if not grams:
        return 0
    gram, count = grams.most_common(1)[0]
    return (sum(map(len, gram)) + n - 1) * count


def duplicated_ngram_chars(toks: list[str], lens: list[int], n: int) -> int:
    """Characters of n-grams that repeat an earlier one, scanning left to right and skipping past each repeat."""
    grams = list(zip(*(toks[i:] for i in range(n)), strict=False))
    if len(set(grams)) == len(grams):
        return 0
    seen: set[tuple[str, ...]] = set()
    chars = idx = 0
    end = len(grams)
    while idx < end:
        g = grams[idx]
        if g in seen:
            chars += sum(lens[idx : idx + n])
            idx += n
        else:
            seen.add(g)
            idx += 1
    return chars


class GopherRepetitionParams(FilterParams):
    max_dup_para_frac: float | None = Field(0.3, ge=0, description="most paragraphs that repeat an earlier one")
    max_dup_para_char_frac: float | None = Field(0.2, ge=0, description="most characters in repeated paragraphs")
    max_dup_line_frac: float | None = Field(0.3, ge=0, description="most lines that repeat an earlier one")
    max_dup_line_char_frac: float | None = Field(0.2, ge=0, description="most characters in repeated lines")
    max_top_ngram_char_frac: dict[int, float] = Field(
        {2: 0.20, 3: 0.18, 4: 0.16}, description="n → most characters covered by the most frequent n-gram"
    )
    max_dup_ngram_char_frac: dict[int, float] = Field(
        {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="n → most characters in n-grams that repeat an earlier one",
    )


@register("gopher_repetition")
class GopherRepetition(Filter):
    """Gopher repetition rules: repeated lines and paragraphs, top 2–4-grams, duplicated 5–10-grams."""

    Params = GopherRepetitionParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        p = GopherRepetitionParams()
        cols = {
            "rep_dup_para_frac": "double",
            "rep_dup_para_char_frac": "double",
            "rep_dup_line_frac": "double",
            "rep_dup_line_char_frac": "double",
        }
        cols.update({f"rep_top_{n}gram_char_frac": "double" for n in p.max_top_ngram_char_frac})
        cols.update({f"rep_dup_{n}gram_char_frac": "double" for n in p.max_dup_ngram_char_frac})
        cols["gopher_repetition_drop_reason"] = "string"
        return cols

    def check(self, doc: Document) -> FilterResult:
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        full = p.mode == "annotate"
        text = doc.text
        if not text:
            return FilterResult(False, "empty", {})
        size = len(text)
        s: dict[str, float] = {}
        reason: str | None = None

        def over(key: str, value: float, limit: float | None, why: str) -> bool:
            nonlocal reason
            s[key] = value
            if reason is None and limit is not None and value > limit:
                reason = why
            return reason is not None and not full

        paragraphs = _PARAGRAPH.split(text.strip())
        n, chars = duplicates(paragraphs)
        if over("rep_dup_para_frac", n / len(paragraphs), p.max_dup_para_frac, "dup_para_frac"):
            return FilterResult(False, reason, s)
        if over("rep_dup_para_char_frac", chars / size, p.max_dup_para_char_frac, "dup_para_char_frac"):
            return FilterResult(False, reason, s)
        lines = _LINES.split(text)
        n, chars = duplicates(lines)
        if over("rep_dup_line_frac", n / len(lines), p.max_dup_line_frac, "dup_line_frac"):
            return FilterResult(False, reason, s)
        if over("rep_dup_line_char_frac", chars / size, p.max_dup_line_char_frac, "dup_line_char_frac"):
            return FilterResult(False, reason, s)
        toks = words(text)
        for k, limit in sorted(p.max_top_ngram_char_frac.items()):
            if over(f"rep_top_{k}gram_char_frac", top_ngram_chars(toks, k) / size, limit, f"top_{k}gram"):
                return FilterResult(False, reason, s)
        lens = list(map(len, toks))
        for k, limit in sorted(p.max_dup_ngram_char_frac.items()):
            frac = duplicated_ngram_chars(toks, lens, k) / size
            if over(f"rep_dup_{k}gram_char_frac", frac, limit, f"dup_{k}gram"):
                return FilterResult(False, reason, s)
        return FilterResult(reason is None, reason, s)
