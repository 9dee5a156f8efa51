"""``clean``: mojibake repair, Unicode normalization, invisible characters, whitespace, boilerplate lines."""

from __future__ import annotations

import re
from typing import Literal

import ftfy
from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.stages.base import Mapper, StageContext, StageParams
from datacraft.stages.normalize import Normalize, NormalizeParams
from datacraft.stages.registry import register

#: Zero-width and formatting characters that carry no text (soft hyphen, ZWSP, word joiner, BOM, bidi marks).
INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")

#: A character ftfy may change (with clean's ftfy settings): anything but tab, newline and printable ASCII,
#: or ``&`` (HTML entities). ftfy fixes text line by line, so lines without one come out unchanged.
FTFY_TRIGGER = re.compile(r"[^\t\n\x20-\x7e]|&")

#: Project Gutenberg header (up to the START marker) and footer (from the END marker).
GUTENBERG_START = re.compile(
    r"\A.*?^\s*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT)[^\n]*\n", re.I | re.M | re.S
)
GUTENBERG_END = re.compile(
    r"^\s*(?:\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?(?:BOOK|TEXT)"
    r"|End of (?:the )?Project Gutenberg(?:['’]s)? ).*\Z",
    re.I | re.M | re.S,
)

#: Default boilerplate line patterns (case-insensitive, searched in each line; matching lines are removed).
BOILERPLATE_LINES = [
    r"^\W*(?:this (?:web)?site|we) uses? cookies\b",
    r"^\W*(?:accept|allow|manage) (?:all )?cookies\W*$",
    r"\bby (?:continuing to )?(?:using|browsing) this (?:web)?site,? you (?:agree|accept|consent)",
    r"\b(?:please )?(?:enable|turn on|activate) javascript\b",
    r"\bjavascript (?:is )?(?:disabled|required|must be enabled)\b",
    r"\byour browser does not support\b",
    r"^\W*(?:skip to (?:main )?content|back to top|share (?:this|on)\b.{0,40})\W*$",
    r"^\W*all rights reserved\W*$",
]

#: Literals every match of a :data:`BOILERPLATE_LINES` pattern contains (case-insensitively): a text with none
#: of them has no default boilerplate line, and its per-line search is skipped.
BOILERPLATE_HINTS = ("cookies", "site", "javascript", "browser", "skip to", "back to top", "share", "rights reserved")
_BOILERPLATE_HINT = re.compile("|".join(map(re.escape, BOILERPLATE_HINTS)), re.I)


def may_have_default_boilerplate(text: str) -> bool:
    """False when no :data:`BOILERPLATE_LINES` pattern can match a line of ``text`` (a hint is missing)."""
    if text.isascii():  # ASCII letters fold among themselves: lower() is what re.I does here
        low = text.lower()
        return any(hint in low for hint in BOILERPLATE_HINTS)
    return _BOILERPLATE_HINT.search(text) is not None


class CleanParams(StageParams):
    fix_mojibake: bool = Field(True, description="repair mojibake and HTML entities with ftfy")
    form: Literal["NFC", "NFKC", "none"] = Field("NFC", description="Unicode normalization form")
    remove_invisible: bool = Field(True, description="delete zero-width, BOM, soft hyphen and bidi control characters")
    remove_control: bool = Field(True, description="delete control characters (tab and newline are kept)")
    collapse_spaces: bool = Field(True, description="turn runs of spaces/tabs into one space; strip line ends")
    max_newlines: int = Field(2, ge=1, description="longest run of newlines kept")
    strip_gutenberg: bool = Field(True, description="remove Project Gutenberg headers and licence footers")
    boilerplate_patterns: list[str] = Field(
        BOILERPLATE_LINES, description="regexes (case-insensitive) of lines to remove: cookie/JS notices, …"
    )

    @field_validator("boilerplate_patterns")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for pattern in v:
            try:
                re.compile(pattern)
            except re.error as e:
                raise ValueError(f"invalid regex {pattern!r}: {e}") from None
        return v


@register("clean")
class Clean(Mapper):
    """Repair mojibake (ftfy), normalize Unicode, drop invisible characters and boilerplate lines, tidy whitespace."""

    Params = CleanParams

    def __init__(self, params: CleanParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        p: CleanParams = self.params  # type: ignore[assignment]
        self._normalize = Normalize(
            NormalizeParams(
                form=p.form,
                remove_control=p.remove_control,
                collapse_spaces=p.collapse_spaces,
                max_newlines=p.max_newlines,
            )
        )
        self._boilerplate = (
            re.compile("|".join(f"(?:{pat})" for pat in p.boilerplate_patterns), re.I)
            if p.boilerplate_patterns
            else None
        )
        self._default_boilerplate = p.boilerplate_patterns == BOILERPLATE_LINES
        # Repair encodings only: keep curly quotes, ligatures and full-width forms as written.
        self._ftfy = ftfy.TextFixerConfig(
            normalization=None,
            unescape_html=True,
            uncurl_quotes=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            explain=False,
        )

    def fix_text(self, text: str) -> str:
        """``ftfy.fix_text`` with clean's settings, run only on the lines it could change (same result).

        ftfy fixes each line (a segment ending after ``\\n``) on its own; runs of lines with a
        :data:`FTFY_TRIGGER` character go to ftfy, the other lines (printable ASCII, no ``&``) are kept
        as they are, which ftfy would do too.
        """
        m = FTFY_TRIGGER.search(text)
        if m is None:
            return text
        parts: list[str] = []
        pos = 0
        while m is not None:
            start = text.rfind("\n", 0, m.start()) + 1  # first line of a run that ftfy must see
            end = text.find("\n", m.end()) + 1 or len(text)
            while (m := FTFY_TRIGGER.search(text, end)) is not None and text.rfind("\n", 0, m.start()) + 1 == end:
                end = text.find("\n", m.end()) + 1 or len(text)  # the next line too: one ftfy call
            parts += [text[pos:start], ftfy.fix_text(text[start:end], self._ftfy)]
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def clean(self, text: str, counts: dict[str, int] | None = None) -> str:
        """Return the cleaned text; ``counts`` (if given) gets what changed, by kind."""
        p: CleanParams = self.params  # type: ignore[assignment]
        counts = {} if counts is None else counts
        if p.fix_mojibake and not text.isascii():
            fixed = self.fix_text(text)
            if fixed != text:
                counts["mojibake_fixed"] = 1
                text = fixed
        elif p.fix_mojibake and "&" in text:
            fixed = self.fix_text(text)
            if fixed != text:
                counts["entities_fixed"] = 1
                text = fixed
        if p.remove_invisible:
            text, n = INVISIBLE.subn("", text)
            if n:
                counts["invisible_chars"] = n
        if p.strip_gutenberg and "project gutenberg" in text[:5000].lower() + text[-30000:].lower():
            text, n_head = GUTENBERG_START.subn("", text, count=1)
            text, n_foot = GUTENBERG_END.subn("", text, count=1)
            if n_head or n_foot:
                counts["gutenberg_stripped"] = 1
        if self._boilerplate is not None and (not self._default_boilerplate or may_have_default_boilerplate(text)):
            lines = text.split("\n")
            kept = [line for line in lines if not self._boilerplate.search(line)]
            if len(kept) != len(lines):
                counts["boilerplate_lines"] = len(lines) - len(kept)
                text = "\n".join(kept)
        return self._normalize.normalize(text)

    def map(self, doc: Document, ctx: StageContext) -> Document:
        counts: dict[str, int] = {}
        new = self.clean(doc.text, counts)
        for key, n in counts.items():
            ctx.count(self.label, key, n)
        if new != doc.text:
            ctx.count(self.label, "changed")
            doc.text = new
        return doc
