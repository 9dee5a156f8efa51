"""The shared word tokenizer: one compiled regex, no per-document model, cached per text.

Splits roughly as spaCy's English tokenizer does (the tokenizer datatrove's quality filters
use): punctuation is split off words (``"(hello)!"`` → ``( hello ) !``), contractions are split
(``didn't`` → ``did n't``), while URLs, e-mail addresses, numbers such as ``3.14``/``1,000`` and
dotted abbreviations such as ``U.S.`` or ``Mr.`` stay whole. Scripts written without spaces are
split where the rules count words: each Han, Hiragana or Katakana character is a word, and Thai,
Lao, Khmer and Myanmar text is split into orthographic syllables (a base letter with its marks).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACELESS = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # kana
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
)
_SYLLABIC = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_WORD = rf"[^\W{_SPACELESS}]"  # a word character of a script written with spaces
_TITLES = (
    "Mr|Mrs|Ms|Dr|Prof|Jr|Sr|St|Mt|Ft|vs|etc|Inc|Ltd|Co|Corp|Gen|Gov|Sen|Rep|Rev|Sgt|Capt|Lt|Col|Hon|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|approx|dept|est|fig|no|vol"
)
_CONTRACTION = r"['’](?:s|S|re|RE|ve|VE|ll|LL|d|D|m|M)(?!\w)"

TOKEN_RE = re.compile(
    "|".join(
        [
            r"(?:https?://|www\.)[^\s<>\"']+?(?=[.,;:!?)\]]*(?:\s|$))",  # URL, without trailing punctuation
            r"[\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+",  # e-mail
            rf"(?:{_WORD}\.){{2,}}",  # U.S., e.g.
            rf"(?:{_TITLES})\.(?=\s)",  # Mr. Smith
            rf"{_WORD}+(?=n['’]t(?!\w))",  # did|n't
            r"n['’]t(?!\w)",
            rf"{_WORD}+(?:['’]{_WORD}+)*?(?={_CONTRACTION})",  # it|'s
            _CONTRACTION,
            r"\d+(?:[.,:]\d+)+",  # 3.14 1,000 10:30
            rf"{_WORD}+(?:['’]{_WORD}+)*",  # words, rock'n'roll, O'Neil
            rf"[{_SYLLABIC}][\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd]*",
            rf"[{_SPACELESS}]",  # one Han/kana character
            r"\.{2,}|…+|-{2,}",  # ellipses, dashes
            r"[^\w\s]",  # any other symbol, one at a time
        ]
    )
)

_CACHE: dict[str, list[str]] = {}
_CACHE_MAX = 4096


def split_words(text: str) -> list[str]:
    """Words and punctuation tokens of ``text`` (see the module docstring)."""
    return TOKEN_RE.findall(text)


def words(text: str) -> list[str]:
    """:func:`split_words`, cached for the last few thousand texts so chained filters tokenize once.

    The returned list is shared: callers must not modify it.
    """
    cached = _CACHE.get(text)
    if cached is None:
        cached = TOKEN_RE.findall(text)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[text] = cached
    return cached


@lru_cache(maxsize=1 << 16)
def is_symbol(token: str) -> bool:
    """True when every character is punctuation, a symbol or a control character."""
    return all(unicodedata.category(c)[0] in "PSC" for c in token)


@lru_cache(maxsize=1 << 16)
def is_punct(token: str) -> bool:
    """True when every character is punctuation (Unicode category P*)."""
    return all(unicodedata.category(c)[0] == "P" for c in token)


@lru_cache(maxsize=1 << 16)
def has_alpha(token: str) -> bool:
    """True when the token contains an alphabetic character."""
    return any(c.isalpha() for c in token)
