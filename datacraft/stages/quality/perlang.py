"""Per-language variants of a quality filter: ``per_lang`` parameters and the built-in table.

A filter that mixes in :class:`LangAware` resolves, per document ``lang``, a variant of itself
built with the merged parameters (see :mod:`datacraft.stages.quality.languages` for the order)
and remembers it; documents without a language use the filter itself, unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult, StageContext
from datacraft.stages.quality.languages import base_lang, builtin_overrides


class LangParams(FilterParams):
    """Parameters shared by the language-aware filters."""

    per_lang: dict[str, dict[str, Any]] = Field(
        {}, description="language code → parameter overrides for documents of that `lang` (e.g. ja: {min_words: 30})"
    )
    lang_defaults: bool = Field(True, description="apply the built-in per-language stop words and thresholds")

    @model_validator(mode="after")
    def _check_per_lang(self) -> LangParams:
        base = self.model_dump(exclude={"per_lang"})
        for lang, over in self.per_lang.items():
            if not isinstance(over, dict) or {"per_lang", "lang_defaults", "mode"} & set(over):
                raise ValueError(f"per_lang.{lang}: expected a mapping of this stage's parameters (not mode/per_lang)")
            type(self)(**{**base, **over})  # raises a ValidationError naming the bad key
        return self


class LangAware(Filter):
    """A filter whose :meth:`check` uses the parameters resolved for the document's ``lang``."""

    def __init__(self, params: Any = None, label: str | None = None) -> None:
        super().__init__(params, label)
        self._variants: dict[str, tuple[LangAware, tuple[str, ...]]] = {}

    def variant(self, lang: object) -> tuple[LangAware, tuple[str, ...]]:
        """(the filter to use for ``lang``, the rules it skips as ``rule:lang``)."""
        if not isinstance(lang, str) or base_lang(lang) is None:
            return self, ()
        got = self._variants.get(lang)
        if got is None:
            got = self._variants[lang] = self._make_variant(lang)
        return got

    def _make_variant(self, lang: str) -> tuple[LangAware, tuple[str, ...]]:
        p: LangParams = self.params  # type: ignore[assignment]
        base = base_lang(lang) or lang
        over, skips = builtin_overrides(self.name, base) if p.lang_defaults else ({}, {})
        user = p.per_lang.get(lang.lower()) or p.per_lang.get(base) or {}
        if not over and not user:
            return self, ()
        merged = {**p.model_dump(exclude={"per_lang"}), **over, **user}
        params = type(p)(**merged)
        skipped = tuple(f"{rule}:{base}" for rule, key in skips.items() if merged.get(key) == over.get(key))
        return type(self)(params, self.label), skipped

    def check_lang(self, doc: Document) -> FilterResult:
        """The rules of this (already resolved) filter; subclasses implement it instead of :meth:`check`."""
        raise NotImplementedError

    def decide_lang(self, doc: Document) -> FilterResult:
        """:meth:`check_lang` for a filtering pipeline, which keeps no signal of a kept document: a
        subclass may leave out signals that only a kept document carries (a drop has them all)."""
        return self.check_lang(doc)

    def check(self, doc: Document) -> FilterResult:
        flt, skipped = self.variant(doc.meta.get("lang"))
        result = flt.check_lang(doc)
        if skipped:
            result.skipped = (*result.skipped, *skipped)
        return result

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        if getattr(self.params, "mode", "filter") == "annotate":
            return self.route(docs, self.check_batch(docs), ctx)
        results: list[FilterResult] = []
        append = results.append
        variant = self.variant
        for doc in docs:
            lang = doc.meta.get("lang")
            flt, skipped = (self, ()) if lang is None else variant(lang)
            result = flt.decide_lang(doc)
            if skipped:
                result.skipped = (*result.skipped, *skipped)
            append(result)
        return self.route(docs, results, ctx)
