"""Rows of a dense table summed per document, in order, in float32: ``csr_matrix(...) @ table`` without the
cost of importing :mod:`scipy.sparse` (~0.3 CPU-s: it pulls in numpy.f2py, numpy.testing, numpy.ma, …).

The sum is scipy's ``csr_matvecs`` kernel (for each document, ``out += table[row]`` for each of its rows
in turn): its float32 rounding is what the fast engine's scores are defined by, and no numpy operation
does the same fused gather-and-add (``np.add.at``, or a gather then a per-document reduction, are 2–5×
slower for the same bits). The compiled kernel is loaded from scipy's own extension file, skipping the
package's ``__init__``; where that fails (another scipy layout), it is imported the ordinary way.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_KERNEL_MODULE = "scipy.sparse._sparsetools"


def _load_extension() -> Any:
    """scipy's ``_sparsetools`` extension module, loaded from its file without running scipy.sparse's __init__."""
    loaded = sys.modules.get(_KERNEL_MODULE)
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("scipy")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scipy not found")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sparse"
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"_sparsetools{suffix}"
        if path.is_file():
            loader = importlib.machinery.ExtensionFileLoader(_KERNEL_MODULE, str(path))
            module_spec = importlib.util.spec_from_file_location(_KERNEL_MODULE, path, loader=loader)
            if module_spec is None:
                break
            module = importlib.util.module_from_spec(module_spec)
            loader.exec_module(module)
            return module
    raise ImportError(f"no _sparsetools extension in {folder}")


@functools.cache
def _kernel() -> Callable[..., None]:
    try:
        kernel = _load_extension().csr_matvecs
        _check(kernel)
        return kernel
    except Exception:  # any failure: the same kernel, imported through scipy.sparse
        from scipy.sparse import _sparsetools

        return _sparsetools.csr_matvecs


def _check(kernel: Callable[..., None]) -> None:
    """A small sum whose float32 rounding shows the kernel adds rows one by one from zero, in order."""
    table = np.array([[1.0, 3.0], [2.0**-24, 2.0**-24]], dtype=np.float32)
    out = np.zeros((1, 2), dtype=np.float32)
    indptr, rows = np.array([0, 3], dtype=np.int32), np.array([0, 1, 1], dtype=np.int32)
    kernel(1, 2, 2, indptr, rows, np.ones(3, dtype=np.float32), table.ravel(), out.ravel())
    if out.tolist() != [[1.0, 3.0]]:  # 1 + 2**-24 rounds back to 1 at each step in float32
        raise RuntimeError("unexpected csr_matvecs result")


def sum_rows(indptr: np.ndarray, rows: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per document ``d``, ``table[rows[indptr[d]:indptr[d + 1]]]`` summed in order, starting from 0, in float32
    (``len(indptr) - 1`` documents; ``table`` C-contiguous float32 of shape (vocabulary, width))."""
    n_docs, (n_rows, width) = len(indptr) - 1, table.shape
    out = np.zeros((n_docs, width), dtype=np.float32)
    if len(rows):
        indptr = indptr.astype(np.int32, copy=False) if n_rows < 2**31 and len(rows) < 2**31 else indptr
        rows = rows.astype(indptr.dtype, copy=False)
        ones = np.ones(len(rows), dtype=np.float32)
        _kernel()(n_docs, n_rows, width, indptr, rows, ones, table.ravel(), out.ravel())
    return out
