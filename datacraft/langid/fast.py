"""The fast engine: deterministic naive Bayes over every 1–3-gram of a text, batch-vectorized.

It reproduces langdetect's text preparation (URL and e-mail removal, Vietnamese normalization,
truncation, dropping Latin letters from mostly non-Latin text, per-character normalization,
word-padded n-grams, skipping n-grams that end inside all-capital words) and its smoothed
per-gram probabilities ``alpha / 10000 + p(gram | lang)``. Instead of multiplying the
probabilities of randomly sampled n-grams until one language passes 0.99999 (seven times, then
averaging), it sums the log-probabilities of *all* n-grams of the text.

Probabilities are calibrated to what langdetect reports: its sampling is a random walk of the
log-odds between the two leading languages that stops at ±ln(0.99999/0.00001). With per-gram
mean ``μ`` and variance ``σ²`` of that log-odds, the chance the walk ends at the leader is
``1 / (1 + exp(-2 b μ / σ²))`` (gambler's ruin with drift); the distribution is the softmax of
the per-gram mean log-likelihoods scaled by ``2 b / σ²``, which gives exactly that for the top two.
"""

from __future__ import annotations

import math

import numpy as np
from langdetect.detector import Detector
from langdetect.utils.ngram import NGram
from scipy.sparse import csr_matrix

from datacraft.langid.engines import UNDETERMINED, Detection
from datacraft.langid.profiles import load_profiles

_BITS = 21  # code points fit in 21 bits: a 3-gram key fits in 63
_SPACE = 0x20
_BMP = 0x10000
_BARRIER = math.log(Detector.CONV_THRESHOLD / (1.0 - Detector.CONV_THRESHOLD))
_URL_RE = Detector.URL_RE
_MAIL_RE = Detector.MAIL_RE
_VI_MARKS = NGram.DMARK_CLASS  # combining marks that normalize_vi folds into precomposed letters


def gram_key(gram: str) -> int:
    """The integer key of an n-gram (n ≤ 3): its code points packed in 21-bit fields."""
    key = 0
    for ch in gram:
        key = (key << _BITS) | ord(ch)
    return key


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class GramTable:
    """Open-addressing hash table (linear probing) from n-gram keys to vocabulary rows, looked up
    a whole batch at a time: a few vectorized probes instead of a binary search per query."""

    def __init__(self, keys: np.ndarray) -> None:
        self.bits = max(8, int(np.ceil(np.log2(max(len(keys), 1) * 2))))
        size = 1 << self.bits
        self.keys = np.zeros(size, dtype=np.uint64)  # 0 is never a key: no n-gram contains U+0000
        self.rows = np.full(size, -1, dtype=np.int32)
        mask = size - 1
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        probes = 0
        while len(pending):  # place keys round by round; the lowest index wins a contested slot
            probes += 1
            s = slot[pending]
            free = self.keys[s] == 0
            taken, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.keys[taken] = keys[winners]
            self.rows[taken] = winners
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & mask
        self.probes = probes

    def _slots(self, q: np.ndarray) -> np.ndarray:
        return ((q * _GOLDEN) >> np.uint64(64 - self.bits)).astype(np.int64)

    def lookup(self, q: np.ndarray) -> np.ndarray:
        """Row of every key in ``q``, or -1 where it is not in the table."""
        slot = self._slots(q)
        k = self.keys[slot]
        found = k == q
        out = np.where(found, self.rows[slot], -1)
        todo = np.flatnonzero(~found & (k != 0))  # collided on the first probe: keep probing
        mask = len(self.keys) - 1
        for _ in range(self.probes - 1):
            if not len(todo):
                break
            s = (slot[todo] + 1) & mask
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


def prepare(text: str, max_chars: int) -> str:
    """langdetect's ``Detector.append``: remove URLs and e-mail addresses, normalize Vietnamese, truncate."""
    if "http" in text:
        text = _URL_RE.sub(" ", text)
    if "@" in text:
        text = _MAIL_RE.sub(" ", text)
    if any(mark in text for mark in _VI_MARKS):
        text = NGram.normalize_vi(text)
    return text[:max_chars]


class FastEngine:
    """Deterministic vectorized scorer over langdetect's profiles (see the module docstring)."""

    def __init__(self, *, max_chars: int = 10_000, alpha: float = 0.5) -> None:
        prof = load_profiles()
        self.langs = prof.langs
        self.max_chars = max_chars
        keys = np.array([gram_key(g) for g in prof.grams], dtype=np.uint64)
        order = np.argsort(keys)
        self._keys = keys[order]
        self._grams = [prof.grams[i] for i in order]
        self._table = GramTable(self._keys)
        self._unigram = np.full(0x110000, -1, dtype=np.int32)  # 1-grams: direct lookup by code point
        single = self._keys < (1 << _BITS)
        self._unigram[self._keys[single].astype(np.int64)] = np.flatnonzero(single)
        self._loglik = np.log(alpha / Detector.BASE_FREQ + prof.prob[order]).astype(np.float32)
        self._norm = _normalization_table()
        self._upper_bmp = np.array([chr(c).isupper() for c in range(_BMP)], dtype=bool)

    def _is_upper(self, cps: np.ndarray) -> np.ndarray:
        upper = self._upper_bmp[np.minimum(cps, _BMP - 1)]
        astral = cps >= _BMP
        if astral.any():
            values = np.unique(cps[astral])
            flags = np.array([chr(int(c)).isupper() for c in values], dtype=bool)
            upper[astral] = flags[np.searchsorted(values, cps[astral])]
        return upper

    def features(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Known n-grams of the texts: (document index, vocabulary row) per occurrence, grouped by n."""
        prepared = [prepare(t, self.max_chars) for t in texts]
        joined = "\x00" + "\x00".join(prepared)  # position of each \x00 = start of a document
        cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        lengths = np.fromiter(map(len, prepared), dtype=np.int64, count=len(prepared))
        starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
        bnd = np.zeros(len(cp), dtype=bool)
        bnd[starts] = True
        doc = np.cumsum(bnd) - 1
        n_docs = len(texts)
        # Detector.cleaning_text: mostly non-Latin text loses its Latin letters ('A'..'z').
        latin = (cp >= 0x41) & (cp <= 0x7A)
        n_latin = np.bincount(doc, weights=latin, minlength=n_docs)
        n_other = np.bincount(doc, weights=cp >= 0x300, minlength=n_docs)
        strip = n_latin * 2 < n_other
        if strip.any():
            keep = ~(latin & strip[doc])
            cp, bnd, doc = cp[keep], bnd[keep], doc[keep]
        g = self._norm[cp]
        g[bnd] = _SPACE  # each document starts as after a space
        sp = g == _SPACE
        dup = np.zeros_like(sp)  # a space after a space changes nothing in langdetect's n-gram buffer
        dup[1:] = sp[1:] & sp[:-1] & ~bnd[1:]
        if dup.any():
            keep = ~dup
            g, bnd, doc, sp = g[keep], bnd[keep], doc[keep], sp[keep]
        up = self._is_upper(g)
        live = np.ones_like(sp)  # no n-gram ends on the 2nd+ capital of a run (NGram.capitalword)
        live[1:] = ~(up[1:] & up[:-1])
        g64 = g.astype(np.uint64)
        one = np.flatnonzero(live & ~sp)
        two = np.flatnonzero(live[1:] & ~bnd[1:]) + 1
        three = np.flatnonzero(live[2:] & ~bnd[2:] & ~sp[1:-1]) + 2
        rows1 = self._unigram[g[one]]
        q = np.concatenate(
            (
                (g64[two - 1] << _BITS) | g64[two],
                (g64[three - 2] << (2 * _BITS)) | (g64[three - 1] << _BITS) | g64[three],
            )
        )
        rows = np.concatenate((rows1, self._table.lookup(q)))
        docs = doc[np.concatenate((one, two, three))]
        hit = rows >= 0
        return docs[hit], rows[hit]

    def ngrams(self, text: str) -> list[str]:
        """The known n-grams of one text, as strings (for inspection and tests)."""
        _, rows = self.features([text])
        return [self._grams[r] for r in rows]

    def detect(self, texts: list[str]) -> list[Detection]:
        if not texts:
            return []
        n_docs = len(texts)
        doc, row = self.features(texts)
        by_doc = np.argsort(doc, kind="stable")  # three runs already sorted (1-, 2-, 3-grams): cheap
        doc, row = doc[by_doc], row[by_doc]
        counts = np.bincount(doc, minlength=n_docs)
        indptr = np.concatenate(([0], np.cumsum(counts)))
        x = csr_matrix((np.ones(len(row), dtype=np.float32), row, indptr), shape=(n_docs, len(self._keys)))
        ll = np.asarray(x @ self._loglik, dtype=np.float64)  # (docs, langs): log-likelihood of all n-grams
        top2 = np.argsort(-ll, axis=1, kind="stable")[:, :2]
        a, b = top2[:, 0], top2[:, 1]
        d = (self._loglik[row, a[doc]] - self._loglik[row, b[doc]]).astype(np.float64)
        n = np.maximum(counts, 1)
        mean = np.bincount(doc, weights=d, minlength=n_docs) / n
        var = np.maximum(np.bincount(doc, weights=d * d, minlength=n_docs) / n - mean * mean, 1e-12)
        scale = 2.0 * _BARRIER / var
        logits = scale[:, None] * (ll - ll[np.arange(n_docs), a][:, None]) / n[:, None]
        probs = np.exp(np.maximum(logits, -745.0))
        probs /= probs.sum(axis=1, keepdims=True)
        out: list[Detection] = []
        for i in range(n_docs):
            if counts[i] == 0:
                out.append(UNDETERMINED)
            else:
                out.append(Detection(self.langs[a[i]], float(probs[i, a[i]]), probs[i]))
        return out
