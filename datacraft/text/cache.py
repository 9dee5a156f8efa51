"""Per-document text features computed once and shared by every filter of a batch.

Filters run one after another over the same batch, so the tokens of a document are needed
several times (Gopher quality, Gopher repetition, FineWeb, blocklist). :func:`features` returns
a :class:`TextFeatures` for a text, keyed by the identity of the ``str`` object: a stage that
changes the text (C4 line removal) makes a new string and so gets fresh features. The cache is
bounded (FIFO) so memory stays flat however long the stream; a miss only costs recomputation.
"""

from __future__ import annotations

from functools import cached_property
from itertools import filterfalse

from datacraft.text.segment import lines, newline_runs, nonblank_lines, paragraphs
from datacraft.text.words import punct_set, split_words

#: Entries kept; at least the default pipeline batch size (1,000) so a batch stays cached between stages.
CACHE_SIZE = 1024


class TextFeatures:
    """Lazily computed, cached views of one text: tokens, lines, paragraphs and counts."""

    __slots__ = ("__dict__", "lang", "text")

    def __init__(self, text: str, lang: str | None = None) -> None:
        self.text = text
        self.lang = lang if isinstance(lang, str) else None

    @cached_property
    def words(self) -> list[str]:
        """Tokens of :func:`datacraft.text.words.split_words` (punctuation tokens included)."""
        return split_words(self.text, self.lang)

    @cached_property
    def non_alpha_tokens(self) -> list[str]:
        """Tokens that are not purely letters (punctuation, numbers, mixed); usually a small minority."""
        return list(filterfalse(str.isalpha, self.words))

    @cached_property
    def punct_tokens(self) -> tuple[int, int]:
        """(how many tokens are punctuation/symbols only, their characters)."""
        p = punct_set()
        sym = [len(w) for w in self.non_alpha_tokens if w[-1] in p]
        return len(sym), sum(sym)

    @cached_property
    def alpha_tokens(self) -> int:
        """How many tokens contain at least one letter."""
        rest = self.non_alpha_tokens
        return len(self.words) - len(rest) + sum(1 for w in rest if any(map(str.isalpha, w)))

    @cached_property
    def word_chars(self) -> int:
        """Characters in all tokens."""
        return sum(map(len, self.words))

    @cached_property
    def word_set(self) -> frozenset[str]:
        """The distinct tokens."""
        return frozenset(self.words)

    @cached_property
    def lines(self) -> list[str]:
        """``str.splitlines`` lines."""
        return lines(self.text)

    @cached_property
    def newline_runs(self) -> list[str]:
        """Pieces between runs of ``\\n``."""
        return newline_runs(self.text)

    @cached_property
    def nonblank_lines(self) -> list[str]:
        """Non-blank ``\\n``-separated lines."""
        return nonblank_lines(self.text)

    @cached_property
    def paragraphs(self) -> list[str]:
        """Blank-line-separated paragraphs of the stripped text."""
        return paragraphs(self.text)


_CACHE: dict[int, TextFeatures] = {}
_enabled = True


def set_cache_enabled(enabled: bool) -> None:
    """Turn the shared cache on or off (the benchmark measures both); clears it."""
    global _enabled
    _enabled = enabled
    _CACHE.clear()


def features(text: str, lang: str | None = None) -> TextFeatures:
    """The (cached) features of ``text``; ``lang`` (a document's language) guides CJK word segmentation."""
    if not _enabled:
        return TextFeatures(text, lang)
    key = id(text)
    f = _CACHE.get(key)
    if f is not None and f.text is text:
        return f
    f = TextFeatures(text, lang)
    if len(_CACHE) >= CACHE_SIZE:
        del _CACHE[next(iter(_CACHE))]
    _CACHE[key] = f
    return f
