"""``split``: cut long documents (books) into chapters, or windows of at most ``max_chars``.

``by: chapters`` cuts before each heading line (``CHAPTER XII``, ``Chapter 3``, ``BOOK II``,
``PART ONE``, … or your ``heading`` pattern); text before the first heading (title page,
contents) is a part of its own. A heading followed by less than ``min_part_chars`` before the
next one (the lines of a table of contents) does not cut. Any part still longer than
``max_chars``, and every document in ``by: window`` mode, is cut at the last paragraph break
(else line break, else space) before ``max_chars``. A document that needs no cut passes unchanged, id included.

Parts get derived, stable ids ``<id>#<k>`` (k from 0) and keep every metadata column, plus
``parent_id`` (the original id) and ``part`` (k): provenance for dedup clusters and reports.
Counters: ``docs_split``, ``parts_out``, ``docs_created`` (parts beyond the first, for the
ledger); parts shorter than ``min_chars`` (empty headings) are
dropped with reason ``empty_part`` so the ledger still balances.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.pipeline.ledger import CREATED
from datacraft.stages.base import Stage, StageContext, StageParams
from datacraft.stages.registry import register

HEADING = (
    r"^[^\S\n]*(?:CHAPTER|Chapter|BOOK|Book|PART|Part|VOLUME|Volume|STAVE|Stave)"
    r"[^\S\n]+(?:[IVXLCDM]+|\d+|[A-Z][A-Za-z]+)\b[^\n]{0,80}$"
)


class SplitParams(StageParams):
    by: Literal["chapters", "window"] = Field("chapters", description="cut at chapter headings, or windows only")
    max_chars: int = Field(20_000, gt=0, description="longest part in characters")
    min_chars: int = Field(1, ge=0, description="parts shorter than this (stripped) are dropped as empty_part")
    min_part_chars: int = Field(
        500, ge=0, description="a heading less than this before the next one (a table of contents) does not cut"
    )
    heading: str = Field(HEADING, description="regular expression (multiline) of a chapter heading line")

    @field_validator("heading")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value, re.MULTILINE)
        except re.error as e:
            raise ValueError(f"invalid regular expression: {e}") from None
        return value


def windows(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars`` at paragraph, line or word breaks."""
    out: list[str] = []
    while len(text) > max_chars:
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = text.rfind(sep, max_chars // 2, max_chars)
            if cut > 0:
                break
        if cut <= 0:
            cut = max_chars
        out.append(text[:cut])
        text = text[cut:].lstrip()
    out.append(text)
    return out


@register("split")
class Split(Stage):
    """Cut books into chapters (or windows of at most ``max_chars``); parts get ids ``<id>#<k>``."""

    kind = "mapper"
    Params = SplitParams

    def __init__(self, params: SplitParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: SplitParams = self.params  # type: ignore[assignment]
        self._heading = re.compile(p.heading, re.MULTILINE)

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"parent_id": "string", "part": "int64"}

    def parts(self, text: str) -> list[str]:
        """The pieces of ``text`` (one piece when no cut is needed)."""
        p: SplitParams = self.params  # type: ignore[assignment]
        pieces = [text]
        if p.by == "chapters":
            found = [m.start() for m in self._heading.finditer(text)]
            ends = [*found[1:], len(text)] if found else []
            starts = [a for a, b in zip(found, ends, strict=True) if b - a >= p.min_part_chars]
            if starts:
                bounds = [0, *[s for s in starts if s > 0], len(text)]
                pieces = [text[a:b].strip() for a, b in itertools.pairwise(bounds)]
        return [w for piece in pieces for w in windows(piece, p.max_chars)]

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        p: SplitParams = self.params  # type: ignore[assignment]
        out: list[Document] = []
        for doc in docs:
            pieces = self.parts(doc.text)
            if len(pieces) == 1:
                out.append(doc)
                continue
            ctx.count(self.label, "docs_split")
            ctx.count(self.label, CREATED, len(pieces) - 1)  # the ledger: in + created = kept + dropped
            for k, piece in enumerate(pieces):
                part = Document(f"{doc.id}#{k}", piece, {**doc.meta, "parent_id": doc.id, "part": k})
                if len(piece.strip()) < p.min_chars:
                    ctx.drop(part, self.label, "empty_part")
                    continue
                ctx.count(self.label, "parts_out")
                out.append(part)
        return out
