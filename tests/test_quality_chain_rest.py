"""The chain's shared pieces outside tokens and n-grams: line splitting, duplicate counts, C4's
bounded sentence count."""

from __future__ import annotations

import random
import re

import pytest

from datacraft.document import Document
from datacraft.stages.quality.c4 import C4, C4Params
from datacraft.stages.quality.verdict import duplicates
from datacraft.text.segment import newline_runs
from datacraft.text.words import split_words

ALPHABET = [*"ab \n\n\r\t.é日ไ", "\u2028", "\x0c", "--", "Mr.", "...", "e.g.", "C++", "http://x.y"]


def random_texts(n: int, seed: int, size: int = 14) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, size))) for _ in range(n)]


def test_newline_runs_equals_the_regex_split() -> None:
    runs = re.compile(r"\n+")
    for text in [*random_texts(3000, 1), "", "\n", "\n\n", "a\n\n", "\n\nb", "a\n\n\nb\n"]:
        assert newline_runs(text) == runs.split(text), repr(text)


def naive_duplicates(items: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n, chars = n + 1, chars + len(x)
        seen.add(x)
    return n, chars


def test_duplicates_counts_every_occurrence_after_the_first() -> None:
    assert duplicates(["ab", "c", "ab", "ab", "", ""]) == (3, 4)
    assert duplicates([]) == (0, 0)
    for text in random_texts(3000, 2):
        for items in (text.split("\n"), list(text), text.split()):
            assert duplicates(items) == naive_duplicates(items)


@pytest.mark.parametrize(
    "alphabet", [[c for c in ALPHABET if c not in "日ไ"], pytest.param(ALPHABET, marks=pytest.mark.slow)]
)
def test_every_nonblank_stripped_line_has_a_token(alphabet: list[str]) -> None:
    """The premise of C4's bound: each kept (stripped, non-empty) line counts at least one sentence."""
    rng = random.Random(3)
    for i in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        for line in text.splitlines():
            line = line.strip()
            if line:
                assert split_words(line, (None, "en", "th")[i % 3]), repr(line)


C4_LINES = [
    "The river rose slowly through the night.",
    "By morning the bridge was gone! And then? Nothing.",
    "too short.",
    "no terminal punctuation here",
    "We use cookies to improve this site.",
    "Enable javascript to see the map.",
    "Lorem ipsum dolor sit amet.",
    "A {curly} line is here.",
    "Cited fact is here [1].",
    "   ",
    "",
    "Mr. Smith went to Washington today.",
    "...",
]
C4_PARAMS = [
    {},
    {"min_lines": 4},
    {"min_lines": 6, "min_num_sentences": 0},
    {"min_num_sentences": 1},
    {"filter_no_terminal_punct": False, "min_words_per_line": 0},
    {"filter_no_terminal_punct": False, "min_words_per_line": 0, "min_lines": 3},
    {"min_num_sentences": 9, "filter_lorem_ipsum": False, "filter_curly_bracket": False},
]


@pytest.mark.parametrize("params", C4_PARAMS)
def test_c4_bounded_sentence_count_changes_no_decision(params: dict[str, object]) -> None:
    rng = random.Random(4)
    flt = C4(C4Params(**params))
    bounded = 0
    for _ in range(400):
        text = "\n".join(rng.choice(C4_LINES) for _ in range(rng.randint(0, 12)))
        exact, fast = flt.evaluate(text), flt.evaluate(text, exact=False)
        assert (fast.text, fast.reason, fast.removed, fast.citations) == (
            exact.text,
            exact.reason,
            exact.removed,
            exact.citations,
        )
        if fast.signals != exact.signals:  # only a kept document may leave out its sentence count
            assert exact.reason is None
            assert fast.signals == {k: v for k, v in exact.signals.items() if k != "c4_sentences"}
            bounded += 1
    if not params:
        assert bounded  # the bound is taken (most documents here keep ≥ 5 lines)


def test_c4_sentences_stop_at_the_minimum_unless_annotating() -> None:
    text = "\n".join(["One sentence is on this line."] * 7)
    assert C4().check(Document("d", text, {})).signals["c4_sentences"] == 5
    assert C4(C4Params(mode="annotate")).check(Document("d", text, {})).signals["c4_sentences"] == 7
    lorem = "\n".join(
        ["One sentence is on this line."] * 3 + ["Lorem ipsum dolor sit amet."] + ["More text is here."] * 4
    )
    result = C4().check(Document("d", lorem, {}))
    assert (result.keep, result.reason, result.signals["c4_sentences"]) == (False, "lorem_ipsum", 3)


def test_c4_filtering_pipeline_equals_check_per_document() -> None:
    """process_batch (bounded count) keeps, drops and rewrites exactly as check() decides."""
    rng = random.Random(6)
    texts = ["\n".join(rng.choice(C4_LINES) for _ in range(rng.randint(0, 12))) for _ in range(300)]
    flt = C4()
    drops: list[tuple[str, str, dict[str, object]]] = []

    class Ctx:
        def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, object] | None = None) -> None:
            drops.append((doc.id, reason, signals or {}))

        def count(self, stage: str, key: str, n: int = 1) -> None:
            pass

    kept = flt.process_batch([Document(str(i), t, {}) for i, t in enumerate(texts)], Ctx())
    expect = {str(i): flt.check(Document(str(i), t, {})) for i, t in enumerate(texts)}
    assert [d.id for d in kept] == [i for i, r in expect.items() if r.keep]
    assert drops == [(i, r.reason, r.signals) for i, r in expect.items() if not r.keep]
    assert all(d.text == flt.evaluate(texts[int(d.id)]).text for d in kept)
