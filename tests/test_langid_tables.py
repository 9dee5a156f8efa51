"""The fast engine's vectorized tables and batch helpers equal their per-gram, per-character versions."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from langdetect.detector import Detector

from datacraft.langid.fast import UPPER_BELOW, FastEngine, GramTable, gram_key, gram_of
from datacraft.langid.profiles import load_profiles
from datacraft.langid.script import letter_count, letter_counts
from datacraft.langid.text import drop_latin_if_mostly_other, remove_mail


def test_tables_equal_the_per_gram_construction() -> None:
    engine = FastEngine()
    prof = load_profiles()
    keys = np.array([gram_key(g) for g in prof.grams], dtype=np.uint64)
    order = np.argsort(keys)
    grams = [prof.grams[i] for i in order]
    assert [gram_of(int(k)) for k in engine._keys] == grams
    assert np.array_equal(engine._loglik, np.log(0.5 / Detector.BASE_FREQ + prof.prob[order]).astype(np.float32))
    row_of = {g: r for r, g in enumerate(grams)}
    alphabet = sorted({ch for g in grams if len(g) == 2 for ch in g})
    assert engine._width == len(alphabet) + 1
    char_id = np.zeros(0x110000, dtype=np.int64)
    char_id[[ord(c) for c in alphabet]] = np.arange(1, engine._width)
    assert np.array_equal(engine._char >> np.uint64(22), char_id[engine._char & np.uint64((1 << 21) - 1)])
    bigram = np.full(engine._width * engine._width, -1, dtype=np.int32)
    for gram, row in row_of.items():
        if len(gram) == 2:
            bigram[char_id[ord(gram[0])] * engine._width + char_id[ord(gram[1])]] = row
    assert np.array_equal(bigram, engine._bigram)
    tri = [(g, r) for g, r in row_of.items() if len(g) == 3]
    keys3 = np.array([(ord(g[0]) << 17) | row_of[g[1:]] for g, _ in tri], dtype=np.uint64)
    assert np.array_equal(GramTable(keys3, np.array([r for _, r in tri])).slots, engine._trigram.slots)


def test_no_upper_case_code_point_beyond_the_table() -> None:
    assert not any(chr(c).isupper() for c in range(UPPER_BELOW, 0x110000))


def test_batch_letter_counts_equal_one_by_one() -> None:
    texts = ["", "a", "Hello, world!", "मानव अधिकारों की", "\ud800x", "漢字かなカナ한글", "x" * 70, "ı̇ş 12 ÀÉ"]
    assert letter_counts(texts).tolist() == [letter_count(t) for t in texts]
    assert letter_counts([]).tolist() == []


def test_mail_removal_equals_langdetects_pattern() -> None:
    rng = random.Random(0)
    for _ in range(20_000):  # short texts: every arrangement of the pattern's classes around @
        text = "".join(rng.choice("ab.-_@ 1Z/é") for _ in range(rng.randint(0, 14)))
        assert remove_mail(text) == Detector.MAIL_RE.sub(" ", text), text
    for _ in range(300):  # long runs: the 64 and 255 character limits of each part
        parts = [
            rng.choice(["a" * rng.randint(0, 700), "." * rng.randint(0, 3), "@", " ", "-_", "é"]) for _ in range(12)
        ]
        text = "".join(parts)
        assert remove_mail(text) == Detector.MAIL_RE.sub(" ", text), text


def test_latin_letters_dropped_as_langdetect_does() -> None:
    for text in ["", "abc", "абв abc", "абвгд ab Z[", "\ud800xyz\ud801\ud802\ud803\ud804", "漢字かなカナ AZaz"]:
        counts = sum(0x41 <= ord(c) <= 0x7A for c in text) * 2 < sum(ord(c) >= 0x300 for c in text)
        expected = "".join(c for c in text if not 0x41 <= ord(c) <= 0x7A) if counts else text
        assert drop_latin_if_mostly_other(text) == expected


def test_tables_from_the_cache_give_the_same_detections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["Hello world, this is English.", "Bonjour tout le monde, ceci est du français.", "漢字かなカナ", "x"]
    monkeypatch.setattr(FastEngine, "_built", {})
    monkeypatch.setenv("DATACRAFT_CACHE", "off")
    built = FastEngine()
    monkeypatch.setenv("DATACRAFT_CACHE", str(tmp_path))
    for _ in range(3):  # builds and writes the cache; loads it; loads again after a broken entry was rebuilt
        FastEngine._built.clear()
        cached = FastEngine()
        for name in ("_keys", "_loglik", "_loglik_t", "_bigram", "_char", "_unigram"):
            assert np.array_equal(getattr(cached, name), getattr(built, name)), name
        assert np.array_equal(cached._trigram.slots, built._trigram.slots)
        assert (cached.langs, cached._width, cached._char_space) == (built.langs, built._width, built._char_space)
        for a, b in zip(cached.detect(texts), built.detect(texts), strict=True):
            assert (a.lang, a.score) == (b.lang, b.score)
        entries = list(tmp_path.glob("langid-fast-*"))
        assert len(entries) == 1
        if (entries[0] / "_char.npy").exists() and _ == 1:
            shutil.rmtree(entries[0])
