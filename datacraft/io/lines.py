"""JSONL bytes as numbered lines or as blocks of whole lines, read in large chunks from a stream.

Both readers share one chunking: the columnar reader (:mod:`datacraft.io.jsoncols`) takes blocks,
the per-line reader takes the lines of the same blocks, so byte order marks, over-long lines and the
line a broken stream is reported at are the same on both paths.
"""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Iterator
from typing import IO

import numpy as np
import zstandard

from datacraft.errors import InputError
from datacraft.io.records import TooLong

RAW_SNIPPET = 500
BOM = b"\xef\xbb\xbf"
STREAM_ERRORS = (EOFError, OSError, zlib.error, zstandard.ZstdError, lzma.LZMAError)
#: Bytes read (decompressed) at a time by the block reader (:mod:`datacraft.io.jsoncols` parses whole blocks).
CHUNK = 1 << 22
#: Bytes read at a time by the per-line reader: its lines are handled one by one, so a larger block only holds
#: more line objects at once (~3× the block: the chunk, the joined block, its lines) for no speed (measured in
#: bench/RESULTS.md, session 6); the lines and every reported position are the same for any size.
LINE_CHUNK = 1 << 20


def iter_blocks(
    fh: IO[bytes], path: str, chunk_size: int = CHUNK, max_bytes: int | None = None
) -> Iterator[tuple[int, bytes | TooLong]]:
    """Yield (number of the first line, block): a block is whole lines each ending in ``\\n`` (the
    file's last line may have none), or a :class:`TooLong` line.

    The lines, their numbers, the dropped byte order mark, the over-long lines and the line a
    broken stream is reported at are those of :func:`datacraft.io.readers.iter_lines`.
    """
    lineno = 0
    rest = b""
    first = True
    long_size = -1  # >= 0 while skipping the rest of an over-long line
    long_head = b""
    limit = max_bytes if max_bytes is not None else -1
    try:
        while True:
            chunk = fh.read(chunk_size)
            if not chunk:
                break
            if first:
                first = False
                if chunk.startswith(BOM[: len(chunk)]) and len(chunk) < len(BOM):
                    chunk += fh.read(len(BOM))
                if chunk.startswith(BOM):
                    chunk = chunk[len(BOM) :]
            if long_size >= 0:
                end = chunk.find(b"\n")
                if end < 0:
                    long_size += len(chunk)
                    continue
                lineno += 1
                yield lineno, TooLong(long_size + end, long_head)
                long_size = -1
                chunk = chunk[end + 1 :]
            cut = chunk.rfind(b"\n") + 1
            if cut:
                # one copy at most: the carried partial line joined with the chunk's whole lines
                block = chunk if cut == len(chunk) and not rest else b"".join((rest, memoryview(chunk)[:cut]))
                rest = chunk[cut:]
                yield lineno + 1, block
                lineno += int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))  # 3× bytes.count
            else:
                rest += chunk
            if 0 <= limit < len(rest):
                long_size, long_head, rest = len(rest), rest[:RAW_SNIPPET], b""
        if long_size >= 0:
            lineno += 1
            yield lineno, TooLong(long_size, long_head)
        elif rest:
            lineno += 1
            yield lineno, rest
    except STREAM_ERRORS as e:
        raise InputError(f"{path}: cannot read past line {lineno}: {e} (truncated or corrupt file?)") from None
    finally:
        fh.close()


def block_lines(first: int, block: bytes | TooLong) -> Iterator[tuple[int, bytes | TooLong]]:
    """The numbered lines of a block, as :func:`~datacraft.io.readers.iter_lines` yields them."""
    if type(block) is TooLong:
        yield first, block
        return
    lines = block.split(b"\n")  # type: ignore[union-attr]
    if block.endswith(b"\n"):  # type: ignore[union-attr]
        lines.pop()
    yield from enumerate(lines, first)


def iter_lines(
    fh: IO[bytes], path: str, chunk_size: int = LINE_CHUNK, max_bytes: int | None = None
) -> Iterator[tuple[int, bytes | TooLong]]:
    """Yield (1-based line number, line bytes without the newline), reading in large chunks.

    A UTF-8 byte order mark at the start of the stream is dropped. A line longer than ``max_bytes``
    is never held whole: it is yielded as :class:`TooLong` (its length and first bytes), so memory
    stays within ``max_bytes`` plus a chunk. Raises InputError naming the file if the stream breaks
    (truncated or corrupt compression).
    """
    for first, block in iter_blocks(fh, path, chunk_size, max_bytes):
        yield from block_lines(first, block)
