"""N-gram baselines on token ids: add-1 unigram, add-k bigram, interpolated Kneser-Ney (orders 2–5).

Fitted on a model's training token stream (documents joined by ``[EOS]``, exactly what the LM trains
on) and scored on exactly the targets the LM is scored on: the packed validation windows of
``seq_len + 1`` tokens, each target predicted from the tokens before it *in its window* (the same
context limit the neural model has).

Why our own code: NLTK's ``KneserNeyInterpolated`` scores one token at a time in Python (minutes for a
few thousand tokens) and KenLM needs a C++ build plus its ``lmplz`` binary. Here every n-gram gets an
exact integer id (``id_k = id_{k-1}(prefix) · V + last token``, made dense with ``np.unique``), so
counting and scoring are a handful of sorts and ``searchsorted`` calls: seconds for millions of tokens.

Kneser-Ney (Chen & Goodman's interpolated form): the highest order uses counts, lower orders
continuation counts N1+(• g); one absolute discount per order, D = n1 / (n1 + 2 n2) from the count-of-
counts of the training data (nothing is tuned on the scored tokens); the unigram level is interpolated
with the uniform distribution, so unseen tokens keep a small probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ADD_K_GRID = (1.0, 0.1, 0.01, 0.001)


def token_stream(cache: Path, eos_id: int) -> np.ndarray:
    """All documents of a token cache, each followed by ``[EOS]`` (the LM's packing stream)."""
    parts = []
    for batch in pq.ParquetFile(cache).iter_batches(batch_size=4096, columns=["ids"]):
        col = batch.column("ids")
        flat = col.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        parts.append(np.insert(flat, col.offsets.to_numpy()[1:], eos_id))
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


@dataclass
class _Order:
    """The distinct k-grams of the training stream (sorted keys) and their statistics."""

    keys: np.ndarray  # sorted unique keys prefix_id * V + last token
    counts: np.ndarray  # raw counts (highest order) or continuation counts (lower orders)
    den: np.ndarray  # per (k-1)-gram context: sum of counts of its k-grams
    n1p: np.ndarray  # per context: number of k-grams with count > 0
    discount: float


def _discount(counts: np.ndarray) -> float:
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.5


def _lookup(keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each query key in sorted ``keys``, -1 when absent (or when the query is -1)."""
    if len(keys) == 0:
        return np.full(query.shape, -1, np.int64)
    pos = np.searchsorted(keys, query)
    pos = np.minimum(pos, len(keys) - 1)
    return np.where((keys[pos] == query) & (query >= 0), pos, -1)


class NgramModel:
    """Count statistics of orders 1..``max_order`` over a training stream of token ids < ``vocab``."""

    def __init__(self, stream: np.ndarray, vocab: int, max_order: int = 5) -> None:
        if max_order < 2:
            raise ValueError("max_order must be at least 2")
        self.V, self.max_order, self.N = int(vocab), max_order, len(stream)
        s = np.asarray(stream, np.int64)
        self.unigram = np.bincount(s, minlength=self.V).astype(np.float64)
        # ids[k]: dense id of the k-gram starting at each position (k = 1: the token itself)
        ids: dict[int, np.ndarray] = {1: s}
        self.keys: dict[int, np.ndarray] = {}
        raw: dict[int, np.ndarray] = {}
        cont: dict[int, np.ndarray] = {1: np.zeros(self.V)}
        sizes = {1: self.V}
        for k in range(2, max_order + 1):
            if len(s) < k:
                self.keys[k], raw[k] = np.zeros(0, np.int64), np.zeros(0)
                cont[k], sizes[k], ids[k] = np.zeros(0), 0, np.zeros(0, np.int64)
                continue
            key = ids[k - 1][: len(s) - k + 1] * self.V + s[k - 1 :]
            uniq, first, inv, cnt = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
            self.keys[k], raw[k], ids[k], sizes[k] = uniq, cnt.astype(np.float64), inv.astype(np.int64), len(uniq)
            # continuation count of the (k-1)-gram suffix: distinct left extensions
            has_next = first + 1 < len(ids[k - 1])
            suffix = ids[k - 1][first[has_next] + 1]
            cont[k - 1] = np.bincount(suffix, minlength=sizes[k - 1]).astype(np.float64)
            cont[k] = np.zeros(len(uniq))
        self.bigram_ctx = np.bincount(self.keys[2] // self.V, weights=raw[2], minlength=self.V)
        self.bigram_raw = raw[2]
        self.orders: dict[int, dict[int, _Order]] = {}
        self._raw, self._cont, self._sizes = raw, cont, sizes

    def _kn_orders(self, n: int) -> dict[int, _Order]:
        """Statistics of KN of order ``n`` (counts at n, continuation counts below)."""
        if n not in self.orders:
            table = {}
            for k in range(2, n + 1):
                counts = self._raw[k] if k == n else self._cont[k]
                ctx = self.keys[k] // self.V
                den = np.bincount(ctx, weights=counts, minlength=self._sizes[k - 1])
                n1p = np.bincount(ctx, weights=(counts > 0).astype(np.float64), minlength=self._sizes[k - 1])
                table[k] = _Order(self.keys[k], counts, den, n1p, _discount(counts[counts > 0]))
            self.orders[n] = table
        return self.orders[n]

    def _window_ids(self, windows: np.ndarray, n: int) -> dict[int, np.ndarray]:
        """Per order k ≤ n: the training id of the k-gram starting at each window position (-1: unseen)."""
        out = {1: windows.astype(np.int64)}
        for k in range(2, n + 1):
            prev = out[k - 1][:, : windows.shape[1] - k + 1]
            q = np.where(prev >= 0, prev * self.V + windows[:, k - 1 :], -1)
            out[k] = _lookup(self.keys[k], q)
        return out

    def kn_logprob(self, windows: np.ndarray, n: int) -> np.ndarray:
        """log p of every target ``windows[:, 1:]`` under interpolated KN of order ``n``."""
        table = self._kn_orders(n)
        c1 = self._cont[1]
        total = c1.sum()
        d1 = _discount(c1[c1 > 0])
        targets = windows[:, 1:].astype(np.int64)
        if total > 0:
            p = np.maximum(c1[targets] - d1, 0) / total + d1 * (c1 > 0).sum() / total / self.V
        else:
            p = np.full(targets.shape, 1.0 / self.V)
        wid = self._window_ids(windows, n)
        T = targets.shape[1]
        for k in range(2, n + 1):
            o = table[k]
            for t in range(1, T + 1):  # target at window position t, context starts at t - k + 1
                start = t - k + 1
                if start < 0:
                    continue
                h = wid[k - 1][:, start]
                g = wid[k][:, start]
                seen = h >= 0
                den = np.where(seen, o.den[np.maximum(h, 0)], 0.0)
                ok = den > 0
                if not ok.any():
                    continue
                a = np.where(g >= 0, o.counts[np.maximum(g, 0)], 0.0)
                hh = np.maximum(h, 0)
                mixed = (np.maximum(a - o.discount, 0) + o.discount * o.n1p[hh] * p[:, t - 1]) / np.where(ok, den, 1)
                p[:, t - 1] = np.where(ok, mixed, p[:, t - 1])
        return np.log(p)

    def addk_bigram_logprob(self, windows: np.ndarray, k: float) -> np.ndarray:
        """log p of every target under the add-k bigram."""
        prev, targets = windows[:, :-1].astype(np.int64), windows[:, 1:].astype(np.int64)
        g = _lookup(self.keys[2], prev * self.V + targets)
        c = np.where(g >= 0, self.bigram_raw[np.maximum(g, 0)], 0.0)
        p = (c + k) / (self.bigram_ctx[prev] + k * self.V)
        return np.log(p)

    def unigram_logprob(self, windows: np.ndarray) -> np.ndarray:
        """log p of every target under the add-1 unigram."""
        return np.log((self.unigram[windows[:, 1:]] + 1.0) / (self.N + self.V))


def _ppl(logp: np.ndarray) -> float:
    return math.exp(-float(logp.mean())) if logp.size else float("nan")


def baseline_table(train_stream: np.ndarray, windows: np.ndarray, vocab: int, max_order: int = 5) -> list[dict]:
    """Perplexity of add-1 unigram, add-k bigram (best k of a small grid, optimistic for the baseline:
    chosen on the scored tokens) and interpolated KN 2..``max_order`` on the targets of ``windows``."""
    m = NgramModel(train_stream, vocab, max_order)
    rows = [{"model": "add-1 unigram", "perplexity": _ppl(m.unigram_logprob(windows))}]
    best = min(ADD_K_GRID, key=lambda k: _ppl(m.addk_bigram_logprob(windows, k)))
    rows.append({"model": f"add-k bigram (k={best:g}, best of {list(ADD_K_GRID)})", "k": best,
                 "perplexity": _ppl(m.addk_bigram_logprob(windows, best))})  # fmt: skip
    for n in range(2, max_order + 1):
        rows.append({"model": f"Kneser-Ney {n}-gram (interpolated)", "order": n,
                     "perplexity": _ppl(m.kn_logprob(windows, n))})  # fmt: skip
    for r in rows:
        r["tokens_scored"] = int(windows[:, 1:].size)
    return rows
