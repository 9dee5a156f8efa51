"""A fast, dependency-free word tokenizer shared by every quality rule.

One compiled regular expression, applied with ``findall``: no model, no per-document setup.
Tokens follow the conventions of spaCy's rule-based English tokenizer (what datatrove uses for
English), closely enough that the Gopher / C4 / FineWeb rules agree with datatrove on ≥ 99 % of
documents (see bench/RESULTS.md):

- words are runs of letters, digits and combining marks; ``3.14``, ``3,000``, ``example.com``,
  ``and/or`` stay whole, and so do ``i++`` / ``C++`` (as in spaCy); hyphens split (``e-mail`` →
  ``e`` ``-`` ``mail``);
- contractions split before the apostrophe (``it's`` → ``it`` ``'s``, ``don't`` → ``don`` ``'t``: same
  count and characters as spaCy's ``do`` ``n't``); other inner apostrophes stay (``O'Brien``);
- URLs and e-mail addresses are one token; a few abbreviations (``U.S.``, ``e.g.``, ``Mr.``) keep
  their period;
- every other punctuation or symbol character is its own token, except runs of periods
  (``...``) and of hyphens (``--``) and the quotes ``''`` and ````` ``; ``_`` joins words;
- **space-less scripts**: every Han, Hiragana or Katakana character is one word (the usual
  convention for CJK statistics). Thai and Lao runs are cut into syllable-like segments before
  each leading vowel (เ แ โ ใ ไ / ເ ແ ໂ ໃ ໄ): a documented approximation of dictionary word
  segmentation (pythainlp's newmm costs far more per document); Khmer and Myanmar runs count as
  one word each. Hangul is space-separated and needs nothing special.

Punctuation means Unicode categories P* and S* (``$``, ``+``, emoji included); whitespace
separates tokens and never belongs to one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from datacraft.text.scripts import has_spaceless, is_japanese, segment_run, spaceless_runs

# Space-less scripts handled specially (ranges as regex class fragments).
_CJK = (
    "\u3005\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
_THAI = "\u0e01-\u0e3a\u0e45-\u0e4e"  # Thai letters and marks except leading vowels and digits/punct
_THAI_LEAD = "\u0e40-\u0e44"
_LAO = "\u0e81-\u0ebf\u0ec5-\u0ece"
_LAO_LEAD = "\u0ec0-\u0ec4"

#: Words that keep their period (as in spaCy's English tokenizer exceptions); single letters
#: (``C.`` ``n.``) and dotted initialisms (``U.S.`` ``e.g.`` ``Ph.D.``) are handled by pattern.
_CONTRACTION = "(?:[sSdDmMtT]|[rR][eE]|[vV][eE]|[lL][lL])"

ABBREVIATIONS = (
    "Adm", "Apr", "Aug", "Bros", "Co", "Corp", "Dec", "Dr", "Feb", "Gen", "Gov", "Inc", "Jan", "Jr", "Jul", "Jun",
    "Ltd", "Mar", "Messrs", "Mr", "Mrs", "Ms", "Mt", "Nov", "Oct", "Prof", "Rep", "Rev", "Sen", "Sep", "Sept",
    "St", "co", "vs", "Calif", "Conn", "Mass", "Mich", "Minn", "Wash", "Ariz", "Colo", "Okla", "Tenn",
)  # fmt: skip
_ABBREVIATION_SET = frozenset(ABBREVIATIONS)


def _ranges(chars: list[int]) -> str:
    """Compress sorted code points into a regex character-class body."""
    out: list[str] = []
    start = prev = chars[0]
    for c in [*chars[1:], -2]:
        if c == prev + 1:
            prev = c
            continue
        out.append(re.escape(chr(start)) if start == prev else f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
        start = prev = c
    return "".join(out)


@lru_cache(maxsize=1)
def punct_class() -> str:
    """Character-class body of punctuation and symbols (Unicode P*, S*, non-space controls; not ``_``)."""
    chars = [
        c
        for c in range(0x10000)
        if c != 0x5F  # "_" joins words (snake_case), as in \w
        and (unicodedata.category(chr(c))[0] in "PS" or (unicodedata.category(chr(c)) == "Cc" and not chr(c).isspace()))
    ]
    # Beyond the BMP only the emoji/symbol blocks, as one range: a long list of astral ranges would be
    # tested one by one for every character and triple the tokenizer's cost.
    return _ranges(chars) + "\U0001f000-\U0001faff"


@lru_cache(maxsize=1)
def punct_set() -> frozenset[str]:
    """The punctuation and symbol characters as a set (for per-token tests)."""
    return frozenset(re.findall(f"[{punct_class()}]", "".join(map(chr, range(0x20000)))))


@lru_cache(maxsize=1)
def token_regex() -> re.Pattern[str]:
    """The compiled tokenizer expression (built once per process, ~50 ms)."""
    p = punct_class()
    w = rf"[^\s{p}{_CJK}{_THAI}{_THAI_LEAD}{_LAO}{_LAO_LEAD}]"  # a "word" character of a spaced script
    abbrev = "|".join(ABBREVIATIONS)
    pattern = "|".join(
        [
            r"(?:https?|ftp)://[^\s<>\"'()\[\]{}]*[^\s<>\"'()\[\]{}.,;:!?]",  # URL
            # U.S. e.g. Ph.D. C. n. / Mr. Dr. Jan.; the lookahead rejects most positions at once
            rf"(?=[A-Za-z]{{1,7}}\.)(?:(?<!\w)(?:[A-Za-z]{{1,2}}\.){{2,}}|(?<![\w.])[A-Za-z]\.(?![\w.])"
            rf"|(?<![\w.])(?:{abbrev})\.(?![\w.]))",
            # word, 3.14, 3,000, example.com, and/or, O'Brien, a@b.com, i++ (not end.Next, not a contraction)
            rf"{w}+(?:\.(?![A-Z]){w}+|[/@]{w}+|,\d+|['’](?!{_CONTRACTION}(?!{w})){w}+)*(?:\+\+(?![\w+]))?",
            rf"(?<=\w)['’]{w}+",  # contraction suffix after a word: 's 't (not an opening quote)
            r"\.{2,}|-{2,}|''|``",
            rf"[{p}]",
            # space-less scripts (first characters disjoint from the alternatives above)
            f"[{_CJK}]",
            f"[{_THAI_LEAD}]?[{_THAI}]+|[{_THAI_LEAD}]",
            f"[{_LAO_LEAD}]?[{_LAO}]+|[{_LAO_LEAD}]",
        ]
    )
    return re.compile(pattern)


#: Characters a text must not have for the chunk fast path: Lao (cut by its own alternatives) and
#: U+1F100–1F10C (digits with a period/comma: alphanumeric, yet inside the punctuation class).
_NO_FAST_PATH = re.compile("[\u0e80-\u0eff\U0001f100-\U0001f10c]")
#: Punctuation peeled off the ends of a whitespace-separated chunk on the fast path (all in the punctuation class).
_PEEL = "".join(c for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~«»‘’‚“”„–—…•·¡¿" if c != "_")
_URL_SCHEMES = frozenset(("http", "https", "ftp"))


def _chunk_tokens(text: str, find: Callable[[str], list[str]]) -> list[str]:
    """``find(text)`` computed chunk by chunk, for text without space-less scripts (Han, Kana, Thai, Lao).

    No token spans whitespace and every lookaround of the expression sees whitespace and a chunk's
    ends alike, so the tokens of the text are those of its whitespace-separated chunks. A chunk
    that is alphanumeric is one token; one that is alphanumeric once common punctuation is peeled
    off its ends is that core plus the tokens of the peeled ends, except where the expression
    would join the core with what follows (``Mr.``, ``e.`` initials, ``C++``, ``http:``), which
    go to ``find`` like every other chunk. tests/test_text_words.py checks this against ``find``.
    """
    out: list[str] = []
    append = out.append
    extend = out.extend
    for chunk in text.split():
        if chunk.isalnum():
            append(chunk)
            continue
        rest = chunk.lstrip(_PEEL)
        core = rest.rstrip(_PEEL)
        if not core.isalnum():
            extend(find(chunk))
            continue
        tail = rest[len(core) :]
        if tail:
            first = tail[0]
            if (
                (first == "." and (len(core) == 1 or core in _ABBREVIATION_SET))
                or (first == "+" and tail.startswith("++"))
                or (first == ":" and core in _URL_SCHEMES)
            ):
                extend(find(chunk))
                continue
        if len(rest) != len(chunk):
            lead = chunk[: len(chunk) - len(rest)]
            if len(lead) == 1:
                append(lead)
            else:
                extend(find(lead))
        append(core)
        if tail:
            if len(tail) == 1:
                append(tail)
            else:
                extend(find(tail))
    return out


#: Public name of the per-chunk tokenizer (:mod:`datacraft.text.batch` calls it per distinct chunk).
chunk_tokens = _chunk_tokens


def split_words(text: str, lang: str | None = None) -> list[str]:
    """Tokenize ``text`` into words and punctuation tokens (whitespace dropped).

    Text without Han, Kana, Thai or Lao takes the fast path (whitespace-separated chunks, most of
    them one word, see :func:`_chunk_tokens`). Otherwise the runs of Han, Kana and Thai are cut by
    dictionary segmenters (:mod:`datacraft.text.scripts`; ``lang`` decides Japanese vs Chinese
    for Kana-less Han text) and the rest by the expression.
    """
    find = token_regex().findall
    if text.isascii() or not (has_spaceless(text) or _NO_FAST_PATH.search(text)):
        return _chunk_tokens(text, find)
    if not has_spaceless(text):
        return find(text)
    japanese = is_japanese(text, lang)
    out: list[str] = []
    for i, piece in enumerate(spaceless_runs(text)):
        if i % 2 == 0:
            if piece:
                out.extend(find(piece))
            continue
        words = segment_run(piece, japanese)
        out.extend(find(piece) if words is None else words)
    return out


def is_punct_token(token: str) -> bool:
    """True for punctuation/symbol tokens (``,`` ``...`` ``$``), false for words, numbers, URLs."""
    return token[-1] in punct_set()
