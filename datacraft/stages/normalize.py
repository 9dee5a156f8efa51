"""``normalize``: Unicode normalization, control characters, whitespace and newline runs."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Mapper, StageContext, StageParams
from datacraft.stages.registry import register

# C0/C1 controls except tab and newline; carriage returns are handled as newlines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HSPACE = re.compile(r"[^\S\n]+")
_TRAILING = re.compile(r"[^\S\n]+\n")


class NormalizeParams(StageParams):
    form: Literal["NFC", "NFKC", "none"] = Field("NFC", description="Unicode normalization form")
    remove_control: bool = Field(True, description="delete control characters (tab and newline are kept)")
    collapse_spaces: bool = Field(True, description="turn runs of spaces/tabs into one space; strip line ends")
    max_newlines: int = Field(2, ge=1, description="longest run of newlines kept (2 = keep paragraph breaks)")
    strip: bool = Field(True, description="strip leading and trailing whitespace of the document")


@register("normalize")
class Normalize(Mapper):
    """Normalize Unicode (NFC/NFKC), drop control characters, collapse whitespace and newline runs."""

    Params = NormalizeParams

    def __init__(self, params: NormalizeParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: NormalizeParams = self.params  # type: ignore[assignment]
        self._newlines = re.compile(f"\n{{{p.max_newlines + 1},}}")
        self._newline_repl = "\n" * p.max_newlines

    def normalize(self, text: str) -> str:
        """Return the normalized text."""
        p: NormalizeParams = self.params  # type: ignore[assignment]
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if p.form != "none" and not unicodedata.is_normalized(p.form, text):
            text = unicodedata.normalize(p.form, text)
        if p.remove_control:
            text = _CONTROL.sub("", text)
        if p.collapse_spaces:
            text = _TRAILING.sub("\n", _HSPACE.sub(" ", text))
        text = self._newlines.sub(self._newline_repl, text)
        return text.strip() if p.strip else text

    def map(self, doc: Document, ctx: StageContext) -> Document:
        new = self.normalize(doc.text)
        if new != doc.text:
            ctx.count(self.label, "changed")
            doc.text = new
        return doc
