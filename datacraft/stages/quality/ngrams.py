"""Word n-gram repetition measures (Gopher), counting only the n-grams that can repeat.

An n-gram can occur twice only where the (n-1)-gram at the same position does, so the n-grams
of each size are counted at the positions whose shorter n-gram repeated: all word pairs first,
then fewer and fewer positions (in natural text most trigrams already occur once). An n-gram's
key is its tokens joined by a space: exact (tokens never contain whitespace), and a string, which
the garbage collector does not track. Keys are counted by :class:`collections.Counter`'s C loop.
Measures are the published ones: the character share of the most frequent n-gram, and the
character share of non-overlapping repeated n-grams found by a left-to-right scan.
This is the per-document reference (``check()``); a pipeline's batches get the same values from
:mod:`datacraft.stages.quality.batch_ngrams`, all documents at once.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from itertools import compress, pairwise
from operator import itemgetter

_MORE_THAN_ONCE = (1).__lt__
_SECOND = itemgetter(1)
_SPACE_JOIN = " ".join


class _Level:
    """The n-grams of one size at the positions where they may repeat."""

    __slots__ = ("counts", "keys", "positions")

    def __init__(self, positions: list[int] | range, keys: list[str]) -> None:
        if not keys:
            self.counts: dict[str, int] = {}
            self.positions: list[int] = []
            self.keys: list[str] = []
            return
        self.counts = Counter(keys)  # counted in C
        if len(self.counts) == len(keys):  # nothing repeats (the common case from trigrams on)
            self.positions = []
            self.keys = []
            return
        repeated = list(map(_MORE_THAN_ONCE, map(self.counts.__getitem__, keys)))
        #: positions (ascending) whose n-gram occurs more than once, and those n-grams
        self.positions = list(compress(positions, repeated))
        self.keys = list(compress(keys, repeated))


class NgramIndex:
    """N-gram counts of one token list, built on demand for increasing ``n`` (2 and up)."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.n_words = len(words)
        self._levels: dict[int, _Level] = {}

    def _level(self, n: int) -> _Level:
        level = self._levels.get(n)
        if level is None:
            words = self.words
            if n == 2:
                keys = list(map(_SPACE_JOIN, pairwise(words)))
                level = _Level(range(len(keys)), keys)
            else:
                prev = self._level(n - 1)
                total = self.n_words - n + 1
                if not prev.positions:  # no shorter n-gram repeats: neither does any n-gram
                    self._levels[n] = prev
                    return prev
                positions = prev.positions[: bisect_left(prev.positions, total)]
                if len(positions) * 2 > total:  # dense repeats: counting every position is cheaper (C loops)
                    keys = list(map(_SPACE_JOIN, zip(*(words[i:] for i in range(n)), strict=False)))
                    level = _Level(range(total), keys)
                else:
                    level = _Level(positions, [" ".join(words[p : p + n]) for p in positions])
            self._levels[n] = level
        return level

    def top_ngram_count(self, n: int) -> int:
        """How many times the most frequent n-gram occurs (0 for a text shorter than ``n``)."""
        if self.n_words < n:
            return 0
        level = self._level(n)
        return max(level.counts.values()) if level.positions else 1

    def top_ngram_chars(self, n: int) -> int:
        """Characters of the most frequent n-gram (joined by spaces) times its count.

        Ties go to the n-gram seen first, as ``Counter.most_common`` does.
        """
        if self.n_words < n:
            return 0
        level = self._level(n)
        if not level.positions:  # every n-gram occurs once: the first one
            return sum(map(len, self.words[:n])) + n - 1
        gram, top = max(level.counts.items(), key=_SECOND)  # the first maximum: earliest first occurrence
        return len(gram) * top

    def duplicated_ngram_chars(self, n: int) -> int:
        """Characters in repeated n-grams, scanning left to right and skipping past each repeat."""
        if self.n_words < n + 1:
            return 0
        level = self._level(n)
        if not level.positions:
            return 0
        # Only positions whose n-gram occurs more than once can change the scan; the others are
        # always visited and added, so stepping over them changes nothing.
        seen: set[str] = set()
        skip_until = 0
        repeated = 0
        for pos, key in zip(level.positions, level.keys, strict=True):
            if pos < skip_until:
                continue
            if key in seen:
                repeated += len(key) - n + 1
                skip_until = pos + n
            else:
                seen.add(key)
        return repeated
