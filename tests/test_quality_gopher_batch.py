"""gopher_quality over a batch (counts from the batch tokenizer) decides exactly as ``check`` per document."""

from __future__ import annotations

import random

import pytest

from datacraft.document import Document
from datacraft.stages.quality.gopher import GopherQuality
from datacraft.text import cache

WORDS = [
    "the",
    "be",
    "to",
    "of",
    "and",
    "that",
    "have",
    "with",
    "a",
    "The",
    "Der",
    "die",
    "und",
    "el",
    "la",
    "que",
    "le",
    "et",
    "les",
    "de",
    "in",
    "is",
    "it's",
    "U.S.",
    "Mr.",
    "committee",
    "members",
    "discussed",
    "annual",
    "budget",
    "library",
    "bridge",
    "repairs",
    "postpone",
    "meeting",
    "patience",
    "month",
    "Ausschuss",
    "Mitglieder",
    "besprachen",
    "comité",
    "miembros",
    "discutieron",
    "presupuesto",
    "réunion",
    "bibliothèque",
]
SYMBOLS = ["...", "#", "-", "•", "…"]


def _docs(n: int) -> list[Document]:
    rng = random.Random(11)
    langs = (None, "en", "de", "fr", "es", "ja", "zh", "ru", "xx")
    out = []
    for i in range(n):
        k = rng.choice((5, 40, 80, 150))
        words = [
            rng.choice(SYMBOLS) if rng.random() < 0.04 else rng.choice(WORDS) + rng.choice(("",) * 12 + (",", "."))
            for _ in range(k)
        ]
        text = " ".join(words).replace(". ", ".\n", rng.randint(0, 5))
        lang = rng.choice(langs)
        out.append(Document(f"d{i}", text, {} if lang is None else {"lang": lang}))
    # one text object in documents of different languages (segmented per language with the cache off)
    poem = "《忆秦娥・娄山关》\n毛泽东 一九三五年二月\n西风烈，\n长空雁叫霜晨月。\n霜晨月，\n马蹄声碎，\n喇叭声咽。" * 3
    for j, lang in enumerate(("zh-cn", None, "ja", "zh-cn")):
        out.insert(7 * j, Document(f"poem{j}", poem, {} if lang is None else {"lang": lang}))
    return out


class _Ctx:
    def __init__(self) -> None:
        self.drops: list[tuple[str, str, dict]] = []

    def drop(self, doc: Document, stage: str, reason: str, signals: dict | None = None) -> None:
        self.drops.append((doc.id, reason, dict(signals or {})))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        pass


@pytest.mark.parametrize("cache_on", [True, False])
@pytest.mark.parametrize("mode", ["filter", "annotate"])
def test_batch_decisions_equal_per_document_check(cache_on: bool, mode: str) -> None:
    docs = _docs(120)
    # per document, in order (each text in each language its own features, cache on or off)
    cache.set_cache_enabled(cache_on)
    stage = GopherQuality(GopherQuality.Params(mode=mode))
    expected = [stage.check(Document(d.id, d.text, dict(d.meta))) for d in docs]
    cache.set_cache_enabled(cache_on)  # cleared
    try:
        ctx = _Ctx()
        batch = [Document(d.id, d.text, dict(d.meta)) for d in docs]
        kept = stage.process_batch(batch, ctx)  # type: ignore[arg-type]
    finally:
        cache.set_cache_enabled(True)
    if mode == "annotate":
        assert len(kept) == len(docs)
        for d, r in zip(kept, expected, strict=True):
            assert {k: d.meta[k] for k in r.signals} == r.signals
            assert d.meta["gopher_quality_drop_reason"] == (None if r.keep else r.reason)
    else:
        assert [d.id for d in kept] == [d.id for d, r in zip(docs, expected, strict=True) if r.keep]
        assert ctx.drops == [(d.id, r.reason, r.signals) for d, r in zip(docs, expected, strict=True) if not r.keep]
    assert any(r.keep for r in expected) and not all(r.keep for r in expected)


@pytest.mark.parametrize("field", ["max_top_ngram_char_frac", "max_dup_ngram_char_frac"])
@pytest.mark.parametrize("size", [0, 1])
def test_ngram_sizes_below_two_are_a_config_error(field: str, size: int) -> None:
    from pydantic import ValidationError

    from datacraft.stages.quality.gopher import GopherRepetitionParams

    with pytest.raises(ValidationError, match="n-gram sizes start at 2"):
        GopherRepetitionParams(**{field: {size: 0.2, 3: 0.1}})
    assert GopherRepetitionParams(**{field: {2: 0.2}})  # the smallest size still accepted
