"""Per-document text features computed once and shared by every filter of a batch.

Filters run one after another over the same batch, so the tokens of a document are needed
several times (Gopher quality, Gopher repetition, FineWeb, blocklist). :func:`features` returns
a :class:`TextFeatures` for a text and language, keyed by the identity of the ``str`` object and
the language (which decides CJK word segmentation): one text met with two languages has features
per language, each as if computed alone, whatever order documents come in. A stage that changes
the text (C4 line removal) makes a new string and so gets fresh features. The cache is bounded
(FIFO) so memory stays flat however long the stream; a miss only costs recomputation.

Texts tokenized together by :mod:`datacraft.text.batch` keep a reference to their batch's token
arrays (``_tokens``); the token counts then come from that batch, computed for all its texts at once.
"""

from __future__ import annotations

from itertools import compress, filterfalse
from operator import itemgetter
from typing import Any

from datacraft.text.segment import lines, newline_runs, nonblank_lines, paragraphs
from datacraft.text.words import punct_set, split_words

_LAST = itemgetter(-1)
_ONE = 1

#: Entries kept at least: several default pipeline batches (1,000 texts), so that a batch and the new
#: texts of its stages (C4's output) stay cached between stages. :func:`reserve` raises it for larger batches.
CACHE_SIZE = 4096
#: At most this many entries, however large the batches (memory stays bounded).
MAX_CACHE_SIZE = 1 << 17


class TextFeatures:
    """Lazily computed, cached views of one text: tokens, lines, paragraphs and counts.

    Plain attributes filled on first use (``functools.cached_property`` takes a lock per first
    access on Python 3.11, a measurable cost at a few microseconds per document and view).
    """

    __slots__ = (
        "_alpha_tokens",
        "_lines",
        "_newline_runs",
        "_non_alpha_tokens",
        "_nonblank_lines",
        "_paragraphs",
        "_punct_tokens",
        "_tokens",
        "_word_chars",
        "_word_set",
        "_words",
        "lang",
        "text",
    )

    def __init__(self, text: str, lang: str | None = None) -> None:
        self.text = text
        self.lang = lang if isinstance(lang, str) else None
        self._words: list[str] | None = None
        self._non_alpha_tokens: list[str] | None = None
        self._punct_tokens: tuple[int, int] | None = None
        self._alpha_tokens: int | None = None
        self._word_chars: int | None = None
        self._word_set: frozenset[str] | None = None
        self._lines: list[str] | None = None
        self._newline_runs: list[str] | None = None
        self._nonblank_lines: list[str] | None = None
        self._paragraphs: list[str] | None = None
        # (datacraft.text.batch.BatchTokens, position); not imported here: that module imports this one
        self._tokens: tuple[Any, int] | None = None

    @property
    def words(self) -> list[str]:
        """Tokens of :func:`datacraft.text.words.split_words` (punctuation tokens included)."""
        if self._words is None:
            got = self._tokens
            self._words = split_words(self.text, self.lang) if got is None else got[0].words(got[1])
        return self._words

    @property
    def n_tokens(self) -> int:
        """How many tokens (``len(words)``, without building the list for a batch-tokenized text)."""
        got = self._tokens
        return len(self.words) if got is None else got[0].counts()[0][got[1]]

    def stop_word_count(self, stop: frozenset[str], ignore_case: bool = False) -> int:
        """How many of ``stop`` are tokens of the text (tokens lower-cased first with ``ignore_case``)."""
        got = self._tokens
        if got is not None:
            return got[0].stop_word_counts(stop, ignore_case)[got[1]]
        present = self.word_set if not ignore_case else frozenset(w.lower() for w in self.word_set)
        return len(stop & present)

    @property
    def non_alpha_tokens(self) -> list[str]:
        """Tokens that are not purely letters (punctuation, numbers, mixed); usually a small minority."""
        if self._non_alpha_tokens is None:
            self._non_alpha_tokens = list(filterfalse(str.isalpha, self.words))
        return self._non_alpha_tokens

    @property
    def punct_tokens(self) -> tuple[int, int]:
        """(how many tokens are punctuation/symbols only, their characters)."""
        if self._punct_tokens is None:
            got = self._tokens
            if got is not None:
                counts = got[0].counts()
                self._punct_tokens = counts[1][got[1]], counts[2][got[1]]
                return self._punct_tokens
            rest = self.non_alpha_tokens
            is_punct = list(map(punct_set().__contains__, map(_LAST, rest)))
            self._punct_tokens = sum(is_punct), sum(map(len, compress(rest, is_punct)))
        return self._punct_tokens

    @property
    def alpha_tokens(self) -> int:
        """How many tokens contain at least one letter."""
        if self._alpha_tokens is None:
            got = self._tokens
            if got is not None:
                self._alpha_tokens = got[0].counts()[3][got[1]]
                return self._alpha_tokens
            rest = self.non_alpha_tokens
            # a one-character token that is not a letter has none; of the others, count those with one
            longer = compress(rest, map(_ONE.__lt__, map(len, rest)))
            with_letter = sum(1 for w in longer if any(map(str.isalpha, w)))
            self._alpha_tokens = len(self.words) - len(rest) + with_letter
        return self._alpha_tokens

    @property
    def word_chars(self) -> int:
        """Characters in all tokens."""
        if self._word_chars is None:
            got = self._tokens
            if got is not None:
                self._word_chars = got[0].counts()[4][got[1]]
                return self._word_chars
            self._word_chars = sum(map(len, self.words))
        return self._word_chars

    @property
    def word_set(self) -> frozenset[str]:
        """The distinct tokens."""
        if self._word_set is None:
            self._word_set = frozenset(self.words)
        return self._word_set

    @property
    def lines(self) -> list[str]:
        """``str.splitlines`` lines."""
        if self._lines is None:
            self._lines = lines(self.text)
        return self._lines

    @property
    def newline_runs(self) -> list[str]:
        """Pieces between runs of ``\\n``."""
        if self._newline_runs is None:
            self._newline_runs = newline_runs(self.text)
        return self._newline_runs

    @property
    def nonblank_lines(self) -> list[str]:
        """Non-blank ``\\n``-separated lines."""
        if self._nonblank_lines is None:
            self._nonblank_lines = nonblank_lines(self.text)
        return self._nonblank_lines

    @property
    def paragraphs(self) -> list[str]:
        """Blank-line-separated paragraphs of the stripped text."""
        if self._paragraphs is None:
            self._paragraphs = paragraphs(self.text)
        return self._paragraphs


#: (id of the text, language) → features; the entry holds the text, so the id is not reused meanwhile.
_CACHE: dict[tuple[int, str | None], TextFeatures] = {}
_enabled = True
_capacity = CACHE_SIZE


def reserve(batch: int) -> None:
    """Keep room for batches of ``batch`` texts: a few of them, up to :data:`MAX_CACHE_SIZE` entries."""
    global _capacity
    _capacity = min(max(_capacity, 4 * batch), MAX_CACHE_SIZE)


def set_cache_enabled(enabled: bool) -> None:
    """Turn the shared cache on or off (the benchmark measures both); clears it."""
    global _enabled
    _enabled = enabled
    _CACHE.clear()


def features(text: str, lang: str | None = None) -> TextFeatures:
    """The (cached) features of ``text`` in language ``lang`` (a document's ``lang``: it guides CJK word
    segmentation, so it is part of the key; anything but a string counts as no language)."""
    if not isinstance(lang, str):
        lang = None
    if not _enabled:
        return TextFeatures(text, lang)
    key = (id(text), lang)
    f = _CACHE.get(key)
    if f is not None and f.text is text:
        return f
    f = TextFeatures(text, lang)
    if len(_CACHE) >= _capacity:
        del _CACHE[next(iter(_CACHE))]
    _CACHE[key] = f
    return f
