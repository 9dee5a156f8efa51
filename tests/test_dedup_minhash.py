"""Shingle hashing, MinHash signatures, LSH parameters and dedup parameters."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from datacraft.dedup import minhash
from datacraft.dedup.minhash import band_hashes, optimal_bands, signatures
from datacraft.dedup.params import DedupParams, build_params
from datacraft.dedup.shingles import (
    char_shingle_hashes,
    exact_key,
    token_hash,
    token_hashes,
    tokens,
    word_shingle_hashes,
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "",
    "   \n\t ",
    "Ünïcödé — naïve café, İstanbul; ﬁne ǅ 東京 tower_1 x2",
    "one",
    "a b c d",
    "Hello, World! hello world HELLO",
]


def test_token_hashes_match_reference_tokenizer_and_hash() -> None:
    hashes, counts = token_hashes(TEXTS)
    expected = [token_hash(t) for text in TEXTS for t in tokens(text)]
    assert hashes.tolist() == expected
    assert counts.tolist() == [len(tokens(t)) for t in TEXTS]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=6))
def test_token_hashes_any_text(texts: list[str]) -> None:
    hashes, counts = token_hashes(texts)
    assert counts.tolist() == [len(tokens(t)) for t in texts]
    assert hashes.tolist() == [token_hash(t) for text in texts for t in tokens(text)]


def test_word_shingles_per_document_and_order_independence() -> None:
    n = 3
    hashes, per_doc = word_shingle_hashes(TEXTS, n)
    want = [max(len(tokens(t)) - n + 1, 1) if tokens(t) else 0 for t in TEXTS]
    assert per_doc.tolist() == want
    assert len(hashes) == sum(want)
    # A document's shingles do not depend on its neighbours in the batch.
    offsets = np.concatenate(([0], np.cumsum(per_doc)))
    for i, text in enumerate(TEXTS):
        alone, _ = word_shingle_hashes([text], n)
        assert alone.tolist() == hashes[offsets[i] : offsets[i + 1]].tolist()


def test_case_and_punctuation_do_not_change_word_shingles() -> None:
    a, _ = word_shingle_hashes(["Hello, world: it's  me!"], 2)
    b, _ = word_shingle_hashes(["hello world it s me"], 2)
    assert a.tolist() == b.tolist()


def test_char_shingles_count() -> None:
    texts = ["Hello   World", "ab", ""]
    _, per_doc = char_shingle_hashes(texts, 5)
    assert per_doc.tolist() == [len(exact_key(texts[0])) - 4, 1, 0]


def test_signatures_equal_datasketch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minhash, "CHUNK_SHINGLES", 7)  # force many chunks, some smaller than a document
    texts = [f"doc {i} " + " ".join(f"w{(i * 7 + j) % 23}" for j in range(5 + 3 * i)) for i in range(12)]
    texts.insert(3, "")
    hashes, per_doc = word_shingle_hashes(texts, 2)
    sigs = signatures(hashes, per_doc, 64, 7)
    offsets = np.concatenate(([0], np.cumsum(per_doc)))
    for i in range(len(texts)):
        m = MinHash(num_perm=64, seed=7, scheme="affine32", hashfunc=lambda x: x)
        m.update_batch(hashes[offsets[i] : offsets[i + 1]].tolist())
        assert sigs[i].tolist() == m.hashvalues.tolist()
    assert (sigs[3] == np.uint32(0xFFFFFFFF)).all()


@pytest.mark.parametrize(("num_perm", "seed"), [(112, 1), (64, 7), (128, 0), (3, 12345)])
def test_permutations_equal_datasketch_without_importing_it(num_perm: int, seed: int) -> None:
    a, b = minhash.permutations(num_perm, seed)
    ref = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    assert a.dtype == b.dtype == np.uint32
    assert a.tolist() == ref[0].tolist() and b.tolist() == ref[1].tolist()


def test_lazy_character_tables_equal_the_full_tables() -> None:
    # Every code point classified one by one equals the classes of one pass over all of them.
    import re
    import unicodedata

    from datacraft.dedup import shingles

    everything = np.arange(shingles._TABLE_SIZE, dtype=np.uint32)
    word, single = shingles._tables(everything)
    chars = everything.tobytes().decode("utf-32-le", "surrogatepass")
    full_word = np.array([m is not None for m in map(re.compile(r"\w").match, chars)])
    cats = np.frombuffer("".join(map(unicodedata.category, chars)).encode("ascii"), np.uint8)[0::2]
    full_word |= cats == ord("M")
    assert (word == full_word).all()
    assert single[[0x4E00, 0x3042, 0x0E01]].all() and not single[[ord("a"), ord("न"), ord(" ")]].any()
    assert not (single & ~word).any()


def test_signature_estimate_tracks_jaccard() -> None:
    rng = np.random.default_rng(0)
    base = [f"w{x}" for x in rng.integers(0, 100_000, 400)]
    edited = list(base)
    for pos in rng.choice(400, 40, replace=False):
        edited[pos] = f"z{pos}"
    hashes, per_doc = word_shingle_hashes([" ".join(base), " ".join(edited)], 3)
    sigs = signatures(hashes, per_doc, 256, 1)
    a, b = set(hashes[: per_doc[0]].tolist()), set(hashes[per_doc[0] :].tolist())
    true = len(a & b) / len(a | b)
    assert abs(float((sigs[0] == sigs[1]).mean()) - true) < 0.08


def test_band_hashes_equal_only_for_equal_bands() -> None:
    sigs = np.arange(4 * 8, dtype=np.uint32).reshape(4, 8)
    sigs[1] = sigs[0]
    sigs[2, :4] = sigs[0, :4]
    bh = band_hashes(sigs, 2, 4)
    assert bh.shape == (2, 4)
    assert bh[0, 0] == bh[0, 1] == bh[0, 2] and bh[1, 0] == bh[1, 1] != bh[1, 2]
    assert bh[0, 3] != bh[0, 0] and bh[0, 0] != bh[1, 0]


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.75, 112), (0.5, 128), (0.9, 64)])
def test_optimal_bands_match_datasketch_lsh(threshold: float, num_perm: int) -> None:
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    assert optimal_bands(threshold, num_perm) == (lsh.b, lsh.r)


def test_params_presets_and_validation() -> None:
    assert build_params().lsh() == (14, 8)
    derived = build_params(threshold=0.8)
    assert derived.bands is None and derived.lsh() == optimal_bands(0.8, derived.num_perm)
    assert build_params("high-recall").verify == "exact"
    with pytest.raises(ValueError, match="both bands and rows"):
        DedupParams(bands=4, rows=None)
    with pytest.raises(ValueError, match="exceeds num_perm"):
        DedupParams(num_perm=16, bands=5, rows=4)
    with pytest.raises(ValueError, match="signal_column"):
        DedupParams(keep="signal")
