"""``reflow``: join hard-wrapped lines into paragraphs; keep verse, lists and code as they are.

Project Gutenberg texts, e-mails and RFC-style documents wrap prose at a fixed width (~70
columns), so every line of a paragraph "ends without punctuation" for the web rules (FineWeb's
``line_punct_ratio``, C4's line rules). A blank-line-separated block is *wrapped prose* when:

- it has at least two lines and its longest line is at least ``min_width`` characters;
- its lines but the last are nearly as long as the longest (``fill`` of it; ragged verse is not);
- it is not verse (most lines start with a capital letter), a list (most lines start with a
  bullet or a number such as KJV verse numbers) or code (lines ending in ``{ } ;`` or unevenly
  indented).

A wrapped block becomes one line: lines stripped and joined by a space (a line ending in a
letter and ``-`` joins the next without one: ``to-`` + ``day``; Chinese and Japanese lines join
without a space). Widths are display columns (a CJK character takes two). Blocks are separated by one
blank line as before. Counters: ``paragraphs_joined``, ``docs_changed``.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Mapper, StageContext, StageParams
from datacraft.stages.registry import register
from datacraft.text.scripts import HAN_KANA

_BLOCKS = re.compile(r"\n(?:[^\S\n]*\n)+")
_LIST_ITEM = re.compile(r"\s*(?:[-*•·–—]|\d+[.):]?|[ivxlcIVXLC]+[.)]|[a-zA-Z][.)])\s")
_CODE_END = ("{", "}", ";", "*/", "\\")
_WIDE = re.compile(f"[{HAN_KANA}\u3000-\u303f\uff01-\uff60]")


def display_width(line: str) -> int:
    """Columns ``line`` takes in a terminal: East Asian wide and full-width characters count 2."""
    if line.isascii():
        return len(line)
    return len(line) + sum(1 for c in line if unicodedata.east_asian_width(c) in "WF")


class ReflowParams(StageParams):
    min_width: int = Field(45, ge=1, description="a block is wrapped only if its longest line is this long")
    fill: float = Field(0.6, gt=0, le=1, description="lines but the last are at least this share of the longest")
    max_capitalized: float = Field(
        0.7, ge=0, le=1, description="more lines starting with a capital than this share: verse, kept"
    )
    max_list_lines: float = Field(0.5, ge=0, le=1, description="more list-item lines than this share: a list, kept")


@register("reflow")
class Reflow(Mapper):
    """Join hard-wrapped prose lines into one line per paragraph; verse, lists and code stay intact."""

    Params = ReflowParams

    def is_wrapped(self, lines: list[str]) -> bool:
        """True when a block's lines are hard-wrapped prose."""
        p: ReflowParams = self.params  # type: ignore[assignment]
        if len(lines) < 2:
            return False
        widths = [display_width(line.rstrip()) for line in lines]
        width = max(widths)
        if width < p.min_width:
            return False
        body = widths[:-1]
        if sum(1 for w in body if w >= p.fill * width) < 0.8 * len(body):
            return False
        stripped = [line.strip() for line in lines]
        if any(s.endswith(_CODE_END) for s in stripped):
            return False
        indents = {len(line) - len(line.lstrip()) for line in lines[1:]}
        if len(indents) > 1:
            return False  # uneven indentation: code, verse or a table
        if len(lines) >= 3 and sum(1 for s in stripped if s[:1].isupper()) > p.max_capitalized * len(lines):
            return False
        return sum(1 for line in lines if _LIST_ITEM.match(line)) <= p.max_list_lines * len(lines)

    def reflow(self, text: str) -> tuple[str, int]:
        """(the reflowed text, how many blocks were joined)."""
        if "\n" not in text:
            return text, 0
        out: list[str] = []
        joined = 0
        for block in _BLOCKS.split(text):
            lines = block.split("\n")
            if not self.is_wrapped(lines):
                out.append(block)
                continue
            joined += 1
            para = ""
            for line in lines:
                s = line.strip()
                if not para:
                    para = s
                elif len(para) > 1 and para.endswith("-") and para[-2].isalpha():
                    para += s  # to- + day
                elif _WIDE.match(para[-1]) or (s and _WIDE.match(s[0])):
                    para += s  # Chinese/Japanese lines join without a space
                else:
                    para += " " + s
            lead = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
            out.append(lead + para)
        return ("\n\n".join(out) if joined else text), joined

    def map(self, doc: Document, ctx: StageContext) -> Document:
        new, joined = self.reflow(doc.text)
        if joined:
            ctx.count(self.label, "paragraphs_joined", joined)
            ctx.count(self.label, "docs_changed")
            doc.text = new
        return doc
