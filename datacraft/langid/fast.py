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

from datacraft.langid.cache import cache_key, load_arrays, save_arrays
from datacraft.langid.engines import DEFAULT_RESCORE_BELOW, DEFAULT_SAMPLE_CHARS, UNDETERMINED, Detection
from datacraft.langid.profiles import PROFILE_DIR, load_profiles
from datacraft.langid.script import refine_cjk
from datacraft.langid.sparse import sum_rows
from datacraft.langid.text import non_latin_count, prepare

_BITS = 21  # code points fit in 21 bits: a 3-gram key fits in 63
_ROW_BITS = 17  # vocabulary rows (87,598) fit in 17 bits
_NO_ROW = (1 << _ROW_BITS) - 1
# Per code point, one uint32: the row of its 1-gram (_NO_ROW: none) | is upper case << 17 | 2-gram character id << 18.
_UPPER = 1 << _ROW_BITS
_ID_SHIFT = _ROW_BITS + 1
_ID_LIMIT = 1 << (32 - _ID_SHIFT)
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


_GOLDEN = np.uint32(0x9E3779B1)  # Fibonacci hashing: the top bits of key * 2**32 / golden ratio


class GramTable:
    """Open-addressing hash table (linear probing) from uint32 keys (> 0) to int32 rows, looked up a whole
    batch at a time in a few vectorized probes (uint32 arithmetic throughout)."""

    def __init__(self, keys: np.ndarray, rows: np.ndarray) -> None:
        if len(keys) and (int(keys.max()) >= 1 << 32 or int(keys.min()) <= 0 or int(rows.max()) >= 1 << 31):
            raise ValueError("GramTable keys must be in [1, 2**32) and rows below 2**31")
        keys = keys.astype(np.uint32)
        self.bits = max(8, int(np.ceil(np.log2(max(len(keys), 1) * 4))))
        size = 1 << self.bits
        self.keys = np.zeros(size, dtype=np.uint32)  # 0: empty
        self.rows = np.full(size, -1, dtype=np.int32)
        mask = np.uint32(size - 1)
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        probes = 0
        while len(pending):  # place keys round by round; the lowest index wins a contested slot
            probes += 1
            s = slot[pending]
            free = self.keys[s] == 0
            taken, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.keys[taken], self.rows[taken] = keys[winners], rows[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + np.uint32(1)) & mask
        self.probes = probes

    @classmethod
    def from_arrays(cls, keys: np.ndarray, rows: np.ndarray, probes: int) -> GramTable:
        """A table from the ``keys``, ``rows`` and ``probes`` of one built before."""
        table = cls.__new__(cls)
        table.keys, table.rows, table.probes = keys, rows, probes
        table.bits = len(keys).bit_length() - 1
        return table

    def _slots(self, q: np.ndarray) -> np.ndarray:
        return (q * _GOLDEN) >> np.uint32(32 - self.bits)

    def lookup(self, q: np.ndarray) -> np.ndarray:
        """Row of every key in ``q`` (uint32), or -1 where it is not in the table."""
        q = np.asarray(q, dtype=np.uint32)
        slot = self._slots(q)
        k = self.keys[slot]
        miss = k != q
        out = self.rows[slot]
        out[miss] = -1
        todo = np.flatnonzero(miss & (k != 0))  # first slot taken by another key: keep probing
        mask = np.uint32(len(self.keys) - 1)
        for _ in range(self.probes - 1):
            if not len(todo):
                break
            s = (slot[todo] + np.uint32(1)) & mask
            slot[todo] = s
            k = self.keys[s]
            found = k == q[todo]
            out[todo[found]] = self.rows[s[found]]
            todo = todo[~found & (k != 0)]
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


def tables_cache_name(alpha: float = 0.5) -> str:
    """The cache entry (folder name) of this version's tables for ``alpha`` (0.5: the default)."""
    return f"langid-fast-{_tables_key(alpha)}"


def smoothed_loglik(prob: np.ndarray, alpha: float) -> np.ndarray:
    """``log(alpha / BASE_FREQ + prob)`` as float32; the (many) zero probabilities share one value."""
    base = alpha / Detector.BASE_FREQ
    out = np.full(prob.shape, np.float32(np.log(np.full(1, base))[0]), dtype=np.float32)
    nz = prob != 0.0
    out[nz] = np.log(base + prob[nz]).astype(np.float32)
    return out


def _drop_latin_if_mostly_other(
    cp: np.ndarray, starts: np.ndarray, lengths: np.ndarray, cleaned: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~datacraft.langid.text.drop_latin_if_mostly_other` on the documents of a batch not ``cleaned``
    yet (code points ``cp``, each document from ``starts`` for ``lengths``); returns the new ``cp`` and ``starts``."""
    latin = (cp - np.uint32(0x41)) <= np.uint32(0x7A - 0x41)  # wraps below 0x41
    n_latin = np.add.reduceat(latin.view(np.uint8), starts, dtype=np.int64)
    n_other = np.add.reduceat(non_latin_count(cp).view(np.uint8), starts, dtype=np.int64)
    strip = ~cleaned & (n_latin > 0) & (n_latin * 2 < n_other)
    if not strip.any():
        return cp, starts
    cp = cp[~(latin & np.repeat(strip, lengths))]
    removed = np.where(strip, n_latin, 0)
    return cp, starts - (np.cumsum(removed) - removed)


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

    _ARRAYS = ("_keys", "_loglik", "_bigram", "_chars")  # cached, with the 3-gram table's arrays

    def _load_or_build(self, alpha: float) -> dict[str, Any]:
        """The engine's tables from the local cache (:mod:`datacraft.langid.cache`), else built and cached."""
        key = _tables_key(alpha)
        hit = load_arrays("langid-fast", key)
        if hit is not None:
            arrays, meta = hit
            tables: dict[str, Any] = {a: arrays[a].view(np.ndarray) for a in self._ARRAYS}
            tables["langs"] = tuple(meta["langs"])
            tables["_width"] = int(meta["width"])
            tables["_trigram"] = GramTable.from_arrays(
                arrays["_trigram_keys"].view(np.ndarray),
                arrays["_trigram_rows"].view(np.ndarray),
                int(meta["trigram_probes"]),
            )
            return tables
        self._build(alpha)
        own = ("max_chars", "sample_chars", "rescore_below", "script")
        tables = {k: v for k, v in vars(self).items() if k not in own}
        meta = {
            "langs": list(self.langs),
            "width": self._width,
            "trigram_probes": self._trigram.probes,
        }
        trigram = {"_trigram_keys": self._trigram.keys, "_trigram_rows": self._trigram.rows}
        save_arrays("langid-fast", key, {a: tables[a] for a in self._ARRAYS} | trigram, meta)
        return tables

    def _build(self, alpha: float) -> None:
        prof = load_profiles()
        self.langs = prof.langs
        keys = np.array([gram_key(g) for g in prof.grams], dtype=np.uint64)
        order = np.argsort(keys)
        self._keys = keys[order]
        if len(self._keys) >= _NO_ROW:
            raise RuntimeError("langdetect's vocabulary does not fit the fast engine's 17-bit rows")
        self._loglik = smoothed_loglik(prof.prob[order], alpha)
        # 2-grams: a dense table indexed by the pair of characters (only characters that occur in a 2-gram).
        low = np.uint64((1 << _BITS) - 1)
        pair = (self._keys >= (1 << _BITS)) & (self._keys < (1 << 2 * _BITS))
        pair_rows = np.flatnonzero(pair)
        head, tail = (self._keys[pair] >> np.uint64(_BITS)).astype(np.int64), (self._keys[pair] & low).astype(np.int64)
        alphabet = np.unique(np.concatenate([head, tail]))
        self._width = len(alphabet) + 1  # id 0: a character in no 2-gram
        if self._width >= _ID_LIMIT:
            raise RuntimeError("langdetect's 2-grams have more characters than the fast engine's ids hold")
        char_id = np.zeros(0x110000, dtype=np.int64)
        char_id[alphabet] = np.arange(1, self._width)
        self._bigram = np.full(self._width * self._width, -1, dtype=np.int32)
        self._bigram[char_id[head] * self._width + char_id[tail]] = pair_rows
        # 3-grams: keyed by (id of the first character, row of the last two). In langdetect's profiles every
        # 3-gram's last two characters are a known 2-gram and its first character occurs in a 2-gram, so a
        # 3-gram is only looked up where that 2-gram was found. No n-gram has a space after a space or a
        # space in the middle (langdetect's n-gram buffer restarts at a space), so a text's runs of spaces
        # and its documents' borders need no masks: those n-grams are simply not found.
        tri_rows = np.flatnonzero(self._keys >= (1 << 2 * _BITS))
        tri = self._keys[tri_rows]
        last_two = tri & np.uint64((1 << 2 * _BITS) - 1)
        at = np.minimum(np.searchsorted(self._keys, last_two), len(self._keys) - 1)
        first_id = char_id[(tri >> np.uint64(2 * _BITS)).astype(np.int64)]
        middle = ((tri >> np.uint64(_BITS)) & low).astype(np.int64)
        space = char_id[_SPACE]
        if (
            not np.array_equal(self._keys[at], last_two)
            or (first_id == 0).any()
            or (middle == _SPACE).any()
            or self._bigram[space * self._width + space] >= 0
        ):
            raise RuntimeError("langdetect's profiles break an assumption of the fast engine's n-gram tables")
        self._trigram = GramTable((first_id << _ROW_BITS) | at, tri_rows)
        # One lookup per character (of its langdetect-normalized form): 1-gram row | upper case | 2-gram id.
        norm = _normalization_table()
        unigram = unigram_rows(self._keys)[norm]
        unigram[(unigram < 0) | (norm == _SPACE)] = _NO_ROW  # a space is never a 1-gram
        self._chars = (
            unigram.astype(np.uint32)
            | (_upper_table()[norm].astype(np.uint32) << np.uint32(_ROW_BITS))
            | (char_id[norm].astype(np.uint32) << np.uint32(_ID_SHIFT))
        )

    def features(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Known n-grams of the texts: (document index, vocabulary row) per occurrence, grouped by n."""
        parts = self.features_by_n(texts)
        return np.concatenate([d for d, _ in parts]), np.concatenate([r for _, r in parts])

    def features_by_n(self, texts: list[str], sample_chars: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Known 1-, 2- and 3-grams: per n, (document index, vocabulary row) of each occurrence, in text order
        (long texts sampled to ``sample_chars``, by default the engine's)."""
        sample = self.sample_chars if sample_chars is None else sample_chars
        docs = np.arange(len(texts))
        return [(np.repeat(docs, np.diff(indptr)), rows) for rows, indptr in self._grams(texts, sample)]

    def _grams(self, texts: list[str], sample_chars: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Known 1-, 2- and 3-grams of the texts: per n, the vocabulary rows of their occurrences in text
        order, and per document where its rows start (``indptr``, one more than there are documents)."""
        n_docs = len(texts)
        if not n_docs:
            return [(np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64))] * 3
        # Each document is preceded by a character of no n-gram (its border) and a space (langdetect starts
        # its n-gram buffer with one).
        pairs = [prepare(t, self.max_chars, sample_chars) for t in texts]
        prepared = [text for text, _ in pairs]
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=n_docs) + 2
        starts = np.zeros(n_docs, dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        cp = np.frombuffer(("\x00\x00" + "\x00\x00".join(prepared)).encode("utf-32-le", "surrogatepass"), np.uint32)
        cleaned = np.fromiter((done for _, done in pairs), dtype=bool, count=n_docs)
        if not cleaned.all():
            cp, starts = _drop_latin_if_mostly_other(cp, starts, lengths, cleaned)
        c = self._chars[cp]
        c[starts] = _NO_ROW
        c[starts + 1] = self._chars[_SPACE]
        # No n-gram ends on the second or later capital of a run (langdetect's NGram.capitalword).
        upper = c & np.uint32(_UPPER)
        dead = np.flatnonzero(upper[1:] & upper[:-1]) + 1
        ids = c >> np.uint32(_ID_SHIFT)
        rows1 = c & np.uint32(_NO_ROW)
        rows1[dead] = _NO_ROW
        hit1 = rows1 != _NO_ROW
        rows2 = self._bigram[ids[:-1] * np.uint32(self._width) + ids[1:]]  # 2-gram ending at each next character
        rows2[dead - 1] = -1
        hit2 = rows2 >= 0
        found2 = rows2[hit2]
        # 3-grams end where a 2-gram does (never on the first pair: a border and a space).
        first = ids[:-2][hit2[1:]] << np.uint32(_ROW_BITS)  # < 2**30: the ids have 12 bits
        rows3 = self._trigram.lookup(first | found2.view(np.uint32))
        hit3 = rows3 >= 0
        indptr1, indptr2 = np.zeros(n_docs + 1, dtype=np.int64), np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.add.reduceat(hit1.view(np.uint8), starts, dtype=np.int64), out=indptr1[1:])
        np.cumsum(np.add.reduceat(hit2.view(np.uint8), starts, dtype=np.int64), out=indptr2[1:])
        before3 = np.zeros(len(hit3) + 1, dtype=np.int64)
        np.cumsum(hit3, out=before3[1:])
        return [(rows1[hit1].astype(np.int32), indptr1), (found2, indptr2), (rows3[hit3], before3[indptr2])]

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
        parts = self._grams(texts, sample_chars)
        ll = np.zeros((n_docs, len(self.langs)))  # log-likelihood of all n-grams, per language
        for rows, indptr in parts:
            ll += sum_rows(indptr, rows, self._loglik)
        counts = sum(np.diff(indptr) for _, indptr in parts)
        top2 = np.argsort(-ll, axis=1, kind="stable")[:, :2]
        a, b = top2[:, 0], top2[:, 1]
        # Per-gram log-odds of the top two: mean from the totals, variance from the second moment.
        n = np.maximum(counts, 1)
        docs = np.arange(n_docs)
        mean = (ll[docs, a] - ll[docs, b]) / n
        second = np.zeros(n_docs)
        flat, width = self._loglik.ravel(), self._loglik.shape[1]
        for rows, indptr in parts:
            per_doc = np.diff(indptr)
            at_a = np.multiply(rows, width, dtype=np.int64) + np.repeat(a, per_doc)  # flat index of (row, a)
            d = flat.take(at_a) - flat.take(at_a + np.repeat(b - a, per_doc))
            second += np.bincount(np.repeat(docs, per_doc), weights=d * d, minlength=n_docs)
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
