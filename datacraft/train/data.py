"""Parquet → token-id cache → batches: streaming, seeded, never the corpus in memory.

1. :func:`iter_rows` streams (id, text, label) batches from curated Parquet shards.
2. :func:`split_of` puts each document in ``train`` or ``val`` by a seeded hash of its id.
3. :func:`encode_to_cache` tokenizes once (Rust, batched) into ``cache/{train,val}.parquet``
   (token ids as ``list<int32>``), written row group by row group, and into the flat token files
   ``cache/{train,val}.tokens`` (documents joined by ``[EOS]``, :mod:`tokfile`).
4. :func:`windows.lm_batches` streams fixed LM windows from the flat file; :func:`cls_batches` pads
   documents per batch. Both shuffle through a seeded buffer whose order depends on (seed, epoch)
   only, so a resumed run sees exactly the batches it would have seen.
5. :func:`make_dataset` wraps a batch generator in ``tf.data`` with prefetching.
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from datacraft.errors import ConfigError, InputError
from datacraft.io import fs
from datacraft.io.paths import list_shards
from datacraft.train import tokfile
from datacraft.train.config import TrainConfig
from datacraft.train.tokenizer import TextTokenizer, TokenStats

SPLITS = ("train", "val")


def parquet_files(spec: str | Path) -> list[str]:
    """Parquet files of DATA: a curated run directory (its ``data/``), a directory, a file or a glob."""
    spec = str(spec)
    if (fs.as_path(spec) / "data").is_dir():
        spec = fs.join(spec, "data")
    shards = list_shards([spec], fmt="auto")
    bad = [s.path for s in shards if s.format != "parquet"]
    if bad:
        raise InputError(f"training data must be Parquet (curate it with `datacraft run`/`apply`): {bad[0]}")
    return [fs.local_copy(s.path) for s in shards]  # objects of a store: cached in local scratch


def check_columns(files: list[str], required: list[str]) -> pa.Schema:
    """Fail with exit 2 naming the file and column when a required column is missing."""
    schema = None
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{f}: not a readable Parquet file: {e}") from None
        for col in required:
            if col not in schema.names:
                raise ConfigError(f"{f}: no column {col!r} (columns: {', '.join(schema.names)}); check data.*_column")
    assert schema is not None
    return schema


@dataclass
class RowBatch:
    """Aligned columns of one read batch."""

    ids: list[str]
    texts: list[str]
    labels: list[Any] | None


def iter_rows(
    files: list[str], text_col: str, id_col: str, label_col: str | None, batch_rows: int, max_docs: int | None = None
) -> Iterator[RowBatch]:
    """Stream row batches; missing ids become ``file:row``; rows with null text are skipped here
    and counted by the caller through :class:`ReadCounts`."""
    seen = 0
    for f in files:
        pf = pq.ParquetFile(f)
        names = pf.schema_arrow.names
        cols = [c for c in (id_col, text_col, label_col) if c and c in names]
        row = 0
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            n = batch.num_rows
            if max_docs is not None:
                n = min(n, max_docs - seen)
                if n <= 0:
                    return
            texts = batch.column(text_col).to_pylist()[:n]
            raw_ids = batch.column(id_col).to_pylist()[:n] if id_col in names else [None] * n
            ids = [str(r) if r is not None else f"{os.path.basename(f)}:{row + j}" for j, r in enumerate(raw_ids)]
            labels = batch.column(label_col).to_pylist()[:n] if label_col else None
            yield RowBatch(ids, texts, labels)
            row += n
            seen += n


def split_of(doc_id: str, seed: int, val_fraction: float) -> str:
    """``val`` for a seeded-hash share ``val_fraction`` of ids, else ``train`` (stable across runs)."""
    h = xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seed & 0xFFFFFFFFFFFFFFFF)
    return "val" if (h % 1_000_000) < val_fraction * 1_000_000 else "train"


def label_name(value: Any) -> str:
    """Labels are kept as strings (``1`` and ``"1"`` are the same class)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sort_labels(labels: set[str]) -> list[str]:
    """Numeric labels in numeric order, others alphabetically."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


@dataclass
class ReadCounts:
    """What happened to every row read: nothing is dropped silently."""

    rows: int = 0
    null_text: int = 0
    null_label: int = 0
    empty_after_tokenize: int = 0
    unknown_label: int = 0
    not_selected: int = 0
    per_split: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "skipped_null_text": self.null_text,
            "skipped_null_label": self.null_label,
            "skipped_empty": self.empty_after_tokenize,
            "skipped_unknown_label": self.unknown_label,
            "not_selected": self.not_selected,
            "docs": dict(self.per_split),
        }


def train_texts(files: list[str], cfg: TrainConfig, labels_out: set[str]) -> Iterator[str]:
    """Texts of the training split (for the tokenizer), collecting every label seen into ``labels_out``."""
    d = cfg.data
    for b in iter_rows(files, d.text_column, d.id_column, d.label_column, d.read_batch_rows, d.max_docs):
        for j, text in enumerate(b.texts):
            if b.labels is not None and b.labels[j] is not None:
                labels_out.add(label_name(b.labels[j]))
            if text and split_of(b.ids[j], cfg.seed, d.val_fraction) == "train":
                yield text


CACHE_SCHEMA = pa.schema([("id", pa.string()), ("ids", pa.list_(pa.int32())), ("label", pa.int32())])


def encode_to_cache(
    files: list[str],
    cfg: TrainConfig,
    tok: TextTokenizer,
    labels: list[str] | None,
    out_dir: Path,
    splits: Callable[[str], str | None] | None = None,
    key: str | None = None,
) -> tuple[ReadCounts, dict[str, TokenStats]]:
    """Tokenize every document once into ``out_dir/{split}.parquet`` (ids per document, for classifiers
    and tools) and ``out_dir/{split}.tokens`` (the flat LM stream, see :mod:`tokfile`), each atomic;
    ``meta.json`` (with ``key``) is written last, after every file is in place.

    ``splits`` maps an id to a split name, or None to leave the document out (counted as
    ``not_selected``); default: :func:`split_of` with the config's seed."""
    d = cfg.data
    out_dir.mkdir(parents=True, exist_ok=True)
    tokfile.invalidate(out_dir)
    dtype = tokfile.token_dtype(tok.vocab_size)
    assign = splits or (lambda i: split_of(i, cfg.seed, d.val_fraction))
    index = {name: i for i, name in enumerate(labels or [])}
    counts = ReadCounts()
    stats = {s: TokenStats(tok.vocab_size) for s in SPLITS}
    writers: dict[str, pq.ParquetWriter] = {}
    tmp = {s: out_dir / f".{s}.parquet.tmp" for s in SPLITS}
    flat = {s: tokfile.TokenWriter(out_dir / f"{s}{tokfile.SUFFIX}", dtype, tok.eos_id) for s in SPLITS}
    try:
        for b in iter_rows(files, d.text_column, d.id_column, d.label_column, d.read_batch_rows, d.max_docs):
            counts.rows += len(b.texts)
            keep = []
            for j, text in enumerate(b.texts):
                if text is None:
                    counts.null_text += 1
                elif b.labels is not None and b.labels[j] is None:
                    counts.null_label += 1
                elif b.labels is not None and label_name(b.labels[j]) not in index:
                    counts.unknown_label += 1
                else:
                    keep.append(j)
            texts = [b.texts[j] for j in keep]
            enc = tok.encode_batch(texts) if texts else []
            rows: dict[str, list[tuple[str, list[int], int, str]]] = {s: [] for s in SPLITS}
            for j, ids, text in zip(keep, enc, texts, strict=True):
                if not ids:
                    counts.empty_after_tokenize += 1
                    continue
                split = assign(b.ids[j])
                if split is None:
                    counts.not_selected += 1
                    continue
                label = index[label_name(b.labels[j])] if b.labels is not None else -1
                rows[split].append((b.ids[j], ids, label, text))
            for s, rs in rows.items():
                if not rs:
                    continue
                counts.per_split[s] += len(rs)
                stats[s].add([r[1] for r in rs], [r[3] for r in rs], tok.unk_id)
                table = pa.table(
                    {
                        "id": pa.array([r[0] for r in rs], pa.string()),
                        "ids": pa.array([r[1] for r in rs], pa.list_(pa.int32())),
                        "label": pa.array([r[2] for r in rs], pa.int32()),
                    },
                    schema=CACHE_SCHEMA,
                )
                if s not in writers:
                    writers[s] = pq.ParquetWriter(tmp[s], CACHE_SCHEMA, compression="zstd")
                writers[s].write_table(table)
                col = table.column("ids").combine_chunks()
                flat[s].add(col.flatten().to_numpy(zero_copy_only=False), col.offsets.to_numpy()[1:])
        for s in SPLITS:
            if s not in writers:
                writers[s] = pq.ParquetWriter(tmp[s], CACHE_SCHEMA, compression="zstd")
            writers.pop(s).close()
            os.replace(tmp[s], out_dir / f"{s}.parquet")
        sizes = {s: flat[s].commit() for s in SPLITS}
        tokfile.write_meta(out_dir, dtype, tok.eos_id, sizes, key)
    finally:
        for w in writers.values():
            w.close()
        for t in tmp.values():
            t.unlink(missing_ok=True)
        for fw in flat.values():
            fw.abort()
    return counts, stats


def iter_cache(path: Path, batch_rows: int = 2048, select: Callable[[str], bool] | None = None) -> Iterator[tuple]:
    """Stream (id, token ids, label) from a cache file, optionally only the ids ``select`` accepts."""
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=batch_rows):
        ids = batch.column("id").to_pylist()
        toks = batch.column("ids").to_pylist()
        labels = batch.column("label").to_pylist()
        for i, t, lab in zip(ids, toks, labels, strict=True):
            if select is None or select(i):
                yield i, t, lab


def _shuffled(items: Iterator[Any], buffer: int, rng: random.Random | None) -> Iterator[Any]:
    """Seeded buffer shuffle (``rng`` None: original order)."""
    if rng is None:
        yield from items
        return
    buf: list[Any] = []
    for it in items:
        if len(buf) < buffer:
            buf.append(it)
            continue
        k = rng.randrange(buffer)
        yield buf[k]
        buf[k] = it
    rng.shuffle(buf)
    yield from buf


def epoch_rng(seed: int, epoch: int | None) -> random.Random | None:
    """The shuffle RNG of one epoch (None: no shuffling)."""
    return None if epoch is None else random.Random(seed * 1_000_003 + epoch)


def lm_window_chunks(
    path: Path, seq_len: int, eos_id: int, select: Callable[[str], bool] | None = None
) -> Iterator[np.ndarray]:
    """Pack documents (each followed by ``[EOS]``) into windows of ``seq_len + 1`` tokens with stride
    ``seq_len`` (every token after the first is a prediction target exactly once), yielded as 2-D
    chunks; vectorized per cache row group (no per-token Python work)."""
    carry = np.zeros(0, dtype=np.int32)
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=2048, columns=["id", "ids"]):
        col = batch.column("ids")
        if select is not None:
            keep = np.asarray([select(i) for i in batch.column("id").to_pylist()], dtype=bool)
            if not keep.any():
                continue
            col = col.filter(pa.array(keep))
        flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
        ends = col.offsets.to_numpy()[1:]
        stream = np.concatenate([carry, np.insert(flat, ends, eos_id)])
        n = max(0, (len(stream) - 1) // seq_len)
        if n:
            idx = np.arange(n)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
            yield stream[idx]
        carry = stream[n * seq_len :]


def lm_windows(
    path: Path, seq_len: int, eos_id: int, select: Callable[[str], bool] | None = None
) -> Iterator[np.ndarray]:
    """The windows of :func:`lm_window_chunks` one by one."""
    for chunk in lm_window_chunks(path, seq_len, eos_id, select):
        yield from chunk


def count_lm_windows(tokens_with_eos: int, seq_len: int) -> int:
    """Windows :func:`lm_windows` yields for a token stream of this length."""
    return max(0, (tokens_with_eos - 1) // seq_len)


def pad_batch(seqs: list[list[int]], max_length: int) -> np.ndarray:
    """Post-pad (id 0) and truncate to ``max_length``; width is the longest sequence in the batch."""
    width = min(max_length, max(len(s) for s in seqs))
    out = np.zeros((len(seqs), width), dtype=np.int32)
    for i, s in enumerate(seqs):
        s = s[:width]
        out[i, : len(s)] = s
    return out


def cls_batches(
    path: Path,
    max_length: int,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int | None = None,
    buffer: int = 4096,
    class_weights: np.ndarray | None = None,
    select: Callable[[str], bool] | None = None,
) -> Iterator[tuple[np.ndarray, ...]]:
    """(token ids, label[, sample weight]) batches; the last batch may be smaller."""
    docs = _shuffled(((t, lab) for _, t, lab in iter_cache(path, select=select)), buffer, epoch_rng(seed, epoch))
    rows: list[tuple[list[int], int]] = []

    def emit() -> tuple[np.ndarray, ...]:
        x = pad_batch([r[0] for r in rows], max_length)
        y = np.asarray([r[1] for r in rows], dtype=np.int32)
        if class_weights is None:
            return x, y
        return x, y, class_weights[y].astype(np.float32)

    for doc in docs:
        rows.append(doc)
        if len(rows) == batch_size:
            yield emit()
            rows = []
    if rows:
        yield emit()


def cache_label_counts(path: Path, num_classes: int, select: Callable[[str], bool] | None = None) -> np.ndarray:
    """Documents per class in a cache file."""
    c: Counter[int] = Counter(lab for _, _, lab in iter_cache(path, select=select))
    return np.asarray([c.get(i, 0) for i in range(num_classes)], dtype=np.int64)


def class_weight_vector(cfg: TrainConfig, labels: list[str], counts: np.ndarray) -> np.ndarray | None:
    """Per-class loss weights: ``balanced`` = n / (k · n_c) (scikit-learn's rule), or the configured map."""
    if cfg.class_weight == "none":
        return None
    if cfg.class_weight == "balanced":
        n, k = counts.sum(), len(labels)
        return np.asarray([n / (k * c) if c else 0.0 for c in counts], dtype=np.float32)
    unknown = set(cfg.class_weight) - set(labels)
    if unknown:
        raise ConfigError(f"class_weight: unknown label(s) {sorted(unknown)} (labels: {labels})")
    return np.asarray([cfg.class_weight.get(lab, 1.0) for lab in labels], dtype=np.float32)


def steps_for(n_docs_or_windows: int, batch_size: int, drop_remainder: bool) -> int:
    return n_docs_or_windows // batch_size if drop_remainder else math.ceil(n_docs_or_windows / batch_size)


def make_dataset(
    gen_fn: Callable[[int], Iterator[tuple]], signature: tuple, epochs: range | None = None, batches: int | None = None
) -> Any:
    """``tf.data`` over a batch generator, prefetched. With ``epochs``, one dataset spans those epochs
    (``gen_fn(epoch)`` each), so fit can run with a fixed ``steps_per_epoch`` and resume mid-schedule.
    ``batches`` declares the known number of batches of a single pass (checked by tf.data)."""
    import tensorflow as tf

    def one(epoch: Any) -> Any:
        return tf.data.Dataset.from_generator(lambda e: gen_fn(int(e)), args=(epoch,), output_signature=signature)

    if epochs is None:
        ds = tf.data.Dataset.from_generator(lambda: gen_fn(-1), output_signature=signature)
        if batches is not None:
            ds = ds.apply(tf.data.experimental.assert_cardinality(batches))
    else:
        ds = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(one)
    return ds.prefetch(tf.data.AUTOTUNE)
