"""c4 (line removal + document rules) and fineweb_quality: each rule just inside and just outside."""

from __future__ import annotations

import pytest

from datacraft.document import Document
from datacraft.stages.quality.c4 import C4, C4Params
from datacraft.stages.quality.fineweb import FineWebParams, FineWebQuality


class Ctx:
    """A minimal StageContext recording drops and counters."""

    def __init__(self) -> None:
        self.drops: list[tuple[str, str]] = []
        self.counts: dict[str, int] = {}

    def drop(self, doc: Document, stage: str, reason: str, signals: object = None) -> None:
        self.drops.append((doc.id, reason))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


GOOD = [
    "The river rose slowly through the night.",
    "By morning the bridge was gone.",
    "Farmers moved their animals to the hills.",
    "Nobody in the valley had seen such a flood.",
    "The school stayed closed for a week.",
]


def run_c4(text: str, **params: object) -> tuple[list[Document], Ctx]:
    ctx = Ctx()
    out = C4(C4Params(**params)).process_batch([Document("d", text, {})], ctx)
    return out, ctx


def test_c4_keeps_good_lines_and_removes_each_bad_line_kind() -> None:
    bad = [
        "Menu",  # no terminal punctuation
        "Read more...",  # ends with an ellipsis
        "Go home.",  # fewer than 3 words
        "Please enable JavaScript to continue.",  # javascript
        "This site uses cookies to work well.",  # policy
        "A " + "x" * 1001 + " word here.",  # word over 1,000 characters
    ]
    out, ctx = run_c4("\n".join([GOOD[0], *bad, *GOOD[1:]]))
    assert [d.text for d in out] == ["\n".join(GOOD)]
    assert ctx.counts == {
        "lines_total": 11,
        "lines_kept": 5,
        "docs_modified": 1,
        "lines_removed_no_terminal_punct": 2,
        "lines_removed_too_few_words": 1,
        "lines_removed_javascript": 1,
        "lines_removed_policy": 1,
        "lines_removed_too_long_word": 1,
    }


def test_c4_citations_are_removed_before_the_punctuation_rule() -> None:
    out, ctx = run_c4("\n".join(GOOD) + "\nThe dam held in the end.[1]\nIt was repaired later.[edit]")
    assert out[0].text.endswith("The dam held in the end.\nIt was repaired later.")
    assert ctx.counts["citations_removed"] == 2


def test_c4_min_sentences_boundary() -> None:
    assert run_c4("\n".join(GOOD))[0]  # exactly 5 sentences
    out, ctx = run_c4("\n".join(GOOD[:4]))
    assert out == [] and ctx.drops == [("d", "too_few_sentences")]
    # two sentences on one line count as two
    assert run_c4("\n".join(GOOD[:3]) + "\n" + GOOD[3] + " " + GOOD[4])[0]


def test_c4_document_rules_and_switches() -> None:
    lorem = "\n".join([*GOOD, "Lorem ipsum dolor sit amet."])
    curly = "\n".join([*GOOD, "Call f() { return 1; } then stop."])
    assert run_c4(lorem)[1].drops == [("d", "lorem_ipsum")]
    assert run_c4(curly)[1].drops == [("d", "curly_bracket")]
    assert run_c4(lorem, filter_lorem_ipsum=False)[0]
    assert run_c4(curly, filter_curly_bracket=False)[0]
    # a curly bracket on a line removed earlier (no terminal punctuation) does not count, as in C4
    assert run_c4("\n".join([*GOOD, "function() { x }"]))[0]
    assert run_c4("\n".join(GOOD[:2]), min_num_sentences=0, min_lines=2)[0]
    assert run_c4("\n".join(GOOD[:2]), min_num_sentences=0, min_lines=3)[1].drops == [("d", "too_few_lines")]
    kept, _ = run_c4("Menu\nShort.", filter_no_terminal_punct=False, min_words_per_line=0, min_num_sentences=0)
    assert kept[0].text == "Menu\nShort."


def test_c4_annotate_keeps_everything_and_cleans_kept_documents() -> None:
    ctx = Ctx()
    docs = [Document("good", "Menu\n" + "\n".join(GOOD), {}), Document("bad", "Lorem ipsum is here.", {})]
    out = C4(C4Params(mode="annotate")).process_batch(docs, ctx)
    assert [d.id for d in out] == ["good", "bad"] and ctx.drops == []
    assert out[0].text == "\n".join(GOOD) and out[0].meta["c4_drop_reason"] is None
    assert out[0].meta["c4_sentences"] == 5 and out[0].meta["c4_lines_kept"] == 5
    assert out[1].text == "Lorem ipsum is here." and out[1].meta["c4_drop_reason"] == "lorem_ipsum"
    assert out[1].meta["c4_lorem_ipsum"] is True
    assert set(out[0].meta) == set(C4.output_columns()) | {"c4_drop_reason"}


# --- fineweb ------------------------------------------------------------------------------------------------

LOOSE = {"min_line_punct_ratio": 0.0, "max_short_line_ratio": 1.0, "max_char_dup_ratio": 1.0, "max_list_ratio": 100.0}


def fw(text: str, **params: object) -> tuple[bool, str | None]:
    r = FineWebQuality(FineWebParams(**(LOOSE | params))).check(Document("d", text, {}))
    return r.keep, r.reason


LONG = "this line is long enough to not be short at all"  # 48 characters, 11 words


@pytest.mark.parametrize(
    ("rule", "inside", "outside", "reason"),
    [
        # 3 of 25 lines end in punctuation = 0.12 vs 2 of 25
        ("min_line_punct_ratio", "\n".join([LONG + "."] * 3 + [LONG] * 22),
         "\n".join([LONG + "!"] * 2 + [LONG] * 23), "line_punct_ratio"),
        # 67 of 100 lines short (<= 30 chars) = 0.67 vs 68
        ("max_short_line_ratio", "\n".join(["x" * 30] * 67 + [LONG] * 33),
         "\n".join(["x" * 30] * 68 + [LONG] * 32), "short_line_ratio"),
        # 3 newlines / 10 tokens = 0.3 vs 4 / 10
        ("max_list_ratio", "a b c\nd e f\ng h\ni j", "a b c\nd e\nf g\nh i\nj", "list_ratio"),
    ],
)  # fmt: skip
def test_fineweb_rule_boundaries(rule: str, inside: str, outside: str, reason: str) -> None:
    default = FineWebParams().model_dump()[rule]
    assert fw(inside, **{rule: default}) == (True, None)
    assert fw(outside, **{rule: default}) == (False, reason)


def test_fineweb_duplicated_line_chars() -> None:
    # a repeated 10-character line in exactly 1,000 non-newline characters = 0.01, vs 11 / 1,002
    unique = ["".join(chr(97 + (i + j) % 26) for j in range(98)) for i in range(10)]
    inside = "\n".join([*unique, "dupdupdup.", "dupdupdup."])
    assert len(inside) - inside.count("\n") == 1000
    assert fw(inside, max_char_dup_ratio=0.01) == (True, None)
    assert fw(inside.replace("dupdupdup.", "dupdupdupd."), max_char_dup_ratio=0.01) == (False, "char_dup_ratio")


def test_fineweb_empty_and_exclude_zero_and_stop_chars() -> None:
    assert fw("  \n\n ") == (False, "empty")
    no_punct = "\n".join([LONG] * 5)
    assert fw(no_punct, min_line_punct_ratio=0.12) == (False, "line_punct_ratio")
    assert fw(no_punct, min_line_punct_ratio=0.12, line_punct_exclude_zero=True) == (True, None)
    assert fw(no_punct + ";", min_line_punct_ratio=0.2, stop_chars=[";"]) == (True, None)
    assert fw("\n".join([LONG + "。"] * 5), min_line_punct_ratio=1.0) == (True, None)  # Unicode terminals


def test_fineweb_annotate_signals_are_floats() -> None:
    r = FineWebQuality(FineWebParams(mode="annotate")).check(Document("d", "\n".join(["Short."] * 9), {}))
    assert r.reason == "short_line_ratio"
    assert set(r.signals) == set(FineWebQuality.output_columns())
    assert all(isinstance(v, float) for v in r.signals.values())
