"""Example datacraft stages: ``keyword_filter`` (a filter) and ``word_count`` (a mapper)."""

from __future__ import annotations

import logging
import re

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import KEEP, Filter, FilterParams, FilterResult, Mapper, StageContext, StageParams
from datacraft.stages.registry import register

log = logging.getLogger(__name__)


class KeywordParams(FilterParams):
    words: list[str] = Field(..., min_length=1, description="keywords (case-insensitive, whole words)")
    min_hits: int = Field(1, ge=1, description="keep documents with at least this many keyword occurrences")


@register("keyword_filter")
class KeywordFilter(Filter):
    """Keep documents that mention enough of the given keywords."""

    Params = KeywordParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"keyword_hits": "int64"}

    def setup(self) -> None:
        p: KeywordParams = self.params  # type: ignore[assignment]
        self.pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in p.words) + r")\b", re.IGNORECASE)
        log.info("keyword_filter ready with %d keywords", len(p.words))  # lands in OUT/logs/shard-NNNNN.log

    def check(self, doc: Document) -> FilterResult:
        p: KeywordParams = self.params  # type: ignore[assignment]
        hits = len(self.pattern.findall(doc.text))
        if hits < p.min_hits:
            return FilterResult(False, "too_few_keywords", {"keyword_hits": hits})
        return FilterResult(True, None, {"keyword_hits": hits}) if p.mode == "annotate" else KEEP


@register("word_count")
class WordCount(Mapper):
    """Add the number of whitespace-separated words as a column."""

    Params = StageParams  # no parameters: any given is an error

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"n_words": "int64"}

    def map(self, doc: Document, ctx: StageContext) -> Document:
        doc.meta["n_words"] = len(doc.text.split())
        return doc
