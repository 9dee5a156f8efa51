"""Quality filters: each rule just inside and just outside its threshold, every reason name, annotate mode."""

from __future__ import annotations

from typing import Any

import pytest
from stage_context import Ctx

from datacraft.document import Document
from datacraft.stages.base import Filter
from datacraft.stages.quality.c4 import C4
from datacraft.stages.quality.fineweb_quality import FineWebQuality
from datacraft.stages.quality.gopher_quality import GopherQuality
from datacraft.stages.quality.gopher_repetition import GopherRepetition


def verdict(cls: type[Filter], text: str, **params: Any) -> tuple[bool, str | None]:
    r = cls(cls.Params(**params)).check(Document("d", text, {}))
    return r.keep, r.reason


def signals(cls: type[Filter], text: str, **params: Any) -> dict[str, Any]:
    return cls(cls.Params(mode="annotate", **params)).check(Document("d", text, {})).signals


def prose(n: int) -> str:
    """n words with the stop words 'the' and 'and', mean length 4, on one line."""
    return " ".join(["the", "and"] + ["word"] * (n - 2))


# --- gopher_quality, with the published defaults --------------------------------------------------


def test_gopher_word_count_bounds() -> None:
    assert verdict(GopherQuality, prose(50)) == (True, None)
    assert verdict(GopherQuality, prose(49)) == (False, "too_few_words")
    assert verdict(GopherQuality, prose(60), max_words=60) == (True, None)
    assert verdict(GopherQuality, prose(61), max_words=60) == (False, "too_many_words")


def test_gopher_mean_word_length_bounds() -> None:
    base = ["the", "and"] + ["abc"] * 48
    assert verdict(GopherQuality, " ".join(base)) == (True, None)  # mean exactly 3
    assert verdict(GopherQuality, " ".join([*base[:-1], "ab"])) == (False, "mean_word_length_too_low")
    long = ["the", "and"] + ["x" * 12] * 7  # (6 + 84) / 9 = 10 exactly
    assert verdict(GopherQuality, " ".join(long), min_words=None) == (True, None)
    long[-1] = "x" * 13
    assert verdict(GopherQuality, " ".join(long), min_words=None) == (False, "mean_word_length_too_high")


def test_gopher_hash_and_ellipsis_ratios() -> None:
    # k symbol tokens among 50 words: k / (50 + k) <= 0.1 holds for k = 5, not for k = 6.
    assert verdict(GopherQuality, prose(50) + " #" * 5) == (True, None)
    assert verdict(GopherQuality, prose(50) + " #" * 6) == (False, "too_many_hashes")
    assert verdict(GopherQuality, prose(25) + " ..." * 5 + " " + prose(25)) == (True, None)
    assert verdict(GopherQuality, prose(25) + " ..." * 6 + " " + prose(25)) == (False, "too_many_ellipses")


def test_gopher_bullet_and_ellipsis_lines() -> None:
    line = "the and word word word word"
    nine = "\n".join(["- " + line] * 9 + [line])
    assert verdict(GopherQuality, nine) == (True, None)  # 90% bullet lines
    assert verdict(GopherQuality, "\n".join(["• " + line] * 10)) == (False, "too_many_bullet_lines")
    three = "\n".join([line + " ..."] * 3 + [line] * 7)
    assert verdict(GopherQuality, three) == (True, None)  # 30% ellipsis lines
    four = "\n".join([line + "…"] * 4 + [line] * 6)
    assert verdict(GopherQuality, four, max_ellipsis_ratio=None) == (False, "too_many_ellipsis_lines")


def test_gopher_alpha_words_and_stop_words() -> None:
    # 50 words + k numbers: 50 / (50 + k) >= 0.8 holds for k = 12, not for k = 13.
    assert verdict(GopherQuality, prose(50) + " 123" * 12) == (True, None)
    assert verdict(GopherQuality, prose(50) + " 123" * 13) == (False, "too_few_alpha_words")
    one_stop = " ".join(["the"] + ["word"] * 49)
    assert verdict(GopherQuality, one_stop) == (False, "too_few_stop_words")
    assert verdict(GopherQuality, " ".join(["The", "AND"] + ["word"] * 48)) == (False, "too_few_stop_words")
    assert verdict(GopherQuality, one_stop, min_stop_words=1) == (True, None)


def test_gopher_quality_annotate_has_every_signal_and_reason() -> None:
    f = GopherQuality(GopherQuality.Params(mode="annotate"))
    doc = Document("d", prose(10), {})
    kept = f.process_batch([doc], Ctx())
    assert kept == [doc]
    meta = doc.meta
    assert meta["gopher_quality_drop_reason"] == "too_few_words"
    assert set(GopherQuality.output_columns()) == set(meta)
    assert meta["gopher_words"] == 10 and meta["gopher_stop_words"] == 2


# --- gopher_repetition ----------------------------------------------------------------------------

REP_OFF: dict[str, Any] = {
    "max_dup_para_frac": None,
    "max_dup_para_char_frac": None,
    "max_dup_line_frac": None,
    "max_dup_line_char_frac": None,
    "max_top_ngram_char_frac": {},
    "max_dup_ngram_char_frac": {},
}


def rep_only(**on: Any) -> dict[str, Any]:
    return {**REP_OFF, **on}


def test_repetition_paragraph_and_line_fractions() -> None:
    paras = [f"paragraph number {i} here" for i in range(7)] + ["same paragraph"] * 4  # 3 repeats of 11
    text = "\n\n".join(paras)
    assert verdict(GopherRepetition, text, **rep_only(max_dup_para_frac=3 / 11)) == (True, None)
    assert verdict(GopherRepetition, text, **rep_only(max_dup_para_frac=3 / 11 - 1e-9)) == (False, "dup_para_frac")
    lines = "\n".join(paras)
    assert verdict(GopherRepetition, lines, **rep_only(max_dup_line_frac=3 / 11)) == (True, None)
    assert verdict(GopherRepetition, lines, **rep_only(max_dup_line_frac=0.27)) == (False, "dup_line_frac")
    dup_chars = 3 * len("same paragraph")
    assert verdict(GopherRepetition, text, **rep_only(max_dup_para_char_frac=dup_chars / len(text))) == (True, None)
    assert verdict(GopherRepetition, text, **rep_only(max_dup_para_char_frac=dup_chars / len(text) - 1e-9)) == (
        False,
        "dup_para_char_frac",
    )
    assert verdict(GopherRepetition, lines, **rep_only(max_dup_line_char_frac=dup_chars / len(lines) - 1e-9)) == (
        False,
        "dup_line_char_frac",
    )


def test_repetition_defaults_on_repeated_lines() -> None:
    assert verdict(GopherRepetition, "\n".join(["the same line again"] * 10)) == (False, "dup_line_frac")
    assert verdict(GopherRepetition, "\n\n".join(["the same paragraph"] * 10)) == (False, "dup_para_frac")
    assert verdict(GopherRepetition, "") == (False, "empty")


def test_top_ngram_fraction() -> None:
    text = "a b a b a b c d e f g h i j"  # "a b" three times: (3 chars) * 3 = 9 of 27
    sig = signals(GopherRepetition, text)
    assert sig["rep_top_2gram_char_frac"] == pytest.approx(9 / len(text))
    assert verdict(GopherRepetition, text, **rep_only(max_top_ngram_char_frac={2: 9 / len(text)})) == (True, None)
    assert verdict(GopherRepetition, text, **rep_only(max_top_ngram_char_frac={2: 9 / len(text) - 1e-9})) == (
        False,
        "top_2gram",
    )


def test_duplicated_ngram_fraction_skips_past_each_repeat() -> None:
    words = ["one", "two", "three", "four", "five"]
    text = " ".join(words * 3 + ["six"])
    # The 5-gram repeats at positions 5 and 10: 2 × 19 characters (words joined without spaces).
    sig = signals(GopherRepetition, text)
    assert sig["rep_dup_5gram_char_frac"] == pytest.approx(2 * 19 / len(text))
    assert sig["rep_dup_6gram_char_frac"] > 0
    limit = 2 * 19 / len(text)
    assert verdict(GopherRepetition, text, **rep_only(max_dup_ngram_char_frac={5: limit})) == (True, None)
    assert verdict(GopherRepetition, text, **rep_only(max_dup_ngram_char_frac={5: limit - 1e-9})) == (
        False,
        "dup_5gram",
    )


def test_vectorised_and_plain_ngram_paths_agree() -> None:
    import random

    from datacraft.stages.quality import gopher_repetition as gr

    rng = random.Random(7)
    vocab = ["alpha", "be", "c", "delta", "e", "fox", "g"]
    for _ in range(30):
        toks = [rng.choice(vocab) for _ in range(rng.randint(300, 600))]
        ids, lens = gr.token_ids(toks), [len(t) for t in toks]
        index = gr.NgramIndex(ids, lens)
        for n in (2, 3, 4):
            assert index.top_chars(n) == gr.top_ngram_chars(gr.ngrams(ids, n), lens, n)
        index = gr.NgramIndex(ids, lens)
        for n in range(5, 11):
            assert index.duplicated_chars(n) == gr.duplicated_ngram_chars(gr.ngrams(ids, n), lens, n)


def test_repetition_annotate_columns() -> None:
    doc = Document("d", "x y z " * 40, {})
    GopherRepetition(GopherRepetition.Params(mode="annotate")).process_batch([doc], Ctx())
    assert set(GopherRepetition.output_columns()) == set(doc.meta)
    assert doc.meta["gopher_repetition_drop_reason"] is not None


# --- c4 ----------------------------------------------------------------------------------------------

GOOD = "This is a complete sentence."


def c4_text(*lines: str) -> str:
    return "\n".join(lines)


def test_c4_line_removal_rules() -> None:
    ctx = Ctx()
    text = c4_text(
        GOOD,
        "No terminal punctuation here",
        "Ends with an ellipsis...",
        "Too short.",
        "Please enable JavaScript to continue.",
        "Read our privacy policy for details.",
        "A word " + "x" * 1001 + " here.",
        "Cited fact here.[1] And more.[citation needed]",
        *[GOOD] * 4,
    )
    doc = Document("d", text, {})
    [out] = C4().process_batch([doc], ctx)
    assert out.text == c4_text(GOOD, "Cited fact here. And more.", *[GOOD] * 4)
    assert ctx.counts[("c4", "lines_removed")] == 6


def test_c4_sentence_minimum() -> None:
    assert verdict(C4, c4_text(*[GOOD] * 5)) == (True, None)
    assert verdict(C4, c4_text(*[GOOD] * 4)) == (False, "too_few_sentences")
    assert verdict(C4, "One here. Two here. Three here. Four here. Five here.") == (True, None)
    assert verdict(C4, c4_text(*[GOOD] * 4), min_sentences=4) == (True, None)


def test_c4_document_rules_and_switches() -> None:
    lorem = c4_text(*[GOOD] * 5, "Lorem ipsum dolor sit amet.")
    assert verdict(C4, lorem) == (False, "lorem_ipsum")
    assert verdict(C4, lorem, drop_lorem_ipsum=False) == (True, None)
    curly = c4_text(*[GOOD] * 5, "Code like {x} is here.")
    assert verdict(C4, curly) == (False, "curly_bracket")
    assert verdict(C4, curly, drop_curly_bracket=False) == (True, None)
    # A curly bracket on a line removed earlier (no punctuation) does not count, as in C4.
    assert verdict(C4, c4_text(*[GOOD] * 5, "{ no end")) == (True, None)
    short = c4_text(*["Short one."] * 5)
    assert verdict(C4, short) == (False, "too_few_sentences")
    assert verdict(C4, short, min_words_per_line=None) == (True, None)
    assert verdict(C4, c4_text(*["No punctuation at all here"] * 5), drop_no_terminal_punct_lines=False) == (
        True,
        None,
    )


def test_c4_annotate_keeps_and_reports() -> None:
    doc = Document("d", "Too few.", {})
    [out] = C4(C4.Params(mode="annotate")).process_batch([doc], Ctx())
    assert out.meta["c4_drop_reason"] == "too_few_sentences"
    assert out.meta["c4_sentences"] == 0
    assert set(C4.output_columns()) == set(out.meta)


def test_c4_filter_mode_drops_with_reason() -> None:
    ctx = Ctx()
    assert C4().process_batch([Document("d", "Too few.", {})], ctx) == []
    assert ctx.drops == [("d", "c4", "too_few_sentences")]


# --- fineweb_quality ----------------------------------------------------------------------------------


def lines_of(n_punct: int, n_plain: int, length: int = 40) -> str:
    body = "the quick brown fox jumps over lazy dogs again and again and more"
    punct = [f"{i} {body}"[: length - 1] + "." for i in range(n_punct)]
    plain = [f"{i + 1000} {body}"[:length] for i in range(n_plain)]
    return "\n".join(punct + plain)


def test_fineweb_line_punctuation_ratio() -> None:
    assert verdict(FineWebQuality, lines_of(3, 22)) == (True, None)  # 0.12
    assert verdict(FineWebQuality, lines_of(2, 23)) == (False, "line_punct_ratio")  # 0.08
    assert verdict(FineWebQuality, lines_of(0, 10), line_punct_exclude_zero=True) == (True, None)
    assert verdict(FineWebQuality, "   \n\n") == (False, "empty")


def test_fineweb_short_lines() -> None:
    def text(short: int) -> str:
        long = [f"line {i} is a rather long line of text." for i in range(100 - short)]
        return "\n".join(long + [f"{i} short." for i in range(short)])

    assert verdict(FineWebQuality, text(67), max_newline_word_ratio=None) == (True, None)  # 0.67
    assert verdict(FineWebQuality, text(68), max_newline_word_ratio=None) == (False, "short_line_ratio")


def test_fineweb_duplicate_line_chars_and_list_ratio() -> None:
    body = "\n".join(f"Sentence number {i} is a reasonably long line of prose." for i in range(100))
    assert verdict(FineWebQuality, body) == (True, None)
    dup = body + "\nSentence number 1 is a reasonably long line of prose." * 2
    assert verdict(FineWebQuality, dup) == (False, "char_dup_ratio")
    sig = signals(FineWebQuality, dup)
    assert verdict(FineWebQuality, dup, max_dup_line_char_ratio=sig["fineweb_dup_line_char_ratio"]) == (True, None)
    listy = "\n".join(f"Item {i}." for i in range(50))  # 49 newlines over 150 tokens
    assert verdict(FineWebQuality, listy, max_short_line_ratio=None) == (False, "list_ratio")
    assert verdict(FineWebQuality, listy, max_short_line_ratio=None, max_newline_word_ratio=49 / 150) == (True, None)


def test_fineweb_annotate_columns() -> None:
    doc = Document("d", lines_of(1, 30), {})
    FineWebQuality(FineWebQuality.Params(mode="annotate")).process_batch([doc], Ctx())
    assert set(FineWebQuality.output_columns()) == set(doc.meta)
    assert doc.meta["fineweb_quality_drop_reason"] == "line_punct_ratio"


# --- every signal: just inside and just outside its threshold ----------------------------------------

BOUNDS = [
    (GopherQuality, "gopher_mean_word_length", "min_mean_word_length", "max_mean_word_length"),
    (GopherQuality, "gopher_alpha_words_ratio", "min_alpha_words_ratio", None),
    (FineWebQuality, "fineweb_line_punct_ratio", "min_line_punct_ratio", None),
    (FineWebQuality, "fineweb_short_line_ratio", None, "max_short_line_ratio"),
    (FineWebQuality, "fineweb_newline_word_ratio", None, "max_newline_word_ratio"),
    (GopherRepetition, "rep_dup_line_frac", None, "max_dup_line_frac"),
]
SAMPLE = "\n".join(
    [
        "The quick brown fox jumps over the lazy dog, and that is that.",
        "Short line",
        "Another line with 42 numbers and the word with in it!",
        "Short line",
        "- a bullet with the and to",
    ]
)


@pytest.mark.parametrize(("cls", "signal", "min_param", "max_param"), BOUNDS)
def test_signal_thresholds_are_exact(
    cls: type[Filter], signal: str, min_param: str | None, max_param: str | None
) -> None:
    off: dict[str, Any] = {}
    for name, info in cls.Params.model_fields.items():
        if name not in ("mode", min_param, max_param) and info.annotation in (float | None, int | None):
            off[name] = None
    value = signals(cls, SAMPLE, **off)[signal]
    if min_param:
        assert verdict(cls, SAMPLE, **off, **{min_param: value})[0]
        assert not verdict(cls, SAMPLE, **off, **{min_param: value + 1e-9})[0]
    if max_param:
        assert verdict(cls, SAMPLE, **off, **{max_param: value})[0]
        assert not verdict(cls, SAMPLE, **off, **{max_param: value - 1e-9})[0]
