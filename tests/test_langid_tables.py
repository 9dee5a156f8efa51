"""The fast engine's vectorized tables and batch helpers equal their per-gram, per-character versions."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from langdetect.detector import Detector
from langdetect.utils.ngram import NGram

from datacraft.langid.fast import UPPER_BELOW, FastEngine, GramTable, gram_key, gram_of
from datacraft.langid.profiles import load_profiles
from datacraft.langid.script import build_class_table, class_table, has_letters, letter_count, letter_counts
from datacraft.langid.sparse import sum_rows
from datacraft.langid.text import drop_latin_if_mostly_other, prepare, remove_mail, sample_windows


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
    id_of = {ch: i for i, ch in enumerate(alphabet, start=1)}
    bigram = np.full(engine._width * engine._width, -1, dtype=np.int32)
    for gram, row in row_of.items():
        if len(gram) == 2:
            bigram[id_of[gram[0]] * engine._width + id_of[gram[1]]] = row
    assert np.array_equal(bigram, engine._bigram)
    # Per code point: row of the 1-gram of its normalized form (none for a space), upper case, 2-gram id.
    rng = np.random.default_rng(0)
    points = np.concatenate([np.arange(0x800), rng.integers(0x800, 0x110000, 1500)])
    for cp in points.tolist():
        norm = NGram.normalize(chr(cp)) if cp < 0x10000 else chr(cp)
        packed = int(engine._chars[cp])
        expected_row = row_of.get(norm, (1 << 17) - 1) if norm != " " else (1 << 17) - 1
        assert packed & ((1 << 17) - 1) == expected_row, hex(cp)
        assert bool(packed >> 17 & 1) == norm.isupper(), hex(cp)
        assert packed >> 18 == id_of.get(norm, 0), hex(cp)
    tri = [(g, r) for g, r in row_of.items() if len(g) == 3]
    keys3 = np.array([(id_of[g[0]] << 17) | row_of[g[1:]] for g, _ in tri], dtype=np.int64)
    assert np.array_equal(engine._trigram.lookup(keys3), np.array([r for _, r in tri]))
    table = GramTable(keys3, np.array([r for _, r in tri]))
    assert np.array_equal(table.keys, engine._trigram.keys) and np.array_equal(table.rows, engine._trigram.rows)


def test_gram_table_finds_every_key_and_nothing_else() -> None:
    rng = np.random.default_rng(1)
    keys = np.unique(rng.integers(1, 1 << 32, 5000, dtype=np.int64))
    rows = rng.permutation(len(keys))
    table = GramTable(keys, rows)
    assert np.array_equal(table.lookup(keys), rows)
    others = np.setdiff1d(rng.integers(1, 1 << 32, 20_000, dtype=np.int64), keys)
    assert (table.lookup(np.concatenate([others, [0]])) == -1).all()
    again = GramTable.from_arrays(table.keys, table.rows, table.probes)
    assert np.array_equal(again.lookup(keys), rows) and again.bits == table.bits


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
        for name in ("_keys", "_loglik", "_bigram", "_chars"):
            assert np.array_equal(getattr(cached, name), getattr(built, name)), name
        assert np.array_equal(cached._trigram.keys, built._trigram.keys)
        assert np.array_equal(cached._trigram.rows, built._trigram.rows)
        assert cached._trigram.probes == built._trigram.probes
        assert (cached.langs, cached._width) == (built.langs, built._width)
        for a, b in zip(cached.detect(texts), built.detect(texts), strict=True):
            assert (a.lang, a.score) == (b.lang, b.score)
        entries = list(tmp_path.glob("langid-fast-*"))
        assert len(entries) == 1
        if (entries[0] / "_chars.npy").exists() and _ == 1:
            shutil.rmtree(entries[0])


def _langdetect_prepare(text: str, max_chars: int, sample_chars: int) -> str:
    """The preparation step by step as langdetect writes it (plus the sampling of long texts)."""
    text = Detector.MAIL_RE.sub(" ", Detector.URL_RE.sub(" ", text))
    if 0 < sample_chars < min(len(text), max_chars):
        return NGram.normalize_vi(sample_windows(_latin_rule(text[:max_chars]), sample_chars))
    return _latin_rule(NGram.normalize_vi(text)[:max_chars])


def _latin_rule(text: str) -> str:
    latin = sum(0x41 <= ord(c) <= 0x7A for c in text)
    if latin * 2 < sum(ord(c) >= 0x300 for c in text):
        return "".join(c for c in text if not 0x41 <= ord(c) <= 0x7A)
    return text


def test_prepare_equals_langdetects_steps() -> None:
    rng = random.Random(2)
    pieces = ["a", "Z", " ", "é", "e\u0301", "a\u0300", "\u0323", "д", "漢", "x@y.z ", "http://a.b/c ", "@", "."]
    pieces.append("\ud800")
    for _ in range(400):
        text = "".join(rng.choice(pieces) for _ in range(rng.choice([0, 3, 20, 60, 130])))
        for max_chars, sample_chars in ((40, 0), (40, 20), (41, 10), (200, 0), (7, 3), (30, 30)):
            prepared, done = prepare(text, max_chars, sample_chars)
            assert (prepared if done else drop_latin_if_mostly_other(prepared)) == _langdetect_prepare(
                text, max_chars, sample_chars
            ), (text, max_chars, sample_chars)


def test_row_sums_equal_scipys_product_bit_for_bit() -> None:
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(3)
    table = (-rng.random((500, 55)) * 20).astype(np.float32)
    counts = rng.integers(0, 300, 40)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    rows = rng.integers(0, 500, indptr[-1]).astype(np.int32)
    ones = np.ones(len(rows), dtype=np.float32)
    expected = csr_matrix((ones, rows, indptr), shape=(40, 500)) @ table
    assert sum_rows(indptr, rows, table).tobytes() == expected.tobytes()
    assert sum_rows(np.zeros(3, dtype=np.int64), rows[:0], table).tolist() == [[0.0] * 55] * 2


def test_row_sums_do_not_import_scipy_sparse() -> None:
    code = "import sys, numpy as np; from datacraft.langid.sparse import sum_rows; "
    code += "sum_rows(np.array([0, 1]), np.array([0]), np.ones((1, 2), np.float32)); "
    code += "assert 'scipy.sparse' not in sys.modules, sorted(m for m in sys.modules if 'scipy' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_enough_letters_equals_the_full_count() -> None:
    texts = ["", "abc", "1234 " * 30 + "abcdefghijkl", "!" * 70 + "ab", "漢字かなカナ한글" * 3, "a1" * 300, "x" * 9]
    for minimum in (0, 1, 5, 10, 40):
        for max_chars in (10, 100, 10_000):
            expected = letter_counts([t[:max_chars] for t in texts]) >= minimum
            assert has_letters(texts, minimum, max_chars).tolist() == expected.tolist()


def test_script_classes_from_the_cache_equal_a_fresh_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATACRAFT_CACHE", str(tmp_path))
    class_table.cache_clear()
    try:
        first = class_table()  # built and written
        class_table.cache_clear()
        cached = class_table()  # read back
        assert list(tmp_path.glob("langid-script-*"))
        assert np.array_equal(first, cached) and np.array_equal(cached, build_class_table())
    finally:
        class_table.cache_clear()
