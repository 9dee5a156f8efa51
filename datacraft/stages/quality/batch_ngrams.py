"""Gopher's word n-gram measures for a whole batch of documents at once, with numpy.

The same values as :class:`datacraft.stages.quality.ngrams.NgramIndex` (per document:
``top_ngram_chars``, ``top_ngram_count``, ``duplicated_ngram_chars``), computed from a
:class:`~datacraft.text.batch.TokenView` without a Python object per token or n-gram:

- an n-gram is a group number: word pairs are grouped by sorting the integer key
  (document, first id, second id); an n-gram of size ``n`` is (group of its (n-1)-gram, last id).
  An n-gram can occur twice only where its (n-1)-gram does, so each size is grouped only at the
  positions whose shorter n-gram repeated (most trigrams of natural text already occur once);
- the most frequent n-gram of a document is the largest group, ties to the earliest first position
  (``Counter.most_common``'s order); its characters are its tokens' plus the joining spaces;
- the duplicated measure is a left-to-right scan that adds a repeat's token characters and skips
  the next ``n - 1`` positions. Where no repeat lies within ``n`` positions before the next repeated
  position, nothing is ever skipped and the answer is the sum over every occurrence after the first
  (vectorized); only documents with overlapping repeats are scanned, in Python, over their repeated
  positions alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from datacraft.text.batch import TokenView

_I64 = np.int64
_MAX_KEY = (1 << 63) - 1


@dataclass
class NgramMeasures:
    """Per document (int64 arrays, one entry per document of the view) and per size ``n``."""

    top_chars: dict[int, np.ndarray] = field(default_factory=dict)  #: ``NgramIndex.top_ngram_chars(n)``
    top_count: dict[int, np.ndarray] = field(default_factory=dict)  #: ``NgramIndex.top_ngram_count(n)``
    dup_chars: dict[int, np.ndarray] = field(default_factory=dict)  #: ``NgramIndex.duplicated_ngram_chars(n)``

    def rows(self, n_docs: int) -> list[MeasureRow]:
        """Per document, its measures with :class:`NgramIndex`'s methods (Python ints)."""
        top_chars = {n: a.tolist() for n, a in self.top_chars.items()}
        top_count = {n: a.tolist() for n, a in self.top_count.items()}
        dup_chars = {n: a.tolist() for n, a in self.dup_chars.items()}
        return [MeasureRow(top_chars, top_count, dup_chars, j) for j in range(n_docs)]


class MeasureRow:
    """One document's n-gram measures, answering like :class:`NgramIndex` (for sizes computed)."""

    __slots__ = ("_dup_chars", "_j", "_top_chars", "_top_count")

    def __init__(
        self,
        top_chars: dict[int, list[int]],
        top_count: dict[int, list[int]],
        dup_chars: dict[int, list[int]],
        j: int,
    ) -> None:
        self._top_chars, self._top_count, self._dup_chars, self._j = top_chars, top_count, dup_chars, j

    def top_ngram_chars(self, n: int) -> int:
        """Characters of the most frequent n-gram times its count."""
        return self._top_chars[n][self._j]

    def top_ngram_count(self, n: int) -> int:
        """How many times the most frequent n-gram occurs."""
        return self._top_count[n][self._j]

    def duplicated_ngram_chars(self, n: int) -> int:
        """Characters in repeated n-grams (left-to-right scan)."""
        return self._dup_chars[n][self._j]


@dataclass
class _Repeats:
    """The repeated n-grams of one size: their occurrences, in (key, position) order.

    The occurrences of an n-gram are consecutive, its first occurrence first, and the n-grams
    follow the document order (keys start with the document).
    """

    positions: np.ndarray  #: token position of each occurrence (int64)
    new: np.ndarray  #: the occurrences that start an n-gram (its first) (bool)
    rank: np.ndarray  #: the n-gram of each occurrence, numbered 1, 2, … (int64, non-decreasing)


def _repeats(keys: np.ndarray, positions: np.ndarray, bound: int, pos_bits: int) -> _Repeats:
    """The ``positions`` whose key (``0 <= keys < bound``) occurs more than once; ``keys`` is consumed."""
    if bound <= _MAX_KEY >> pos_bits:  # key and position in one int64: a plain sort, no argsort
        keys <<= pos_bits
        keys |= positions
        keys.sort()
        positions = keys & ((1 << pos_bits) - 1)
        keys >>= pos_bits
    else:
        order = np.lexsort((positions, keys))
        keys, positions = keys[order], positions[order]
    new = np.empty(len(keys), bool)
    new[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    alone = new.copy()  # a group of one: starts, and the next entry starts another
    alone[:-1] &= new[1:]
    rep = ~alone
    new = new[rep]
    return _Repeats(positions[rep], new, np.cumsum(new))


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Indices where a run of equal ``values`` starts (``values`` non-empty)."""
    starts = np.empty(len(values), bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return np.flatnonzero(starts)


def _cumsum0(values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(values) + 1, _I64)
    np.cumsum(values, out=out[1:])
    return out


def ngram_measures(view: TokenView, top_sizes: Iterable[int], dup_sizes: Iterable[int]) -> NgramMeasures:
    """Top n-gram measures for ``top_sizes`` and duplicated n-gram characters for ``dup_sizes``, per document."""
    top_sizes, dup_sizes = sorted(set(top_sizes)), sorted(set(dup_sizes))
    sizes = sorted({*top_sizes, *dup_sizes})
    if sizes and sizes[0] < 2:
        raise ValueError(f"n-gram sizes start at 2, got {sizes[0]}")
    out = NgramMeasures()
    n_docs = view.n_docs
    offsets = np.asarray(view.offsets, _I64)
    n_words = np.diff(offsets)
    for n in top_sizes:
        out.top_chars[n] = np.zeros(n_docs, _I64)
        out.top_count[n] = np.zeros(n_docs, _I64)
    for n in dup_sizes:
        out.dup_chars[n] = np.zeros(n_docs, _I64)
    n_tokens = len(view.ids)
    if not sizes or n_docs == 0 or n_tokens == 0:
        return out
    ids = np.asarray(view.ids, _I64)
    if int(ids.min()) < 0 or int(ids.max()) >= n_tokens:  # sparse ids: number them 0 … (distinct - 1)
        ids = np.unique(ids, return_inverse=True)[1].astype(_I64).reshape(-1)
    vocab = int(ids.max()) + 1  # ≤ tokens
    pos_bits = max(1, (n_tokens - 1).bit_length())
    chars = _cumsum0(np.asarray(view.lengths, _I64))
    doc_of = np.repeat(np.arange(n_docs, dtype=_I64), n_words)
    end_of = np.repeat(offsets[1:], n_words)  # end of each token's document

    # word pairs: every position but the last of each document, keyed (document, id, next id)
    pair = end_of[:-1] > np.arange(1, n_tokens)
    keys = doc_of * vocab
    keys += ids
    if n_docs * vocab <= _MAX_KEY // vocab:
        bound = n_docs * vocab * vocab
    else:  # too many documents and distinct ids for one key: number (document, id) densely first
        keys = np.unique(keys, return_inverse=True)[1].astype(_I64).reshape(-1)
        bound = (int(keys.max()) + 1) * vocab
    keys *= vocab
    keys[:-1] += ids[1:]
    level = _repeats(keys[:-1][pair], np.flatnonzero(pair), bound, pos_bits)
    for n in range(2, sizes[-1] + 1):
        if n > 2:  # n-grams where the (n-1)-gram repeated: (that (n-1)-gram, the next id)
            pos = level.positions
            ok = pos + n <= end_of[pos]
            pos = pos[ok]
            keys = level.rank[ok]
            bound = (int(level.rank[-1]) + 1) * vocab if len(level.rank) else 1
            keys *= vocab
            keys += ids[pos + n - 1]
            level = _repeats(keys, pos, bound, pos_bits)
        if n in out.top_chars:
            _top(level, n, offsets, n_words, chars, doc_of, out.top_chars[n], out.top_count[n])
        if n in out.dup_chars:
            _duplicated(level, n, chars, doc_of, out.dup_chars[n])
    return out


def _top(
    level: _Repeats,
    n: int,
    offsets: np.ndarray,
    n_words: np.ndarray,
    chars: np.ndarray,
    doc_of: np.ndarray,
    top_chars: np.ndarray,
    top_count: np.ndarray,
) -> None:
    """Fill the top n-gram measures of size ``n`` from ``level``."""
    has = n_words >= n
    first_pos = offsets[:-1].copy()  # no n-gram repeats: the first one, once
    top_count[has] = 1
    if len(level.positions):
        starts = np.flatnonzero(level.new)
        counts = np.diff(np.append(starts, len(level.new)))
        gfirst = level.positions[starts]
        gdoc = doc_of[gfirst]  # ascending: groups are in key order, documents first
        # per document, the largest count, then the earliest first occurrence among those
        bounds = _run_starts(gdoc)
        docs = gdoc[bounds]
        most = np.maximum.reduceat(counts, bounds)
        best = counts == np.repeat(most, np.diff(np.append(bounds, len(gdoc))))
        top_count[docs] = most
        first_pos[docs] = np.minimum.reduceat(gfirst[best], _run_starts(gdoc[best]))
    idx = np.flatnonzero(has)
    p = first_pos[idx]
    top_chars[idx] = (chars[p + n] - chars[p] + n - 1) * top_count[idx]


def _duplicated(level: _Repeats, n: int, chars: np.ndarray, doc_of: np.ndarray, dup_chars: np.ndarray) -> None:
    """Fill the duplicated n-gram characters of size ``n`` from ``level``."""
    pos = level.positions
    count = len(pos)
    if not count:
        return
    order = (pos << max(1, (count - 1).bit_length())) | np.arange(count, dtype=_I64)
    order.sort()
    order &= (1 << max(1, (count - 1).bit_length())) - 1  # entries by position
    pos = pos[order]
    groups = level.rank[order]
    again = ~level.new[order]  # an occurrence after the n-gram's first
    docs = doc_of[pos]
    gain = chars[pos + n] - chars[pos]
    # a repeat skips the next n - 1 positions: harmless unless a repeated position lies there
    close = np.zeros(count, bool)
    close[:-1] = again[:-1] & (docs[1:] == docs[:-1]) & (pos[1:] < pos[:-1] + n)
    tangled = np.zeros(len(dup_chars), bool)
    tangled[docs[close]] = True
    plain = again & ~tangled[docs]
    if plain.any():
        cut = _run_starts(docs[plain])
        dup_chars[docs[plain][cut]] = np.add.reduceat(gain[plain], cut)
    if close.any():
        _scan_tangled(tangled[docs], docs, pos, groups, gain, again, n, dup_chars)


def _scan_tangled(
    sel: np.ndarray,
    docs: np.ndarray,
    pos: np.ndarray,
    groups: np.ndarray,
    gain: np.ndarray,
    again: np.ndarray,
    n: int,
    dup_chars: np.ndarray,
) -> None:
    """The scan of the documents ``sel`` selects (their repeated positions, in order), with fewer steps.

    Only a repeat skips, and only the n - 1 positions after it: a position no earlier repeat lies
    within n before is always visited. The first occurrence of an n-gram there is always seen, so
    it need not be visited again and its later occurrences are repeats whenever visited ("sure").
    """
    docs, pos, groups, gain, again = docs[sel], pos[sel], groups[sel], gain[sel], again[sel]
    last = np.where(again, pos, -n)
    np.maximum.accumulate(last, out=last)  # the latest repeat up to here (earlier documents end ≥ n before)
    shadowed = np.zeros(len(pos), bool)
    shadowed[1:] = pos[1:] < last[:-1] + n
    first_shadowed = np.zeros(int(groups.max()) + 1, bool)
    first_shadowed[groups[~again]] = shadowed[~again]
    sure = again & ~first_shadowed[groups]
    keep = again | shadowed
    for doc, total in _scan(
        docs[keep].tolist(), pos[keep].tolist(), groups[keep].tolist(), gain[keep].tolist(), sure[keep].tolist(), n
    ):
        dup_chars[doc] = total


def _scan(
    docs: list[int], positions: list[int], groups: list[int], gains: list[int], sure: list[bool], n: int
) -> list[tuple[int, int]]:
    """The left-to-right scan over the repeated positions of some documents: (document, characters) each.

    ``sure`` marks the occurrences whose n-gram has certainly been seen before (whose first
    occurrence is always visited and not listed).
    """
    out: list[tuple[int, int]] = []
    seen: set[int] = set()
    current = -1
    skip_until = total = 0
    for doc, pos, group, gain, known in zip(docs, positions, groups, gains, sure, strict=True):
        if doc != current:
            if current >= 0:
                out.append((current, total))
            current, total, skip_until = doc, 0, 0
            seen.clear()
        if pos < skip_until:
            continue
        if known or group in seen:
            total += gain
            skip_until = pos + n
        else:
            seen.add(group)
    out.append((current, total))
    return out
