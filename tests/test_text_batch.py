"""The batch tokenizer gives exactly each document's ``split_words``; its counts match the per-document ones."""

from __future__ import annotations

import random
import sys
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datacraft.text import cache
from datacraft.text.batch import batch_tokens, token_view, tokenize_batch
from datacraft.text.cache import TextFeatures
from datacraft.text.words import split_words

#: The random alphabet of bench/chain_dump.py plus characters where Python and Arrow could disagree.
ALPHABET = (
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3
    + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»‘’“”–—…•·¡¿") * 2
    + list("    \n\n\t\r\x0b\x0c\u00a0\u2028\u3000\x1c\x1d\x1e\x1f\x85\u180e\u200b\ufeff\u1680\u2009\u202f")
    + list("日本語の文章です。漢字かなカタカナ中文字符")
    + list("ภาษาไทยเแโใไ")
    + list("ພາສາລາວເແໂໃໄ")
    + list("привет мир éèàüöß")
    + list("\u0301\u0308\u0660\u0967\u00b2\u2155\u0558\u1c89\ua7cb")
    + list("한국어")
    + list("العربية")
    + ["😀", "👍", "\U0001f100", "\U0001f101", "\U00020000", "\U0001d400", "\U000105c0", "\ufffd", "\x00", "\x7f"]
    + ["\ud800", "\udfff"]
    + ["Mr.", "e.g.", "U.S.", "C++", "i++", "http://x.y/z", "http:", "don't", "it's", "O'Brien", "...", "--"]
    + ["''", "``", "3.14", "3,000", "a@b.com", "and/or", "(Mr.", '"word,"', "said.\u201d", "ftp:", "Inc."]
)

TRICKY = [
    "",
    " ",
    "\n\n\t ",
    "word",
    "  leading and trailing  ",
    "It's a test, a test. (Really!) \"Quoted,\" he said... --- e.g. U.S. Mr. Smith's C++ code: http://x.y/z.",
    "a\x1cb\x1dc\x1ed\x1fe\x85f\u180eg\u200bh\ufeffi",
    "lone \ud800 surrogate",
    "今天天气很好。",
    "ພາສາລາວ text",
    "\U0001f100 digit comma",
    "combining e\u0301 and ٣ digits",
    "x" * 5000,
]


def _fuzz(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.choice((0, 1, 3, 10, 40, 120))
        parts = [rng.choice(ALPHABET) for _ in range(k)]
        if rng.random() < 0.5:
            parts = [p + (" " if rng.random() < 0.4 else "") for p in parts]
        out.append("".join(parts))
    return out


def _check(texts: list[str], langs: list[str | None] | None = None) -> None:
    bt = tokenize_batch(texts, langs)
    assert len(bt) == len(texts)
    for i, t in enumerate(texts):
        words = split_words(t, None if langs is None else langs[i])
        assert bt.words(i) == words, repr(t)
        ids = bt.ids[bt.offsets[i] : bt.offsets[i + 1]].tolist()
        assert len(set(ids)) == len(set(words))  # within a text: equal ids ⇔ equal tokens


def test_batch_tokens_equal_split_words_on_fuzz_strings() -> None:
    texts = _fuzz(3000, 17) + TRICKY
    _check(texts)
    rng = random.Random(5)
    _check(texts[:500], [rng.choice((None, "en", "ja", "zh", "th")) for _ in range(500)])


def test_batch_tokens_equal_split_words_on_real_text() -> None:
    from pathlib import Path

    root = Path("/work/shared/data/langid/fortunes_multilingual.jsonl")
    if not root.exists():
        pytest.skip("shared data absent")
    import json

    rows = [json.loads(line) for line in root.read_text(encoding="utf-8").splitlines()[:1500]]
    _check([r["text"] for r in rows], [r.get("lang") for r in rows])


def _whitespace_differences(cps: list[int]) -> list[str]:
    strings = ["a" + chr(c) + "b" for c in cps]
    got = pc.utf8_split_whitespace(pa.array(strings)).to_pylist()
    return [hex(c) for c, g, s in zip(cps, got, strings, strict=True) if g != s.split()]


def test_arrow_whitespace_is_python_whitespace() -> None:
    """The fast path cuts at Arrow's whitespace: it must be ``str.split``'s exactly (else route those texts).

    Every separator, control and format character (where any whitespace definition lives) and
    Python's own whitespace; the slow test below checks every code point.
    """
    astral_format = [0x110BD, 0x110CD, *range(0x13430, 0x13440), *range(0x1BCA0, 0x1BCA4), *range(0x1D173, 0x1D17B)]
    bmp = [c for c in range(0x10000) if unicodedata.category(chr(c)) in ("Zs", "Zl", "Zp", "Cc", "Cf")]
    cps = [*bmp, *astral_format, 0xE0001, *range(0xE0020, 0xE0080)]
    assert len(cps) > 200
    assert _whitespace_differences(cps) == []


@pytest.mark.slow
def test_arrow_whitespace_is_python_whitespace_for_every_code_point() -> None:
    assert _whitespace_differences([c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]) == []


def test_counts_match_per_document_features() -> None:
    texts = _fuzz(800, 3) + TRICKY
    batched = [TextFeatures(t) for t in texts]
    batch_tokens(batched)
    stops = (frozenset({"the", "a", "Mr.", "it", "'s", "и"}), frozenset({"привет", "the", "x"}))
    for t, f in zip(texts, batched, strict=True):
        plain = TextFeatures(t)
        assert f.n_tokens == len(plain.words)
        assert f.punct_tokens == plain.punct_tokens
        assert f.alpha_tokens == plain.alpha_tokens
        assert f.word_chars == plain.word_chars
        assert f.words == plain.words
        for stop in stops:
            for ignore in (False, True):
                assert f.stop_word_count(stop, ignore) == plain.stop_word_count(stop, ignore)
        assert type(f.n_tokens) is int and type(f.punct_tokens[1]) is int


def test_token_view_reuses_and_gathers_batches() -> None:
    texts = ["It's a test, a test.", "", "今天天气很好。", "one one one", "the end."]
    feats = [TextFeatures(t) for t in texts]
    first = token_view(feats[:3])
    again = token_view(feats[:3])
    assert again.ids is first.ids  # the batch is kept on the features and reused
    view = token_view([feats[3], feats[0], feats[4], feats[2]])  # two batches, out of order
    assert view.n_docs == 4
    for k, f in enumerate([feats[3], feats[0], feats[4], feats[2]]):
        lo, hi = view.offsets[k], view.offsets[k + 1]
        words = f.words
        assert words == split_words(f.text)
        assert list(view.lengths[lo:hi]) == [len(w) for w in words]
        ids = list(view.ids[lo:hi])
        for a in range(len(words)):
            for b in range(len(words)):
                assert (ids[a] == ids[b]) == (words[a] == words[b])
    assert view.ids.dtype == np.int64 and view.lengths.dtype == np.int64 and view.offsets.dtype == np.int64


def test_reserve_keeps_a_batch_cached() -> None:
    cache.set_cache_enabled(True)
    first = [f"text {i}" for i in range(5000)]
    batch_tokens([cache.features(t) for t in first])  # a batch larger than the default room: room grows
    texts = [f"again {i}" for i in range(5000)]
    feats = [cache.features(t) for t in texts]
    batch_tokens(feats)
    assert all(cache.features(t) is f for t, f in zip(texts, feats, strict=True))
    cache.reserve(10**9)
    assert cache._capacity == cache.MAX_CACHE_SIZE
    cache.set_cache_enabled(True)


def test_features_with_words_are_not_tokenized_again() -> None:
    texts = _fuzz(200, 9) + TRICKY
    feats = [TextFeatures(t) for t in texts]
    for f in feats[::2]:
        assert f.words is not None  # computed one by one first
    batch_tokens(feats)
    for t, f in zip(texts, feats, strict=True):
        plain = TextFeatures(t)
        assert f.words == plain.words
        assert (f.n_tokens, f.punct_tokens, f.alpha_tokens, f.word_chars) == (
            len(plain.words),
            plain.punct_tokens,
            plain.alpha_tokens,
            plain.word_chars,
        )
        assert f.stop_word_count(frozenset({"a", "the", "‘"}), True) == plain.stop_word_count(
            frozenset({"a", "the", "‘"}), True
        )
    view = token_view(feats)
    for k, f in enumerate(feats):
        ids = view.ids[view.offsets[k] : view.offsets[k + 1]].tolist()
        assert len(ids) == len(f.words) and len(set(ids)) == len(set(f.words))


def test_quick_prefilter_covers_the_exact_only_characters() -> None:
    from datacraft.text.batch import _EXACT_ONLY, _MAYBE_EXACT

    bmp = "".join(map(chr, range(0x10000)))
    assert {m.group() for m in _EXACT_ONLY.finditer(bmp)} <= {m.group() for m in _MAYBE_EXACT.finditer(bmp)}
    assert _MAYBE_EXACT.search("\U0001f100") and _MAYBE_EXACT.search("\U00020000")
