"""gopher_quality and gopher_repetition: every rule just inside and just outside its threshold."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from datacraft.document import Document
from datacraft.stages.quality.gopher import GopherQuality, GopherQualityParams, GopherRepetition, GopherRepetitionParams
from datacraft.stages.quality.ngrams import NgramIndex

QUALITY_RULES = (
    "min_words",
    "max_words",
    "min_mean_word_length",
    "max_mean_word_length",
    "max_symbol_word_ratio",
    "max_bullet_lines_ratio",
    "max_ellipsis_lines_ratio",
    "min_alpha_words_ratio",
    "min_stop_words",
)


def only(rule: str, value: float, **extra: object) -> GopherQuality:
    """A gopher_quality filter with every rule off except ``rule``."""
    params = dict.fromkeys(QUALITY_RULES) | {rule: value} | extra
    return GopherQuality(GopherQualityParams(**params))


def verdict(stage, text: str) -> tuple[bool, str | None]:
    r = stage.check(Document("d", text, {}))
    return r.keep, r.reason


def words(n: int, word: str = "house") -> str:
    return " ".join(["the", "and"] + [word] * (n - 2))


@pytest.mark.parametrize(
    ("rule", "inside", "outside", "reason"),
    [
        ("min_words", words(50), words(49), "too_few_words"),
        ("max_words", words(100_000), words(100_001), "too_many_words"),
        # mean length exactly 3.0 vs 2.98 (one 3-letter word replaced by a 2-letter one)
        ("min_mean_word_length", words(50, "cat"), words(49, "cat") + " at", "short_mean_word_length"),
        # (3 + 3 + 47*10 + 24) / 50 = 10.0 vs 10.02
        ("max_mean_word_length", words(49, "x" * 10) + " " + "y" * 24, words(49, "x" * 10) + " " + "y" * 25,
         "long_mean_word_length"),
        # 6 hashes among 60 tokens = 0.1 vs 7 among 61
        ("max_symbol_word_ratio", words(54) + " #" * 6, words(54) + " #" * 7, "too_many_hashes"),
        ("max_symbol_word_ratio", words(54) + " ..." * 6 + " end", words(53) + " ..." * 7 + " end",
         "too_many_ellipses"),
        ("max_bullet_lines_ratio", "\n".join(["- " + words(6)] * 9 + [words(6)]),
         "\n".join(["• " + words(6)] * 10), "too_many_bullet_lines"),
        ("max_ellipsis_lines_ratio", "\n".join([words(6) + "..."] * 3 + [words(6) + "."] * 7),
         "\n".join([words(6) + " …"] * 4 + [words(6) + "."] * 6), "too_many_ellipsis_lines"),
        # 60 alphabetic tokens and 15 numbers: 0.8 vs 60/76
        ("min_alpha_words_ratio", words(60) + " 2024" * 15, words(60) + " 2024" * 16, "too_few_alpha_words"),
        ("min_stop_words", "the house and " * 20, "house " * 30 + "The And the", "too_few_stop_words"),
    ],
)  # fmt: skip
def test_quality_rule_boundaries(rule: str, inside: str, outside: str, reason: str) -> None:
    default = GopherQualityParams().model_dump()[rule]
    stage = only(rule, default)
    assert verdict(stage, inside) == (True, None)
    assert verdict(stage, outside) == (False, reason)


def test_quality_defaults_on_real_prose_and_signals_are_typed() -> None:
    text = (
        "The old house stood at the end of the lane, and nobody in the village could remember who had built it. "
        "Children dared each other to touch the gate; the bravest of them claimed to have seen a light in the "
        "upper window on winter nights, though their parents said it was only the moon reflected in the glass. "
        "In spring the garden filled with roses that no one planted, and by autumn they were gone again."
    )
    r = GopherQuality(GopherQualityParams(mode="annotate")).check(Document("d", text, {}))
    assert r.keep and r.reason is None
    assert set(r.signals) == set(GopherQuality.output_columns())
    for name, kind in GopherQuality.output_columns().items():
        assert isinstance(r.signals[name], int if kind == "int64" else float), name
    assert r.signals["gopher_stop_word_count"] == 7  # all but "be"
    assert r.signals["gopher_word_count"] == len(text.split())


def test_stop_words_ignore_case() -> None:
    text = "The house And garden " * 20
    assert verdict(only("min_stop_words", 2), text) == (False, "too_few_stop_words")
    assert verdict(only("min_stop_words", 2, stop_words_ignore_case=True), text) == (True, None)


def test_annotate_computes_everything_and_reports_the_first_failure() -> None:
    stage = GopherQuality(GopherQualityParams(mode="annotate"))
    r = stage.check(Document("d", "#" * 3 + " short", {}))
    assert r.reason == "too_few_words" and set(r.signals) == set(GopherQuality.output_columns())
    filt = GopherQuality().check(Document("d", "#" * 3 + " short", {}))
    assert filt.reason == "too_few_words" and "gopher_stop_word_count" not in filt.signals  # early exit


# --- repetition ---------------------------------------------------------------------------------------------

REP_OFF = {
    "max_dup_line_frac": None,
    "max_dup_line_char_frac": None,
    "max_dup_para_frac": None,
    "max_dup_para_char_frac": None,
    "max_top_ngram_char_frac": {},
    "max_dup_ngram_char_frac": {},
}


def unique_words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(n)]


def rep(**params: object) -> GopherRepetition:
    return GopherRepetition(GopherRepetitionParams(**(REP_OFF | params)))


def signals(text: str) -> dict[str, float]:
    return GopherRepetition(GopherRepetitionParams(mode="annotate")).check(Document("d", text, {})).signals


def test_dup_paragraph_fraction() -> None:
    uniq = [" ".join(unique_words(30, i)) for i in range(6)]
    inside = "\n\n".join([*uniq, "Ok.", "Ok.", "Ok.", "Ok."][:10])  # 10 paragraphs, 3 repeats: 0.3
    outside = "\n\n".join([*uniq[:5], "Ok.", "Ok.", "Ok.", "Ok.", "Ok."])  # 4 repeats of 10: 0.4
    assert signals(inside)["gopher_rep_dup_para_frac"] == 0.3
    assert verdict(rep(max_dup_para_frac=0.3), inside) == (True, None)
    assert verdict(rep(max_dup_para_frac=0.3), outside) == (False, "dup_para_frac")
    # the same pieces on single newlines are lines, not paragraphs
    assert verdict(rep(max_dup_line_frac=0.3), outside.replace("\n\n", "\n")) == (False, "dup_line_frac")
    assert verdict(rep(max_dup_line_frac=0.3), inside.replace("\n\n", "\n")) == (True, None)


@pytest.mark.parametrize(
    ("sep", "param", "reason"),
    [("\n\n", "max_dup_para_char_frac", "dup_para_char_frac"), ("\n", "max_dup_line_char_frac", "dup_line_char_frac")],
)
def test_duplicated_character_fractions(sep: str, param: str, reason: str) -> None:
    # one piece of 20 characters repeated once in a text of exactly 100 characters: 0.2
    body = "x" * (100 - 2 * 20 - 2 * len(sep))
    inside = sep.join([body, "a" * 20, "a" * 20])
    outside = sep.join([body[:-1], "a" * 21, "a" * 21])  # 21 / 101
    assert len(inside) == 100
    assert verdict(rep(**{param: 0.2}), inside) == (True, None)
    assert verdict(rep(**{param: 0.2}), outside) == (False, reason)


def test_top_ngram_fraction() -> None:
    # the bigram "ab cd" (5 chars incl. the space) 4 times = 20 chars of a 100-char text: 0.2 exactly
    filler = " ".join(unique_words(40, 7))
    head = "ab cd " * 4
    inside = head + filler[: 100 - len(head)]
    assert len(inside) == 100 and signals(inside)["gopher_rep_top_2_gram_char_frac"] == pytest.approx(0.2)
    assert verdict(rep(max_top_ngram_char_frac={2: 0.2}), inside) == (True, None)
    assert verdict(rep(max_top_ngram_char_frac={2: 0.2}), inside[:-1]) == (False, "top_2_gram")


def test_duplicated_ngram_fraction_counts_non_overlapping_repeats() -> None:
    gram = "aa bb cc dd ee"  # 10 characters of 5-gram tokens
    filler = " ".join(unique_words(60, 3))
    inside = gram + " " + gram + " " + filler[: 100 - 2 * len(gram) - 2]
    assert len(inside) == 100
    assert signals(inside)["gopher_rep_dup_5_gram_char_frac"] == pytest.approx(0.1)
    assert verdict(rep(max_dup_ngram_char_frac={5: 0.1}), inside) == (True, None)
    assert verdict(rep(max_dup_ngram_char_frac={5: 0.1}), inside[:-1]) == (False, "duplicated_5_grams")
    # a run of one word: the scan skips past each repeat (datatrove/Gopher semantics)
    run = " ".join(["w"] * 20)
    assert signals(run)["gopher_rep_dup_5_gram_char_frac"] == pytest.approx(15 / len(run))


def test_repetition_defaults_and_reason_order() -> None:
    stage = GopherRepetition()
    assert verdict(stage, "") == (False, "empty")
    prose = " ".join(unique_words(300, 11)) + "."
    assert verdict(stage, prose) == (True, None)
    spam = "\n\n".join(["Buy now and save big today."] * 5 + [" ".join(unique_words(30, 1))])
    assert verdict(stage, spam) == (False, "dup_para_frac")
    chanted = " ".join(["we will rock you"] * 30)
    assert verdict(stage, chanted)[1] == "top_2_gram"
    cols = GopherRepetition.output_columns()
    assert set(signals(prose)) == set(cols) and all(isinstance(v, float) for v in signals(prose).values())


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_every_ngram_rule_flips_exactly_at_its_signal(n: int) -> None:
    # a repeated 12-word phrase inside unique words: every n-gram measure is positive
    phrase = " ".join(unique_words(12, 5))
    text = " ".join(unique_words(60, 9)) + " " + phrase + " " + " ".join(unique_words(20, 4)) + " " + phrase
    kind, reason = ("top", f"top_{n}_gram") if n <= 4 else ("dup", f"duplicated_{n}_grams")
    value = signals(text)[f"gopher_rep_{kind}_{n}_gram_char_frac"]
    assert value > 0
    param = "max_top_ngram_char_frac" if kind == "top" else "max_dup_ngram_char_frac"
    assert verdict(rep(**{param: {n: value}}), text) == (True, None)
    assert verdict(rep(**{param: {n: value - 1e-9}}), text) == (False, reason)


def _reference_ngrams(words: list[str], n: int) -> tuple[int, int, int]:
    """(top n-gram chars, its count, duplicated n-gram chars) by the published definitions, naively."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    top_chars = top_count = 0
    if grams:
        counts = Counter(grams)
        gram, top_count = counts.most_common(1)[0]
        top_chars = (sum(map(len, gram)) + n - 1) * top_count
    seen: set[tuple[str, ...]] = set()
    dup = i = 0
    while i < len(grams):
        if grams[i] in seen:
            dup += sum(map(len, grams[i]))
            i += n
        else:
            seen.add(grams[i])
            i += 1
    return top_chars, top_count, dup


def test_ngram_index_matches_the_naive_definitions() -> None:
    rng = random.Random(3)
    for _ in range(1500):
        vocab = [rng.choice("abc") * rng.randint(1, 3) for _ in range(rng.choice((1, 2, 4, 30)))]
        words = [rng.choice(vocab) for _ in range(rng.choice((0, 1, 2, 5, 12, 40, 300)))]
        index = NgramIndex(words)
        for n in range(2, 11):
            got = (index.top_ngram_chars(n), index.top_ngram_count(n), index.duplicated_ngram_chars(n))
            assert got == _reference_ngrams(words, n), (words, n)
