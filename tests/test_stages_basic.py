"""The built-in ``normalize`` mapper and ``length`` filter, including annotate mode."""

from __future__ import annotations

from typing import Any

import pytest

from datacraft.document import Document
from datacraft.stages.length import Length, LengthParams
from datacraft.stages.normalize import Normalize, NormalizeParams


class Ctx:
    """A minimal StageContext collecting drops and counters."""

    def __init__(self) -> None:
        self.drops: list[tuple[str, str, str]] = []
        self.counts: dict[str, int] = {}

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        self.drops.append((doc.id, stage, reason))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@pytest.mark.parametrize(
    ("params", "text", "expected"),
    [
        ({}, "  a\t\t b  \r\n\r\n\r\n\r\nc\x00d\x1b \n", "a b\n\ncd"),
        ({}, "e\u0301", "\u00e9"),
        ({"form": "NFKC"}, "ﬁ ２", "fi 2"),
        ({"form": "none"}, "e\u0301", "e\u0301"),
        ({"max_newlines": 1}, "a\n\n\nb", "a\nb"),
        ({"collapse_spaces": False, "strip": False}, " a  b ", " a  b "),
        ({"remove_control": False}, "a\x07b", "a\x07b"),
    ],
)
def test_normalize(params: dict[str, Any], text: str, expected: str) -> None:
    stage = Normalize(NormalizeParams(**params))
    ctx = Ctx()
    [doc] = stage.process_batch([Document("x", text)], ctx)
    assert doc.text == expected
    assert ctx.counts.get("changed", 0) == (1 if expected != text else 0)


@pytest.mark.parametrize(
    ("params", "text", "reason"),
    [
        ({"min_words": 3}, "one two", "too_few_words"),
        ({"min_words": 2}, "one two", None),
        ({"max_words": 1}, "one two", "too_many_words"),
        ({"min_chars": 8}, "one two", "too_few_chars"),
        ({"max_chars": 7}, "one two", None),
        ({"max_chars": 6}, "one two", "too_many_chars"),
        ({"min_lines": 2}, "one\n\n  \ntwo", None),
        ({"min_lines": 3}, "one\n\n  \ntwo", "too_few_lines"),
        ({"max_lines": 1}, "one\ntwo", "too_many_lines"),
    ],
)
def test_length_bounds_are_inclusive(params: dict[str, Any], text: str, reason: str | None) -> None:
    result = Length(LengthParams(**params)).check(Document("x", text))
    assert result.keep is (reason is None) and result.reason == reason


def test_length_filter_and_annotate_modes() -> None:
    docs = [Document("a", "one two three"), Document("b", "one")]
    ctx = Ctx()
    kept = Length(LengthParams(min_words=2)).process_batch([Document(d.id, d.text) for d in docs], ctx)
    assert [d.id for d in kept] == ["a"] and ctx.drops == [("b", "length", "too_few_words")]
    ctx = Ctx()
    annotated = Length(LengthParams(min_words=2, mode="annotate"), label="len").process_batch(docs, ctx)
    assert [d.id for d in annotated] == ["a", "b"] and ctx.drops == []
    assert annotated[1].meta == {
        "length_chars": 3,
        "length_words": 1,
        "length_lines": 1,
        "len_drop_reason": "too_few_words",
    }
    assert annotated[0].meta["len_drop_reason"] is None
