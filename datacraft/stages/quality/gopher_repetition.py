"""``gopher_repetition``: the repetition rules of Gopher (Rae et al. 2021, table A1)."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register
from datacraft.text.words import words

_PARAGRAPH = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")


def duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items that repeat an earlier one, their total characters)."""
    unique = set(items)
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))


def ngrams(ids: list[int], n: int) -> list[tuple[int, ...]]:
    """The n-grams of a sequence of token ids, as tuples."""
    return list(zip(*(ids[i:] for i in range(n)), strict=False))


def top_ngram_chars(grams: list[tuple[int, ...]], lens: list[int], n: int) -> int:
    """Characters covered by the most frequent n-gram: its length (words joined by spaces) × its count."""
    if not grams:
        return 0
    counts = Counter(grams)
    gram, count = counts.most_common(1)[0]
    first = grams.index(gram)
    return (sum(lens[first : first + n]) + n - 1) * count


def duplicated_ngram_chars(grams: list[tuple[int, ...]], lens: list[int], n: int) -> int:
    """Characters of n-grams that repeat an earlier one, scanning left to right and skipping past each repeat.

    Same result as visiting every position (a repeat adds its characters and jumps n ahead, a new
    n-gram is remembered), but only positions whose n-gram occurred before are looked at.
    """
    first_at: dict[tuple[int, ...], int] = {}
    firsts = [first_at.setdefault(g, i) for i, g in enumerate(grams)]
    if len(first_at) == len(grams):
        return 0
    skipped = bytearray(len(grams))
    seen_later: set[tuple[int, ...]] = set()  # n-grams remembered at a non-first occurrence
    chars = 0
    idx = 0
    for c in [i for i, f in enumerate(firsts) if f != i]:
        if c < idx:
            continue
        g = grams[c]
        if not skipped[firsts[c]] or g in seen_later:
            chars += sum(lens[c : c + n])
            skipped[c + 1 : c + n] = b"\x01" * len(skipped[c + 1 : c + n])
            idx = c + n
        else:
            seen_later.add(g)
            idx = c + 1
    return chars


def token_ids(toks: list[str]) -> list[int]:
    """Each token as an int: its string hash (equal tokens, equal ids; distinct ones collide ~2⁻⁶⁴)."""
    return list(map(hash, toks))


#: Documents with at least this many tokens use the vectorised n-gram counting.
VECTOR_MIN_TOKENS = 256
_MIX = np.uint64(0x9E3779B97F4A7C15)


class NgramIndex:
    """N-grams of a long token sequence as 64-bit keys (numpy), for counting and first occurrences.

    Keys are built incrementally, ``key(n+1) = key(n) * M + id``, with wrap-around arithmetic;
    two different n-grams share a key with probability about 2⁻⁶⁴.
    """

    def __init__(self, ids: list[int], lens: list[int]) -> None:
        self.ids = np.asarray(ids, dtype=np.int64).view(np.uint64)
        self.lens = np.asarray(lens, dtype=np.int64)
        self.cum = np.concatenate(([0], np.cumsum(self.lens)))
        self.n = 1
        self.keys = self.ids.copy()

    def grow(self, n: int) -> np.ndarray:
        """Keys of all n-grams (n never decreases between calls)."""
        with np.errstate(over="ignore"):
            while self.n < n:
                self.keys = self.keys[:-1] * _MIX + self.ids[self.n :]
                self.n += 1
        return self.keys

    def top_chars(self, n: int) -> int:
        keys = self.grow(n)
        if not len(keys):
            return 0
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        best = counts.max()
        start = int(first[counts == best].min())  # Counter.most_common: the earliest among the most frequent
        return (int(self.cum[start + n] - self.cum[start]) + n - 1) * int(best)

    def duplicated_chars(self, n: int) -> int:
        keys = self.grow(n)
        if not len(keys):
            return 0
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if len(first) == len(keys):
            return 0
        firsts = first[inverse]
        candidates = np.flatnonzero(firsts != np.arange(len(keys)))
        skipped = bytearray(len(keys))
        seen_later: set[int] = set()
        chars = 0
        idx = 0
        cum = self.cum
        for c, f, k in zip(candidates.tolist(), firsts[candidates].tolist(), keys[candidates].tolist(), strict=True):
            if c < idx:
                continue
            if not skipped[f] or k in seen_later:
                chars += int(cum[c + n] - cum[c])
                skipped[c + 1 : c + n] = b"\x01" * len(skipped[c + 1 : c + n])
                idx = c + n
            else:
                seen_later.add(k)
                idx = c + 1
        return chars


class GopherRepetitionParams(FilterParams):
    split_spaceless: bool = Field(
        True, description="count each Han/kana character and Thai-script letter as a word (False: runs, as spaCy)"
    )
    max_dup_para_frac: float | None = Field(0.3, ge=0, description="most paragraphs that repeat an earlier one")
    max_dup_para_char_frac: float | None = Field(0.2, ge=0, description="most characters in repeated paragraphs")
    max_dup_line_frac: float | None = Field(0.3, ge=0, description="most lines that repeat an earlier one")
    max_dup_line_char_frac: float | None = Field(0.2, ge=0, description="most characters in repeated lines")
    max_top_ngram_char_frac: dict[int, float] = Field(
        {2: 0.20, 3: 0.18, 4: 0.16}, description="n → most characters covered by the most frequent n-gram"
    )
    max_dup_ngram_char_frac: dict[int, float] = Field(
        {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
        description="n → most characters in n-grams that repeat an earlier one",
    )


@register("gopher_repetition")
class GopherRepetition(Filter):
    """Gopher repetition rules: repeated lines and paragraphs, top 2–4-grams, duplicated 5–10-grams."""

    Params = GopherRepetitionParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        p = GopherRepetitionParams()
        cols = {
            "rep_dup_para_frac": "double",
            "rep_dup_para_char_frac": "double",
            "rep_dup_line_frac": "double",
            "rep_dup_line_char_frac": "double",
        }
        cols.update({f"rep_top_{n}gram_char_frac": "double" for n in p.max_top_ngram_char_frac})
        cols.update({f"rep_dup_{n}gram_char_frac": "double" for n in p.max_dup_ngram_char_frac})
        cols["gopher_repetition_drop_reason"] = "string"
        return cols

    def check(self, doc: Document) -> FilterResult:
        p: GopherRepetitionParams = self.params  # type: ignore[assignment]
        full = p.mode == "annotate"
        text = doc.text
        if not text:
            return FilterResult(False, "empty", {})
        size = len(text)
        s: dict[str, float] = {}
        reason: str | None = None

        def over(key: str, value: float, limit: float | None, why: str) -> bool:
            nonlocal reason
            s[key] = value
            if reason is None and limit is not None and value > limit:
                reason = why
            return reason is not None and not full

        paragraphs = _PARAGRAPH.split(text.strip())
        n, chars = duplicates(paragraphs)
        if over("rep_dup_para_frac", n / len(paragraphs), p.max_dup_para_frac, "dup_para_frac"):
            return FilterResult(False, reason, s)
        if over("rep_dup_para_char_frac", chars / size, p.max_dup_para_char_frac, "dup_para_char_frac"):
            return FilterResult(False, reason, s)
        lines = _LINES.split(text)
        n, chars = duplicates(lines)
        if over("rep_dup_line_frac", n / len(lines), p.max_dup_line_frac, "dup_line_frac"):
            return FilterResult(False, reason, s)
        if over("rep_dup_line_char_frac", chars / size, p.max_dup_line_char_frac, "dup_line_char_frac"):
            return FilterResult(False, reason, s)
        toks = words(text, p.split_spaceless)
        ids = token_ids(toks)
        lens = list(map(len, toks))
        index = NgramIndex(ids, lens) if len(ids) >= VECTOR_MIN_TOKENS else None
        for k, limit in sorted(p.max_top_ngram_char_frac.items()):
            chars = index.top_chars(k) if index is not None else top_ngram_chars(ngrams(ids, k), lens, k)
            if over(f"rep_top_{k}gram_char_frac", chars / size, limit, f"top_{k}gram"):
                return FilterResult(False, reason, s)
        none_repeat = False
        for k, limit in sorted(p.max_dup_ngram_char_frac.items()):
            # No repeated k-gram means no repeated longer n-gram either.
            if none_repeat:
                chars = 0
            elif index is not None:
                chars = index.duplicated_chars(k)
            else:
                chars = duplicated_ngram_chars(ngrams(ids, k), lens, k)
            none_repeat = chars == 0
            if over(f"rep_dup_{k}gram_char_frac", chars / size, limit, f"dup_{k}gram"):
                return FilterResult(False, reason, s)
        return FilterResult(reason is None, reason, s)
