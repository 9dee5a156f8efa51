"""bench/corpus.py: the default corpus keeps its bytes; ``words_scale`` shortens documents."""

from __future__ import annotations

import hashlib
import statistics

import orjson
import pytest

from bench.corpus import EDIT_RATES, generate

pytestmark = pytest.mark.slow  # the vocabulary is built from the bundled sample text (~3-8 s)


def _md5(records: list[dict]) -> str:
    return hashlib.md5(b"".join(orjson.dumps(r) for r in records)).hexdigest()


def test_default_scale_gives_the_same_bytes_as_before_the_option() -> None:
    # Digest of generate(300, 3) from the code before --words-scale existed (main c8d4c68).
    assert _md5(generate(300, 3)) == "93472cad8d4143581e5d421031ad9448"
    assert _md5(generate(300, 3, words_scale=1.0)) == "93472cad8d4143581e5d421031ad9448"


def test_words_scale_shortens_documents_and_keeps_families() -> None:
    short = generate(400, 3, words_scale=0.25)
    full = generate(400, 3)
    n_short = [len(r["text"].split()) for r in short]
    n_full = [len(r["text"].split()) for r in full]
    assert 40 <= statistics.median(n_short) <= 100 < statistics.median(n_full)
    assert min(n_short) >= 11 and max(n_short) <= 550  # bounds 12-500 words, edits add at most 8 %
    copies = [r for r in short if r["family"] is not None and r["family"] != r["id"]]
    assert len(copies) > 20 and {r["edit_rate"] for r in copies} <= set(EDIT_RATES)
