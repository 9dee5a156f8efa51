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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from operator import itemgetter
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datacraft.text.scripts import HAN_KANA, THAI
from datacraft.text.words import _PEEL, _URL_SCHEMES, ABBREVIATIONS, chunk_tokens, punct_set, split_words, token_regex

if TYPE_CHECKING:
    from datacraft.text.cache import TextFeatures

#: A text with any of these goes to :func:`split_words` alone: the space-less scripts and the fast
#: path's exceptions of :func:`split_words` (a superset of its test), lone surrogates (not UTF-8).
#: Characters whose whitespace-ness differs between ``str.split`` and Arrow would go here as well;
#: there are none (pyarrow ≥ 14, Python 3.11: tests/test_text_batch.py checks every code point).
_EXACT_ONLY = re.compile(f"[{HAN_KANA}{THAI}\u0e80-\u0eff\U0001f100-\U0001f10c\ud800-\udfff]")
#: A quick test first (a negated class of a few BMP ranges is faster for ``re``): a text without any
#: character outside these blocks has none of :data:`_EXACT_ONLY` (Thai/Lao, CJK, surrogates, astral).
_MAYBE_EXACT = re.compile("[^\x00-\u0dff\u0f00-\u2fff\ua000-\ud7ff\ue000-\uf8ff\ufb00-\uff65\uffa0-\uffff]")
_LAST = itemgetter(slice(-1, None))  # "" (an empty chunk, in the vocabulary but no token) → ""
_ONE = 1
_MAX_STRING_BYTES = (1 << 31) - 1
_ABBREVIATIONS = pa.array(sorted(ABBREVIATIONS), pa.string())
_SCHEMES = pa.array(sorted(_URL_SCHEMES), pa.string())


@dataclass(frozen=True)
class TokenView:
    """Tokens of ``n`` documents: document ``i`` owns positions ``offsets[i]:offsets[i + 1]``."""

    offsets: np.ndarray  #: int64, ``n + 1`` entries, starting at 0
    ids: np.ndarray  #: int64 per token; within one document, equal ids ⇔ equal tokens
    lengths: np.ndarray  #: int64 per token, characters (code points)

    @property
    def n_docs(self) -> int:
        """How many documents the view holds."""
        return len(self.offsets) - 1


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
    """The tokens of a batch of texts: a vocabulary of strings and each text's token ids.

    ``vocab[ids[k]]`` is token ``k``; text ``i`` owns ``ids[offsets[i]:offsets[i + 1]]``. The
    vocabulary is an Arrow part (distinct strings) followed by the distinct tokens of the texts
    tokenized one by one (``extra``, which may repeat an Arrow string: never within one text).
    Per-token facts Gopher's rules count (punctuation, letters, stop words) are computed once per
    vocabulary string and summed per text with numpy, on first use.
    """

    __slots__ = ("_arrow", "_counts", "_extra", "_lower", "_stops", "_vocab", "ids", "offsets")

    def __init__(self, arrow: pa.Array, extra: list[str], ids: np.ndarray, offsets: np.ndarray) -> None:
        self._arrow = arrow
        self._extra = extra
        self.ids = ids
        self.offsets = offsets
        self._vocab: list[str] | None = None
        self._counts: tuple[list[int], ...] | None = None
        self._lower: list[str] | None = None
        self._stops: dict[tuple[frozenset[str], bool], list[int]] = {}

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def vocab(self) -> list[str]:
        """The vocabulary as Python strings (built on first use)."""
        if self._vocab is None:
            self._vocab = self._arrow.to_pylist() + self._extra
        return self._vocab

    def words(self, i: int) -> list[str]:
        """The tokens of text ``i``."""
        return list(map(self.vocab.__getitem__, self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()))

    def vocab_lengths(self) -> np.ndarray:
        """Characters of each vocabulary string (int64)."""
        arrow = pc.utf8_length(self._arrow).to_numpy(zero_copy_only=False).astype(np.int64)
        if not self._extra:
            return arrow
        return np.concatenate([arrow, np.fromiter(map(len, self._extra), np.int64, len(self._extra))])

    def _per_text(self, per_vocab: np.ndarray) -> list[int]:
        """``per_vocab`` summed over each text's tokens, as Python ints."""
        sums = _cumsum0(per_vocab[self.ids])
        return (sums[self.offsets[1:]] - sums[self.offsets[:-1]]).tolist()

    def _facts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per vocabulary string: (ends with a punctuation character, has a letter), as int64.

        ASCII strings in Arrow (where Arrow's and Python's classes agree: tests/test_text_batch.py),
        the others with Python's ``isalpha`` and :func:`punct_set`.
        """
        arrow = self._arrow
        ascii_ = _np_bool(pc.string_is_ascii(arrow))
        punct = _np_bool(pc.match_substring_regex(arrow, _patterns()["punct_end"])) & ascii_
        letter = _np_bool(pc.match_substring_regex(arrow, "[A-Za-z]")) & ascii_
        other = np.flatnonzero(~ascii_)
        strings = arrow.take(pa.array(other)).to_pylist() + self._extra
        other = np.concatenate([other, np.arange(len(arrow), len(arrow) + len(self._extra))])
        punct = np.concatenate([punct, np.zeros(len(self._extra), bool)])
        letter = np.concatenate([letter, np.zeros(len(self._extra), bool)])
        is_punct = punct_set().__contains__
        punct[other] = np.fromiter(map(is_punct, map(_LAST, strings)), bool, len(strings))
        letter[other] = [w.isalpha() or any(map(str.isalpha, w)) for w in strings]
        return punct.astype(np.int64), letter.astype(np.int64)

    def counts(self) -> tuple[list[int], ...]:
        """Per text: (tokens, punctuation tokens, their characters, tokens with a letter, token characters).

        The definitions of :class:`datacraft.text.cache.TextFeatures`: a punctuation token ends with
        a character of :func:`punct_set`, a token with a letter has a character that ``isalpha``
        (a punctuation/symbol character never is a letter, so one test per token suffices).
        """
        if self._counts is None:
            lengths = self.vocab_lengths()
            punct, letter = self._facts()
            self._counts = (
                np.diff(self.offsets).tolist(),
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
        rank = {w: j for j, w in enumerate(words)}
        if ignore_case:
            if self._lower is None:
                self._lower = list(map(str.lower, self.vocab))
            slot = np.fromiter(map(rank.get, self._lower, repeat(-1)), np.int64, len(self._lower))
        else:
            arrow = self._arrow
            found = pc.index_in(arrow, value_set=pa.array(words, pa.string())) if words else pa.nulls(len(arrow))
            slot = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            extra = np.fromiter(map(rank.get, self._extra, repeat(-1)), np.int64, len(self._extra))
            slot = np.concatenate([slot, extra])
        per_token = slot[self.ids]
        hit = np.flatnonzero(per_token >= 0)
        n = len(self)
        if len(hit) == 0:
            got = [0] * n
        else:
            doc = np.searchsorted(self.offsets, hit, side="right") - 1
            pairs = np.unique(doc * len(words) + per_token[hit])
            got = np.bincount(pairs // len(words), minlength=n).tolist()
        self._stops[key] = got
        return got


def _np_bool(arr: pa.Array) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False).astype(bool)


def _np_int(arr: pa.Array) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False).astype(np.int64)


def _class(chars: str) -> str:
    """An RE2 character-class body matching exactly ``chars``."""
    return "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars)))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, str]:
    peel = _class(_PEEL)
    ascii_punct = "".join(c for c in map(chr, range(128)) if c in punct_set())
    return {
        "punct_end": f"[{_class(ascii_punct)}]$",  # an ASCII string ending with punctuation
        "dot": f"[^{peel}]\\.[{peel}]*$",  # the character after the core is "."
        "plus": f"[^{peel}]\\+\\+[{peel}]*$",  # … "++"
        "colon": f"[^{peel}]:[{peel}]*$",  # … ":"
        "after_lead": f"[^{peel}].*$",  # from the core on (cut: the lead remains)
        "before_tail": f"^.*[^{peel}]",  # up to the core's end (cut: the tail remains)
    }


def _is_alnum(arr: pa.Array) -> np.ndarray:
    """``str.isalnum`` of each string: Arrow for ASCII strings (same classes), Python for the others."""
    ascii_ = _np_bool(pc.string_is_ascii(arr))
    out = _np_bool(pc.ascii_is_alnum(arr)) & ascii_
    other = np.flatnonzero(~ascii_)
    if len(other):
        strings = arr.take(pa.array(other)).to_pylist()
        out[other] = np.fromiter(map(str.isalnum, strings), bool, len(strings))
    return out


def _pieces(strings: list[str], find: Callable[[str], list[str]]) -> list[list[str]]:
    """The tokens of peeled leads or tails (``chunk_tokens``' rule: one character is one token)."""
    return [[] if not s else [s] if len(s) == 1 else find(s) for s in strings]


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(flat values, start offsets with a final end) of a list of lists."""
    off = _cumsum0(np.fromiter(map(len, lists), np.int64, len(lists)))
    return np.fromiter(chain.from_iterable(lists), np.int64, int(off[-1])), off


def _arrow_strings(texts: list[str]) -> pa.Array:
    """``texts`` as an Arrow string array (large when they could exceed 32-bit offsets)."""
    size = sum(map(len, texts))
    kind = pa.string() if size * 4 < _MAX_STRING_BYTES else pa.large_string()
    return pa.array(texts, kind)


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, offsets as int64) of a string array."""
    bufs = arr.buffers()
    width = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(bufs[1], width)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return data, offsets


def _cut(data: np.ndarray, starts: np.ndarray, sizes: np.ndarray, kind: pa.DataType) -> pa.Array:
    """The strings ``data[starts[j]:starts[j] + sizes[j]]`` (bytes of whole characters) as an Arrow array."""
    offsets = _cumsum0(sizes).astype(np.int64 if kind == pa.large_string() else np.int32)
    body = data[_spans(starts, sizes)]
    return pa.Array.from_buffers(kind, len(sizes), [None, pa.py_buffer(offsets), pa.py_buffer(body)])


def _fast_tokens(texts: list[str]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(vocabulary, ids, per-text token counts) of texts on the fast path (``chunk_tokens`` per chunk)."""
    lists = pc.utf8_split_whitespace(_arrow_strings(texts))
    chunk_off = _np_int(lists.offsets)
    chunk_off -= chunk_off[0]
    encoded = lists.flatten().dictionary_encode()
    codes = _np_int(encoded.indices)
    distinct = encoded.dictionary
    kind = distinct.type
    find = token_regex().findall
    # Each distinct chunk's tokens: itself when alphanumeric (most); else, when alphanumeric once
    # _PEEL is stripped off both ends, lead + core + tail unless the expression would join core and
    # tail (chunk_tokens' exceptions); the rest (and "") as chunk_tokens says, in Python.
    alnum = _is_alnum(distinct)
    others = np.flatnonzero(~alnum)
    sub = distinct.take(pa.array(others))
    rest = pc.utf8_ltrim(sub, characters=_PEEL)
    core = pc.utf8_rtrim(rest, characters=_PEEL)
    cand = np.flatnonzero(_is_alnum(core))
    take = pa.array(cand)
    csub, crest, ccore = sub.take(take), rest.take(take), core.take(take)
    size_sub, size_rest, size_core = (_np_int(pc.binary_length(a)) for a in (csub, crest, ccore))
    data, offsets = _buffers(csub)
    lead_size = size_sub - size_rest
    lead_enc = _cut(data, offsets[:-1], lead_size, kind).dictionary_encode()
    tail_enc = _cut(data, offsets[:-1] + lead_size + size_core, size_rest - size_core, kind).dictionary_encode()
    leads, tails = lead_enc.dictionary.to_pylist(), tail_enc.dictionary.to_pylist()
    lead_codes, tail_codes = _np_int(lead_enc.indices), _np_int(tail_enc.indices)
    dot = np.fromiter((t[:1] == "." for t in tails), bool, len(tails))[tail_codes]
    plus = np.fromiter((t[:2] == "++" for t in tails), bool, len(tails))[tail_codes]
    colon = np.fromiter((t[:1] == ":" for t in tails), bool, len(tails))[tail_codes]
    short = _np_int(pc.utf8_length(ccore)) == 1
    exc = (
        (dot & (short | _np_bool(pc.is_in(ccore, value_set=_ABBREVIATIONS.cast(kind)))))
        | plus
        | (colon & _np_bool(pc.is_in(ccore, value_set=_SCHEMES.cast(kind))))
    )
    ok = ~exc
    peel = cand[ok]
    lead_codes, tail_codes = lead_codes[ok], tail_codes[ok]
    pcore = ccore.filter(pa.array(ok))
    is_slow = np.ones(len(others), bool)
    is_slow[peel] = False
    slow = np.flatnonzero(is_slow)
    slow_tokens = [chunk_tokens(c, find) for c in sub.take(pa.array(slow)).to_pylist()]
    lead_tokens, tail_tokens = _pieces(leads, find), _pieces(tails, find)
    # One vocabulary: the distinct chunks (codes 0…, in order), the cores, the tokens found in Python.
    named = list(set(chain.from_iterable([*slow_tokens, *lead_tokens, *tail_tokens])))
    both = pa.concat_arrays([distinct, pcore, pa.array(named, kind)]).dictionary_encode()
    vocab = both.dictionary
    all_codes = _np_int(both.indices)
    n_distinct = len(distinct)
    assert np.array_equal(all_codes[:n_distinct], np.arange(n_distinct))  # first appearance order
    core_ids = all_codes[n_distinct : n_distinct + len(pcore)]
    get = dict(zip(named, all_codes[n_distinct + len(pcore) :].tolist(), strict=True)).__getitem__
    slow_flat, slow_off = _csr([list(map(get, t)) for t in slow_tokens])
    lead_flat, lead_off = _csr([list(map(get, t)) for t in lead_tokens])
    tail_flat, tail_off = _csr([list(map(get, t)) for t in tail_tokens])
    n_lead = np.diff(lead_off)[lead_codes]
    n_tail = np.diff(tail_off)[tail_codes]
    # Tokens per distinct chunk, then each chunk's tokens laid out in one array.
    per_chunk = np.ones(n_distinct, np.int64)
    other_counts = np.empty(len(others), np.int64)
    other_counts[slow] = np.diff(slow_off)
    other_counts[peel] = n_lead + 1 + n_tail
    per_chunk[others] = other_counts
    starts = _cumsum0(per_chunk)
    layout = np.empty(int(starts[-1]), np.int64)
    alnum_at = np.flatnonzero(alnum)
    layout[starts[alnum_at]] = alnum_at
    layout[_spans(starts[others[slow]], np.diff(slow_off))] = slow_flat
    first = starts[others[peel]]
    layout[_spans(first, n_lead)] = lead_flat[_spans(lead_off[lead_codes], n_lead)]
    layout[first + n_lead] = core_ids
    layout[_spans(first + n_lead + 1, n_tail)] = tail_flat[_spans(tail_off[tail_codes], n_tail)]
    # Every chunk occurrence, in text order, expands to its distinct chunk's tokens.
    occ = per_chunk[codes]
    ids = layout[_spans(starts[codes], occ)]
    per_text = np.diff(_cumsum0(occ)[chunk_off])
    return vocab, ids, per_text


def tokenize_batch(texts: Sequence[str], langs: Sequence[str | None] | None = None) -> BatchTokens:
    """``split_words(texts[i], langs[i])`` for every ``i``, as one :class:`BatchTokens`."""
    return _tokenize(texts, langs)[0]


def _tokenize(
    texts: Sequence[str], langs: Sequence[str | None] | None = None
) -> tuple[BatchTokens, dict[int, list[str]]]:
    """The batch's tokens and, for the texts tokenized one by one, their word lists."""
    exact = [i for i, t in enumerate(texts) if not t.isascii() and _MAYBE_EXACT.search(t) and _EXACT_ONLY.search(t)]
    fast = list(texts)
    for i in exact:
        fast[i] = ""
    vocab, ids, per_text = _fast_tokens(fast)
    size = len(vocab)
    words: dict[int, list[str]] = {}
    extra: list[str] = []
    if exact:
        # Texts tokenized alone get their own vocabulary entries (they may hold lone surrogates,
        # which Arrow cannot), distinct among themselves.
        own: dict[str, int] = {}
        pieces: list[np.ndarray] = []
        bounds = _cumsum0(per_text)
        prev = 0
        for i in exact:
            toks = words[i] = split_words(texts[i], None if langs is None else langs[i])
            for t in toks:
                if t not in own:
                    own[t] = size + len(own)
            pieces.append(ids[bounds[prev] : bounds[i]])
            pieces.append(np.fromiter(map(own.__getitem__, toks), np.int64, len(toks)))
            per_text[i] = len(toks)
            prev = i + 1
        pieces.append(ids[bounds[prev] :])
        ids = np.concatenate(pieces)
        extra = list(own)
    return BatchTokens(vocab, extra, ids, _cumsum0(per_text)), words


def from_words(words: Sequence[list[str]]) -> BatchTokens:
    """A :class:`BatchTokens` of texts whose token lists are known already (no tokenizing)."""
    flat = list(chain.from_iterable(words))
    vocab = list(dict.fromkeys(flat))
    position = dict(zip(vocab, range(len(vocab)), strict=True))
    ids = np.fromiter(map(position.__getitem__, flat), np.int64, len(flat))
    offsets = _cumsum0(np.fromiter(map(len, words), np.int64, len(words)))
    return BatchTokens(pa.array([], pa.string()), vocab, ids, offsets)


def batch_tokens(feats: Sequence[TextFeatures]) -> list[tuple[BatchTokens, int]]:
    """Each feature's (batch, position), tokenizing together those not tokenized yet (kept on them).

    Features whose :attr:`~TextFeatures.words` were computed already (one by one, by a stage that
    reads them) are not tokenized again: their lists make a batch of their own.
    """
    todo = [f for f in feats if f._tokens is None]
    if todo:
        from datacraft.text.cache import reserve

        reserve(len(feats))
        known = [f for f in todo if f._words is not None]
        if known:
            bt_known = from_words([f._words for f in known])  # type: ignore[misc]
            for i, f in enumerate(known):
                f._tokens = (bt_known, i)
            todo = [f for f in todo if f._tokens is None]
    if todo:
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
    together. Ids of texts from different batches are offset so that they stay apart.
    """
    places = batch_tokens(feats)
    n = len(places)
    if n == 0:
        return TokenView(np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    first = places[0][0]
    if len(first) == n and all(bt is first and i == k for k, (bt, i) in enumerate(places)):
        return TokenView(first.offsets, first.ids, first.vocab_lengths()[first.ids])
    batches: dict[int, tuple[int, int]] = {}  # id(batch) → (token base, vocabulary base)
    ids_parts: list[np.ndarray] = []
    length_parts: list[np.ndarray] = []
    tokens = words = 0
    for bt, _ in places:
        if id(bt) not in batches:
            batches[id(bt)] = (tokens, words)
            lengths = bt.vocab_lengths()
            ids_parts.append(bt.ids + words)
            length_parts.append(lengths)
            tokens += len(bt.ids)
            words += len(lengths)
    all_ids = np.concatenate(ids_parts)
    starts = np.fromiter((batches[id(bt)][0] + int(bt.offsets[i]) for bt, i in places), np.int64, n)
    counts = np.fromiter((int(bt.offsets[i + 1] - bt.offsets[i]) for bt, i in places), np.int64, n)
    ids = all_ids[_spans(starts, counts)]
    return TokenView(_cumsum0(counts), ids, np.concatenate(length_parts)[ids])
