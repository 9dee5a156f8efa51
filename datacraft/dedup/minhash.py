"""MinHash signatures for a batch at once, LSH band hashes, and LSH parameter choice.

The permutations are datasketch's ``affine32`` scheme (``MinHash(num_perm, seed,
scheme="affine32").permutations``: ``h -> a*fmix32(h) + b mod 2^32`` with odd ``a``), so a
signature equals ``datasketch.MinHash`` fed the same shingle hashes; only the loop is ours:
one matrix operation and a ``minimum.reduceat`` per batch instead of one call per document.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

EMPTY = np.uint32(0xFFFFFFFF)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_S16, _S13 = np.uint32(16), np.uint32(13)
#: Shingle hashes per chunk of the permutation step (a 256 KB temporary array).
CHUNK_SHINGLES = 65_536


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) uint32 permutation parameters datasketch uses for ``num_perm`` and ``seed``.

    The same draws as ``datasketch.MinHash(num_perm, seed, scheme="affine32").permutations`` (2.x):
    odd ``a`` and any ``b`` from ``np.random.RandomState(seed)`` (tested equal), without importing
    datasketch, whose import pulls in scipy and pandas (~1 CPU-s per process).
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def fmix32(h: np.ndarray) -> np.ndarray:
    """The MurmurHash3 32-bit finalizer (datasketch's pre-mix), element-wise."""
    h = h ^ (h >> _S16)
    h = h * _F1
    h = h ^ (h >> _S13)
    h = h * _F2
    return h ^ (h >> _S16)


def signatures(hashes: np.ndarray, per_doc: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """MinHash signatures (docs × num_perm, uint32) of flat shingle ``hashes`` split by ``per_doc``.

    Documents without shingles get the empty signature (all ``0xFFFFFFFF``). The work is one
    contiguous multiply-add and one ``minimum.reduceat`` per permutation and chunk of whole
    documents (measured ~2× faster than one broadcast matrix per chunk).
    """
    a, b = permutations(num_perm, seed)
    ndocs = len(per_doc)
    out = np.full((num_perm, ndocs), EMPTY, np.uint32)
    if len(hashes):
        mixed = fmix32(hashes.astype(np.uint32, copy=False))
        ends = np.cumsum(per_doc)
        starts = ends - per_doc
        nonempty = np.flatnonzero(per_doc > 0)
        ne_ends = ends[nonempty]
        tmp = np.empty(min(CHUNK_SHINGLES, len(hashes)), np.uint32)
        i = 0
        while i < len(nonempty):
            # The next run of whole documents with at most CHUNK_SHINGLES shingles (at least one document).
            j = max(int(np.searchsorted(ne_ends, starts[nonempty[i]] + CHUNK_SHINGLES, side="right")), i + 1)
            docs = nonempty[i:j]
            lo, hi = starts[docs[0]], ends[docs[-1]]
            if hi - lo > len(tmp):
                tmp = np.empty(hi - lo, np.uint32)
            chunk, t = mixed[lo:hi], tmp[: hi - lo]
            rel = starts[docs] - lo
            for k in range(num_perm):
                np.multiply(chunk, a[k], out=t)
                np.add(t, b[k], out=t)
                out[k, docs] = np.minimum.reduceat(t, rel)
            i = j
    return np.ascontiguousarray(out.T)


def band_hashes(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """64-bit hashes of each band of each signature: (bands × docs, uint64)."""
    n = len(sigs)
    out = np.empty((bands, n), np.uint64)
    wide = sigs.astype(np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            h = np.full(n, np.uint64(band) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1), np.uint64)
            for r in range(band * rows, (band + 1) * rows):
                h = (h ^ wide[:, r]) * np.uint64(0x100000001B3)
                h ^= h >> np.uint64(29)
            h = h ^ (h >> np.uint64(33))
            h *= np.uint64(0xFF51AFD7ED558CCD)
            h ^= h >> np.uint64(33)
            out[band] = h
    return out


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimizing weighted false-positive and false-negative probability (datasketch's rule)."""
    from datasketch.lsh import _optimal_param

    b, r = _optimal_param(threshold, num_perm, fp_weight, fn_weight)
    return int(b), int(r)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Row-wise fraction of equal signature values (the MinHash estimate of Jaccard similarity)."""
    return (sig_a == sig_b).mean(axis=-1)


def collision_probability(similarity: float, bands: int, rows: int) -> float:
    """Chance that two documents of Jaccard ``similarity`` share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands
