"""Exact Jaccard verification of candidate pairs (``verify: exact``), bounded in memory.

Phase 1 writes, per shard, every document's set of shingle hashes (sorted, unique ``uint32``)
as one flat array plus offsets (``shingles.npy``, ``shingle_offsets.npy``): about 4 bytes per
shingle, the size of the text. Phase 2 memory-maps them, so a band task reads only the sets of
its candidate pairs; the true Jaccard ``|A ∩ B| / |A ∪ B|`` of two sets is computed with one
merge (``np.intersect1d`` of sorted unique arrays). Memory per task is the candidate pairs of
one band plus two sets at a time.
"""

from __future__ import annotations

import numpy as np

from datacraft.dedup.layout import WorkLayout

ROW_BITS = 32
ROW_MASK = (1 << ROW_BITS) - 1


def unique_sets(hashes: np.ndarray, per_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingle hashes per document: (flat uint32 values, sizes per document)."""
    ndocs = len(per_doc)
    if not len(hashes):
        return np.zeros(0, np.uint32), np.zeros(ndocs, np.int64)
    doc = np.repeat(np.arange(ndocs), per_doc)
    order = np.lexsort((hashes, doc))
    h, d = hashes[order], doc[order]
    keep = np.ones(len(h), bool)
    keep[1:] = (h[1:] != h[:-1]) | (d[1:] != d[:-1])
    return h[keep].astype(np.uint32), np.bincount(d[keep], minlength=ndocs).astype(np.int64)


class ShingleStore:
    """Random access to the shingle sets of any shard, through memory maps."""

    def __init__(self, layout: WorkLayout) -> None:
        self.layout = layout
        self._maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _shard(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        m = self._maps.get(s)
        if m is None:
            values = np.load(self.layout.shard_file(s, "shingles.npy"), mmap_mode="r")
            offsets = np.load(self.layout.shard_file(s, "shingle_offsets.npy"))
            m = self._maps[s] = (values, offsets)
        return m

    def get(self, key: int) -> np.ndarray:
        """The shingle set of document ``key`` (shard << 32 | row)."""
        values, offsets = self._shard(key >> ROW_BITS)
        row = key & ROW_MASK
        return np.asarray(values[offsets[row] : offsets[row + 1]])

    def jaccard(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Exact Jaccard similarity of the documents ``a[i]`` and ``b[i]``, element-wise."""
        out = np.zeros(len(a), np.float64)
        cache: dict[int, np.ndarray] = {}
        for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
            sx = cache.get(x)
            if sx is None:
                sx = cache[x] = self.get(x)
            sy = cache.get(y)
            if sy is None:
                sy = cache[y] = self.get(y)
            if len(cache) > 4096:
                cache.clear()
            inter = len(np.intersect1d(sx, sy, assume_unique=True))
            union = len(sx) + len(sy) - inter
            out[i] = inter / union if union else 0.0
        return out
