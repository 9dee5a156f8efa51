"""The filtering pipeline's shortcuts decide exactly as ``check`` does (issue 17).

In ``mode: filter`` a kept document's signals are not written anywhere, so ``fineweb_quality``
bounds a passing list ratio by newlines per whitespace chunk instead of tokenizing; C4 counts a
line's words only for the rules that need them and tests all policy phrases with one search.
"""

from __future__ import annotations

from datacraft.document import Document
from datacraft.stages.quality.c4 import C4, C4Params
from datacraft.stages.quality.fineweb import FineWebParams, FineWebQuality
from datacraft.text import cache


class Ctx:
    def __init__(self) -> None:
        self.drops: dict[str, tuple[str, dict[str, object]]] = {}
        self.counts: dict[str, int] = {}

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, object] | None = None) -> None:
        self.drops[doc.id] = (reason, dict(signals or {}))

    def count(self, stage: str, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


PROSE = "\n".join(
    f"Line {i} of a report says that the harvest was {w} this year, as the farmers expected."
    for i, w in enumerate(["good", "poor", "late", "early", "fine", "small"])
)
TEXTS = {
    "prose": PROSE,
    # one chunk per line: the chunk bound (1 newline per chunk) is inconclusive, the exact ratio fails
    "list_fails": "\n".join(f"Supercalifragilisticexpialidocious{i}." for i in range(12)),
    # three chunks per line (bound 1/3 > 0.3), many tokens each: the exact ratio passes
    "list_passes": "\n".join(f"alpha-beta-gamma-{i}, delta-epsilon-zeta, eta-theta-iota-kappa." for i in range(12)),
    "cjk": "\n".join(f"今天的天气很好，我们去公园散步第{i}次。" for i in range(8)),
    "short_lines": "\n".join(f"Yes {i}." for i in range(10)),
    "blank": "  \n \n",
}


def test_fineweb_pipeline_decides_and_drops_like_check() -> None:
    for cached in (True, False):
        cache.set_cache_enabled(cached)
        try:
            for params in (FineWebParams(), FineWebParams(max_list_ratio=0.05), FineWebParams(per_lang={"zh": {}})):
                flt = FineWebQuality(params)
                for lang in (None, "zh", "th"):
                    docs = [Document(k, t, {} if lang is None else {"lang": lang}) for k, t in TEXTS.items()]
                    ctx = Ctx()
                    kept = {d.id for d in flt.process_batch(docs, ctx)}
                    for doc in docs:
                        want = flt.check(doc)
                        assert (doc.id in kept) == want.keep, (doc.id, lang)
                        if not want.keep:
                            assert ctx.drops[doc.id] == (want.reason, want.signals)
                    if lang == "th":  # the skipped rule is counted per document, as before
                        assert ctx.counts["skipped_line_punct_ratio:th"] == len(docs)
        finally:
            cache.set_cache_enabled(True)
    ctx = Ctx()
    FineWebQuality().process_batch([Document("l", TEXTS["list_fails"], {})], ctx)
    assert ctx.drops["l"][0] == "list_ratio"


def test_c4_policy_phrases_are_literal_text() -> None:
    flt = C4(C4Params(policy_substrings=["a.b", "(x)"], min_num_sentences=0))
    out = flt.evaluate("See a.b for more.\nSee axb for more.\nRead (x) now please.\nRead x now please.")
    assert out.text == "See axb for more.\nRead x now please."
    assert out.removed["policy"] == 2
    assert C4(C4Params(policy_substrings=[], min_num_sentences=0)).evaluate("Our privacy policy is here.").text


def test_c4_word_count_uses_the_line_before_citations_are_cut() -> None:
    flt = C4(C4Params(min_num_sentences=0))
    assert flt.evaluate("One [1] two.").text == "One  two."  # three words counted, then the marker cut
    assert flt.evaluate("One two.").text == ""
    assert C4(C4Params(min_num_sentences=0, min_words_per_line=1)).evaluate("Two.").text == "Two."
    assert C4(C4Params(min_num_sentences=0, min_words_per_line=0)).evaluate(".").text == "."
