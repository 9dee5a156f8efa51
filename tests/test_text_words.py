"""The shared tokenizer, line/paragraph/sentence helpers and the per-document feature cache."""

from __future__ import annotations

from datacraft.text import count_sentences, features, lines, nonblank_lines, paragraphs, split_words
from datacraft.text.cache import set_cache_enabled
from datacraft.text.words import is_punct_token, punct_set, token_regex


def test_english_conventions() -> None:
    text = "It's an e-mail: john@x.com, see https://ex.com/a?b=1. U.S. Army... 3,000 and 3.14 -- ok #tag (yes) $5"
    assert split_words(text) == [
        "It", "'s", "an", "e", "-", "mail", ":", "john@x.com", ",", "see", "https://ex.com/a?b=1", ".",
        "U.S.", "Army", "...", "3,000", "and", "3.14", "--", "ok", "#", "tag", "(", "yes", ")", "$", "5",
    ]  # fmt: skip


def test_period_between_words_splits_only_before_capitals() -> None:
    assert split_words("see example.com now.Then go") == ["see", "example.com", "now", ".", "Then", "go"]


def test_cjk_and_thai_fallback_without_segmenters() -> None:
    # The expression alone (used when rjieba / fugashi / pythainlp are not installed): one word per
    # Han or Kana character, Thai cut before each leading vowel (เ and ไ: "ไปเที่ยว" → ไป | เที่ยว).
    find = token_regex().findall
    assert find("我爱北京 天安门。") == ["我", "爱", "北", "京", "天", "安", "门", "。"]
    assert find("ひらがなカタカナ") == list("ひらがなカタカナ")
    assert find("ไปเที่ยว") == ["ไป", "เที่ยว"]
    # with the segmenters: dictionary words (see tests/test_text_scripts.py)
    assert "".join(split_words("我爱北京 天安门。")) == "我爱北京天安门。"


def test_combining_marks_stay_inside_words() -> None:
    assert split_words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]
    assert split_words("Ελληνικά русский") == ["Ελληνικά", "русский"]


def test_punct_token_classification() -> None:
    assert is_punct_token("...") and is_punct_token("$") and is_punct_token("—")
    assert not is_punct_token("'s") and not is_punct_token("3.14") and not is_punct_token("https://a.b/c")
    assert "#" in punct_set() and "a" not in punct_set()


def test_sentences_like_spacy_sentencizer() -> None:
    p = punct_set()
    assert count_sentences(split_words("Mr. Smith went home. He slept! Did he? Yes."), p) == 4
    assert count_sentences(split_words('Wait... what?! "Really." Yes'), p) == 3
    assert count_sentences(split_words("3.14 is pi"), p) == 1
    assert count_sentences([], p) == 0


def test_line_helpers() -> None:
    text = "a\n\n\nb\r\nc\n  \nd"
    assert lines(text) == ["a", "", "", "b", "c", "  ", "d"]
    assert nonblank_lines(text) == ["a", "b\r", "c", "d"]
    assert paragraphs("\n x\n\ny\n\n\nz \n") == ["x", "y", "z"]


def test_feature_cache_is_keyed_by_the_text_object() -> None:
    text = "one two three"
    f = features(text)
    assert features(text) is f
    other = "".join(["one two ", "three"])  # equal but a different object: recomputed
    assert features(other) is not f and features(other).words == f.words
    set_cache_enabled(False)
    try:
        assert features(text) is not features(text)
    finally:
        set_cache_enabled(True)


def test_code_increment_stays_one_token_like_spacy() -> None:
    assert split_words("i++; C++ a+b c+++") == ["i++", ";", "C++", "a", "+", "b", "c", "+", "+", "+"]


def test_chunk_fast_path_equals_the_expression() -> None:
    # split_words cuts text without space-less scripts chunk by chunk, peeling punctuation off the
    # ends; the tokens must be exactly those of the expression over the whole text.
    import random

    find = token_regex().findall
    letters = [*"abcdefsStTmMrReElLvVdDXYZAUg019_", "é", "ß", "Ж", "\u0301", "\u0915", "\u093f", "²", "½", "ℵ", "𝐀"]
    marks = [*"!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~«»‘’‚“”„–—…•·¡¿", "\x01", "€", "🙂", "\U0001f100"]
    spaces = [" ", "\n", "\t", "\u00a0", "\u2028", "\x1c", "\u3000"]
    words = ["Mr", "Dr", "co", "vs", "Sept", "http", "https", "ftp", "C", "i", "U", "e", "don", "it", "www", "com"]
    rng = random.Random(0)
    for _ in range(20_000):
        text = ""
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            pool = letters if r < 0.3 else marks if r < 0.6 else words if r < 0.75 else spaces
            text += rng.choice(pool) * (1 if pool is words else rng.randint(1, 3))
        assert split_words(text) == find(text), text
    assert split_words('(Mr. e.g. C++, http://x.y/z) U.S. \'tis "quoted." end...') == find(
        '(Mr. e.g. C++, http://x.y/z) U.S. \'tis "quoted." end...'
    )


def test_paragraphs_and_token_counts_match_their_definitions() -> None:
    # paragraphs() and the token counts take C shortcuts (str.split, map/compress); each must equal
    # the plain definition.
    import random
    import re

    rng = random.Random(1)
    pieces = ["a", "b c", "\n", "\n\n", "\n\n\n", " ", "Mr.", "3.14", "--", "...", "'s", "é", "x1", "#", "“", "—"]
    p = punct_set()
    for _ in range(3_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        stripped = text.strip()
        assert paragraphs(text) == ([stripped] if "\n\n" not in stripped else re.split(r"\n{2,}", stripped))
        f = features(text)
        words = f.words
        sym = [len(w) for w in words if not w.isalpha() and w[-1] in p]
        assert f.punct_tokens == (len(sym), sum(sym))
        assert f.alpha_tokens == sum(1 for w in words if any(c.isalpha() for c in w))
