"""``fineweb_quality``: the line-level rules FineWeb added on top of Gopher and C4 (Penedo et al. 2024)."""

from __future__ import annotations

import math
from itertools import repeat

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import FilterResult
from datacraft.stages.quality.perlang import LangAware, LangParams
from datacraft.stages.quality.verdict import Verdict, duplicates, ratio
from datacraft.stages.registry import register
from datacraft.text.cache import features
from datacraft.text.scripts import has_spaceless
from datacraft.text.segment import TERMINAL_TUPLE


class FineWebParams(LangParams):
    min_line_punct_ratio: float = Field(0.12, ge=0, le=1, description="fewest lines ending in terminal punctuation")
    line_punct_exclude_zero: bool = Field(False, description="do not drop documents where no line ends in punctuation")
    stop_chars: list[str] | None = Field(None, description="line endings that count (None: Unicode sentence terminals)")
    max_short_line_ratio: float = Field(0.67, ge=0, le=1, description="most short lines")
    short_line_length: int = Field(30, ge=0, description="a line of at most this many characters is short")
    max_char_dup_ratio: float = Field(0.01, ge=0, le=1, description="most characters in duplicated lines")
    max_list_ratio: float = Field(0.3, ge=0, description="most newlines per word (list-like pages)")


@register("fineweb_quality")
class FineWebQuality(LangAware):
    """FineWeb rules over non-blank lines: punctuation endings, short lines, duplicated lines, lists.

    Drop reasons: ``empty`` (no non-blank line), ``line_punct_ratio``, ``short_line_ratio``,
    ``char_dup_ratio`` (characters of repeated lines over characters without newlines),
    ``list_ratio`` (newlines per token).
    """

    Params = FineWebParams

    def __init__(self, params: FineWebParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: FineWebParams = self.params  # type: ignore[assignment]
        self._stop = tuple(p.stop_chars) if p.stop_chars is not None else TERMINAL_TUPLE

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {
            "fineweb_line_punct_ratio": "double",
            "fineweb_short_line_ratio": "double",
            "fineweb_char_dup_ratio": "double",
            "fineweb_list_ratio": "double",
        }

    def check_lang(self, doc: Document) -> FilterResult:
        return self._rules(doc, exact=True)

    def decide_lang(self, doc: Document) -> FilterResult:
        return self._rules(doc, exact=False)

    def _rules(self, doc: Document, exact: bool) -> FilterResult:
        """The rules; with ``exact`` False a passing list ratio may be bounded rather than computed.

        Every whitespace-separated chunk of text without Han, Kana or Thai holds at least one token
        (tokens cover every non-space character and never span whitespace), so newlines per chunk
        bound newlines per token from above: when that bound passes, the text is not tokenized and
        ``fineweb_list_ratio`` is left out of the signals of the document, which is kept.
        """
        p: FineWebParams = self.params  # type: ignore[assignment]
        v = Verdict(p.mode == "annotate")
        s = v.signals
        f = features(doc.text, doc.meta.get("lang"))
        text = f.text
        lines = f.nonblank_lines
        if not lines:
            for col in self.output_columns():
                s[col] = math.nan  # undefined: fails any threshold rule, as the filter drops it
            v.fail("empty")
            return v.result()
        n = len(lines)
        punct = ratio(sum(map(str.endswith, lines, repeat(self._stop))), n)  # counts the Trues, in C
        s["fineweb_line_punct_ratio"] = punct
        if (
            punct < p.min_line_punct_ratio
            and not (punct == 0 and p.line_punct_exclude_zero)
            and v.fail("line_punct_ratio")
        ):
            return v.result()
        short = ratio(sum(map(p.short_line_length.__ge__, map(len, lines))), n)  # lines of length <= short_line_length
        s["fineweb_short_line_ratio"] = short
        if short > p.max_short_line_ratio and v.fail("short_line_ratio"):
            return v.result()
        dup = ratio(duplicates(lines)[1], len(text) - text.count("\n"))
        s["fineweb_char_dup_ratio"] = dup
        if dup > p.max_char_dup_ratio and v.fail("char_dup_ratio"):
            return v.result()
        newlines = text.count("\n")
        if not exact and not v.annotate and (text.isascii() or not has_spaceless(text)):
            chunks = len(text.split())
            if chunks and ratio(newlines, chunks) <= p.max_list_ratio:
                return v.result()
        lists = ratio(newlines, len(f.words))
        s["fineweb_list_ratio"] = lists
        if lists > p.max_list_ratio:
            v.fail("list_ratio")
        return v.result()
