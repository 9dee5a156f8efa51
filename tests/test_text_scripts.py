"""Word segmentation by script: marks inside words, dictionary segmenters for CJK and Thai, fast path."""

from __future__ import annotations

import pytest

from datacraft.text import split_words
from datacraft.text.scripts import (
    chinese_segmenter,
    count_letters,
    has_spaceless,
    is_japanese,
    japanese_segmenter,
    spaceless_runs,
    thai_segmenter,
)


def test_marks_stay_inside_indic_and_vietnamese_words() -> None:
    assert split_words("मानव अधिकारों की सार्वभौम घोषणा") == ["मानव", "अधिकारों", "की", "सार्वभौम", "घोषणा"]
    assert split_words("মানবাধিকারের সার্বজনীন ঘোষণা") == ["মানবাধিকারের", "সার্বজনীন", "ঘোষণা"]
    # decomposed (NFD) Vietnamese: the combining tone marks stay in the word
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Tuyên ngôn Quốc tế Nhân quyền")
    assert [unicodedata.normalize("NFC", w) for w in split_words(nfd)] == [
        "Tuyên",
        "ngôn",
        "Quốc",
        "tế",
        "Nhân",
        "quyền",
    ]


def test_count_letters_counts_marks() -> None:
    assert count_letters("की") == 2  # letter + vowel sign
    assert count_letters("a1 b!") == 2


def test_runs_and_script_detection() -> None:
    assert not has_spaceless("plain English, Русский, हिन्दी")
    assert has_spaceless("abc 中文") and has_spaceless("ภาษาไทย")
    assert spaceless_runs("abc 中文。x") == ["abc ", "中文", "。x"]
    assert is_japanese("漢字とかな") and not is_japanese("汉字")
    assert is_japanese("漢字", lang="ja") and not is_japanese("漢字です", lang="zh-cn")


@pytest.mark.skipif(chinese_segmenter() is None, reason="rjieba not installed")
def test_chinese_words_come_from_the_dictionary() -> None:
    words = split_words("我爱北京天安门。今天天气很好")
    assert "北京" in words and "天安门" in words and "。" in words
    assert "".join(w for w in words if w != "。") == "我爱北京天安门今天天气很好"


@pytest.mark.skipif(japanese_segmenter() is None, reason="fugashi/unidic-lite not installed")
def test_japanese_words_come_from_mecab() -> None:
    words = split_words("私は東京大学で日本語を勉強しています。")
    assert "東京" in words and "日本" in words and "を" in words and words[-1] == "。"
    assert len(words) < len("私は東京大学で日本語を勉強しています。")


@pytest.mark.skipif(thai_segmenter() is None, reason="pythainlp not installed")
def test_thai_words_come_from_newmm() -> None:
    assert split_words("ฉันรักภาษาไทยมาก") == ["ฉัน", "รัก", "ภาษาไทย", "มาก"]  # I love Thai very much


def test_mixed_text_keeps_latin_tokens_around_cjk_runs() -> None:
    words = split_words("Python 3.12 版本 released, e-mail: a@b.com")
    assert words[:2] == ["Python", "3.12"]
    assert words[-7:] == ["released", ",", "e", "-", "mail", ":", "a@b.com"]
    assert "".join(words[2:-7]) == "版本"
