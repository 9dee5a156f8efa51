"""The fast engine's vectorized tables and batch helpers equal their per-gram, per-character versions."""

from __future__ import annotations

import random

import numpy as np
from langdetect.detector import Detector

from datacraft.langid.fast import _MAIL_HINT, UPPER_BELOW, FastEngine, GramTable, gram_key
from datacraft.langid.profiles import load_profiles
from datacraft.langid.script import letter_count, letter_counts


def test_tables_equal_the_per_gram_construction() -> None:
    engine = FastEngine()
    prof = load_profiles()
    keys = np.array([gram_key(g) for g in prof.grams], dtype=np.uint64)
    order = np.argsort(keys)
    assert np.array_equal(engine._loglik, np.log(0.5 / Detector.BASE_FREQ + prof.prob[order]).astype(np.float32))
    row_of = {g: r for r, g in enumerate(engine._grams)}
    alphabet = sorted({ch for g in engine._grams if len(g) == 2 for ch in g})
    assert engine._width == len(alphabet) + 1
    assert [int(engine._char_id[ord(c)]) for c in alphabet] == list(range(1, engine._width))
    bigram = np.full(engine._width * engine._width, -1, dtype=np.int32)
    for gram, row in row_of.items():
        if len(gram) == 2:
            bigram[engine._char_id[ord(gram[0])] * engine._width + engine._char_id[ord(gram[1])]] = row
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


def test_mail_hint_matches_exactly_where_langdetects_mail_pattern_does() -> None:
    rng = random.Random(0)
    for _ in range(20_000):
        text = "".join(rng.choice("ab.-_@ 1Z/é") for _ in range(rng.randint(0, 14)))
        assert (Detector.MAIL_RE.search(text) is None) == (_MAIL_HINT.search(text) is None), text
