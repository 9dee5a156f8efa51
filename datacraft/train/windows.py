"""LM batches streamed from a flat token file, memory bounded by the shuffle buffer.

Window ``i`` of a split is tokens ``i·L … i·L + L`` (``L = seq_len``; stride ``L``, so every token
after the first is a target exactly once). An epoch's order is a pure function of (seed, epoch,
window count, buffer): the windows are cut into blocks of ``buffer // 16`` consecutive windows, the
block order is permuted, and groups of 16 blocks (one buffer) are read — one ``pread`` per block — and
permuted within. Memory: one buffer of windows plus one int per block, whatever the corpus size.

A resumed run asks for the batches from ``start`` on: whole groups before it are skipped without
reading (their permutations are still drawn, so the RNG stays in step).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from datacraft.train.tokfile import TokenFile

BLOCKS_PER_BUFFER = 16


def _groups(n: int, seed: int, epoch: int | None, buffer: int) -> Iterator[tuple[list[tuple[int, int]], np.ndarray]]:
    """(block ranges ``[(first, stop)]``, permutation of the group's windows) per group, in epoch order;
    ``epoch`` None: original order, no permutation work."""
    if epoch is None:
        step = max(1, buffer)
        for s in range(0, n, step):
            e = min(n, s + step)
            yield [(s, e)], np.arange(e - s)
        return
    rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, epoch])
    block = max(1, buffer // BLOCKS_PER_BUFFER)
    nb = -(-n // block)
    order = rng.permutation(nb)
    for g in range(0, nb, BLOCKS_PER_BUFFER):
        ranges = [(int(b) * block, min(n, (int(b) + 1) * block)) for b in order[g : g + BLOCKS_PER_BUFFER]]
        size = sum(e - s for s, e in ranges)
        yield ranges, rng.permutation(size)


def window_order(n: int, seed: int, epoch: int | None, buffer: int) -> Iterator[np.ndarray]:
    """The window indices of one epoch, group by group (for tests and tools)."""
    for ranges, perm in _groups(n, seed, epoch, buffer):
        yield np.concatenate([np.arange(s, e) for s, e in ranges])[perm]


def lm_batches(
    tokens: TokenFile,
    seq_len: int,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int | None = None,
    buffer: int = 4096,
    drop_remainder: bool = True,
    start: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(inputs, next-token targets) int32 batches ``[batch, seq_len]`` of one epoch, from batch ``start``."""
    L = seq_len
    n = tokens.windows(L)
    skip = start * batch_size
    rest = np.zeros((0, L + 1), dtype=np.int32)
    offs = np.arange(L + 1)
    with tokens.reader() as rd:
        for ranges, perm in _groups(n, seed, epoch, buffer):
            size = len(perm)
            if skip >= size:
                skip -= size
                continue
            parts = []
            for s, e in ranges:
                flat = rd.read(s * L, e * L + 1)
                parts.append(flat[np.arange(e - s)[:, None] * L + offs[None, :]])
            rows = np.concatenate(parts)[perm]
            if skip:
                rows, skip = rows[skip:], 0
            rows = np.concatenate([rest, rows]) if len(rest) else rows
            k = len(rows) // batch_size * batch_size
            for i in range(0, k, batch_size):
                arr = rows[i : i + batch_size]
                yield arr[:, :-1], arr[:, 1:]
            rest = rows[k:]
    if len(rest) and not drop_remainder:
        yield rest[:, :-1], rest[:, 1:]


def lm_budget_batches(
    tokens: TokenFile,
    seq_len: int,
    batch_size: int,
    *,
    seed: int,
    buffer: int,
    start: int,
    count: int,
    batches_per_pass: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches ``start`` … ``start + count - 1`` of an endless stream of shuffled passes over the data
    (pass ``p`` is :func:`lm_batches` with ``epoch=p``): a fixed token budget on any data size, and the
    same batches whether a run is resumed or not."""
    if batches_per_pass <= 0:
        return
    p, skip = divmod(start, batches_per_pass)
    left = count
    while left > 0:
        for b in lm_batches(tokens, seq_len, batch_size, seed=seed, epoch=p, buffer=buffer, start=skip):
            yield b
            left -= 1
            if left == 0:
                return
        skip = 0
        p += 1
