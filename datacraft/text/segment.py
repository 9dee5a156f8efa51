"""Line, paragraph and sentence splitting shared by the quality rules.

Each helper reproduces the splitting of the published rule it serves (Gopher, C4, FineWeb as
implemented by datatrove), so thresholds keep their meaning.
"""

from __future__ import annotations

import re

# Unicode Sentence_Terminal characters (generated with `regex` \p{Sentence_Terminal}, Unicode 16).
SENTENCE_TERMINALS = frozenset(
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965\u104a\u104b"
    "\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u1803\u1809\u1944\u1945\u1aa8\u1aa9\u1aaa\u1aab\u1b4e\u1b4f"
    "\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1b7f\u1c3b\u1c3c\u1c7e\u1c7f\u2024\u203c\u203d\u2047\u2048\u2049\u2cf9"
    "\u2cfa\u2cfb\u2e2e\u2e3c\u2e53\u2e54\u2e60\u2e61\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf"
    "\ua92f\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe12\ufe15\ufe16\ufe52\ufe56\ufe57\uff01\uff0e\uff1f"
    "\uff61\U00010a56\U00010a57\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88"
    "\U00010f89\U00011047\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143"
    "\U000111c5\U000111c6\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9"
    "\U000113d4\U000113d5\U0001144b\U0001144c\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc"
    "\U000115cd\U000115ce\U000115cf\U000115d0\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6"
    "\U000115d7\U00011641\U00011642\U0001173c\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43"
    "\U00011a9b\U00011a9c\U00011c41\U00011c42\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f"
    "\U00016af5\U00016b37\U00016b38\U00016b44\U00016d6e\U00016d6f\U00016e98\U0001bc9f\U0001da88"
)
#: ``str.endswith`` argument: a line "ends with punctuation" when its last character is a terminal.
TERMINAL_TUPLE = tuple(sorted(SENTENCE_TERMINALS))

_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")


def lines(text: str) -> list[str]:
    """Lines as ``str.splitlines`` gives them (empty lines included; Gopher quality, C4)."""
    return text.splitlines()


def newline_runs(text: str) -> list[str]:
    """Pieces between runs of ``\\n`` (Gopher repetition's notion of a line).

    Equal to ``re.split(r"\\n+", text)``: the ``\\n``-separated pieces without the empty ones a run
    leaves inside, keeping the empty first/last piece of a text that starts/ends with ``\\n``.
    """
    parts = text.split("\n")
    if "\n\n" not in text:
        return parts
    runs = list(filter(None, parts))
    if text[0] == "\n":
        runs.insert(0, "")
    if text[-1] == "\n":
        runs.append("")
    return runs


def nonblank_lines(text: str) -> list[str]:
    """``\\n``-separated lines that are not blank, unstripped (FineWeb)."""
    return [line for line in text.split("\n") if line.strip()]


def paragraphs(text: str) -> list[str]:
    """Paragraphs: the stripped text split at blank lines (two or more ``\\n``)."""
    text = text.strip()
    if "\n\n" not in text:
        return [text]
    return text.split("\n\n") if "\n\n\n" not in text else _PARAGRAPH_SPLIT.split(text)


def count_sentences(tokens: list[str], punct: frozenset[str]) -> int:
    """Count sentences in a token list the way spaCy's ``sentencizer`` does.

    A sentence ends at a token that is a single terminal character (``.`` ``!`` ``?`` ``。`` …);
    the next sentence starts at the first following token that is not punctuation. ``...`` and
    abbreviations such as ``Mr.`` are one token and end nothing.
    """
    if not tokens:
        return 0
    count = 1
    seen_end = False
    for tok in tokens:
        if seen_end and tok[-1] not in punct:
            count += 1
            seen_end = False
        elif tok in SENTENCE_TERMINALS:
            seen_end = True
    return count
