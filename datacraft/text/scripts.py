"""Scripts of a text and word segmentation of the space-less ones (Chinese, Japanese, Thai).

Spaced scripts (Latin, Cyrillic, Greek, Arabic, Hebrew, Indic, Hangul, …) are cut by the
shared regular expression of :mod:`datacraft.text.words`, whose word characters include the
combining marks (Devanagari vowel signs and virama, Vietnamese tone marks, Thai vowels) so that
marks always stay inside their word. Runs of Han/Kana and of Thai letters go to dictionary
segmenters from well-kept libraries, imported only when such a run first appears:

- Japanese (the document has Hiragana or Katakana, or ``lang`` says ``ja``): ``fugashi`` with the
  ``unidic-lite`` dictionary (MeCab; short unit words as in UniDic);
- Chinese (other Han text): ``rjieba`` (Rust jieba-rs, the jieba dictionary and HMM);
- Thai: ``pythainlp``'s ``newmm`` (maximal matching on its bundled dictionary).

Where a library is not installed, runs fall back to the built-in approximation (one word per
Han/Kana character, Thai cut before leading vowels), so results never depend on the network.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

#: Han ideographs, iteration marks, Hiragana, Katakana (with the prolonged sound mark), halfwidth Katakana.
HAN_KANA = (
    "\u3005\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
KANA = "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
THAI = "\u0e01-\u0e3a\u0e40-\u0e4e"  # Thai letters, vowels and marks (not Thai digits or ฯ ๆ ๏ ๚ ๛ punctuation)

_SPACELESS_RUN = re.compile(f"([{HAN_KANA}]+|[{THAI}]+)")
_HAS_SPACELESS = re.compile(f"[{HAN_KANA}{THAI}]")
_HAS_KANA = re.compile(f"[{KANA}]")
_HAS_THAI = re.compile(f"[{THAI}]")

Segmenter = Callable[[str], list[str]]


def has_spaceless(text: str) -> bool:
    """True when ``text`` has a Han, Kana or Thai character (it needs a dictionary segmenter)."""
    return _HAS_SPACELESS.search(text) is not None


def spaceless_runs(text: str) -> list[str]:
    """``text`` split into alternating pieces: other text, a Han/Kana or Thai run, other text, …"""
    return _SPACELESS_RUN.split(text)


def is_japanese(text: str, lang: object = None) -> bool:
    """Japanese when ``lang`` says so, or (no ``lang``) when the text has any Kana."""
    if isinstance(lang, str) and lang:
        return lang.lower().startswith("ja")
    return _HAS_KANA.search(text) is not None


def is_thai_run(run: str) -> bool:
    """True for a run of Thai letters (as cut by :func:`spaceless_runs`)."""
    return _HAS_THAI.match(run) is not None


@lru_cache(maxsize=1)
def chinese_segmenter() -> Segmenter | None:
    """rjieba's ``cut`` (accurate mode with HMM), or None when rjieba is not installed."""
    try:
        import rjieba
    except ImportError:
        return None
    return rjieba.cut


@lru_cache(maxsize=1)
def japanese_segmenter() -> Segmenter | None:
    """fugashi (MeCab + unidic-lite) surface forms, or None when either is not installed."""
    try:
        import fugashi
        import unidic_lite  # noqa: F401  (the dictionary fugashi.Tagger finds by default)
    except ImportError:
        return None
    tagger = fugashi.Tagger()

    def cut(text: str) -> list[str]:
        return [w.surface for w in tagger(text)]

    return cut


@lru_cache(maxsize=1)
def thai_segmenter() -> Segmenter | None:
    """pythainlp's ``newmm`` word tokenizer, or None when pythainlp is not installed."""
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError:
        return None

    def cut(text: str) -> list[str]:
        return word_tokenize(text, engine="newmm", keep_whitespace=False)

    return cut


def segment_run(run: str, japanese: bool) -> list[str] | None:
    """Words of one Han/Kana or Thai run, or None when no segmenter is installed for it."""
    seg = thai_segmenter() if is_thai_run(run) else japanese_segmenter() if japanese else chinese_segmenter()
    if seg is None:
        return None
    return [w for w in seg(run) if w and not w.isspace()]


def is_mark(char: str) -> bool:
    """True for combining marks (Unicode M*): they belong to the letter before them."""
    return unicodedata.category(char)[0] == "M"


def count_letters(text: str) -> int:
    """Letters and combining marks in ``text`` (what a script's words are made of)."""
    return sum(1 for c in text if c.isalpha() or unicodedata.category(c)[0] == "M")
