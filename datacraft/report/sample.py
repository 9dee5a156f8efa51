"""Bounded-memory samples of a run's Parquet outputs.

Row groups are chosen with a seeded RNG until a row cap is reached and read a batch at a time;
the text column is reduced to lengths at once and never kept, so memory does not grow with the
corpus. Each sample knows how many rows it stands for, so plots can be weighted to run totals.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datacraft.errors import InputError
from datacraft.io import fs

#: Columns computed from ``text`` for every sampled row.
CHARS, WORDS = "_chars", "_words"
#: Tokens per sampled row, only when the report is given a tokenizer.
TOKENS = "_tokens"
#: String columns of kept documents worth sampling (the rest may be large carried-through fields).
CATEGORICAL = ("lang", "dup_cluster")
SKIP_NUMERIC = ("id",)

Columns = dict[str, list[Any]]


@dataclass
class ParquetSample:
    """Small columns of sampled rows; ``weight`` scales sample counts to the whole output."""

    files: int = 0
    rows_total: int = 0
    rows_sampled: int = 0
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def weight(self) -> float:
        """Rows in the output per sampled row."""
        return self.rows_total / self.rows_sampled if self.rows_sampled else 0.0

    @property
    def complete(self) -> bool:
        """True when every row was read."""
        return self.rows_sampled == self.rows_total


def parquet_files(directory: Path) -> list[Path]:
    """Finished Parquet files under ``directory`` (recursive, e.g. ``lang=xx/``), sorted; temp files skipped."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*.parquet") if not p.name.startswith(".") and p.is_file())


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(fs.parquet_source(path))
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{path}: not a readable Parquet file: {e}") from None


def choose_row_groups(groups: list[tuple[int, int, int]], max_rows: int, seed: int) -> list[tuple[int, int, int]]:
    """Pick (file, row group, rows) entries at random (seeded) until ``max_rows``; return them in file order."""
    if sum(g[2] for g in groups) <= max_rows:
        return list(groups)
    order = list(range(len(groups)))
    random.Random(seed).shuffle(order)
    chosen, rows = [], 0
    for i in order:
        if rows >= max_rows:
            break
        chosen.append(groups[i])
        rows += groups[i][2]
    return sorted(chosen)


def word_counts(text: pa.Array) -> np.ndarray:
    """Whitespace-separated words per text, as ``str.split()`` counts them (NaN for null)."""
    parts = pc.utf8_split_whitespace(text)
    counts = pc.list_value_length(parts).to_numpy(zero_copy_only=False).astype(float)
    empty = pc.equal(pc.utf8_length(pc.list_flatten(parts)), 0).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
    return counts - np.bincount(parents[empty], minlength=len(text))


TokenCounter = Callable[[list[str]], list[int]]


def load_tokenizer(path: str | Path) -> TokenCounter:
    """A token counter from a Hugging Face ``tokenizer.json`` (``tokenizers`` imported only here).

    Raises ConfigError (exit 2) when the library is missing or the file is missing or not a tokenizer.
    """
    from datacraft.errors import ConfigError

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--tokenizer: {p} does not exist (give a Hugging Face tokenizer.json file)")
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ConfigError("--tokenizer needs the `tokenizers` package: pip install tokenizers") from None
    try:
        tok = Tokenizer.from_file(str(p))
    except Exception as e:  # the library raises plain Exception for bad JSON or unknown models
        raise ConfigError(f"--tokenizer: {p} is not a valid tokenizer.json: {e}") from None

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]

    return count


def text_lengths(text: pa.Array, tokens: TokenCounter | None = None) -> Columns:
    """Characters and whitespace-separated words of a text column (and tokens, given a counter)."""
    chars = pc.utf8_length(text)
    out: Columns = {CHARS: chars.to_pylist(), WORDS: word_counts(text).tolist()}
    if tokens is not None:
        values = text.to_pylist()
        present = [i for i, v in enumerate(values) if v is not None]
        counts: list[float | None] = [None] * len(values)
        for i, n in zip(present, tokens([values[i] for i in present]), strict=True):
            counts[i] = n
        out[TOKENS] = counts
    return out


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t)


def kept_columns(schema: pa.Schema) -> list[str]:
    """What to read from a ``data/`` file: text, numeric columns, language, dup cluster, annotate reasons."""
    cols = []
    for f in schema:
        t = f.type.value_type if pa.types.is_dictionary(f.type) else f.type  # partition columns are dictionaries
        small = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        categorical = (f.name in CATEGORICAL or f.name.endswith("_drop_reason")) and small
        if f.name == "text" or (_is_number(f.type) and f.name not in SKIP_NUMERIC) or categorical:
            cols.append(f.name)
    return list(dict.fromkeys(cols))


def kept_extract(batch: pa.RecordBatch, tokens: TokenCounter | None = None) -> Columns:
    """Reduce a batch of kept documents to lengths plus its small columns."""
    out: Columns = {}
    for name in batch.schema.names:
        col = batch.column(name)
        if name == "text":
            out.update(text_lengths(col, tokens))
        else:
            out[name] = col.to_pylist()
    return out


def rejected_columns(schema: pa.Schema) -> list[str]:
    """What to read from a ``rejected/`` file."""
    return [c for c in ("text", "stage", "reason", "signals", "meta") if c in schema.names]


def _json_obj(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return obj if isinstance(obj, dict) else {}


def rejected_extract(batch: pa.RecordBatch, tokens: TokenCounter | None = None) -> Columns:
    """Reduce a batch of rejected rows to lengths, stage, reason, language and numeric signals."""
    names = batch.schema.names
    n = batch.num_rows
    out: Columns = (
        text_lengths(batch.column("text"), tokens) if "text" in names else {CHARS: [None] * n, WORDS: [None] * n}
    )
    out["stage"] = batch.column("stage").to_pylist() if "stage" in names else [None] * n
    out["reason"] = batch.column("reason").to_pylist() if "reason" in names else [None] * n
    signals = [_json_obj(s) for s in batch.column("signals").to_pylist()] if "signals" in names else [{}] * n
    metas = [_json_obj(s) for s in batch.column("meta").to_pylist()] if "meta" in names else [{}] * n
    langs = []
    for sig, meta in zip(signals, metas, strict=True):
        lang = sig.get("lang", meta.get("lang"))
        langs.append(lang if isinstance(lang, str) else None)
    out["lang"] = langs
    out["signals"] = [
        {k: float(v) for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)} for s in signals
    ]
    return out


def sample_parquet(
    files: list[Path],
    *,
    max_rows: int,
    seed: int,
    columns_for: Callable[[pa.Schema], list[str]],
    extract: Callable[[pa.RecordBatch], Columns],
    batch_rows: int = 1024,
) -> ParquetSample:
    """Sample at most ``max_rows`` rows of ``files`` by whole row groups (seeded), one batch in memory at a time."""
    handles = [_open(p) for p in files]
    groups = [
        (fi, g, h.metadata.row_group(g).num_rows) for fi, h in enumerate(handles) for g in range(h.num_row_groups)
    ]
    total = sum(g[2] for g in groups)
    sample = ParquetSample(files=len(files), rows_total=total)
    acc: dict[str, list[Any]] = {}
    rows = 0
    for fi, g, _n in choose_row_groups(groups, max_rows, seed):
        if rows >= max_rows:
            break
        handle = handles[fi]
        cols = columns_for(handle.schema_arrow)
        try:
            batches = handle.iter_batches(batch_size=batch_rows, row_groups=[g], columns=cols)
            for batch in batches:
                batch = batch.slice(0, max_rows - rows)
                part = extract(batch)
                for name in acc.keys() - part.keys():
                    acc[name].extend([None] * batch.num_rows)
                for name, values in part.items():
                    acc.setdefault(name, [None] * rows).extend(values)
                rows += batch.num_rows
                if rows >= max_rows:
                    break
        except (pa.ArrowException, OSError) as e:
            raise InputError(f"{files[fi]}: cannot read row group {g}: {e}") from None
    sample.rows_sampled = rows
    sample.columns = {name: _to_array(values) for name, values in acc.items()}
    return sample


def _to_array(values: list[Any]) -> np.ndarray:
    """Numbers (with None) become float arrays with NaN; everything else an object array."""
    first = next((v for v in values if v is not None), None)
    if first is None or (isinstance(first, (int, float)) and not isinstance(first, bool)):
        try:
            return np.array(values, dtype=float)
        except (TypeError, ValueError):
            pass
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr
