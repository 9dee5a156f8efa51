"""Word n-gram repetition measures (Gopher) on integer token ids with vectorized rolling hashes.

Tokens are mapped to dense ids, n-grams to 64-bit polynomial hashes (numpy, wrapping
arithmetic), so one pass per ``n`` replaces building millions of joined strings. Measures are
the published ones: the character share of the most frequent n-gram, and the character share
of non-overlapping repeated n-grams found by a left-to-right scan.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

_P = np.uint64(0x9E3779B97F4A7C15)


class NgramIndex:
    """Token ids, prefix sums of token lengths, and n-gram hashes built incrementally in ``n``."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        # Common case for short texts: no word pair repeats, so no longer n-gram repeats either and
        # every n-gram occurs once; answered without numpy.
        self.unique_bigrams = len(set(pairwise(words))) == max(len(words) - 1, 0)
        if self.unique_bigrams:
            self.n_words = len(words)
            return
        # id of a token = 1 + position of its first occurrence (equal tokens, equal ids), in C via map
        first: dict[str, int] = {}
        self.n_words = len(words)
        self.ids = np.fromiter(map(first.setdefault, words, range(1, len(words) + 1)), np.uint64, len(words))
        lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.cum = np.concatenate(([0], np.cumsum(lens)))
        self._hashes: dict[int, np.ndarray] = {1: self.ids}
        self._no_repeats_from: int | None = None  # every n-gram this long or longer is unique

    def hashes(self, n: int) -> np.ndarray:
        """Hash of the n-gram starting at each position (length ``n_words - n + 1``, maybe empty)."""
        h = self._hashes.get(n)
        if h is None:
            prev = self.hashes(n - 1)
            m = max(self.n_words - n + 1, 0)
            h = prev[:m] * _P + self.ids[n - 1 : n - 1 + m]
            self._hashes[n] = h
        return h

    def chars(self, start: int, n: int) -> int:
        """Characters of the tokens of the n-gram at ``start`` (separators not counted)."""
        return int(self.cum[start + n] - self.cum[start])

    def top_ngram_chars(self, n: int) -> int:
        """Characters of the most frequent n-gram (joined by spaces) times its count.

        Ties go to the n-gram seen first, as ``Counter.most_common`` does.
        """
        if self.unique_bigrams and n >= 2:
            return sum(map(len, self.words[:n])) + n - 1 if self.n_words >= n else 0
        h = self.hashes(n)
        if len(h) == 0:
            return 0
        _, first, counts = np.unique(h, return_index=True, return_counts=True)
        top = counts.max()
        start = int(first[counts == top].min())
        return (self.chars(start, n) + n - 1) * int(top)

    def top_ngram_count(self, n: int) -> int:
        """How many times the most frequent n-gram occurs (0 for a text shorter than ``n``)."""
        if self.n_words < n:
            return 0
        if self.unique_bigrams and n >= 2:
            return 1
        _, counts = np.unique(self.hashes(n), return_counts=True)
        return int(counts.max())

    def duplicated_ngram_chars(self, n: int) -> int:
        """Characters in repeated n-grams, scanning left to right and skipping past each repeat."""
        if self.unique_bigrams or (self._no_repeats_from is not None and n >= self._no_repeats_from):
            return 0  # a repeated n-gram contains a repeated shorter one
        h = self.hashes(n)
        if len(h) < 2:
            return 0
        _, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
        multi = np.flatnonzero(counts[inverse] > 1)
        if len(multi) == 0:
            self._no_repeats_from = n
            return 0
        # Only positions whose n-gram occurs more than once can change the scan; the others are
        # always visited and added, so stepping over them changes nothing.
        seen: set[int] = set()
        skip_until = 0
        repeated = 0
        cum = self.cum
        for pos, key in zip(multi.tolist(), h[multi].tolist(), strict=True):
            if pos < skip_until:
                continue
            if key in seen:
                repeated += int(cum[pos + n] - cum[pos])
                skip_until = pos + n
            else:
                seen.add(key)
        return repeated
