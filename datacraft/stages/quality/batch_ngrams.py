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
class _Level:
    """The n-grams of one size at the positions where they may repeat (ascending global positions)."""

    positions: np.ndarray  #: token positions (int64, ascending)
    groups: np.ndarray  #: group of each position's n-gram, numbered in key order (documents ascending)
    counts: np.ndarray  #: occurrences per group (counted over ``positions``: exact for repeated n-grams)
    first: np.ndarray  #: index into ``positions`` of each group's first occurrence

    def repeated(self) -> np.ndarray:
        """Mask of the positions whose n-gram occurs more than once."""
        return self.counts[self.groups] > 1


def _group(keys: np.ndarray, positions: np.ndarray) -> _Level:
    """Groups of equal ``keys`` (one per position)."""
    order = np.argsort(keys)
    sk = keys[order]
    new = np.empty(len(sk), bool)
    new[:1] = True
    np.not_equal(sk[1:], sk[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(sk)))
    groups = np.empty(len(sk), _I64)
    groups[order] = np.cumsum(new) - 1
    first = np.minimum.reduceat(order, starts) if len(starts) else starts
    return _Level(positions, groups, counts, first)


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
    if not sizes or n_docs == 0 or len(view.ids) == 0:
        return out
    ids = np.asarray(view.ids, _I64)
    if int(ids.min()) < 0 or int(ids.max()) >= len(ids):  # sparse ids: number them 0 … (distinct - 1)
        ids = np.unique(ids, return_inverse=True)[1].astype(_I64).reshape(-1)
    vocab = int(ids.max()) + 1  # ≤ tokens, so every key below fits in int64
    chars = _cumsum0(np.asarray(view.lengths, _I64))
    doc_of = np.repeat(np.arange(n_docs, dtype=_I64), n_words)
    ends = offsets[1:]

    level: _Level | None = None
    for n in range(2, sizes[-1] + 1):
        if level is None:  # word pairs: every position but the last of each document
            keep = np.ones(len(ids), bool)
            keep[ends[n_words > 0] - 1] = False
            pos = np.flatnonzero(keep)
            if n_docs * vocab <= _MAX_KEY // vocab:
                keys = (doc_of[pos] * vocab + ids[pos]) * vocab + ids[pos + 1]
            else:  # too many documents and distinct ids for one key: number (document, id) densely first
                first_ids = np.unique(doc_of * vocab + ids, return_inverse=True)[1].reshape(-1)
                keys = first_ids[pos] * vocab + ids[pos + 1]
            level = _group(keys, pos)
        else:
            rep = level.repeated()
            pos = level.positions[rep]
            ok = pos + n <= ends[doc_of[pos]]
            keys = level.groups[rep][ok] * vocab + ids[pos[ok] + n - 1]
            level = _group(keys, pos[ok])
        if n in out.top_chars:
            _top(level, n, offsets, n_words, chars, doc_of, out.top_chars[n], out.top_count[n])
        if n in out.dup_chars:
            _duplicated(level, n, chars, doc_of, out.dup_chars[n])
    return out


def _top(
    level: _Level,
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
    rgroups = np.flatnonzero(level.counts > 1)
    if len(rgroups):
        counts = level.counts[rgroups]
        gfirst = level.positions[level.first[rgroups]]
        gdoc = doc_of[gfirst]  # ascending: groups are numbered in key order, documents first
        # per document, the largest count and then the earliest first occurrence
        order = np.lexsort((gfirst, -counts, gdoc))
        lead = np.empty(len(order), bool)
        sdoc = gdoc[order]
        lead[:1] = True
        np.not_equal(sdoc[1:], sdoc[:-1], out=lead[1:])
        best = order[lead]
        docs = gdoc[best]
        top_count[docs] = counts[best]
        first_pos[docs] = gfirst[best]
    idx = np.flatnonzero(has)
    p = first_pos[idx]
    top_chars[idx] = (chars[p + n] - chars[p] + n - 1) * top_count[idx]


def _duplicated(level: _Level, n: int, chars: np.ndarray, doc_of: np.ndarray, dup_chars: np.ndarray) -> None:
    """Fill the duplicated n-gram characters of size ``n`` from ``level``."""
    rep = level.repeated()
    if not rep.any():
        return
    where = np.flatnonzero(rep)
    pos = level.positions[where]
    groups = level.groups[where]
    again = level.first[groups] != where  # an occurrence after the group's first
    docs = doc_of[pos]
    gain = chars[pos + n] - chars[pos]
    # a repeat skips the next n - 1 positions: harmless unless a repeated position lies there
    close = np.zeros(len(pos), bool)
    close[:-1] = again[:-1] & (docs[1:] == docs[:-1]) & (pos[1:] < pos[:-1] + n)
    tangled = np.zeros(len(dup_chars), bool)
    tangled[docs[close]] = True
    plain = again & ~tangled[docs]
    np.add.at(dup_chars, docs[plain], gain[plain])
    if not close.any():
        return
    sel = np.flatnonzero(tangled[docs])
    sdocs = docs[sel]
    bounds = np.flatnonzero(np.diff(sdocs)) + 1
    for part in np.split(sel, bounds):
        dup_chars[docs[part[0]]] = _scan(pos[part].tolist(), groups[part].tolist(), gain[part].tolist(), n)


def _scan(positions: list[int], groups: list[int], gains: list[int], n: int) -> int:
    """The left-to-right scan of one document over its repeated positions."""
    seen: set[int] = set()
    skip_until = 0
    total = 0
    for pos, group, gain in zip(positions, groups, gains, strict=True):
        if pos < skip_until:
            continue
        if group in seen:
            total += gain
            skip_until = pos + n
        else:
            seen.add(group)
    return total
