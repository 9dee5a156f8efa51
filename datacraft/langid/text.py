"""langdetect's text preparation (``Detector.append``), exact and cheap per text, plus the sampling of long texts.

URLs and e-mail addresses are replaced by a space, Vietnamese letter + combining mark pairs are folded
into one letter, the text is truncated to ``max_chars``. Each step gives what langdetect's gives, but
skips work where it cannot change anything: ASCII text has no Vietnamese marks (``str.isascii`` is O(1)),
and e-mail addresses are matched from each ``@`` instead of at every position (langdetect's pattern
backtracks up to 64 characters at each position of any text with an ``@``).
"""

from __future__ import annotations

import re

import numpy as np
from langdetect.detector import Detector
from langdetect.utils.ngram import NGram

URL_RE = Detector.URL_RE
MAIL_RE = Detector.MAIL_RE
_LOCAL = re.compile(r"[-_.0-9A-Za-z]{1,64}\Z")  # MAIL_RE's part before the @ (searched with endpos at the @)
_MAIL_AFTER_AT = 512  # MAIL_RE's parts after the @ are at most 255 + 255 characters
VI_MARKS = re.compile(f"[{NGram.DMARK_CLASS}]")  # combining marks that normalize_vi folds into letters
SAMPLE_WINDOW = 200  # characters per window of a sampled long text


def remove_mail(text: str) -> str:
    """``MAIL_RE.sub(" ", text)``, found from each ``@``.

    A match holds exactly one ``@`` (no part of the pattern matches one). It starts at the leftmost
    position from which the characters up to that ``@`` are all of the first part's class, at most 64 of
    them, and not before the end of the previous match; it exists when the parts after the ``@`` match,
    which depends on the text after it only. ``MAIL_RE.match`` from that start gives the same match as
    langdetect's scan."""
    at = text.find("@")
    if at < 0:
        return text
    pieces: list[str] = []
    pos = copied = 0  # where the scan resumes (end of the last match); text before ``copied`` is in pieces
    while at >= 0:
        if at > pos:
            local = _LOCAL.search(text, max(pos, at - 64), at)
            if local is not None:
                found = MAIL_RE.match(text, local.start(), at + _MAIL_AFTER_AT)
                if found is not None:
                    pieces += (text[copied : found.start()], " ")
                    pos = copied = found.end()
                    at = text.find("@", pos)
                    continue
        at = text.find("@", at + 1)
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


def remove_urls_and_mail(text: str) -> str:
    """langdetect's first two steps: ``URL_RE`` then ``MAIL_RE`` matches replaced by a space."""
    if "http" in text:
        text = URL_RE.sub(" ", text)
    if "@" in text:
        text = remove_mail(text)
    return text


def normalize_vi(text: str) -> str:
    """``NGram.normalize_vi``, skipped where it cannot change anything."""
    if text.isascii() or VI_MARKS.search(text) is None:
        return text
    return NGram.normalize_vi(text)


def sample_windows(text: str, sample_chars: int, window: int = SAMPLE_WINDOW) -> str:
    """At most about ``sample_chars`` characters of ``text``: whole when short enough, otherwise
    ``ceil(sample_chars / window)`` windows of ``window`` characters spread evenly from its start to
    its end, each moved forward to begin at a word (after a space, when one is near), joined by spaces."""
    if sample_chars <= 0 or len(text) <= sample_chars:
        return text
    k = max(1, -(-sample_chars // window))
    width = min(window, sample_chars)
    span = len(text) - width
    pieces = []
    for j in range(k):
        start = span * j // max(k - 1, 1)
        if start:
            space = text.find(" ", start - 1, start + width // 4)
            if space >= 0:
                start = space + 1
        pieces.append(text[start : start + width])
    return " ".join(pieces)


def non_latin_count(cp: np.ndarray) -> np.ndarray:
    """Per code point, whether langdetect's ``cleaning_text`` counts it as non-Latin: every one from U+0300
    on. (It means to exempt Latin Extended Additional, but compares a block number with a block name.)"""
    return cp >= 0x300


def drop_latin_if_mostly_other(text: str) -> str:
    """langdetect's ``cleaning_text``: a text with fewer than half as many Latin letters ('A'..'z') as
    non-Latin characters loses its Latin letters."""
    if text.isascii():
        return text  # no non-Latin character
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    latin = (cp >= 0x41) & (cp <= 0x7A)
    if np.count_nonzero(latin) * 2 >= np.count_nonzero(non_latin_count(cp)):
        return text
    return cp[~latin].tobytes().decode("utf-32-le", "surrogatepass")


def prepare(text: str, max_chars: int, sample_chars: int = 0) -> tuple[str, bool]:
    """langdetect's ``Detector.append``: remove URLs and e-mail addresses, normalize Vietnamese, truncate
    to ``max_chars``. A text longer than ``sample_chars`` (> 0) is cut to :func:`sample_windows` of its
    first ``max_chars`` characters, after langdetect's Latin-letter rule (``cleaning_text``) was applied to
    all of them, and before the (slow) Vietnamese normalization, which then runs on the windows only.
    Returns the text and whether it needs no Latin-letter rule any more (sampled, or ASCII)."""
    if "http" in text:
        text = URL_RE.sub(" ", text)
    if "@" in text:
        text = remove_mail(text)
    if 0 < sample_chars < len(text) and sample_chars < max_chars:
        text = sample_windows(drop_latin_if_mostly_other(text[:max_chars]), sample_chars)
        return normalize_vi(text), True
    if text.isascii():
        return text[:max_chars], True
    # A pair normalize_vi folds ends at a mark: with none among the first max_chars + 1 characters, the
    # first max_chars are unchanged.
    if VI_MARKS.search(text, 0, max_chars + 1) is not None:
        text = NGram.normalize_vi(text)
    return text[:max_chars], False
