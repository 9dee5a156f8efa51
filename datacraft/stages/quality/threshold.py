"""``threshold``: filter on signals stored by an earlier annotate run, without recomputing them."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register


class ThresholdParams(FilterParams):
    min: dict[str, float] = Field({}, description="column → lowest value kept, e.g. {gopher_words: 50}")
    max: dict[str, float] = Field({}, description="column → highest value kept, e.g. {rep_dup_line_frac: 0.3}")
    drop_reasons: list[str] = Field(
        [], description="*_drop_reason columns written in annotate mode: a non-null value drops the document"
    )
    missing: Literal["error", "keep", "drop"] = Field(
        "error", description="a document without a named column: fail the run, keep it, or drop it"
    )


@register("threshold")
class Threshold(Filter):
    """Keep documents whose stored signal columns are within bounds (reasons name the column)."""

    Params = ThresholdParams

    def _value(self, doc: Document, column: str) -> float | None:
        v = doc.meta.get(column)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if self.params.missing == "error":  # type: ignore[attr-defined]
                raise InputError(
                    f"threshold: document {doc.id!r} has no value in column {column!r} "
                    "(run the stage that writes it in annotate mode first, or set threshold.missing)"
                )
            return None
        return v

    def check(self, doc: Document) -> FilterResult:
        p: ThresholdParams = self.params  # type: ignore[assignment]
        for column in p.drop_reasons:
            if column not in doc.meta and p.missing == "error":
                self._value(doc, column)
            reason = doc.meta.get(column)
            if reason is not None:
                stage = column.removesuffix("_drop_reason")
                return FilterResult(False, f"{stage}:{reason}")
        for bounds, below in ((p.min, True), (p.max, False)):
            for column, limit in bounds.items():
                v = self._value(doc, column)
                if v is None:
                    if p.missing == "drop":
                        return FilterResult(False, f"{column}_missing")
                    continue
                if (v < limit) if below else (v > limit):
                    return FilterResult(False, f"{column}_{'below_min' if below else 'above_max'}", {column: v})
        return FilterResult(True)
