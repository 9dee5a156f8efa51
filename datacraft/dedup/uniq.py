"""Sorted unique values and rows, as ``np.unique`` gives them, without its ``np.ma`` check.

numpy 2's plain ``np.unique`` calls ``np.ma.is_masked``, which imports ``numpy.ma`` (~0.05 CPU-s) in
every process that calls it first; dedup needs neither masks nor the hash-table path.
"""

from __future__ import annotations

import numpy as np


def unique_values(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` of a 1-D array without NaNs: its distinct values, ascending."""
    s = np.sort(a, kind="stable")
    if len(s) < 2:
        return s
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def unique_rows(a: np.ndarray) -> np.ndarray:
    """``np.unique(a, axis=0)`` of a 2-D integer array: its distinct rows, in lexicographic order."""
    if len(a) == 0:
        return a.copy()
    s = a[np.lexsort(a.T[::-1])]
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.any(s[1:] != s[:-1], axis=1, out=keep[1:])
    return s[keep]
