"""length: character bounds scaled per language, so CJK articles of normal length are kept (issue 13)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from datacraft.document import Document
from datacraft.stages.length import Length, LengthParams

UDHR = Path(__file__).resolve().parents[1] / "data" / "sample" / "udhr-55.jsonl.gz"


def _keeps(stage: Length, text: str, lang: str | None) -> bool:
    return stage.check(Document(id="d", text=text, meta={} if lang is None else {"lang": lang})).keep


def test_cjk_min_chars_is_scaled() -> None:
    stage = Length(LengthParams(min_chars=200))
    zh = "人人生而自由，在尊严和权利上一律平等。" * 3  # 57 characters: about 200 in English
    assert _keeps(stage, zh, "zh-cn") and _keeps(stage, zh, "zh-tw")
    assert not _keeps(stage, zh, None) and not _keeps(stage, zh, "en")
    assert not _keeps(stage, zh[:30], "zh-cn")  # still too short
    assert not _keeps(Length(LengthParams(min_chars=200, lang_defaults=False)), zh, "zh-cn")
    assert not _keeps(Length(LengthParams(min_chars=200, per_lang={"zh": {"min_chars": 100}})), zh, "zh-cn")
    assert not _keeps(stage, "a" * 199, "fr") and _keeps(stage, "a" * 200, "fr")  # other languages: unchanged


def test_max_chars_is_scaled() -> None:
    stage = Length(LengthParams(max_chars=100))
    assert not _keeps(stage, "権" * 50, "ja") and _keeps(stage, "権" * 43, "ja")


@pytest.mark.skipif(not UDHR.exists(), reason="bundled UDHR sample missing")
def test_udhr_cjk_articles_kept_like_english() -> None:
    codes = {"eng": "en", "cmn_hans": "zh-cn", "cmn_hant": "zh-tw", "jpn": "ja", "kor": "ko"}
    stage = Length(LengthParams(min_chars=200))  # pipelines/multilingual.yaml
    kept = dict.fromkeys(codes, 0)
    with gzip.open(UDHR, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            code = row["id"].split(":")[1]
            if code in codes:
                kept[code] += _keeps(stage, row["text"], codes[code])
    for code in codes:  # 31 texts each; English keeps 17 (was zh 1, ja 6, ko 6)
        assert abs(kept[code] - kept["eng"]) <= 3, kept
