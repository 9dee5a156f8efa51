"""``gopher_quality`` and ``gopher_repetition``: the heuristics of Gopher (Rae et al. 2021, table A1).

Defaults are the published thresholds as implemented by datatrove; every threshold is a
parameter and ``None`` disables a rule. Words come from the shared tokenizer
(:mod:`datacraft.text.words`), computed once per document for all filters of a batch.
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.stages.base import FilterResult, StageContext
from datacraft.stages.quality.ngrams import NgramIndex
from datacraft.stages.quality.perlang import LangAware, LangParams
from datacraft.stages.quality.verdict import Verdict, duplicates, ratio
from datacraft.stages.registry import register
from datacraft.text.cache import TextFeatures, features

if TYPE_CHECKING:
    from datacraft.stages.quality.batch_ngrams import MeasureRow

_ELLIPSES = ("...", "…")
STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")


class GopherQualityParams(LangParams):
    min_words: int | None = Field(50, ge=0, description="fewest non-punctuation words")
    max_words: int | None = Field(100_000, ge=0, description="most non-punctuation words")
    min_mean_word_length: float | None = Field(3, ge=0, description="shortest mean word length (characters)")
    max_mean_word_length: float | None = Field(10, ge=0, description="longest mean word length (characters)")
    max_symbol_word_ratio: float | None = Field(0.1, ge=0, description="most '#' or ellipses per token")
    max_bullet_lines_ratio: float | None = Field(0.9, ge=0, le=1, description="most lines starting with a bullet")
    max_ellipsis_lines_ratio: float | None = Field(0.3, ge=0, le=1, description="most lines ending with an ellipsis")
    min_alpha_words_ratio: float | None = Field(0.8, ge=0, le=1, description="fewest tokens with a letter")
    min_stop_words: int | None = Field(2, ge=0, description="fewest distinct stop words present")
    stop_words: list[str] = Field(list(STOP_WORDS), description="the stop words")
    stop_words_ignore_case: bool = Field(False, description="match stop words case-insensitively (Gopher: exact)")
    bullets: list[str] = Field(["•", "-"], description="line prefixes (after leading spaces) that count as bullets")


@register("gopher_quality")
class GopherQuality(LangAware):
    """Gopher quality rules: length, mean word length, symbols, bullets, ellipses, letters, stop words.

    Drop reasons: ``too_few_words``, ``too_many_words``, ``short_mean_word_length``,
    ``long_mean_word_length``, ``too_many_hashes``, ``too_many_ellipses``, ``too_many_bullet_lines``,
    ``too_many_ellipsis_lines``, ``too_few_alpha_words``, ``too_few_stop_words``.
    Words exclude punctuation tokens; the symbol and letter ratios divide by all tokens.
    """

    Params = GopherQualityParams

    def __init__(self, params: GopherQualityParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: GopherQualityParams = self.params  # type: ignore[assignment]
        words = [w.lower() for w in p.stop_words] if p.stop_words_ignore_case else p.stop_words
        self._stop = frozenset(words)
        self._bullets = tuple(p.bullets)

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {
            "gopher_word_count": "int64",
            "gopher_mean_word_length": "double",
            "gopher_hash_ratio": "double",
            "gopher_ellipsis_ratio": "double",
            "gopher_bullet_line_ratio": "double",
            "gopher_ellipsis_line_ratio": "double",
            "gopher_alpha_word_ratio": "double",
            "gopher_stop_word_count": "int64",
        }

    def check_batch(self, docs: list[Document]) -> list[FilterResult]:
        """:meth:`check` for every document, the token counts of the batch computed together."""
        return list(map(self._check_features, docs, batch_features(docs)))

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        return self.route(docs, self.check_batch(docs), ctx)

    def check_lang(self, doc: Document) -> FilterResult:
        return self._rules(features(doc.text, doc.meta.get("lang")))

    def _check_features(self, doc: Document, f: TextFeatures) -> FilterResult:
        """:meth:`check` of ``doc`` whose features are ``f``."""
        flt, skipped = self.variant(doc.meta.get("lang"))
        result = flt._rules(f)  # type: ignore[attr-defined]
        if skipped:
            result.skipped = (*result.skipped, *skipped)
        return result

    def _rules(self, f: TextFeatures) -> FilterResult:
        """The rules of this (already resolved) filter over a text's features ``f``."""
        p: GopherQualityParams = self.params  # type: ignore[assignment]
        v = Verdict(p.mode == "annotate")
        s = v.signals
        text = f.text
        n_tokens = f.n_tokens
        n_punct, punct_chars = f.punct_tokens
        n_words = n_tokens - n_punct
        s["gopher_word_count"] = n_words
        if p.min_words is not None and n_words < p.min_words and v.fail("too_few_words"):
            return v.result()
        if p.max_words is not None and n_words > p.max_words and v.fail("too_many_words"):
            return v.result()

        mean = ratio(f.word_chars - punct_chars, n_words)
        s["gopher_mean_word_length"] = mean
        if p.min_mean_word_length is not None and mean < p.min_mean_word_length and v.fail("short_mean_word_length"):
            return v.result()
        if p.max_mean_word_length is not None and mean > p.max_mean_word_length and v.fail("long_mean_word_length"):
            return v.result()

        hashes = ratio(text.count("#"), n_tokens)
        ellipses = ratio(text.count("...") + text.count("…"), n_tokens)
        s["gopher_hash_ratio"] = hashes
        s["gopher_ellipsis_ratio"] = ellipses
        if p.max_symbol_word_ratio is not None:
            if hashes > p.max_symbol_word_ratio and v.fail("too_many_hashes"):
                return v.result()
            if ellipses > p.max_symbol_word_ratio and v.fail("too_many_ellipses"):
                return v.result()

        lines = f.lines
        bullets = ratio(sum(map(str.startswith, map(str.lstrip, lines), repeat(self._bullets))), len(lines))
        s["gopher_bullet_line_ratio"] = bullets
        if (
            p.max_bullet_lines_ratio is not None
            and bullets > p.max_bullet_lines_ratio
            and v.fail("too_many_bullet_lines")
        ):
            return v.result()
        end_ellipsis = ratio(sum(map(str.endswith, map(str.rstrip, lines), repeat(_ELLIPSES))), len(lines))
        s["gopher_ellipsis_line_ratio"] = end_ellipsis
        if (
            p.max_ellipsis_lines_ratio is not None
            and end_ellipsis > p.max_ellipsis_lines_ratio
            and v.fail("too_many_ellipsis_lines")
        ):
            return v.result()

        alpha = ratio(f.alpha_tokens, n_tokens)
        s["gopher_alpha_word_ratio"] = alpha
        if p.min_alpha_words_ratio is not None and alpha < p.min_alpha_words_ratio and v.fail("too_few_alpha_words"):
            return v.result()

        stop = f.stop_word_count(self._stop, p.stop_words_ignore_case)
        s["gopher_stop_word_count"] = stop
        if p.min_stop_words is not None and stop < p.min_stop_words:
            v.fail("too_few_stop_words")
        return v.result()


#: Fewest texts to tokenize for :class:`GopherQuality` as a batch.
_MIN_BATCH = 32


def batch_features(docs: list[Document]) -> list[TextFeatures]:
    """The features of each document's text and language, those not tokenized yet tokenized as one batch.

    Texts whose words an earlier stage listed one by one keep the per-text counts (as fast), and so
    do small batches (Arrow's and numpy's fixed cost per call exceeds a few texts' tokenizing).
    """
    from datacraft.text.batch import batch_tokens  # numpy/pyarrow.compute: loaded when first used

    feats = [features(d.text, d.meta.get("lang")) for d in docs]
    todo = [f for f in feats if f._words is None]
    if len(todo) >= _MIN_BATCH:
        batch_tokens(todo)
    return feats


class GopherRepetitionParams(LangParams):
    max_dup_line_frac: float | None = Field(0.3, ge=0, le=1, description="most duplicated lines (fraction of lines)")
    max_dup_line_char_frac: float | None = Field(0.2, ge=0, le=1, description="most characters in duplicated lines")
    max_dup_para_frac: float | None = Field(0.3, ge=0, le=1, description="most duplicated paragraphs")
    max_dup_para_char_frac: float | None = Field(
        0.2, ge=0, le=1, description="most characters in duplicated paragraphs"
    )
    max_top_ngram_char_frac: dict[int, float] = Field(
        {2: 0.20, 3: 0.18, 4: 0.16}, description="n → most characters in the most frequent n-gram"
    )
    max_dup_ngram_char_frac: dict[int, float] = Field(
        {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="n → most characters in repeated n-grams",
    )
    ngram_min_words: int = Field(
        0,
        ge=0,
        description="in texts of fewer words the top n-gram rules count only an n-gram repeated at least "
        "short_min_repeats times (0: off, as Gopher); in a short article one phrase said twice exceeds the fractions",
    )
    short_min_repeats: int = Field(3, ge=1, description="see ngram_min_words")

    @field_validator("max_top_ngram_char_frac", "max_dup_ngram_char_frac")
    @classmethod
    def _sizes_from_two(cls, fractions: dict[int, float]) -> dict[int, float]:
        small = sorted(n for n in fractions if n < 2)
        if small:
            raise ValueError(f"n-gram sizes start at 2 (words); got {small}")
        return fractions


@register("gopher_repetition")
class GopherRepetition(LangAware):
    """Gopher repetition rules: duplicated paragraphs and lines, top n-grams, repeated n-grams.

    Drop reasons, checked in this order: ``empty``, ``dup_para_frac``, ``dup_para_char_frac``,
    ``dup_line_frac``, ``dup_line_char_frac``, ``top_{n}_gram`` (n = 2, 3, 4), ``duplicated_{n}_grams``
    (n = 5 … 10). Character fractions divide by the length of the whole text; paragraphs are
    separated by blank lines, lines by runs of newlines. With ``ngram_min_words``, in shorter texts
    a top n-gram seen fewer than ``short_min_repeats`` times does not fail the document (counted
    as ``skipped_top_{n}_gram_short``).
    """

    Params = GopherRepetitionParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return cls.columns_for(GopherRepetitionParams())

    def signal_columns(self) -> dict[str, str]:
        return self.columns_for(self.params)  # type: ignore[arg-type]

    @staticmethod
    def columns_for(p: GopherRepetitionParams) -> dict[str, str]:
        """The signal columns for parameters ``p`` (one per configured n-gram size)."""
        cols = {
            "gopher_rep_dup_para_frac": "double",
            "gopher_rep_dup_para_char_frac": "double",
            "gopher_rep_dup_line_frac": "double",
            "gopher_rep_dup_line_char_frac": "double",
        }
        cols |= {f"gopher_rep_top_{n}_gram_char_frac": "double" for n in p.max_top_ngram_char_frac}
        cols |= {f"gopher_rep_dup_{n}_gram_char_frac": "double" for n in p.max_dup_ngram_char_frac}
        return cols

    def __init__(self, params: GopherRepetitionParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        # (n, limit, signal column, drop reason) per rule, built once rather than per document
        self._top = [
            (n, limit, f"gopher_rep_top_{n}_gram_char_frac", f"top_{n}_gram")
            for n, limit in sorted(p.max_top_ngram_char_frac.items())
        ]
        self._dup = [
            (n, limit, f"gopher_rep_dup_{n}_gram_char_frac", f"duplicated_{n}_grams")
            for n, limit in sorted(p.max_dup_ngram_char_frac.items())
        ]

    def check_lang(self, doc: Document) -> FilterResult:
        started = self._paragraphs_and_lines(doc)
        if isinstance(started, FilterResult):
            return started
        v, f, size = started
        index = NgramIndex(f.words)
        return self._ngram_rules(v, f, size, len(f.words), index)

    def check_batch(self, docs: list[Document]) -> list[FilterResult]:
        """:meth:`check` for every document, the n-gram measures of a batch computed together.

        The paragraph and line rules run per document; the n-gram measures of the documents they
        leave undecided come from one :func:`ngram_measures` call per language variant (the sizes
        can differ), then each document's n-gram rules decide in the same order as :meth:`check`.
        """
        results: list[FilterResult | None] = [None] * len(docs)
        pending: dict[int, tuple[GopherRepetition, list[tuple[int, Verdict, TextFeatures, int]]]] = {}
        skips: list[tuple[str, ...]] = [()] * len(docs)
        variant = self.variant
        for i, doc in enumerate(docs):
            lang = doc.meta.get("lang")
            flt, skipped = (self, ()) if lang is None else variant(lang)
            skips[i] = skipped
            started = flt._paragraphs_and_lines(doc)  # type: ignore[attr-defined]
            if isinstance(started, FilterResult):
                results[i] = started
            else:
                pending.setdefault(id(flt), (flt, []))[1].append((i, *started))  # type: ignore[arg-type]
        from datacraft.stages.quality.batch_ngrams import ngram_measures  # numpy: loaded when first used
        from datacraft.text.batch import token_view

        for flt, items in pending.values():
            p: GopherRepetitionParams = flt.params  # type: ignore[assignment]
            view = token_view([f for _, _, f, _ in items])
            m = ngram_measures(view, p.max_top_ngram_char_frac, p.max_dup_ngram_char_frac)
            rows = m.rows(view.n_docs)
            n_tokens = (view.offsets[1:] - view.offsets[:-1]).tolist()
            for j, (i, v, f, size) in enumerate(items):
                results[i] = flt._ngram_rules(v, f, size, n_tokens[j], rows[j])
        out: list[FilterResult] = []
        for result, skipped in zip(results, skips, strict=True):
            assert result is not None
            if skipped:
                result.skipped = (*result.skipped, *skipped)
            out.append(result)
        return out

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        return self.route(docs, self.check_batch(docs), ctx)

    def _paragraphs_and_lines(self, doc: Document) -> FilterResult | tuple[Verdict, TextFeatures, int]:
        """The empty, paragraph and line rules: the result if they decide, else (verdict, features, text size)."""
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        v = Verdict(p.mode == "annotate")
        s = v.signals
        f = features(doc.text, doc.meta.get("lang"))
        text = f.text
        if not text:
            for col in self.signal_columns():
                s[col] = math.nan  # undefined: fails any threshold rule, as the filter drops it
            v.fail("empty")
            return v.result()
        size = len(text)

        for unit, attr, max_frac, max_char_frac in (
            ("para", "paragraphs", p.max_dup_para_frac, p.max_dup_para_char_frac),
            ("line", "newline_runs", p.max_dup_line_frac, p.max_dup_line_char_frac),
        ):
            parts = getattr(f, attr)  # lines are split only when the paragraph rules passed
            n, chars = duplicates(parts)
            frac = s[f"gopher_rep_dup_{unit}_frac"] = ratio(n, len(parts))
            char_frac = s[f"gopher_rep_dup_{unit}_char_frac"] = ratio(chars, size)
            if _over(frac, max_frac) and v.fail(f"dup_{unit}_frac"):
                return v.result()
            if _over(char_frac, max_char_frac) and v.fail(f"dup_{unit}_char_frac"):
                return v.result()
        return v, f, size

    def _ngram_rules(
        self,
        v: Verdict,
        f: TextFeatures,
        size: int,
        n_tokens: int,
        index: NgramIndex | MeasureRow,
    ) -> FilterResult:
        """The top and duplicated n-gram rules, from the measures of ``f``'s tokens (``n_tokens`` of them)."""
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        s = v.signals
        short = bool(p.ngram_min_words) and n_tokens - f.punct_tokens[0] < p.ngram_min_words
        skipped: tuple[str, ...] = ()
        for n, limit, column, reason in self._top:
            value = s[column] = ratio(index.top_ngram_chars(n), size)
            if value > limit:
                if short and index.top_ngram_count(n) < p.short_min_repeats:
                    skipped = (f"{reason}_short",)  # a short text saying one phrase twice
                    continue
                if v.fail(reason):
                    result = v.result()
                    result.skipped = skipped
                    return result
        for n, limit, column, reason in self._dup:
            value = s[column] = ratio(index.duplicated_ngram_chars(n), size)
            if value > limit and v.fail(reason):
                break
        result = v.result()
        result.skipped = skipped
        return result


def _over(value: float, limit: float | None) -> bool:
    return limit is not None and value > limit
