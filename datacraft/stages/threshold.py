"""``threshold``: filter on signal columns stored by an earlier annotate run, without recomputing.

A rule is ``COLUMN OP NUMBER`` with OP one of ``>= <= > < == !=``, e.g.
``gopher_mean_word_length >= 3``; booleans compare as 0/1. A document is kept when every rule
holds; the drop reason is the first failing rule, written canonically (``col >= 3``). A
document without the column, or with a non-numeric value there, is an error naming the column and
the document: thresholds never guess. A null or NaN value (a signal undefined for that document,
e.g. on empty text) fails the rule (reason ``<rule> (null)``).
Rules are parsed by a small regular expression; nothing is evaluated as code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_RULE = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(>=|<=|==|!=|>|<)\s*"
    r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|true|false|True|False)\s*$"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed rule."""

    column: str
    op: str
    value: float

    @property
    def text(self) -> str:
        """Canonical form, used as the drop reason."""
        v = int(self.value) if self.value.is_integer() else self.value
        return f"{self.column} {self.op} {v}"

    def holds(self, x: Any) -> bool:
        """Whether value ``x`` satisfies the rule."""
        return OPERATORS[self.op](x, self.value)


def parse_rule(text: str) -> Rule:
    """Parse ``COLUMN OP NUMBER``; ValueError explains what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"rule must be a string like 'column >= 3', got {text!r}")
    m = _RULE.match(text)
    if not m:
        raise ValueError(
            f"cannot parse rule {text!r}: expected 'COLUMN OP NUMBER' with OP one of {' '.join(OPERATORS)}"
        )
    col, op, raw = m.groups()
    value = 1.0 if raw.lower() == "true" else 0.0 if raw.lower() == "false" else float(raw)
    if math.isnan(value):
        raise ValueError(f"rule {text!r}: NaN is not a threshold")
    return Rule(col, op, value)


class ThresholdParams(FilterParams):
    rules: list[str] = Field(..., min_length=1, description="rules 'COLUMN OP NUMBER', all must hold to keep")

    @field_validator("rules")
    @classmethod
    def _parse(cls, rules: list[str]) -> list[str]:
        for r in rules:
            parse_rule(r)
        return rules


@register("threshold")
class Threshold(Filter):
    """Keep documents whose stored signal columns satisfy every rule (no recomputation).

    Drop reasons: the failing rule in canonical form, e.g. ``gopher_mean_word_length >= 3``, or
    ``<rule> (null)`` when the column is null for that document.
    """

    Params = ThresholdParams

    def __init__(self, params: ThresholdParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        self.rules = [parse_rule(r) for r in self.params.rules]  # type: ignore[attr-defined]

    def check(self, doc: Document) -> FilterResult:
        meta = doc.meta
        for rule in self.rules:
            try:
                x = meta[rule.column]
            except KeyError:
                have = ", ".join(sorted(meta)) or "none"
                raise InputError(
                    f"threshold: column {rule.column!r} (rule {rule.text!r}) is missing in document {doc.id!r}; "
                    f"its columns: {have}. Run the annotating stage first or fix the rule."
                ) from None
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return FilterResult(False, f"{rule.text} (null)")
            if isinstance(x, bool | int | float):
                if not rule.holds(x):
                    return FilterResult(False, rule.text)
            else:
                kind = type(x).__name__
                raise InputError(
                    f"threshold: column {rule.column!r} of document {doc.id!r} is not numeric ({kind} {x!r})"
                )
        return FilterResult(True)
