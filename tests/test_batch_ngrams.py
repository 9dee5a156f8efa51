"""The batch n-gram measures and ``GopherRepetition.check_batch`` against the per-document path."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from datacraft.document import Document
from datacraft.stages.base import FilterResult
from datacraft.stages.quality import batch_ngrams
from datacraft.stages.quality.batch_ngrams import ngram_measures
from datacraft.stages.quality.gopher import GopherRepetition, GopherRepetitionParams
from datacraft.stages.quality.ngrams import NgramIndex
from datacraft.text import cache as features_mod
from datacraft.text.batch import TokenView

SIZES = range(2, 11)


def _view(docs: list[list[str]], scheme: str, rng: random.Random) -> TokenView:
    """A view of ``docs`` whose ids follow ``scheme``: one vocabulary for all documents, ids that
    restart in each document (equal ids, different tokens across documents), or sparse ids (huge
    and negative)."""
    offsets = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    ids: list[int] = []
    shared: dict[str, int] = {}
    for words in docs:
        own: dict[str, int] = {}
        for w in words:
            if scheme == "shared":
                ids.append(shared.setdefault(w, len(shared)))
            elif scheme == "per_doc":
                ids.append(own.setdefault(w, len(own)))
            else:
                ids.append(own.setdefault(w, rng.choice((-1, 1)) * rng.randrange(1 << 62)))
    lengths = [len(w) for d in docs for w in d]
    return TokenView(offsets, np.array(ids, np.int64), np.array(lengths, np.int64))


def _random_doc(rng: random.Random) -> list[str]:
    vocab = [rng.choice("abcé") * rng.randint(1, 3) for _ in range(rng.choice((1, 2, 3, 5, 30)))]
    kind = rng.random()
    if kind < 0.3:  # around the sizes' edges: shorter than n, n, n + 1 tokens
        return [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
    words = [rng.choice(vocab) for _ in range(rng.choice((5, 20, 60, 200)))]
    if kind < 0.7:  # repeated passages, overlapping repeats
        for _ in range(rng.randint(1, 4)):
            a = rng.randrange(len(words))
            b = min(len(words), a + rng.randint(1, 25))
            at = rng.randrange(len(words) + 1)
            words[at:at] = words[a:b] * rng.randint(1, 3)
    return words


def _expected(words: list[str] | NgramIndex, n: int) -> tuple[int, int, int]:
    index = words if isinstance(words, NgramIndex) else NgramIndex(words)
    return index.top_ngram_chars(n), index.top_ngram_count(n), index.duplicated_ngram_chars(n)


@pytest.mark.parametrize("small_keys", [False, True])
def test_batch_measures_equal_ngram_index_on_random_token_lists(small_keys: bool, monkeypatch) -> None:
    if small_keys:  # the path for batches whose (document, id, id) keys would not fit in int64
        monkeypatch.setattr(batch_ngrams, "_MAX_KEY", 1000)
    rng = random.Random(17 + small_keys)
    for round_ in range(10 if small_keys else 20):
        docs = [_random_doc(rng) for _ in range(rng.randint(1, 30))]
        scheme = ("shared", "per_doc", "sparse")[round_ % 3]
        view = _view(docs, scheme, rng)
        m = ngram_measures(view, SIZES, SIZES)
        for i, words in enumerate(docs):
            index = NgramIndex(words)
            for n in SIZES:
                got = (int(m.top_chars[n][i]), int(m.top_count[n][i]), int(m.dup_chars[n][i]))
                assert got == _expected(index, n), (scheme, words, n)


def test_batch_measures_for_some_sizes_only() -> None:
    rng = random.Random(5)
    docs = [_random_doc(rng) for _ in range(40)] + [[], ["a"], ["a", "a"], ["a"] * 11]
    view = _view(docs, "shared", rng)
    m = ngram_measures(view, (4,), (3, 7))
    assert set(m.top_chars) == {4} and set(m.dup_chars) == {3, 7}
    for i, words in enumerate(docs):
        assert (int(m.top_chars[4][i]), int(m.top_count[4][i])) == _expected(words, 4)[:2]
        assert int(m.dup_chars[3][i]) == _expected(words, 3)[2]
        assert int(m.dup_chars[7][i]) == _expected(words, 7)[2]
    rows = m.rows(view.n_docs)
    assert rows[3].top_ngram_chars(4) == _expected(docs[3], 4)[0]
    assert rows[3].duplicated_ngram_chars(7) == _expected(docs[3], 7)[2]


def test_batch_measures_of_known_texts() -> None:
    # "a b a b a b": the pair "a b" three times (3 × 3 characters); its two 5-grams differ
    words = ["a", "b", "a", "b", "a", "b"]
    m = ngram_measures(_view([words, [], words[:1]], "shared", random.Random(0)), (2,), (2, 5))
    assert m.top_chars[2].tolist() == [9, 0, 0] and m.top_count[2].tolist() == [3, 0, 0]
    # scan: "a b" (new), "b a" (new), "a b" repeat +2 → skip to 4, "a b" repeat +2
    assert m.dup_chars[2].tolist() == [4, 0, 0]
    assert m.dup_chars[5].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="start at 2"):
        ngram_measures(_view([words], "shared", random.Random(0)), (1,), ())


def _result(r: FilterResult) -> tuple[object, ...]:
    signals = {k: (v.hex() if isinstance(v, float) else v) for k, v in r.signals.items()}
    return r.keep, r.reason, signals, r.skipped


def _texts(rng: random.Random) -> list[tuple[str, dict[str, object]]]:
    phrases = ["the cat sat", "on the mat", "and then", "it rained", "all day", "in Paris", "日本語の文章", "。"]
    out: list[tuple[str, dict[str, object]]] = [("", {}), ("word", {"lang": "en"})]
    for _ in range(100):
        parts = [rng.choice(phrases) for _ in range(rng.choice((1, 3, 8, 20, 60)))]
        sep = rng.choice((" ", " ", "\n", "\n\n"))
        lang = rng.choice((None, None, "en", "de", "ja", "zh-Hant", 3))
        out.append((sep.join(parts), {} if lang is None else {"lang": lang}))
    return out


PARAMS = [
    {},
    {"mode": "annotate"},
    {"ngram_min_words": 50, "short_min_repeats": 3},
    {"mode": "annotate", "ngram_min_words": 40},
    {"max_top_ngram_char_frac": {3: 0.1}, "max_dup_ngram_char_frac": {2: 0.05, 6: 0.1}, "per_lang": {"de": {}}},
    {"per_lang": {"de": {"max_top_ngram_char_frac": {2: 0.3, 5: 0.1}, "ngram_min_words": 30}}, "mode": "annotate"},
    {"max_dup_line_frac": None, "max_dup_para_frac": None, "max_dup_line_char_frac": None},
]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("cache", [True, False])
def test_check_batch_equals_check(params: dict[str, object], cache: bool) -> None:
    texts = _texts(random.Random(len(json.dumps(params, ensure_ascii=False))))
    flt = GopherRepetition(GopherRepetitionParams(**params))  # type: ignore[arg-type]
    features_mod.set_cache_enabled(cache)
    try:
        want = [_result(flt.check(Document(f"d{i}", t, dict(m)))) for i, (t, m) in enumerate(texts)]
        got = [_result(r) for r in flt.check_batch([Document(f"d{i}", t, dict(m)) for i, (t, m) in enumerate(texts)])]
    finally:
        features_mod.set_cache_enabled(True)
    assert got == want
    assert {w[1] for w in want} - {None, "empty"}, "some document should fail a rule"


class _Ctx:
    def __init__(self) -> None:
        self.dropped: list[tuple[str, str]] = []
        self.counts: dict[str, int] = {}

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, object] | None = None) -> None:
        self.dropped.append((doc.id, reason))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def test_pipeline_drops_what_check_fails() -> None:
    texts = _texts(random.Random(2))
    flt = GopherRepetition(GopherRepetitionParams(ngram_min_words=50))
    docs = [Document(f"d{i}", t, dict(m)) for i, (t, m) in enumerate(texts)]
    want = [(d.id, flt.check(d)) for d in docs]
    ctx = _Ctx()
    kept = flt.run_batch(docs, ctx)
    assert [d.id for d in kept] == [i for i, r in want if r.keep]
    assert ctx.dropped == [(i, r.reason) for i, r in want if not r.keep]
    skipped: dict[str, int] = {}
    for _, r in want:
        for rule in r.skipped:
            skipped[f"skipped_{rule}"] = skipped.get(f"skipped_{rule}", 0) + 1
    assert ctx.counts == skipped


@pytest.mark.slow
def test_batch_measures_on_the_bench_corpus(shared_data: Path, tmp_path: Path) -> None:
    """Every measure of the quality bench's corpus (19,313 documents, 3 M tokens)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.quality_bench import build_corpus
    from datacraft.text.batch import token_view
    from datacraft.text.cache import features

    docs = build_corpus(tmp_path / "corpus.jsonl", 3000, 0)
    for start in range(0, len(docs), 1000):
        feats = [features(d["text"], None) for d in docs[start : start + 1000]]
        m = ngram_measures(token_view(feats), range(2, 5), range(5, 11))
        for i, f in enumerate(feats):
            index = NgramIndex(f.words)
            for n in range(2, 5):
                assert (m.top_chars[n][i], m.top_count[n][i]) == (index.top_ngram_chars(n), index.top_ngram_count(n))
            for n in range(5, 11):
                assert m.dup_chars[n][i] == index.duplicated_ngram_chars(n)
