"""The shared word tokenizer and sentence counter."""

from __future__ import annotations

import pytest

from datacraft.text.punct import TERMINAL_PUNCTUATION, count_sentences
from datacraft.text.words import split_words, tokenizer, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ('("Hi!")', ["(", '"', "Hi", "!", '"', ")"]),
        ("I didn't go; it's fine.", ["I", "did", "n't", "go", ";", "it", "'s", "fine", "."]),
        ("I cannot, he couldnt.", ["I", "can", "not", ",", "he", "could", "nt", "."]),
        ("Mr. Smith went to the U.S. today", ["Mr.", "Smith", "went", "to", "the", "U.S.", "today"]),
        ("F. H. Wales, e.g. here", ["F.", "H.", "Wales", ",", "e.g.", "here"]),
        ("pi is 3.14, not 1,000 at 10:30", ["pi", "is", "3.14", ",", "not", "1,000", "at", "10:30"]),
        ("see http://x.org/a. or a@b.com", ["see", "http://x.org/a", ".", "or", "a@b.com"]),
        ("wait... what -- now", ["wait", "...", "what", "--", "now"]),
        ("well-known #tag", ["well", "-", "known", "#", "tag"]),
        ("end.Next site.example.pl", ["end", ".", "Next", "site.example.pl"]),
        ("rock'n'roll O'Neil", ["rock'n'roll", "O'Neil"]),
        ("Вечно было так.", ["Вечно", "было", "так", "."]),
        ("प्रत्येकास काम", ["प्रत्येकास", "काम"]),  # combining marks stay in the word
    ],
)
def test_split_words(text: str, expected: list[str]) -> None:
    assert split_words(text) == expected


def test_spaceless_scripts_are_split_into_characters() -> None:
    assert split_words("中文字符。ok") == ["中", "文", "字", "符", "。", "ok"]
    assert split_words("ひらがなカタカナ") == list("ひらがなカタカナ")
    thai = split_words("ภาษาไทย")
    assert "".join(thai) == "ภาษาไทย" and len(thai) > 1
    assert split_words("น้ำ") == ["น้", "ำ"]  # a letter keeps its tone mark


def test_spaceless_runs_mode_keeps_runs_like_spacy() -> None:
    assert split_words("中文字符。 ภาษาไทย ok", split_spaceless=False) == ["中文字符", "。", "ภาษาไทย", "ok"]
    assert tokenizer(False).split_spaceless is False


def test_fast_path_agrees_with_the_regex() -> None:
    text = (
        "Mr. Smith said: \"It's 3.14, isn't it?\" (Yes.) See www.example.com/x, or mail a.b@c.org... "
        "The U.S. team -- 12 of them -- won; well-known #1. end.Next"
    )
    assert split_words(text) == tokenizer().regex.findall(text)


def test_words_is_cached_and_equal_to_split() -> None:
    text = "A cached text, tokenized once."
    assert words(text) is words(text)
    assert words(text) == split_words(text)


def test_sentence_count_follows_the_sentencizer_rule() -> None:
    assert count_sentences(split_words("Mr. Smith went. He left! OK? Yes e.g. this... And (so).")) == 4
    assert count_sentences(split_words('He said "stop." Then left')) == 2
    assert count_sentences([]) == 0
    assert {".", "!", "?", "。", "।"} <= TERMINAL_PUNCTUATION
    assert "…" not in TERMINAL_PUNCTUATION


def test_terminal_list_matches_unicode_property() -> None:
    import regex

    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    expected = set(regex.findall(r"\p{Sentence_Terminal}", bmp))
    assert {c for c in TERMINAL_PUNCTUATION if ord(c) < 0x10000} == expected
