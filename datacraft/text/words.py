"""The shared word tokenizer: compiled regexes and a fast path, no per-document model, cached per text.

Splits as spaCy's English tokenizer mostly does (the tokenizer datatrove's quality filters use):
punctuation is split off words (``"(hello)!"`` → ``( hello ) !``), contractions are split
(``didn't`` → ``did n't``), while URLs, e-mail addresses, numbers such as ``3.14``/``1,000`` and
abbreviations such as ``U.S.``, ``Mr.`` or initials stay whole.

Scripts written without spaces are split where the rules count words (``split_spaceless=True``,
the default): each Han, Hiragana or Katakana character is a word, and Thai, Lao, Khmer and
Myanmar text is split into letters with their combining marks. With ``split_spaceless=False``
a run of such characters is one token, as spaCy's English tokenizer has it.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex

_SPACELESS = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # kana
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
)
_SYLLABIC = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_TITLES = (
    "Mr|Mrs|Ms|Dr|Prof|Jr|Sr|St|Mt|Ft|vs|Inc|Ltd|Co|Corp|Gen|Gov|Sen|Rep|Rev|Sgt|Capt|Lt|Col|Hon|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|approx|dept|est|fig|no|vol"
)
_CONTRACTION = r"['’](?:s|S|re|RE|ve|VE|ll|LL|d|D|m|M)(?!\w)"
_NT_WORDS = "do|does|did|could|would|should|is|are|was|were|has|have|had|ca|wo|ai|must|need|might|dare"


def _token_regex(split_spaceless: bool) -> regex.Pattern[str]:
    word = rf"[^\W{_SPACELESS}]" if split_spaceless else r"\w"
    spaceless = (
        [
            rf"[{_SYLLABIC}][\p{{M}}]*",  # Thai, Lao, Khmer, Myanmar: a letter with its marks
            rf"[{_SPACELESS}]",  # one Han/kana character
        ]
        if split_spaceless
        else []
    )
    return regex.compile(
        "|".join(
            [
                r"(?:https?://|www\.)[^\s<>\"']+?(?=[.,;:!?)\]]*(?:\s|$))",  # URL, without trailing punctuation
                rf"(?:{word}\.){{2,}}",  # U.S., e.g.
                rf"(?<!\w)(?:{_TITLES})\.(?=\s|$)",  # Mr. Smith
                r"(?<!\w)[A-Za-z]\.(?=\s|$)",  # initials: F. H. Wales
                rf"(?<!\w)(?i:{_NT_WORDS})(?=nt(?!\w))",  # couldnt → could|nt, as spaCy
                r"(?<!\w)(?i:can)(?=not(?!\w))",  # cannot → can|not
                r"(?<!\w)(?i:gon|wan)(?=na(?!\w))|(?<!\w)(?i:got)(?=ta(?!\w))",  # gonna → gon|na
                # The common case, tried early: a plain word ending at a space or at simple punctuation.
                rf"{word}+(?=[\s;!?()\[\]{{}}\"]|[.,:](?!\w)|$)",
                r"[\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+",  # e-mail
                rf"{word}+(?=n['’]t(?!\w))",  # did|n't
                r"n['’]t(?!\w)",
                r"(?<=\w)nt(?!\w)|(?<=\w)na(?!\w)|(?<=\w)ta(?!\w)",
                rf"{word}+?(?:['’]{word}+)*?(?={_CONTRACTION})",  # it|'s
                _CONTRACTION,
                r"\d+(?:[.,:]\d+)+",  # 3.14 1,000 10:30
                rf"@?{word}+(?:(?:['’]|\.(?=[^\W\d_A-Z]))@?{word}+)*",  # words, rock'n'roll, O'Neil, site.example.pl
                *spaceless,
                r"\.{2,}|…+|-{2,}",  # ellipses, dashes
                r"[^\w\s]",  # any other symbol, one at a time
            ]
        )
    )


def _special_splits() -> dict[str, list[str]]:
    """Letter-only words that spaCy splits: couldnt → could nt, cannot → can not, gonna → gon na."""
    base = {w + "nt": (w, "nt") for w in _NT_WORDS.split("|")}
    base.update({"cannot": ("can", "not"), "gonna": ("gon", "na"), "gotta": ("got", "ta"), "wanna": ("wan", "na")})
    out: dict[str, list[str]] = {}
    for word, (a, b) in base.items():
        out[word] = [a, b]
        out[word.title()] = [a.title(), b]
        out[word.upper()] = [a.upper(), b.upper()]
    return out


_SPECIAL = _special_splits()
#: Words whose final "." stays attached: titles and single-letter initials.
_KEEP_DOT = frozenset(_TITLES.split("|")) | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_OPEN = frozenset('("[')
_CLOSE = frozenset(',;:!?)"]')
_CACHE_MAX = 4096


class Tokenizer:
    """Splits text into words and punctuation tokens (see the module docstring)."""

    def __init__(self, split_spaceless: bool = True) -> None:
        self.split_spaceless = split_spaceless
        self.regex = _token_regex(split_spaceless)
        spaceless = regex.compile(f"[{_SPACELESS}]").search
        self._spaceless = spaceless if split_spaceless else (lambda _s: None)
        self._cache: dict[str, list[str]] = {}

    def split(self, text: str) -> list[str]:
        """The tokens of ``text``.

        Whitespace-separated chunks that are letters and digits, possibly with simple punctuation
        around them, are split directly (most of them); the others go through the regex.
        """
        out: list[str] = []
        append = out.append
        extend = out.extend
        findall = self.regex.findall
        special = _SPECIAL
        spaceless = self._spaceless
        keep_dot = _KEEP_DOT
        for chunk in text.split():
            if chunk.isalnum():
                if chunk.isascii() or not spaceless(chunk):
                    parts = special.get(chunk)
                    if parts is None:
                        append(chunk)
                    else:
                        extend(parts)
                    continue
            else:
                # Peel simple punctuation off a word: ("word", said, end." — anything subtler goes to the regex.
                i, j = 0, len(chunk)
                while i < j and chunk[i] in _OPEN:
                    i += 1
                while j > i and chunk[j - 1] in _CLOSE:
                    j -= 1
                dot = j - i > 1 and chunk[j - 1] == "." and chunk[i : j - 1] not in keep_dot
                core = chunk[i : j - 1] if dot else chunk[i:j]
                if core.isalnum() and (core.isascii() or not spaceless(core)) and core not in special:
                    if i:
                        extend(chunk[:i])
                    append(core)
                    if dot:
                        append(".")
                    if j < len(chunk):
                        extend(chunk[j:])
                    continue
            extend(findall(chunk))
        return out

    def words(self, text: str) -> list[str]:
        """:meth:`split`, cached for the last few thousand texts so that chained filters tokenize once.

        The returned list is shared: callers must not modify it.
        """
        cached = self._cache.get(text)
        if cached is None:
            cached = self.split(text)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[text] = cached
        return cached


_TOKENIZERS = {True: Tokenizer(True), False: Tokenizer(False)}
TOKEN_RE = _TOKENIZERS[True].regex


def tokenizer(split_spaceless: bool = True) -> Tokenizer:
    """The shared tokenizer of a mode."""
    return _TOKENIZERS[split_spaceless]


def split_words(text: str, split_spaceless: bool = True) -> list[str]:
    """Tokens of ``text``, uncached."""
    return _TOKENIZERS[split_spaceless].split(text)


def words(text: str, split_spaceless: bool = True) -> list[str]:
    """Tokens of ``text``, cached (do not modify the list)."""
    return _TOKENIZERS[split_spaceless].words(text)


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
