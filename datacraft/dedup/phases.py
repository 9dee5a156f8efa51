"""The four dedup phases as module-level task functions over picklable task records.

1. :func:`signature_task` (per shard): exact hashes, MinHash signatures, LSH band hashes.
2. :func:`group_task` (per band, plus one for exact hashes): equal hashes → candidate pairs,
   optionally verified by estimated or exact Jaccard (:mod:`datacraft.dedup.verify`).
3. :func:`cluster_task` (one task): connected components of all pairs, a representative per
   cluster, per-shard decisions.
4. :func:`filter_task` (per shard): kept documents get ``dup_cluster``/``dup_count``; the others
   go to ``rejected/`` with ``exact_dup``/``near_dup`` and ``duplicate_of``.

Every task writes its files atomically and then a completion marker; memory is bounded by one
shard (1, 4), one band (2) or the documents that have duplicates (3).
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from datacraft.dedup.layout import WorkLayout
from datacraft.dedup.memory import use_system_pool
from datacraft.dedup.minhash import band_hashes, signatures
from datacraft.dedup.params import DedupParams
from datacraft.dedup.shingles import exact_key, shingle_hashes
from datacraft.dedup.uniq import unique_rows, unique_values
from datacraft.dedup.verify import ShingleStore, unique_sets
from datacraft.document import Document
from datacraft.io import fs
from datacraft.io.arrays import to_arrow
from datacraft.io.atomic import atomic_path, write_text_atomic
from datacraft.io.paths import Shard
from datacraft.io.readers import ReadOptions, read_shard
from datacraft.progress import report_docs

STAGE = "dedup"
ROW_BITS = np.uint64(32)
ROW_MASK = np.uint64(0xFFFFFFFF)


def doc_keys(shard: int, rows: np.ndarray) -> np.ndarray:
    """Global document keys: shard index in the high 32 bits, row within the shard in the low 32."""
    return (np.uint64(shard) << ROW_BITS) | rows.astype(np.uint64)


def int64_array(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array over a numpy array's buffer (``pa.array`` of numpy would import pandas)."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def int64_values(column: pa.ChunkedArray) -> np.ndarray:
    """An int64 column without nulls as numpy (``to_numpy`` would import pandas)."""
    return np.fromiter(column.to_pylist(), dtype=np.int64, count=len(column))


def release_free_memory() -> None:
    """Give the C heap's free pages back to the OS (glibc ``malloc_trim``): a worker kept for the next task
    would otherwise hold the previous task's peak."""
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim  # noqa: B018  (glibc only)
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc: Any = None


def lean_allocators() -> None:
    """Arrow allocates from the C heap (released by :func:`release_free_memory`) instead of mimalloc, which
    kept ~30 MiB more per phase-4 task (same bytes; measured in bench/RESULTS.md). The dedup driver puts its
    caller's pool back when the run ends (:func:`datacraft.dedup.memory.caller_pool_restored`)."""
    use_system_pool()


def start_task() -> float:
    """Reset this process's peak-RSS counter (Linux ``clear_refs``) and return the CPU clock."""
    lean_allocators()
    release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return time.process_time()


def peak_rss_mib() -> float:
    """Peak RSS since :func:`start_task` (Linux ``VmHWM``), else the process's lifetime peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def task_resources(t_cpu: float) -> dict[str, float]:
    """CPU seconds since ``t_cpu`` and the task's peak RSS (MiB); then the task's free memory is released."""
    out = {"cpu_seconds": time.process_time() - t_cpu, "peak_rss_mib": peak_rss_mib()}
    release_free_memory()
    return out


def save_npy(path: Path, array: np.ndarray) -> None:
    """Write a .npy file atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def save_parquet(path: Path, table: pa.Table) -> None:
    """Write a Parquet file atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def read_parquet(path: Path | fs.RemotePath) -> pa.Table:
    """One Parquet file as a table. ``pq.ParquetFile`` rather than ``pq.read_table``, which imports
    ``pyarrow.dataset`` and ``pyarrow.compute`` (~0.6 CPU-s and ~50 MiB in every process that reads)."""
    with pq.ParquetFile(fs.local_copy(path)) as f:
        return f.read()


def write_marker(path: Path, fingerprint: str, info: dict[str, Any]) -> None:
    """The completion marker of a phase task (written last)."""
    write_text_atomic(path, json.dumps({"fingerprint": fingerprint, **info}, sort_keys=True))


def marker_valid(path: Path, fingerprint: str) -> bool:
    """Whether a phase task finished for this fingerprint."""
    try:
        return json.loads(path.read_text()).get("fingerprint") == fingerprint
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------- phase 1


@dataclass(frozen=True)
class SignatureTask:
    """Phase 1 for one shard."""

    shard: Shard
    params: dict[str, Any]
    read: ReadOptions
    out: str
    fingerprint: str


#: Characters hashed at once: the shingling arrays take ~40 bytes per character, so ~10 MiB per part.
MAX_BATCH_CHARS = 1 << 18


def char_bounded(texts: list[str], limit: int) -> list[list[str]]:
    """Consecutive runs of ``texts`` of at most ``limit`` characters each (a longer text is a run alone)."""
    parts: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for t in texts:
        if cur and size + len(t) > limit:
            parts.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += len(t)
    if cur:
        parts.append(cur)
    return parts


def _signal(value: Any) -> float:
    """A signal value as a float; missing or non-numeric values are NaN (ranked lowest)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def signature_task(task: SignatureTask) -> dict[str, Any]:
    """Read one shard; write its doc table, exact hashes, signatures and band hashes."""
    t_cpu = start_task()
    p = DedupParams(**task.params)
    layout = WorkLayout(fs.as_path(task.out))
    idx = task.shard.index
    layout.marker(f"sig-{idx:05d}").unlink(missing_ok=True)
    ids: list[str] = []
    lengths: list[int] = []
    signal: list[float] = []
    exact: list[bytes] = []
    sig_parts: list[np.ndarray] = []
    shingled: list[np.ndarray] = []
    sets: list[np.ndarray] = []  # verify: exact — each document's shingle set
    set_sizes: list[np.ndarray] = []
    batch: list[Document] = []
    bands, rows = p.lsh()

    def flush() -> None:
        texts = [d.text for d in batch]
        if p.exact:
            exact.extend(xxhash.xxh3_128_digest(exact_key(t).encode("utf-8", "surrogatepass")) for t in texts)
        if p.near:
            for part in char_bounded(texts, MAX_BATCH_CHARS):  # each document's hashes are its own: same result
                hashes, per_doc = shingle_hashes(part, p.shingle, p.ngram)
                sig_parts.append(signatures(hashes, per_doc, p.num_perm, p.seed))
                shingled.append(per_doc > 0)
                if p.verify == "exact":
                    values, sizes = unique_sets(hashes, per_doc)
                    sets.append(values)
                    set_sizes.append(sizes)
                del hashes, per_doc
        report_docs(len(batch))
        batch.clear()

    for item in read_shard(task.shard, task.read):
        if type(item) is not Document:
            continue  # bad records are quarantined (and counted) by the filtering phase
        ids.append(item.id)
        lengths.append(len(item.text))
        if p.signal_column:
            signal.append(_signal(item.meta.get(p.signal_column)))
        batch.append(item)
        if len(batch) >= p.batch_size:
            flush()
    if batch:
        flush()
    n = len(ids)
    columns: dict[str, Any] = {"id": to_arrow(ids, pa.string()), "length": to_arrow(lengths, pa.int64())}
    if p.signal_column:
        columns["signal"] = to_arrow(signal, pa.float64())
    save_parquet(layout.shard_file(idx, "docs.parquet"), pa.table(columns))
    if p.exact:
        ex = np.frombuffer(b"".join(exact), np.uint64).reshape(n, 2) if n else np.zeros((0, 2), np.uint64)
        save_npy(layout.shard_file(idx, "exact.npy"), ex)
    if p.near:
        sigs = np.concatenate(sig_parts) if sig_parts else np.zeros((0, p.num_perm), np.uint32)
        # Documents without a single shingle (no word characters) take no part in near-dup search.
        valid = np.flatnonzero(np.concatenate(shingled)) if shingled else np.zeros(0, np.int64)
        save_npy(layout.shard_file(idx, "sig.npy"), sigs)
        save_npy(layout.shard_file(idx, "keys.npy"), valid.astype(np.uint32))
        save_npy(layout.shard_file(idx, "bands.npy"), band_hashes(sigs[valid], bands, rows))
        if p.verify == "exact":
            sizes = np.concatenate(set_sizes) if set_sizes else np.zeros(0, np.int64)
            save_npy(layout.shard_file(idx, "shingles.npy"), np.concatenate(sets) if sets else np.zeros(0, np.uint32))
            save_npy(layout.shard_file(idx, "shingle_offsets.npy"), np.concatenate(([0], np.cumsum(sizes))))
    info = {"shard": idx, "input": task.shard.path, "docs": n, **task_resources(t_cpu)}
    write_marker(layout.marker(f"sig-{idx:05d}"), task.fingerprint, info)
    return info


# --------------------------------------------------------------------------- phase 2


@dataclass(frozen=True)
class GroupTask:
    """Phase 2 for one band (``band >= 0``) or for the exact hashes (``band == -1``)."""

    band: int
    shards: tuple[int, ...]
    params: dict[str, Any]
    out: str
    fingerprint: str

    @property
    def name(self) -> str:
        return "exact" if self.band < 0 else f"band-{self.band:03d}"


class SignatureStore:
    """Random access to the signatures of any shard, through memory maps (only touched rows are read)."""

    def __init__(self, layout: WorkLayout) -> None:
        self.layout = layout
        self._maps: dict[int, np.ndarray] = {}

    def get(self, keys: np.ndarray) -> np.ndarray:
        """Signatures of the documents ``keys`` (in that order)."""
        shards = (keys >> ROW_BITS).astype(np.int64)
        rows = (keys & ROW_MASK).astype(np.int64)
        out: np.ndarray | None = None
        for s in unique_values(shards):
            m = self._maps.get(int(s))
            if m is None:
                sig_file = fs.local_copy(self.layout.shard_file(int(s), "sig.npy"))
                m = self._maps[int(s)] = np.load(sig_file, mmap_mode="r")
            sel = np.flatnonzero(shards == s)
            if out is None:
                out = np.empty((len(keys), m.shape[1]), np.uint32)
            out[sel] = m[rows[sel]]
        return out if out is not None else np.zeros((0, 0), np.uint32)


def _load_group_inputs(task: GroupTask, layout: WorkLayout) -> tuple[np.ndarray, np.ndarray]:
    """(keys, hash columns) of every document of every shard for this band."""
    keys, cols = [], []
    for s in task.shards:
        if task.band < 0:
            ex = np.load(fs.local_copy(layout.shard_file(s, "exact.npy")))
            keys.append(doc_keys(s, np.arange(len(ex))))
            cols.append(ex)
        else:
            valid = np.load(fs.local_copy(layout.shard_file(s, "keys.npy")))
            bands = np.load(fs.local_copy(layout.shard_file(s, "bands.npy")), mmap_mode="r")
            keys.append(doc_keys(s, valid))
            cols.append(np.array(bands[task.band])[:, None])
    if not keys:
        return np.zeros(0, np.uint64), np.zeros((0, 1), np.uint64)
    return np.concatenate(keys), np.concatenate(cols)


def star_edges(keys: np.ndarray, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group equal hash rows: edges from each bucket's first key (smallest) to each other member.

    Returns (edges (m × 2, uint64), bucket start positions in sorted order, sorted keys).
    """
    order = np.lexsort((keys, *[hashes[:, c] for c in range(hashes.shape[1] - 1, -1, -1)]))
    k, h = keys[order], hashes[order]
    if len(k) == 0:
        return np.zeros((0, 2), np.uint64), np.zeros(0, np.int64), k
    new = np.ones(len(k), bool)
    new[1:] = (h[1:] != h[:-1]).any(axis=1)
    starts = np.flatnonzero(new)
    first = np.maximum.accumulate(np.where(new, np.arange(len(k)), 0))
    member = ~new
    edges = np.stack([k[first[member]], k[member]], axis=1)
    return edges, starts, k


Similarity = Callable[[np.ndarray, np.ndarray], np.ndarray]


def signature_similarity(store: SignatureStore) -> Similarity:
    """Estimated Jaccard: the share of equal MinHash values."""
    return lambda a, b: (store.get(a) == store.get(b)).mean(axis=1)


def _verify(edges: np.ndarray, starts: np.ndarray, skeys: np.ndarray, sim: Similarity, cut: float) -> np.ndarray:
    """Keep star edges whose similarity (estimated or exact Jaccard) reaches ``cut``.

    A member that fails against its bucket's first document is tried against the other members
    of its bucket (the first 64), so a true pair is not lost because the first one differs.
    """
    if not len(edges):
        return edges
    ok = sim(edges[:, 0], edges[:, 1]) >= cut
    kept = [edges[ok]]
    failed = edges[~ok, 1]
    if len(failed):
        bounds = np.append(starts, len(skeys))
        sorter = np.argsort(skeys, kind="stable")
        pos = sorter[np.searchsorted(skeys, failed, sorter=sorter)]
        bucket = np.searchsorted(starts, pos, side="right") - 1
        retry = (bounds[bucket + 1] - bounds[bucket]) > 2  # in a pair bucket the only other member already failed
        extra: set[tuple[int, int]] = set()
        for key, b in zip(failed[retry].tolist(), bucket[retry].tolist(), strict=True):
            members = skeys[bounds[b] + 1 : min(bounds[b + 1], bounds[b] + 64)]
            others = members[members != key]
            sims = sim(others, np.full(len(others), key, np.uint64))
            hit = np.flatnonzero(sims >= cut)
            if len(hit):
                a, c = sorted((int(others[hit[0]]), key))
                extra.add((a, c))
        if extra:
            kept.append(np.array(sorted(extra), np.uint64))
    return np.concatenate(kept)


def group_task(task: GroupTask) -> dict[str, Any]:
    """Write the candidate (verified) pairs of one band, or the exact-duplicate pairs."""
    t_cpu = start_task()
    p = DedupParams(**task.params)
    layout = WorkLayout(fs.as_path(task.out))
    layout.marker(task.name).unlink(missing_ok=True)
    keys, hashes = _load_group_inputs(task, layout)
    edges, starts, skeys = star_edges(keys, hashes)
    candidates = len(edges)
    if task.band >= 0 and p.verify != "none":
        sim = signature_similarity(SignatureStore(layout)) if p.verify == "signature" else ShingleStore(layout).jaccard
        edges = _verify(edges, starts, skeys, sim, p.effective_verify_threshold())
    if len(edges):
        edges = unique_rows(edges)
    save_npy(layout.pairs(task.name), edges.astype(np.uint64))
    info = {"group": task.name, "docs": len(keys), "candidates": candidates, "pairs": len(edges)}
    info.update(task_resources(t_cpu))
    write_marker(layout.marker(task.name), task.fingerprint, info)
    return info


# --------------------------------------------------------------------------- phase 3


@dataclass(frozen=True)
class ClusterTask:
    """Phase 3: one task over every pair file."""

    groups: tuple[str, ...]
    shards: tuple[int, ...]
    params: dict[str, Any]
    out: str
    fingerprint: str


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    """Components of the undirected graph on ``n`` nodes with edges ``a[i]–b[i]``: (count, label per node).

    Vectorized union–find: every round hooks each edge's larger root under its smaller one (the minimum
    per root), then compresses paths by pointer jumping, until both ends of every edge share a root.
    Labels are numbered by each component's smallest node (the clustering is what matters downstream).
    """
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    while len(a):
        ra, rb = parent[a], parent[b]
        differ = ra != rb
        if not differ.any():
            break
        lo, hi = np.minimum(ra[differ], rb[differ]), np.maximum(ra[differ], rb[differ])
        np.minimum.at(parent, hi, lo)
        while True:  # pointer jumping: every node straight to its root
            grand = parent[parent]
            if (grand == parent).all():
                break
            parent = grand
        a, b = a[differ], b[differ]
    roots, labels = np.unique(parent, return_inverse=True)
    return len(roots), labels.reshape(-1)


_DECISION_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("cluster", pa.int64()),
        ("count", pa.int64()),
        ("keep", pa.bool_()),
        ("duplicate_of", pa.string()),
        ("reason", pa.string()),
    ]
)


def representative_order(
    labels: np.ndarray, ids: np.ndarray, length: np.ndarray, signal: np.ndarray, keys: np.ndarray, keep: str
) -> np.ndarray:
    """Positions sorted by cluster, then best first: by policy (``longest``, ``signal``: higher first; ``first``:
    none), then id, then key (unique: a total order). Ids compare by code point, which is UTF-8 byte order."""
    primary = {"first": [], "longest": [-length], "signal": [-signal]}[keep]
    id_keys = np.array(ids.tolist(), dtype=str) if len(ids) else np.zeros(0, "U1")
    return np.lexsort((keys, id_keys, *primary[::-1], labels))


def cluster_task(task: ClusterTask) -> dict[str, Any]:
    """Union all pairs into clusters, choose representatives, write per-shard decisions."""
    t_cpu = start_task()
    p = DedupParams(**task.params)
    layout = WorkLayout(fs.as_path(task.out))
    layout.marker("clusters").unlink(missing_ok=True)
    parts = [np.load(fs.local_copy(layout.pairs(g))) for g in task.groups]
    edges = np.concatenate(parts) if parts else np.zeros((0, 2), np.uint64)
    del parts
    nodes, inverse = np.unique(edges, return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    ncomp, labels = connected_components(len(nodes), inverse[:, 0], inverse[:, 1])
    del edges, inverse
    # Attributes of the clustered documents only, shard by shard.
    node_shard = (nodes >> ROW_BITS).astype(np.int64)
    node_row = (nodes & ROW_MASK).astype(np.int64)
    ids = np.empty(len(nodes), object)
    length = np.zeros(len(nodes), np.int64)
    signal = np.full(len(nodes), -np.inf)
    ex = np.zeros((len(nodes), 2), np.uint64)
    for s in unique_values(node_shard).tolist():
        sel = np.flatnonzero(node_shard == s)
        docs = read_parquet(layout.shard_file(s, "docs.parquet"))
        rows = node_row[sel]
        shard_ids = docs.column("id").to_pylist()  # (to_numpy of strings would import pandas)
        ids[sel] = [shard_ids[r] for r in rows.tolist()]
        del shard_ids
        length[sel] = int64_values(docs.column("length"))[rows]
        if p.keep == "signal":
            sig = np.array(docs.column("signal").to_pylist(), float)[rows]
            signal[sel] = np.where(np.isnan(sig), -np.inf, sig)
        if p.exact:
            ex[sel] = np.load(fs.local_copy(layout.shard_file(s, "exact.npy")), mmap_mode="r")[node_row[sel]]
    # Representative: the best by policy, ties broken by id then by (shard, row).
    order = representative_order(labels, ids, length, signal, nodes, p.keep)
    sorted_comp = labels[order]
    first_pos = np.flatnonzero(np.diff(sorted_comp, prepend=-1) != 0)
    rep_of_comp = np.empty(ncomp, np.int64)
    rep_of_comp[sorted_comp[first_pos]] = order[first_pos]
    rep = rep_of_comp[labels]
    size = np.bincount(labels, minlength=ncomp)
    # Cluster numbers follow the representatives' position in the corpus (shard, row).
    comp_rank = np.empty(ncomp, np.int64)
    comp_rank[np.argsort(nodes[rep_of_comp], kind="stable")] = np.arange(ncomp)
    is_rep = rep == np.arange(len(nodes))
    same_text = (ex == ex[rep]).all(axis=1) if p.exact else np.zeros(len(nodes), bool)
    reason = np.where(is_rep, None, np.where(same_text, "exact_dup", "near_dup"))
    dup_of = np.where(is_rep, None, ids[rep])
    shard_counts = {}
    for s in task.shards:
        sel = np.flatnonzero(node_shard == s)
        sel = sel[np.argsort(node_row[sel], kind="stable")]
        shard_counts[s] = len(sel)
        save_parquet(
            layout.decisions(s),
            pa.table(
                {
                    "row": int64_array(node_row[sel]),
                    "cluster": int64_array(comp_rank[labels[sel]]),
                    "count": int64_array(size[labels[sel]]),
                    "keep": to_arrow(is_rep[sel].tolist(), pa.bool_()),
                    "duplicate_of": to_arrow(dup_of[sel].tolist(), pa.string()),
                    "reason": to_arrow(reason[sel].tolist(), pa.string()),
                },
                schema=_DECISION_SCHEMA,
            ),
        )
    info = {
        "clusters": int(ncomp),
        "clustered_docs": len(nodes),
        "removed": int(len(nodes) - ncomp),
        "largest_cluster": int(size.max()) if ncomp else 0,
        **task_resources(t_cpu),
    }
    write_text_atomic(layout.cluster_summary, json.dumps(info, indent=1, sort_keys=True))
    write_marker(layout.marker("clusters"), task.fingerprint, info)
    return info


def read_decisions(layout: WorkLayout, shard: int) -> dict[int, tuple[int, int, bool, str | None, str | None]]:
    """Decisions of one shard: row → (cluster, count, keep, duplicate_of, reason)."""
    t = read_parquet(layout.decisions(shard)).to_pydict()
    return {
        r: (c, n, k, d, why)
        for r, c, n, k, d, why in zip(
            t["row"], t["cluster"], t["count"], t["keep"], t["duplicate_of"], t["reason"], strict=True
        )
    }
