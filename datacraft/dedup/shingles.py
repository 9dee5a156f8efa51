"""Text normalization and vectorized shingle hashing for MinHash.

A batch of documents becomes one flat ``uint32`` array of shingle hashes plus a count per
document, so that no Python code runs per token or per shingle:

* the batch is lowercased and joined, then decoded to code points (UTF-32) in one call;
* word tokens are the maximal runs of word characters (Python's ``\\w`` plus the combining
  marks, so Devanagari vowel signs and viramas or Vietnamese tone marks stay inside their word),
  found with a code-point lookup table; in the space-less scripts (Han, Kana, Thai) every
  character is its own token, so word ``n``-grams there are character ``n``-grams, the usual
  unit for near-duplicate detection of CJK text and far cheaper than a dictionary segmenter;
  each token's polynomial hash comes from a prefix sum over the code points
  (``(H[end] - H[start]) * P**-start`` mod 2**64), then the 64-bit MurmurHash3 finalizer;
* ``word`` shingles combine every ``n`` consecutive token hashes; ``char`` shingles combine every
  ``n`` consecutive code points of the lowercased, whitespace-collapsed text.

A document with fewer than ``n`` units gets one shingle made of all its units; an empty one
gets none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from datacraft.dedup.uniq import unique_values
from datacraft.text.scripts import HAN_KANA, THAI

_POLY = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_MASK32 = np.uint64(0xFFFFFFFF)
_TOKEN_P = 0x100000001B3
_TABLE_SIZE = 0x110000
_powers: dict[str, np.ndarray] = {"p": np.ones(1, np.uint64), "inv": np.ones(1, np.uint64)}


def fmix64(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 64-bit finalizer (a bijection with full avalanche), element-wise."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> _S33)
        h *= _M1
        h ^= h >> _S33
        h *= _M2
        h ^= h >> _S33
        return h


def exact_key(text: str) -> str:
    """The normalized text compared by exact dedup: lowercased, whitespace runs collapsed."""
    return " ".join(text.lower().split())


_WORD = re.compile(r"\w+")
_SINGLE = re.compile(f"[{HAN_KANA}{THAI}]+")


#: Per process: ``_WORD_CP[cp]`` (``\\w`` or a combining mark), ``_SINGLE_CP[cp]`` (a one-character token),
#: filled lazily for the code points met so far (``_KNOWN_CP``): a few hundred in practice, not 1.1 million.
_WORD_CP = np.zeros(_TABLE_SIZE, bool)
_SINGLE_CP = np.zeros(_TABLE_SIZE, bool)
_KNOWN_CP = np.zeros(_TABLE_SIZE, bool)


def _classify(cp: int) -> None:
    c = chr(cp)
    word = _WORD.match(c) is not None or unicodedata.category(c)[0] == "M"
    _WORD_CP[cp] = word
    _SINGLE_CP[cp] = word and _SINGLE.match(c) is not None
    _KNOWN_CP[cp] = True


def _tables(cps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``word``, ``single``) lookup tables over all code points, valid at least for the code points ``cps``."""
    unknown = cps[~_KNOWN_CP[cps]]
    if len(unknown):
        for cp in unique_values(unknown).tolist():
            _classify(cp)
    return _WORD_CP, _SINGLE_CP


def _power_tables(length: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i (mod 2**64) for i < length, grown on demand and cached per process."""
    if len(_powers["p"]) < length:
        size = max(length, 2 * len(_powers["p"]))
        with np.errstate(over="ignore"):
            p = np.full(size, np.uint64(_TOKEN_P), np.uint64)
            p[0] = 1
            inv = np.full(size, np.uint64(pow(_TOKEN_P, -1, 1 << 64)), np.uint64)
            inv[0] = 1
            _powers["p"] = np.cumprod(p, dtype=np.uint64)
            _powers["inv"] = np.cumprod(inv, dtype=np.uint64)
    return _powers["p"][:length], _powers["inv"][:length]


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)


def token_hash(token: str) -> int:
    """Reference (pure Python) hash of one normalized token, equal to what the vectorized code computes."""
    h = 0
    for k, c in enumerate(_code_points(token).tolist()):
        h = (h + (c + 1) * pow(_TOKEN_P, k, 1 << 64)) % (1 << 64)
    return int(fmix64(np.array([h], np.uint64))[0])


def tokens(text: str) -> list[str]:
    """Reference tokenization: runs of word characters or marks; one token per Han, Kana or Thai character."""
    lowered = text.lower()
    word, single = _tables(_code_points(lowered))
    out: list[str] = []
    cur: list[str] = []
    for c in lowered:
        cp = ord(c)
        if word[cp] and not single[cp]:
            cur.append(c)
            continue
        if cur:
            out.append("".join(cur))
            cur = []
        if single[cp]:
            out.append(c)
    if cur:
        out.append("".join(cur))
    return out


def token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word tokens of a batch: (flat uint64 hashes in order, tokens per document)."""
    ndocs = len(texts)
    lowered = [t.lower() for t in texts]
    cps = _code_points(" ".join(lowered))
    n = len(cps)
    if not n:
        return np.empty(0, np.uint64), np.zeros(ndocs, np.int64)
    word, single = _tables(cps)
    is_word = np.zeros(n + 2, bool)
    np.take(word, cps, out=is_word[1:-1])
    is_single = np.zeros(n + 2, bool)
    np.take(single, cps, out=is_single[1:-1])
    # A token starts at a word character after a non-word one, and at or after a one-character
    # token; it ends symmetrically. Padded with False at both ends.
    brk = is_single[1:] | is_single[:-1] | (is_word[1:] != is_word[:-1])  # boundary between i and i+1
    starts = np.flatnonzero(is_word[1:] & brk)  # padded index i+1 → code point i
    ends = np.flatnonzero(is_word[:-1] & brk)
    lengths = np.fromiter((len(t) + 1 for t in lowered), np.int64, ndocs)
    doc_starts = np.cumsum(lengths) - lengths
    counts = np.diff(np.searchsorted(starts, doc_starts), append=len(starts)).astype(np.int64)
    pw, inv = _power_tables(n + 1)
    with np.errstate(over="ignore"):
        prefix = np.empty(n + 1, np.uint64)
        prefix[0] = 0
        values = cps.astype(np.uint64)
        values += np.uint64(1)
        values *= pw[:n]
        np.cumsum(values, out=prefix[1:])
        hashes = prefix[ends]
        hashes -= prefix[starts]
        hashes *= inv[starts]
    return fmix64(hashes), counts


def _combine(units: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Combine every window of ``n`` consecutive unit hashes inside each document.

    ``units`` is the flat uint64 array of all documents' units, ``counts`` the units per
    document. Returns (uint32 shingle hashes, shingles per document).
    """
    total = len(units)
    ndocs = len(counts)
    if total == 0:
        return np.empty(0, np.uint32), np.zeros(ndocs, np.int64)
    ends = np.cumsum(counts)
    starts = ends - counts
    nwin = np.maximum(counts - n + 1, 0)
    short = np.flatnonzero((counts > 0) & (counts < n))
    m = max(total - n + 1, 0)
    with np.errstate(over="ignore"):
        acc = np.zeros(m, np.uint64)
        for k in range(n):
            acc = acc * _POLY + units[k : k + m]
        doc_of = np.repeat(np.arange(ndocs), counts)[:m]
        hashes = acc[np.arange(m) + n <= ends[doc_of]]
        per_doc = nwin.astype(np.int64)
        if len(short):
            # Short documents: one shingle of all their units, spliced in at their position.
            sh = np.zeros(len(short), np.uint64)
            for j, d in enumerate(short):
                h = np.uint64(0)
                for u in units[starts[d] : ends[d]]:
                    h = h * _POLY + u
                sh[j] = h
            per_doc[short] = 1
            hashes = np.insert(hashes, np.cumsum(nwin)[short], sh)
        out = (fmix64(hashes) & _MASK32).astype(np.uint32)
    return out, per_doc


def word_shingle_hashes(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of word ``n``-grams for a batch: (flat uint32 hashes, shingles per document)."""
    units, counts = token_hashes(texts)
    return _combine(units, counts, n)


def char_shingle_hashes(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of character ``n``-grams of the normalized text: (flat uint32 hashes, per document)."""
    keys = [exact_key(t) for t in texts]
    counts = np.fromiter((len(k) for k in keys), np.int64, len(keys))
    units = _code_points("".join(keys)).astype(np.uint64) + np.uint64(1)
    return _combine(units, counts, n)


def shingle_hashes(texts: Sequence[str], kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch on the shingle ``kind`` (``word`` or ``char``)."""
    if kind == "word":
        return word_shingle_hashes(texts, n)
    if kind == "char":
        return char_shingle_hashes(texts, n)
    raise ValueError(f"unknown shingle kind {kind!r}")
