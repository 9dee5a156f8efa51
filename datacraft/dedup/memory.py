"""Which allocator Arrow uses in a dedup run, and putting the caller's back afterwards.

Arrow's default allocator (mimalloc) keeps freed memory mapped: ~16–19 MiB more resident per dedup process
than the C heap, which ``malloc_trim`` returns between tasks (measured in bench/RESULTS.md, sessions 5–6).
The allocator changes memory only, never bytes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

#: Arrow reads it once, when pyarrow is imported: the allocator of its C++ internals (Parquet pages, codecs).
ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_system_allocator() -> None:
    """For a process that only runs dedup (the ``datacraft dedup`` command), before pyarrow is imported:
    Arrow's C++ default allocator becomes the C heap, here and in the worker processes (they inherit the
    environment). A user's own ``ARROW_DEFAULT_MEMORY_POOL`` wins; once pyarrow is loaded this does nothing."""
    if "pyarrow" not in sys.modules:
        os.environ.setdefault(ARROW_POOL_ENV, "system")


def use_system_pool() -> None:
    """pyarrow's default pool (what datacraft's own Arrow calls allocate from) becomes the C heap."""
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


@contextlib.contextmanager
def caller_pool_restored() -> Iterator[None]:
    """Around a dedup run in the caller's process: its tasks may switch pyarrow's default pool to the C heap
    (:func:`use_system_pool`); the pool the caller had is the default again afterwards."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    try:
        yield
    finally:
        if pa.default_memory_pool() is not previous:
            pa.set_memory_pool(previous)
