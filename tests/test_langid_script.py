"""langid: letters counted with combining marks, the CJK decision from scripts, rescoring of samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from datacraft.langid import make_engine
from datacraft.langid.engines import Detection
from datacraft.langid.fast import FastEngine
from datacraft.langid.script import (
    HAN_SIMPLIFIED,
    HAN_TRADITIONAL,
    HANGUL,
    KANA,
    letter_count,
    refine_cjk,
    ruled_out,
    script_counts,
)
from datacraft.stages.langid import LangId, LangIdParams

FIXTURES = Path(__file__).parent / "data" / "langid" / "udhr_scripts.jsonl"
SCRIPTS = {r["lang"]: r["text"] for r in map(json.loads, FIXTURES.read_text(encoding="utf-8").splitlines())}
UDHR = Path(__file__).resolve().parents[2] / "shared" / "data" / "langid" / "udhr_55.jsonl"

# UDHR article 1 in Traditional Chinese: langdetect's profiles call it Korean (the Korean profile is rich in Hanja).
ZH_TW = "人人生而自由，在尊嚴和權利上一律平等。他們賦有理性和良心，並應以兄弟關係的精神相對待。"
ZH_CN = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"


@pytest.mark.parametrize(
    ("text", "letters"),
    [
        ("मानव अधिकारों की", 14),  # vowel signs and the virama are letters (\w split them off: 8)
        ("মানবাধিকার", 10),  # Bengali
        ("Tiếng Việt", 9),  # precomposed
        ("Tie\u0302\u0301ng Vie\u0323\u0302t", 13),  # decomposed: base letters and combining marks
        ("abc 123 _ !?", 3),
        ("x" * 100 + " 1", 100),  # the ASCII fast path
        ("人人生而自由", 6),
    ],
)
def test_letter_count_keeps_combining_marks(text: str, letters: int) -> None:
    assert letter_count(text) == letters


def test_bengali_sentences_are_not_undetermined() -> None:
    sentence = "প্রত্যেকের জীবন, স্বাধীনতা ও নিরাপত্তার অধিকার আছে"  # 11 letters for \w without marks? far more here
    assert letter_count(sentence) > 30
    short = "সকলেই আইনের চোখে সমান"  # "all are equal before the law": 17 letters with marks
    assert letter_count(short) >= 10
    det = LangId(LangIdParams()).detect([short])[0]
    assert det.lang == "bn"


def test_script_counts_classes() -> None:
    counts = script_counts("한국어 ひらがな カタカナ 這们人")
    assert counts[HANGUL] == 3 and counts[KANA] == 8
    assert counts[HAN_TRADITIONAL] == 1 and counts[HAN_SIMPLIFIED] == 1
    assert script_counts("ー・")[KANA] == 0  # used in Chinese text too: not evidence of Japanese


@pytest.mark.parametrize(
    ("text", "out"),
    [
        (ZH_TW, {"ko", "ja", "zh-cn"}),
        (ZH_CN, {"ko", "ja", "zh-tw"}),
        ("人人生而自由", {"ko", "ja"}),  # shared characters only: either Chinese
        ("すべての人間は、生まれながらにして自由であり", {"ko", "zh-cn", "zh-tw"}),
        ("모든 인간은 태어날 때부터 자유로우며 人間", {"ja", "zh-cn", "zh-tw"}),
        ("hello", {"ko", "ja", "zh-cn", "zh-tw"}),
    ],
)
def test_ruled_out(text: str, out: set[str]) -> None:
    assert ruled_out(script_counts(text)) == out


def test_traditional_chinese_is_not_korean() -> None:
    raw = make_engine("fast", script=False).detect([ZH_TW])[0]
    refined = make_engine("fast").detect([ZH_TW])[0]
    assert raw.lang == "ko"  # what the profiles alone say
    assert refined.lang == "zh-tw" and refined.score > max(0.9, raw.score)
    assert make_engine("fast").detect([ZH_CN])[0].lang == "zh-cn"
    for lang in ("ja", "ko", "zh-cn"):
        assert make_engine("fast").detect([SCRIPTS[lang]])[0].lang == lang


def test_reference_engine_can_use_script_evidence() -> None:
    assert make_engine("langdetect", script=True).detect([ZH_TW])[0].lang == "zh-tw"


def test_refine_keeps_a_detection_it_would_empty() -> None:
    langs = ("en", "ko")
    det = Detection("ko", 1.0, np.array([0.0, 1.0]))
    assert refine_cjk(["plain latin"], [det], langs, 100)[0] is det  # no other language to fall back on
    other = Detection("en", 0.9, np.array([0.9, 0.1]))
    assert refine_cjk(["plain latin"], [other], langs, 100)[0] is other  # top not CJK: untouched


def test_sampled_texts_below_the_threshold_are_rescored_on_the_whole_text() -> None:
    # A long English page whose middle is German: the windows decide for one language with low confidence.
    de = " ".join([SCRIPTS["de"]] * 6)
    en = " ".join([SCRIPTS["en"]] * 6)
    text = en + " " + de + " " + en
    whole = FastEngine(sample_chars=0).detect([text])[0]
    never = FastEngine(sample_chars=600, rescore_below=0.0).detect([text])[0]
    always = FastEngine(sample_chars=600, rescore_below=1.01).detect([text])[0]
    assert (always.lang, always.score) == (whole.lang, whole.score)
    assert np.array_equal(always.probs, whole.probs)
    assert never.probs is not None and not np.array_equal(never.probs, whole.probs)


def test_stage_passes_script_and_rescore() -> None:
    s = LangId(LangIdParams(script=False, rescore_below=0.5))
    s.ensure_setup()
    assert s._engine.script is False and s._engine.rescore_below == 0.5
    assert LangId(LangIdParams()).detect([ZH_TW])[0].lang == "zh-tw"


@pytest.mark.skipif(not UDHR.exists(), reason="needs ../shared/data/langid/udhr_55.jsonl")
def test_udhr_cjk_and_bengali_with_stage_defaults() -> None:
    rows = [json.loads(line) for line in UDHR.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["lang"] in ("zh-tw", "zh-cn", "ja", "ko", "bn")]
    dets = LangId(LangIdParams()).detect([r["text"] for r in rows])
    wrong = [(r["lang"], d.lang) for r, d in zip(rows, dets, strict=True) if d.lang != r["lang"]]
    assert len(wrong) <= 2, wrong


def test_script_settled_cjk_is_not_dropped_for_low_score() -> None:
    from datacraft.document import Document

    mixed = "インストールするには apt-get install foo を実行します。"  # ja, but scored ~0.05 (mixed n-grams)
    s = LangId(LangIdParams(min_score=0.99))
    det = s.detect([mixed])[0]
    assert det.lang == "ja" and det.score < 0.99
    assert s.check(Document("d", mixed, {})).keep
    strict = LangId(LangIdParams(min_score=0.99, cjk_min_share=1.0))
    assert strict.check(Document("d", mixed, {})).reason == "lang_low_score"
