"""Per-character script classes: letter counts that keep combining marks, and the CJK decision.

Python's ``\\w`` leaves out combining marks (Devanagari and Bengali vowel signs and viramas,
Vietnamese tone marks when decomposed), so a Bengali sentence of 40 letters counted as 20. Here a
letter is any code point of Unicode category ``L*`` or ``M*``.

langdetect's profiles confuse the CJK languages (its character normalization folds Han characters
into shared classes, and the Korean profile is rich in Hanja): Traditional Chinese is mostly called
``ko``. The scripts settle what the n-grams cannot: Korean is written with Hangul, Japanese with
kana, Chinese with Han only, and Simplified and Traditional Chinese each have characters of their
own (:mod:`datacraft.langid.hanzi`). :func:`refine_cjk` removes from a CJK detection's distribution
the languages the text's scripts rule out and renormalizes; see :func:`ruled_out` for the rules.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import replace
from pathlib import Path

import numpy as np

from datacraft.langid.cache import cache_key, load_arrays, save_arrays
from datacraft.langid.engines import Detection
from datacraft.langid.hanzi import SIMPLIFIED_ONLY, TRADITIONAL_ONLY

OTHER, LETTER, HANGUL, KANA, HAN, HAN_SIMPLIFIED, HAN_TRADITIONAL = range(7)
CJK_LANGS = ("ja", "ko", "zh-cn", "zh-tw")
PHONETIC_SHARE = 0.1  # Hangul + kana share of CJK letters from which a text is not Chinese
VARIANT_RATIO = 4  # simplified-only vs traditional-only characters: this ratio decides between zh-cn/zh-tw

_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xFFA0, 0xFFDC))
_KANA = ((0x3041, 0x309F), (0x30A0, 0x30FA), (0x30FD, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9D))  # not ・ ー
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_PLANES = (range(0, 0x40000), range(0xE0000, 0xE1000))  # assigned letters and marks lie in these


@functools.cache
def class_table() -> np.ndarray:
    """Code point → script class (``OTHER``, ``LETTER``, ``HANGUL``, ``KANA``, ``HAN``, ``HAN_*``); from the
    local cache (:mod:`datacraft.langid.cache`) when there (building it walks 266k code points: ~0.1 CPU-s)."""
    key = class_table_key()
    hit = load_arrays("langid-script", key)
    if hit is not None:
        return hit[0]["classes"].view(np.ndarray)
    table = build_class_table()
    save_arrays("langid-script", key, {"classes": table}, {})
    return table


def class_table_key() -> str:
    """The cache key of :func:`class_table`: this module's code, the Han variant lists, Unicode's version."""
    here = Path(__file__)
    return cache_key(here.read_bytes(), here.with_name("hanzi.py").read_bytes(), unicodedata.unidata_version)


def build_class_table() -> np.ndarray:
    """:func:`class_table`, computed from :mod:`unicodedata` and the Han variant lists."""
    table = np.zeros(0x110000, dtype=np.uint8)
    letters = [c for plane in _PLANES for c in plane if unicodedata.category(chr(c))[0] in "LM"]
    table[letters] = LETTER
    for cls, ranges in ((HANGUL, _HANGUL), (KANA, _KANA), (HAN, _HAN)):
        for lo, hi in ranges:
            block = table[lo : hi + 1]
            block[block == LETTER] = cls
    table[[ord(c) for c in SIMPLIFIED_ONLY]] = HAN_SIMPLIFIED
    table[[ord(c) for c in TRADITIONAL_ONLY]] = HAN_TRADITIONAL
    return table


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32 (lone surrogates kept)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def letter_count(text: str) -> int:
    """Letters in ``text``: code points of category ``L*`` or ``M*`` (combining marks count)."""
    if text.isascii():
        return sum(map(str.isalpha, text)) if len(text) < 64 else int(np.count_nonzero(_ascii_alpha(text)))
    return int(np.count_nonzero(class_table()[code_points(text)]))


def letter_counts(texts: list[str]) -> np.ndarray:
    """:func:`letter_count` of every text of a batch, in one pass over their code points."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    counts = np.zeros(len(texts), dtype=np.int64)
    filled = lengths > 0
    if filled.any():
        letters = class_table()[code_points("".join(texts))] != OTHER
        starts = np.cumsum(lengths) - lengths
        counts[filled] = np.add.reduceat(letters.view(np.uint8), starts[filled], dtype=np.int64)
    return counts


def has_letters(texts: list[str], minimum: int, max_chars: int) -> np.ndarray:
    """Per text, whether its first ``max_chars`` characters hold at least ``minimum`` letters (as
    :func:`letter_count`): counted on a short head of each text first, and in full only where that is short."""
    head = max(64, 4 * minimum)
    if head >= max_chars:
        return letter_counts([t[:max_chars] for t in texts]) >= minimum
    out = letter_counts([t[:head] for t in texts]) >= minimum
    unsure = [i for i in np.flatnonzero(~out).tolist() if len(texts[i]) > head]
    if unsure:
        out[unsure] = letter_counts([texts[i][:max_chars] for i in unsure]) >= minimum
    return out


def _ascii_alpha(text: str) -> np.ndarray:
    b = np.frombuffer(text.encode("ascii"), dtype=np.uint8) | 0x20
    return (b >= 0x61) & (b <= 0x7A)


def script_counts(text: str) -> np.ndarray:
    """Number of code points of ``text`` in each script class (indexed by the class constants)."""
    return np.bincount(class_table()[code_points(text)], minlength=7)


def ruled_out(counts: np.ndarray) -> set[str]:
    """The CJK languages the scripts of a text exclude.

    ``ko`` needs Hangul, ``ja`` needs kana, Chinese needs Han. When Hangul and kana together are at
    least ``PHONETIC_SHARE`` of the CJK letters the text is not Chinese; when both occur, the rarer of
    the two languages goes. Between zh-cn and zh-tw: a text with characters of only one variant (or
    ``VARIANT_RATIO`` times more of one) is that variant.
    """
    hangul, kana = int(counts[HANGUL]), int(counts[KANA])
    simp, trad = int(counts[HAN_SIMPLIFIED]), int(counts[HAN_TRADITIONAL])
    han = int(counts[HAN]) + simp + trad
    out = set()
    if hangul == 0 or (kana > hangul):
        out.add("ko")
    if kana == 0 or (hangul > kana):
        out.add("ja")
    if han == 0 or hangul + kana >= PHONETIC_SHARE * (hangul + kana + han):
        out |= {"zh-cn", "zh-tw"}
    if trad >= VARIANT_RATIO * simp and trad:
        out.add("zh-cn")
    elif simp >= VARIANT_RATIO * trad and simp:
        out.add("zh-tw")
    return out


def refine_cjk(texts: list[str], dets: list[Detection], langs: tuple[str, ...], max_chars: int) -> list[Detection]:
    """Detections whose top language is Chinese, Japanese or Korean, with the languages the text's
    scripts rule out (first ``max_chars`` characters) removed from the distribution and the rest
    renormalized; the others unchanged. A detection whose whole mass would be removed is kept."""
    index = {lang: i for i, lang in enumerate(langs)}
    cjk = {index[lang] for lang in CJK_LANGS if lang in index}
    if not cjk:
        return dets
    out = list(dets)
    for i, det in enumerate(dets):
        if det.probs is None or index.get(det.lang) not in cjk:
            continue
        gone = [index[lang] for lang in ruled_out(script_counts(texts[i][:max_chars])) if lang in index]
        if not gone:
            continue
        probs = det.probs.copy()
        probs[gone] = 0.0
        total = probs.sum()
        if total <= 0.0:
            continue
        probs /= total
        best = int(np.argmax(probs))
        out[i] = replace(det, lang=langs[best], score=float(probs[best]), probs=probs)
    return out
