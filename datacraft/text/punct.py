"""Sentence-terminal punctuation (Unicode ``Sentence_Terminal``) and a sentence counter."""

from __future__ import annotations

import sys

import regex

from datacraft.text.words import is_punct


def _sentence_terminals() -> frozenset[str]:
    chars = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    return frozenset(regex.findall(r"\p{Sentence_Terminal}", chars))


#: Every character with the Unicode property Sentence_Terminal (``. ! ? 。 ।`` …).
TERMINAL_PUNCTUATION: frozenset[str] = _sentence_terminals()
TERMINAL_TUPLE: tuple[str, ...] = tuple(sorted(TERMINAL_PUNCTUATION))


def count_sentences(tokens: list[str]) -> int:
    """Sentences in a token list: a new one starts at the first non-punctuation token after a terminal.

    This is the rule of spaCy's ``sentencizer``; an ellipsis token (``...``) does not end a sentence.
    """
    if not tokens:
        return 0
    n = 1
    seen_terminal = False
    for tok in tokens:
        if tok in TERMINAL_PUNCTUATION:
            seen_terminal = True
        elif seen_terminal and not is_punct(tok):
            n += 1
            seen_terminal = False
    return n
