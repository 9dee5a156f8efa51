"""Text features per (text, language) and gopher_quality batches without shared state.

One text object met with two languages gets each language's features, as computed alone, whatever
the order; a gopher_quality batch run inside another's (or in another thread) leaves the outer
batch's tokenization and decisions as they are run one after another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from datacraft.document import Document
from datacraft.stages.base import Filter
from datacraft.stages.quality.fineweb import FineWebQuality
from datacraft.stages.quality.gopher import GopherQuality, GopherRepetition
from datacraft.text import cache
from datacraft.text.words import split_words

#: Han without Kana: Japanese (MeCab) and Chinese (jieba) segment it differently.
HAN = "中华人民共和国宪法是国家的根本法，具有最高的法律效力。\n全国各族人民都必须以宪法为根本的活动准则。\n" * 3
LATIN = (
    "The committee members discussed the annual budget of the library and the bridge repairs, and "
    "that they have to postpone the meeting with patience until next month. "
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.set_cache_enabled(True)
    yield
    cache.set_cache_enabled(True)


def _alone(stage_cls: type[Filter], doc: Document) -> tuple:
    """The annotate-mode result of ``doc`` checked by a new stage in a fresh cache (as a fresh process)."""
    cache.set_cache_enabled(True)
    r = stage_cls(stage_cls.Params(mode="annotate")).check(Document(doc.id, doc.text, dict(doc.meta)))
    return r.keep, r.reason, r.signals, r.skipped


def test_one_text_in_two_languages_has_features_per_language() -> None:
    ja, zh = split_words(HAN, "ja"), split_words(HAN, "zh")
    assert ja != zh  # the premise: the language decides the words
    for first, second in (("ja", "zh"), ("zh", "ja")):
        cache.set_cache_enabled(True)
        f1, f2 = cache.features(HAN, first), cache.features(HAN, second)
        assert f1 is not f2 and cache.features(HAN, first) is f1  # still cached per language
        assert f1.words == split_words(HAN, first) and f2.words == split_words(HAN, second)
        assert cache.features(HAN, None).words == split_words(HAN, None)


@pytest.mark.parametrize("stage_cls", [GopherQuality, GopherRepetition, FineWebQuality])
@pytest.mark.parametrize("size", [2, 40])  # 40: gopher_quality counts from the batch tokenizer
def test_same_text_two_languages_in_one_batch_decide_as_alone(stage_cls: type[Filter], size: int) -> None:
    docs = [Document("ja", HAN, {"lang": "ja"}), Document("zh", HAN, {"lang": "zh"})]
    docs += [Document(f"l{i}", LATIN * (1 + i % 3), {"lang": "en"}) for i in range(size - 2)]
    want = [_alone(stage_cls, d) for d in docs]
    assert want[0] != want[1]  # the premise: the two languages' signals differ
    for order in (docs, docs[::-1]):
        cache.set_cache_enabled(True)
        stage = stage_cls(stage_cls.Params(mode="annotate"))
        got = stage.check_batch([Document(d.id, d.text, dict(d.meta)) for d in order])
        assert {d.id: (r.keep, r.reason, r.signals, r.skipped) for d, r in zip(order, got, strict=True)} == {
            d.id: w for d, w in zip(docs, want, strict=True)
        }


class _NestingMeta(dict):
    """A document's meta whose ``lang`` read, the ``at``-th time, runs ``inner`` (a batch inside the batch)."""

    def __init__(self, *args: object, at: int, inner: object) -> None:
        super().__init__(*args)
        self.reads, self.at, self.inner = 0, at, inner

    def get(self, key: str, default: object = None) -> object:
        if key == "lang":
            self.reads += 1
            if self.reads == self.at:
                self.inner()  # type: ignore[operator]
        return super().get(key, default)


def _batch(n: int, tag: str) -> list[Document]:
    words = LATIN.split()
    return [Document(f"{tag}{i}", " ".join(words[i % 7 :] + words[: i % 5 + 1] * (i % 4)), {}) for i in range(n)]


def _results(stage: GopherQuality, docs: list[Document]) -> list[tuple]:
    return [(r.keep, r.reason, r.signals) for r in stage.check_batch(docs)]


def test_gopher_quality_batch_inside_another_keeps_the_outer_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    cache.set_cache_enabled(False)  # every features() call makes new features: the batch's are only its own
    outer, inner = _batch(40, "o"), _batch(40, "i")
    stage, other = GopherQuality(GopherQuality.Params(mode="annotate")), GopherQuality()
    want_outer, want_inner = _results(stage, outer), _results(other, inner)
    got_inner: list[list[tuple]] = []
    # the second read of document 10's lang happens while the outer batch is being checked
    outer[10].meta = _NestingMeta(at=2, inner=lambda: got_inner.append(_results(other, inner)))
    calls = []
    real = cache.split_words
    monkeypatch.setattr(cache, "split_words", lambda *a: calls.append(a) or real(*a))
    assert _results(stage, outer) == want_outer
    assert got_inner == [want_inner]
    assert calls == []  # every outer document counted from its batch's tokens, none tokenized again alone


def test_gopher_quality_batches_in_threads_decide_as_sequential() -> None:
    cache.set_cache_enabled(False)
    batches = [_batch(40, f"t{k}") for k in range(2)]
    stages = [GopherQuality(GopherQuality.Params(mode="annotate")) for _ in batches]
    want = [_results(s, b) for s, b in zip(stages, batches, strict=True)]
    got: list[list[list[tuple]]] = [[], []]

    def work(k: int) -> None:
        for _ in range(5):
            got[k].append(_results(stages[k], batches[k]))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [[want[0]] * 5, [want[1]] * 5]
