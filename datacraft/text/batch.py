"""The tokens of a batch of documents as flat arrays, for measures computed over the whole batch.

A :class:`TokenView` holds every token of several documents, one document after another, as
numbers: an id per token (equal ids within one document mean equal tokens) and its length in
characters. Measures that count or compare tokens (n-gram repetition, Gopher's token counts) run
over these arrays with numpy instead of one Python object per token.

:func:`tokenize_batch` computes exactly :func:`datacraft.text.words.split_words` for many texts at
once. Texts on the tokenizer's fast path are cut at whitespace by Arrow
(``utf8_split_whitespace``: the same whitespace as ``str.split``, checked for every code point by
tests/test_text_batch.py) and the distinct chunks of the batch (``dictionary_encode``) are
tokenized once each by :func:`datacraft.text.words.chunk_tokens`, so Python work is per distinct
chunk, not per token; numpy index arithmetic then lays the chunks' tokens out in text order. Texts
off the fast path (Han, Kana, Thai, Lao, U+1F100–1F10C) and texts Arrow cannot hold (lone
surrogates, as ``json`` decodes ``"\\ud800"``) take :func:`split_words` one by one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datacraft.text.scripts import HAN_KANA, THAI
from datacraft.text.words import chunk_tokens, punct_set, split_words, token_regex

if TYPE_CHECKING:
    from datacraft.text.cache import TextFeatures

#: A text with any of these goes to :func:`split_words` alone: the space-less scripts and the fast
#: path's exceptions of :func:`split_words` (a superset of its test), lone surrogates (not UTF-8).
#: Characters whose whitespace-ness differs between ``str.split`` and Arrow would go here as well;
#: there are none (pyarrow ≥ 14, Python 3.11: tests/test_text_batch.py checks every code point).
_EXACT_ONLY = re.compile(f"[{HAN_KANA}{THAI}\u0e80-\u0eff\U0001f100-\U0001f10c\ud800-\udfff]")
_LAST = itemgetter(slice(-1, None))  # "" (an empty chunk, in the vocabulary but no token) → ""
_ONE = 1
_MAX_STRING_BYTES = (1 << 31) - 1


@dataclass(frozen=True)
class TokenView:
    """Tokens of ``n`` documents: document ``i`` owns positions ``offsets[i]:offsets[i + 1]``."""

    offsets: np.ndarray  #: int64, ``n + 1`` entries, starting at 0
    ids: np.ndarray  #: int64 per token; within one document, equal ids ⇔ equal tokens
    lengths: np.ndarray  #: int64 per token, characters (code points)
    #: ``vocab[ids[k]]`` is token ``k`` (ids are equal ⇔ tokens are equal across the whole view
    #: when it comes from one batch; across batches ids of different strings may coincide only in
    #: different documents). ``None`` for views built without strings.
    vocab: Sequence[str] | None = None

    @property
    def n_docs(self) -> int:
        """How many documents the view holds."""
        return len(self.offsets) - 1

    def tokens(self, i: int) -> list[str]:
        """The tokens of document ``i`` as strings (needs :attr:`vocab`)."""
        assert self.vocab is not None
        return list(map(self.vocab.__getitem__, self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()))


def _spans(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(starts[j], starts[j] + counts[j])`` for every ``j`` (int64)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(starts - (ends - counts), counts)
    return shift + np.arange(total, dtype=np.int64)


def _cumsum0(values: np.ndarray) -> np.ndarray:
    """``[0, values[0], values[0] + values[1], …]`` as int64."""
    out = np.zeros(len(values) + 1, np.int64)
    np.cumsum(values, out=out[1:])
    return out


class BatchTokens:
    """The tokens of a batch of texts: a vocabulary of distinct strings and each text's token ids.

    ``vocab[ids[k]]`` is token ``k``; text ``i`` owns ``ids[offsets[i]:offsets[i + 1]]``; distinct
    ids are distinct strings across the whole batch. Per-token facts Gopher's rules count
    (punctuation, letters, stop words) are computed once per distinct string and summed per text
    with numpy, on first use.
    """

    __slots__ = ("_counts", "_index", "_lower", "_stops", "ids", "offsets", "vocab")

    def __init__(self, vocab: list[str], index: dict[str, int], ids: np.ndarray, offsets: np.ndarray) -> None:
        self.vocab = vocab
        self._index = index
        self.ids = ids
        self.offsets = offsets
        self._counts: tuple[list[int], ...] | None = None
        self._lower: list[str] | None = None
        self._stops: dict[tuple[frozenset[str], bool], list[int]] = {}

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def words(self, i: int) -> list[str]:
        """The tokens of text ``i``."""
        return list(map(self.vocab.__getitem__, self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()))

    def vocab_lengths(self) -> np.ndarray:
        """Characters of each vocabulary string (int64)."""
        return np.fromiter(map(len, self.vocab), np.int64, len(self.vocab))

    def _per_text(self, per_vocab: np.ndarray) -> list[int]:
        """``per_vocab`` summed over each text's tokens, as Python ints."""
        sums = _cumsum0(per_vocab[self.ids])
        return (sums[self.offsets[1:]] - sums[self.offsets[:-1]]).tolist()

    def counts(self) -> tuple[list[int], ...]:
        """Per text: (tokens, punctuation tokens, their characters, tokens with a letter, token characters).

        The definitions of :class:`datacraft.text.cache.TextFeatures`: a punctuation token ends with
        a character of :func:`punct_set`, a token with a letter has a character that ``isalpha``.
        """
        if self._counts is None:
            vocab = self.vocab
            n = len(vocab)
            lengths = self.vocab_lengths()
            alpha = np.fromiter(map(str.isalpha, vocab), bool, n)
            punct = np.zeros(n, np.int64)
            letter = alpha.astype(np.int64)
            rest = np.flatnonzero(~alpha)
            words = list(map(vocab.__getitem__, rest.tolist()))
            punct[rest] = np.fromiter(map(punct_set().__contains__, map(_LAST, words)), bool, len(words))
            longer = rest[lengths[rest] > _ONE]
            letter[longer] = [any(map(str.isalpha, vocab[j])) for j in longer.tolist()]
            n_tokens = np.diff(self.offsets).tolist()
            self._counts = (
                n_tokens,
                self._per_text(punct),
                self._per_text(punct * lengths),
                self._per_text(letter),
                self._per_text(lengths),
            )
        return self._counts

    def stop_word_counts(self, stop: frozenset[str], ignore_case: bool) -> list[int]:
        """Per text: how many of ``stop`` occur among its tokens (lower-cased with ``ignore_case``)."""
        key = (stop, ignore_case)
        got = self._stops.get(key)
        if got is not None:
            return got
        words = sorted(stop)
        slot = np.full(len(self.vocab), -1, np.int64)
        if ignore_case:
            if self._lower is None:
                self._lower = list(map(str.lower, self.vocab))
            rank = {w: j for j, w in enumerate(words)}
            slot[:] = np.fromiter(map(rank.get, self._lower, repeat(-1)), np.int64, len(self.vocab))
        else:
            for j, w in enumerate(words):
                v = self._index.get(w)
                if v is not None:
                    slot[v] = j
        per_token = slot[self.ids]
        hit = np.flatnonzero(per_token >= 0)
        n = len(self)
        if len(hit) == 0 or not words:
            got = [0] * n
        else:
            doc = np.searchsorted(self.offsets, hit, side="right") - 1
            pairs = np.unique(doc * len(words) + per_token[hit])
            got = np.bincount(pairs // len(words), minlength=n).tolist()
        self._stops[key] = got
        return got


def _arrow_strings(texts: list[str]) -> pa.Array:
    """``texts`` as an Arrow string array (large when they exceed 32-bit offsets)."""
    size = sum(map(len, texts))
    kind = pa.string() if size * 4 < _MAX_STRING_BYTES else pa.large_string()
    return pa.array(texts, kind)


def _fast_tokens(texts: list[str], vocab: list[str], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, per-text token counts) of texts on the fast path; extends ``vocab``/``index``."""
    lists = pc.utf8_split_whitespace(_arrow_strings(texts))
    chunk_off = lists.offsets.to_numpy().astype(np.int64)
    chunk_off -= chunk_off[0]
    encoded = lists.flatten().dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    distinct: list[str] = encoded.dictionary.to_pylist()
    base = len(vocab)
    for j, chunk in enumerate(distinct, base):
        index[chunk] = j  # distinct chunks are distinct strings; a repeat of an earlier batch's is fine
    vocab.extend(distinct)
    # Each distinct chunk's tokens: itself when alphanumeric (most), else chunk_tokens (with "" → none).
    alnum = np.fromiter(map(str.isalnum, distinct), bool, len(distinct))
    per_chunk = alnum.astype(np.int64)
    others = np.flatnonzero(~alnum)
    find = token_regex().findall
    other_ids: list[int] = []
    setdefault = index.setdefault
    for j in others.tolist():
        toks = chunk_tokens(distinct[j], find)
        per_chunk[j] = len(toks)
        for t in toks:
            v = setdefault(t, len(vocab))
            if v == len(vocab):
                vocab.append(t)
            other_ids.append(v)
    starts = _cumsum0(per_chunk)
    layout = np.empty(int(starts[-1]), np.int64)
    layout[starts[:-1][alnum]] = np.flatnonzero(alnum) + base
    layout[_spans(starts[:-1][others], per_chunk[others])] = other_ids
    # Every chunk occurrence, in text order, expands to its distinct chunk's tokens.
    occ = per_chunk[codes]
    ids = layout[_spans(starts[codes], occ)]
    per_text = np.diff(_cumsum0(occ)[chunk_off])
    return ids, per_text


def tokenize_batch(texts: Sequence[str], langs: Sequence[str | None] | None = None) -> BatchTokens:
    """``split_words(texts[i], langs[i])`` for every ``i``, as one :class:`BatchTokens`.

    Also returns, for texts tokenized one by one, their word lists (see :func:`batch_words`).
    """
    return _tokenize(texts, langs)[0]


def _tokenize(
    texts: Sequence[str], langs: Sequence[str | None] | None = None
) -> tuple[BatchTokens, dict[int, list[str]]]:
    n = len(texts)
    exact = [i for i, t in enumerate(texts) if not t.isascii() and _EXACT_ONLY.search(t)]
    vocab: list[str] = []
    index: dict[str, int] = {}
    fast = list(texts)
    for i in exact:
        fast[i] = ""
    ids, per_text = _fast_tokens(fast, vocab, index) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    words: dict[int, list[str]] = {}
    if exact:
        pieces: list[np.ndarray] = []
        bounds = _cumsum0(per_text)
        prev = 0
        setdefault = index.setdefault
        for i in exact:
            toks = words[i] = split_words(texts[i], None if langs is None else langs[i])
            own = []
            for t in toks:
                v = setdefault(t, len(vocab))
                if v == len(vocab):
                    vocab.append(t)
                own.append(v)
            pieces.append(ids[bounds[prev] : bounds[i]])
            pieces.append(np.array(own, np.int64))
            per_text[i] = len(own)
            prev = i + 1
        pieces.append(ids[bounds[prev] :])
        ids = np.concatenate(pieces)
    return BatchTokens(vocab, index, ids, _cumsum0(per_text)), words


def batch_tokens(feats: Sequence[TextFeatures]) -> list[tuple[BatchTokens, int]]:
    """Each feature's (batch, position), tokenizing together those not tokenized yet (kept on them)."""
    todo = [f for f in feats if f._tokens is None]
    if todo:
        from datacraft.text.cache import reserve

        reserve(len(feats))
        bt, words = _tokenize([f.text for f in todo], [f.lang for f in todo])
        for i, f in enumerate(todo):
            f._tokens = (bt, i)
            w = words.get(i)
            if w is not None and f._words is None:
                f._words = w
    return [f._tokens for f in feats]  # type: ignore[misc]


def token_view(feats: Sequence[TextFeatures]) -> TokenView:
    """The tokens (:attr:`TextFeatures.words`) of ``feats`` as one :class:`TokenView`.

    Texts already tokenized in a batch (an earlier stage) reuse it; the others are tokenized
    together. Ids of texts from different batches are offset so that :attr:`TokenView.vocab`
    (those batches' vocabularies one after another) still names every token.
    """
    places = batch_tokens(feats)
    n = len(places)
    if n == 0:
        return TokenView(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), [])
    first = places[0][0]
    if all(bt is first for bt, _ in places) and len(first) == n and all(i == k for k, (_, i) in enumerate(places)):
        return TokenView(first.offsets, first.ids, first.vocab_lengths()[first.ids], first.vocab)
    batches: dict[int, tuple[BatchTokens, int, int]] = {}  # id → (batch, vocab base, token base)
    vocab: list[str] = []
    flat: list[np.ndarray] = []
    tokens = 0
    for bt, _ in places:
        if id(bt) not in batches:
            batches[id(bt)] = (bt, len(vocab), tokens)
            vocab.extend(bt.vocab)
            flat.append(bt.ids + len(vocab) - len(bt.vocab))
            tokens += len(bt.ids)
    all_ids = np.concatenate(flat)
    starts = np.fromiter((batches[id(bt)][2] + int(bt.offsets[i]) for bt, i in places), np.int64, n)
    counts = np.fromiter((int(bt.offsets[i + 1] - bt.offsets[i]) for bt, i in places), np.int64, n)
    ids = all_ids[_spans(starts, counts)]
    lengths = np.fromiter(map(len, vocab), np.int64, len(vocab))[ids]
    return TokenView(_cumsum0(counts), ids, lengths, vocab)
