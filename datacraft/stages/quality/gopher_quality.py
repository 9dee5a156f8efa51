"""``gopher_quality``: the document rules of Gopher (Rae et al. 2021, appendix A1)."""

from __future__ import annotations

from itertools import filterfalse

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register
from datacraft.text.words import has_alpha, is_symbol, words

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


class GopherQualityParams(FilterParams):
    split_spaceless: bool = Field(
        True, description="count each Han/kana character and Thai-script letter as a word (False: runs, as spaCy)"
    )
    min_words: int | None = Field(50, ge=0, description="fewest words (punctuation-only tokens not counted)")
    max_words: int | None = Field(100_000, ge=0, description="most words")
    min_mean_word_length: float | None = Field(3, ge=0, description="lowest mean word length, in characters")
    max_mean_word_length: float | None = Field(10, ge=0, description="highest mean word length")
    max_hash_ratio: float | None = Field(0.1, ge=0, description="most '#' per token")
    max_ellipsis_ratio: float | None = Field(0.1, ge=0, description="most '...' or '…' per token")
    max_bullet_lines_ratio: float | None = Field(0.9, ge=0, description="most lines starting with • or -")
    max_ellipsis_lines_ratio: float | None = Field(0.3, ge=0, description="most lines ending with ... or …")
    min_alpha_words_ratio: float | None = Field(0.8, ge=0, description="fewest tokens with an alphabetic character")
    min_stop_words: int | None = Field(2, ge=0, description="fewest distinct stop words present")
    stop_words: list[str] = Field(list(STOP_WORDS), description="the stop words (case-sensitive, as in Gopher)")


@register("gopher_quality")
class GopherQuality(Filter):
    """Gopher quality rules: word count, mean word length, symbols, bullets, ellipses, alphabetic words, stop words."""

    Params = GopherQualityParams

    def __init__(self, params: GopherQualityParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        self._stop = frozenset(self.params.stop_words)  # type: ignore[attr-defined]

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {
            "gopher_words": "int64",
            "gopher_mean_word_length": "double",
            "gopher_hash_ratio": "double",
            "gopher_ellipsis_ratio": "double",
            "gopher_bullet_lines_ratio": "double",
            "gopher_ellipsis_lines_ratio": "double",
            "gopher_alpha_words_ratio": "double",
            "gopher_stop_words": "int64",
            "gopher_quality_drop_reason": "string",
        }

    def check(self, doc: Document) -> FilterResult:
        p: GopherQualityParams = self.params  # type: ignore[assignment]
        full = p.mode == "annotate"
        text = doc.text
        toks = words(text, p.split_spaceless)
        n_tokens = len(toks) or 1
        # Most tokens are plain words: only the others need a closer look.
        odd = list(filterfalse(str.isalpha, toks))
        symbols = [w for w in odd if is_symbol(w)]
        n_words = len(toks) - len(symbols)
        chars_words = sum(map(len, toks)) - sum(map(len, symbols))
        s: dict[str, float | int] = {"gopher_words": n_words}
        reason = None
        if p.min_words is not None and n_words < p.min_words:
            reason = "too_few_words"
        elif p.max_words is not None and n_words > p.max_words:
            reason = "too_many_words"
        if reason and not full:
            return FilterResult(False, reason, s)

        mean = chars_words / n_words if n_words else 0.0
        s["gopher_mean_word_length"] = mean
        if reason is None and p.min_mean_word_length is not None and mean < p.min_mean_word_length:
            reason = "mean_word_length_too_low"
        elif reason is None and p.max_mean_word_length is not None and mean > p.max_mean_word_length:
            reason = "mean_word_length_too_high"
        if reason and not full:
            return FilterResult(False, reason, s)

        hash_ratio = text.count("#") / n_tokens
        s["gopher_hash_ratio"] = hash_ratio
        ellipsis_ratio = (text.count("...") + text.count("…")) / n_tokens
        s["gopher_ellipsis_ratio"] = ellipsis_ratio
        if reason is None and p.max_hash_ratio is not None and hash_ratio > p.max_hash_ratio:
            reason = "too_many_hashes"
        elif reason is None and p.max_ellipsis_ratio is not None and ellipsis_ratio > p.max_ellipsis_ratio:
            reason = "too_many_ellipses"
        if reason and not full:
            return FilterResult(False, reason, s)

        lines = text.splitlines() or [""]
        bullets = sum(1 for line in lines if line.lstrip().startswith(("•", "-")))
        ellipsis_lines = sum(1 for line in lines if line.rstrip().endswith(("...", "…")))
        s["gopher_bullet_lines_ratio"] = bullets / len(lines)
        s["gopher_ellipsis_lines_ratio"] = ellipsis_lines / len(lines)
        if reason is None and p.max_bullet_lines_ratio is not None and bullets / len(lines) > p.max_bullet_lines_ratio:
            reason = "too_many_bullet_lines"
        elif (
            reason is None
            and p.max_ellipsis_lines_ratio is not None
            and ellipsis_lines / len(lines) > p.max_ellipsis_lines_ratio
        ):
            reason = "too_many_ellipsis_lines"
        if reason and not full:
            return FilterResult(False, reason, s)

        alpha_ratio = (len(toks) - len(odd) + sum(1 for w in odd if has_alpha(w))) / n_tokens
        s["gopher_alpha_words_ratio"] = alpha_ratio
        if reason is None and p.min_alpha_words_ratio is not None and alpha_ratio < p.min_alpha_words_ratio:
            reason = "too_few_alpha_words"
        n_stop = len(self._stop.intersection(toks))
        s["gopher_stop_words"] = n_stop
        if reason is None and p.min_stop_words is not None and n_stop < p.min_stop_words:
            reason = "too_few_stop_words"
        return FilterResult(reason is None, reason, s)
