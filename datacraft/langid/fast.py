"""The fast engine: deterministic naive Bayes over every 1–3-gram of a text, batch-vectorized.

It reproduces langdetect's text preparation (URL and e-mail removal, Vietnamese normalization,
truncation, dropping Latin letters from mostly non-Latin text, per-character normalization,
word-padded n-grams, skipping n-grams that end inside all-capital words) and its smoothed
per-gram probabilities ``alpha / 10000 + p(gram | lang)``. Instead of multiplying the
probabilities of randomly sampled n-grams until one language passes 0.99999 (seven times, then
averaging), it sums the log-probabilities of *all* n-grams of the text, or, for a text longer
than ``sample_chars`` (1000 by default), of windows of it spread from its start to its end: langdetect
itself draws a few hundred n-grams at most, and the cost stays flat with text length. A sampled text
whose top score is below ``rescore_below`` (0.99) is scored again on all of it.

Probabilities are calibrated to what langdetect reports: its sampling is a random walk of the
log-odds between the two leading languages that stops at ±ln(0.99999/0.00001). With per-gram
mean ``μ`` and variance ``σ²`` of that log-odds, the chance the walk ends at the leader is
``1 / (1 + exp(-2 b μ / σ²))`` (gambler's ruin with drift); the distribution is the softmax of
the per-gram mean log-likelihoods scaled by ``2 b / σ²``, which gives exactly that for the top two.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, ClassVar

import langdetect
import numpy as np
from langdetect.detector import Detector
from langdetect.utils.ngram import NGram
from scipy.sparse import csr_matrix

from datacraft.langid.cache import cache_key, load_arrays, save_arrays
from datacraft.langid.engines import DEFAULT_RESCORE_BELOW, DEFAULT_SAMPLE_CHARS, UNDETERMINED, Detection
from datacraft.langid.profiles import PROFILE_DIR, load_profiles
from datacraft.langid.script import refine_cjk
from datacraft.langid.text import non_latin_count, prepare

_BITS = 21  # code points fit in 21 bits: a 3-gram key fits in 63
_ROW2_BITS = 17  # vocabulary rows (87,598) fit in 17 bits
_SPACE = 0x20
_BMP = 0x10000
_BARRIER = math.log(Detector.CONV_THRESHOLD / (1.0 - Detector.CONV_THRESHOLD))


def gram_key(gram: str) -> int:
    """The integer key of an n-gram (n ≤ 3): its code points packed in 21-bit fields."""
    key = 0
    for ch in gram:
        key = (key << _BITS) | ord(ch)
    return key


def gram_of(key: int) -> str:
    """The n-gram of an integer key (inverse of :func:`gram_key`)."""
    chars = []
    while key:
        chars.append(chr(key & ((1 << _BITS) - 1)))
        key >>= _BITS
    return "".join(reversed(chars))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class GramTable:
    """Open-addressing hash table (linear probing) from integer keys (< 2**44) to rows (< 2**20),
    each slot one ``key << 20 | row`` word; looked up a whole batch at a time in a few vectorized probes."""

    ROW_BITS = 20

    def __init__(self, keys: np.ndarray, rows: np.ndarray) -> None:
        keys = keys.astype(np.uint64)
        if len(keys) and (int(keys.max()) >= 1 << 44 or int(rows.max()) >= 1 << self.ROW_BITS or int(keys.min()) == 0):
            raise ValueError("GramTable keys must be in [1, 2**44) and rows below 2**20")
        self.bits = max(8, int(np.ceil(np.log2(max(len(keys), 1) * 4))))
        size = 1 << self.bits
        self.slots = np.zeros(size, dtype=np.uint64)  # 0: empty
        entries = (keys << np.uint64(self.ROW_BITS)) | rows.astype(np.uint64)
        mask = size - 1
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        probes = 0
        while len(pending):  # place keys round by round; the lowest index wins a contested slot
            probes += 1
            s = slot[pending]
            free = self.slots[s] == 0
            taken, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.slots[taken] = entries[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & mask
        self.probes = probes

    @classmethod
    def from_slots(cls, slots: np.ndarray, bits: int, probes: int) -> GramTable:
        """A table from the ``slots``, ``bits`` and ``probes`` of one built before."""
        table = cls.__new__(cls)
        table.slots, table.bits, table.probes = slots, bits, probes
        return table

    def _slots(self, q: np.ndarray) -> np.ndarray:
        return ((q * _GOLDEN) >> np.uint64(64 - self.bits)).astype(np.int64)

    def lookup(self, q: np.ndarray) -> np.ndarray:
        """Row of every key in ``q`` (uint64), or -1 where it is not in the table."""
        q = np.asarray(q, dtype=np.uint64)
        shift, low = np.uint64(self.ROW_BITS), np.uint64((1 << self.ROW_BITS) - 1)
        slot = self._slots(q)
        e = self.slots[slot]
        found = (e >> shift) == q
        out = (e & low).astype(np.int32)
        out[~found] = -1
        todo = np.flatnonzero(~found & (e != 0))  # first slot taken by another key: keep probing
        mask = len(self.slots) - 1
        for _ in range(self.probes - 1):
            if not len(todo):
                break
            s = (slot[todo] + 1) & mask
            slot[todo] = s
            e = self.slots[s]
            found = (e >> shift) == q[todo]
            out[todo[found]] = (e[found] & low).astype(np.int32)
            todo = todo[~found & (e != 0)]
        return out


def _normalization_table() -> np.ndarray:
    """Code point → langdetect-normalized code point (langdetect only maps BMP characters)."""
    table = np.arange(0x110000, dtype=np.uint32)
    normalize = NGram.normalize
    table[:_BMP] = [ord(normalize(chr(c))) for c in range(_BMP)]
    return table


UPPER_BELOW = 0x20000  # no code point from here on is upper case (planes 2-16: CJK, tags, private use)


def _upper_table() -> np.ndarray:
    """Code point → ``str.isupper`` (langdetect's capital-word test), for every code point."""
    table = np.zeros(0x110000, dtype=bool)
    table[[c for c in range(UPPER_BELOW) if chr(c).isupper()]] = True
    return table


def unigram_rows(keys: np.ndarray) -> np.ndarray:
    """Code point → vocabulary row of its 1-gram (-1 where none), from the sorted gram keys."""
    table = np.full(0x110000, -1, dtype=np.int32)
    single = keys < (1 << _BITS)
    table[keys[single].astype(np.int64)] = np.flatnonzero(single)
    return table


def _tables_key(alpha: float) -> str:
    """Cache key of the engine's tables: the code that builds them, the profiles (names, sizes, times), alpha."""
    files = sorted(p for p in PROFILE_DIR.iterdir() if p.is_file())
    stats = ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    code = Path(sys.modules[load_profiles.__module__].__file__ or "").read_bytes() + Path(__file__).read_bytes()
    return cache_key(code, stats, repr(alpha), langdetect.__file__, np.__version__)


def smoothed_loglik(prob: np.ndarray, alpha: float) -> np.ndarray:
    """``log(alpha / BASE_FREQ + prob)`` as float32; the (many) zero probabilities share one value."""
    base = alpha / Detector.BASE_FREQ
    out = np.full(prob.shape, np.float32(np.log(np.full(1, base))[0]), dtype=np.float32)
    nz = prob != 0.0
    out[nz] = np.log(base + prob[nz]).astype(np.float32)
    return out


class FastEngine:
    """Deterministic vectorized scorer over langdetect's profiles (see the module docstring)."""

    _built: ClassVar[dict[float, dict[str, Any]]] = {}  # read-only tables, shared by engines of one alpha

    def __init__(
        self,
        *,
        max_chars: int = 10_000,
        alpha: float = 0.5,
        sample_chars: int = DEFAULT_SAMPLE_CHARS,
        rescore_below: float = DEFAULT_RESCORE_BELOW,
        script: bool = False,
    ) -> None:
        self.max_chars = max_chars
        self.sample_chars = sample_chars
        self.rescore_below = rescore_below
        self.script = script
        tables = self._built.get(alpha)
        if tables is None:
            tables = self._built[alpha] = self._load_or_build(alpha)
        vars(self).update(tables)

    _ARRAYS = ("_keys", "_loglik", "_bigram", "_char")  # cached; the others are derived from them when loaded

    def _load_or_build(self, alpha: float) -> dict[str, Any]:
        """The engine's tables from the local cache (:mod:`datacraft.langid.cache`), else built and cached."""
        key = _tables_key(alpha)
        hit = load_arrays("langid-fast", key)
        if hit is not None:
            arrays, meta = hit
            tables: dict[str, Any] = {a: arrays[a].view(np.ndarray) for a in self._ARRAYS}
            tables["_unigram"] = unigram_rows(tables["_keys"])
            tables["_loglik_t"] = np.ascontiguousarray(tables["_loglik"].T)
            tables["langs"] = tuple(meta["langs"])
            tables["_width"] = int(meta["width"])
            tables["_char_space"] = np.uint64(meta["char_space"])
            tables["_trigram"] = GramTable.from_slots(
                arrays["_trigram_slots"].view(np.ndarray), int(meta["trigram_bits"]), int(meta["trigram_probes"])
            )
            return tables
        self._build(alpha)
        own = ("max_chars", "sample_chars", "rescore_below", "script")
        tables = {k: v for k, v in vars(self).items() if k not in own}
        meta = {
            "langs": list(self.langs),
            "width": self._width,
            "char_space": int(self._char_space),
            "trigram_bits": self._trigram.bits,
            "trigram_probes": self._trigram.probes,
        }
        save_arrays(
            "langid-fast", key, {a: tables[a] for a in self._ARRAYS} | {"_trigram_slots": self._trigram.slots}, meta
        )
        return tables

    def _build(self, alpha: float) -> None:
        prof = load_profiles()
        self.langs = prof.langs
        keys = np.array([gram_key(g) for g in prof.grams], dtype=np.uint64)
        order = np.argsort(keys)
        self._keys = keys[order]
        self._unigram = unigram_rows(self._keys)
        self._loglik = smoothed_loglik(prof.prob[order], alpha)
        self._loglik_t = np.ascontiguousarray(self._loglik.T)  # one language's column, contiguous
        # 2-grams: a dense table indexed by the pair of characters (only characters that occur in a 2-gram).
        low = np.uint64((1 << _BITS) - 1)
        pair = (self._keys >= (1 << _BITS)) & (self._keys < (1 << 2 * _BITS))
        pair_rows = np.flatnonzero(pair)
        head, tail = (self._keys[pair] >> np.uint64(_BITS)).astype(np.int64), (self._keys[pair] & low).astype(np.int64)
        alphabet = np.unique(np.concatenate([head, tail]))
        self._width = len(alphabet) + 1  # id 0: a character in no 2-gram
        char_id = np.zeros(0x110000, dtype=np.int32)
        char_id[alphabet] = np.arange(1, self._width, dtype=np.int32)
        self._bigram = np.full(self._width * self._width, -1, dtype=np.int32)
        self._bigram[char_id[head] * self._width + char_id[tail]] = pair_rows
        # 3-grams: keyed by (first character, row of the last two): in langdetect's profiles every 3-gram's
        # last two characters are a known 2-gram, so a 3-gram is only looked up where that 2-gram was found.
        assert len(self._keys) < 1 << _ROW2_BITS
        tri_rows = np.flatnonzero(self._keys >= (1 << 2 * _BITS))
        last_two = self._keys[tri_rows] & np.uint64((1 << 2 * _BITS) - 1)
        at = np.minimum(np.searchsorted(self._keys, last_two), len(self._keys) - 1)
        if not np.array_equal(self._keys[at], last_two):
            raise RuntimeError("langdetect profiles have a 3-gram whose last two characters are no 2-gram")
        keys3 = ((self._keys[tri_rows] >> np.uint64(2 * _BITS)) << np.uint64(_ROW2_BITS)) | at.astype(np.uint64)
        self._trigram = GramTable(keys3, tri_rows.astype(np.int64))
        # One lookup per character: normalized code point | is-upper << 21 | 2-gram character id << 22.
        norm = _normalization_table()
        self._char = (
            norm.astype(np.uint64)
            | (_upper_table()[norm].astype(np.uint64) << np.uint64(_BITS))
            | (char_id[norm].astype(np.uint64) << np.uint64(_BITS + 1))
        )
        self._char_space = self._char[_SPACE]

    def features(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Known n-grams of the texts: (document index, vocabulary row) per occurrence, grouped by n."""
        parts = self.features_by_n(texts)
        return np.concatenate([d for d, _ in parts]), np.concatenate([r for _, r in parts])

    def features_by_n(self, texts: list[str], sample_chars: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Known 1-, 2- and 3-grams: per n, (document index, vocabulary row) of each occurrence, in text order
        (long texts sampled to ``sample_chars``, by default the engine's)."""
        sample = self.sample_chars if sample_chars is None else sample_chars
        pairs = [prepare(t, self.max_chars, sample) for t in texts]
        prepared = [text for text, _ in pairs]
        cleaned = np.fromiter((done for _, done in pairs), dtype=bool, count=len(pairs))
        n_docs = len(prepared)
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=n_docs) + 1
        joined = "\x00" + "\x00".join(prepared)  # each document starts with a \x00 (a boundary)
        cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        doc = np.repeat(np.arange(n_docs, dtype=np.int32), lengths)
        starts = np.zeros(n_docs, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        bnd = np.zeros(len(cp), dtype=bool)
        bnd[starts] = True
        # Detector.cleaning_text: mostly non-Latin text loses its Latin letters ('A'..'z').
        latin = (cp >= 0x41) & (cp <= 0x7A)
        n_latin = np.add.reduceat(latin.view(np.uint8), starts, dtype=np.int64)
        n_other = np.add.reduceat(non_latin_count(cp).view(np.uint8), starts, dtype=np.int64)
        strip = (n_latin * 2 < n_other) & ~cleaned  # sampled texts: decided on the whole text
        if strip.any():
            keep = ~(latin & strip[doc])
            cp, bnd, doc = cp[keep], bnd[keep], doc[keep]
        c = self._char[cp]
        c[bnd] = self._char_space  # each document starts as after a space
        g = (c & np.uint64((1 << _BITS) - 1)).astype(np.int64)
        sp = g == _SPACE
        dup = np.zeros_like(sp)  # a space after a space changes nothing in langdetect's n-gram buffer
        dup[1:] = sp[1:] & sp[:-1] & ~bnd[1:]
        if dup.any():
            keep = ~dup
            c, g, bnd, doc, sp = c[keep], g[keep], bnd[keep], doc[keep], sp[keep]
        up = (c >> np.uint64(_BITS)) & np.uint64(1)
        live = np.ones_like(sp)  # no n-gram ends on the 2nd+ capital of a run (NGram.capitalword)
        live[1:] = (up[1:] & up[:-1]) == 0
        # 1-grams: any non-space character; 2-grams: not ending on a boundary; 3-grams: no space inside.
        ok1 = live & ~sp
        ok2 = live[1:] & ~bnd[1:]
        cid = (c >> np.uint64(_BITS + 1)).astype(np.int64)
        at2 = self._bigram[cid[:-1] * self._width + cid[1:]]
        ok3 = live[2:] & ~bnd[2:] & ~sp[1:-1] & (at2[1:] >= 0)
        first = g[:-2][ok3].astype(np.uint64) << np.uint64(_ROW2_BITS)
        rows1 = self._unigram[g[ok1]]
        rows2 = at2[ok2]
        rows3 = self._trigram.lookup(first | at2[1:][ok3].astype(np.uint64))
        parts = []
        for docs, rows in ((doc[ok1], rows1), (doc[1:][ok2], rows2), (doc[2:][ok3], rows3)):
            hit = rows >= 0
            parts.append((docs[hit], rows[hit]))
        return parts

    def _pair_difference(
        self, row: np.ndarray, doc: np.ndarray, indptr: np.ndarray, a: np.ndarray, b: np.ndarray
    ) -> np.ndarray:
        """Per n-gram occurrence, log p(gram | a) - log p(gram | b) for its document's top two languages."""
        if len(row) < 400 * len(a):  # short documents: one gather over the batch
            return self._loglik[row, a[doc]] - self._loglik[row, b[doc]]
        out = np.empty(len(row), dtype=np.float32)  # long ones: per document, from two contiguous columns
        lt = self._loglik_t
        for i in range(len(a)):
            lo, hi = indptr[i], indptr[i + 1]
            r = row[lo:hi]
            np.subtract(lt[a[i]].take(r), lt[b[i]].take(r), out=out[lo:hi])
        return out

    def ngrams(self, text: str) -> list[str]:
        """The known n-grams of one text, as strings (for inspection and tests)."""
        _, rows = self.features([text])
        return [gram_of(int(self._keys[r])) for r in rows]

    def detect(self, texts: list[str]) -> list[Detection]:
        """Score sampled texts; those sampled whose top score is below ``rescore_below`` are scored again
        on all of their first ``max_chars`` characters; then the CJK script refinement (``script``)."""
        out = self._detect(texts, self.sample_chars)
        if 0 < self.sample_chars < self.max_chars:
            sampled = self.sample_chars
            redo = [i for i, d in enumerate(out) if d.score < self.rescore_below and len(texts[i]) > sampled]
            for i, det in zip(redo, self._detect([texts[i] for i in redo], 0), strict=True):
                out[i] = det
        return refine_cjk(texts, out, self.langs, self.max_chars) if self.script else out

    def _detect(self, texts: list[str], sample_chars: int) -> list[Detection]:
        if not texts:
            return []
        n_docs = len(texts)
        steps = np.arange(n_docs + 1)
        parts = [(doc, row, np.searchsorted(doc, steps)) for doc, row in self.features_by_n(texts, sample_chars)]
        ll = np.zeros((n_docs, len(self.langs)))  # log-likelihood of all n-grams, per language
        for _, row, indptr in parts:
            x = csr_matrix((np.ones(len(row), dtype=np.float32), row, indptr), shape=(n_docs, len(self._loglik)))
            ll += x @ self._loglik
        counts = sum(np.diff(indptr) for _, _, indptr in parts)
        top2 = np.argsort(-ll, axis=1, kind="stable")[:, :2]
        a, b = top2[:, 0], top2[:, 1]
        # Per-gram log-odds of the top two: mean from the totals, variance from the second moment.
        n = np.maximum(counts, 1)
        docs = np.arange(n_docs)
        mean = (ll[docs, a] - ll[docs, b]) / n
        second = np.zeros(n_docs)
        for doc, row, indptr in parts:
            d = self._pair_difference(row, doc, indptr, a, b)
            second += np.bincount(doc, weights=d * d, minlength=n_docs)
        var = np.maximum(second / n - mean * mean, 1e-12)
        scale = 2.0 * _BARRIER / var
        logits = scale[:, None] * (ll - ll[docs, a][:, None]) / n[:, None]
        probs = np.exp(np.maximum(logits, -745.0))
        probs /= probs.sum(axis=1, keepdims=True)
        out: list[Detection] = []
        for i in range(n_docs):
            if counts[i] == 0:
                out.append(UNDETERMINED)
            else:
                out.append(Detection(self.langs[a[i]], float(probs[i, a[i]]), probs[i]))
        return out
