"""``blocklist``: drop documents containing listed words or phrases, or from listed domains/URLs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.registry import register
from datacraft.text.words import words


def read_list(path: str) -> list[str]:
    """Non-empty, non-comment (#) lines of a UTF-8 list file, stripped."""
    with open(path, encoding="utf-8") as fh:
        return [s for s in (line.strip() for line in fh) if s and not s.startswith("#")]


class BlocklistParams(FilterParams):
    words_file: str | None = Field(None, description="file of blocked words or phrases, one a line (# comments)")
    urls_file: str | None = Field(None, description="file of blocked domains (subdomains match too) or URL prefixes")
    url_field: str = Field("url", description="meta field holding the document's URL")
    max_word_hits: int = Field(0, ge=0, description="most blocked-word occurrences allowed")
    case_sensitive: bool = Field(False, description="match words with case")

    @field_validator("words_file", "urls_file")
    @classmethod
    def _exists(cls, v: str | None) -> str | None:
        if v is not None and not Path(v).is_file():
            raise ValueError(f"no such file: {v}")
        return v


@register("blocklist")
class Blocklist(Filter):
    """Drop documents with blocked words/phrases (from a file) or whose URL is on a blocked domain list."""

    Params = BlocklistParams

    def __init__(self, params: BlocklistParams | None = None, label: str | None = None) -> None:
        super().__init__(params, label)
        self._words: frozenset[str] = frozenset()
        self._phrases: re.Pattern[str] | None = None
        self._domains: frozenset[str] = frozenset()
        self._prefixes: tuple[str, ...] = ()

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"blocklist_word_hits": "int64", "blocklist_url_hit": "bool", "blocklist_drop_reason": "string"}

    def setup(self) -> None:
        p: BlocklistParams = self.params  # type: ignore[assignment]
        if p.words_file:
            entries = read_list(p.words_file)
            if not p.case_sensitive:
                entries = [e.lower() for e in entries]
            self._words = frozenset(e for e in entries if len(words(e)) == 1)
            phrases = sorted(e for e in entries if len(words(e)) > 1)
            if phrases:
                self._phrases = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, phrases)) + r")(?!\w)")
        if p.urls_file:
            entries = [e.lower() for e in read_list(p.urls_file)]
            self._prefixes = tuple(e for e in entries if "/" in e)
            self._domains = frozenset(e for e in entries if "/" not in e)

    def _url_blocked(self, url: str) -> bool:
        low = url.lower()
        if self._prefixes and low.startswith(self._prefixes):
            return True
        host = (urlsplit(low if "//" in low else "//" + low).hostname or "").rstrip(".")
        while host:
            if host in self._domains:
                return True
            host = host.partition(".")[2]
        return False

    def check(self, doc: Document) -> FilterResult:
        self.ensure_setup()
        p: BlocklistParams = self.params  # type: ignore[assignment]
        hits = 0
        if self._words or self._phrases is not None:
            text = doc.text if p.case_sensitive else doc.text.lower()
            if self._words:
                hits = sum(1 for w in words(text) if w in self._words)
            if self._phrases is not None:
                hits += sum(1 for _ in self._phrases.finditer(text))
        url = doc.meta.get(p.url_field)
        url_hit = bool(self._domains or self._prefixes) and isinstance(url, str) and self._url_blocked(url)
        s = {"blocklist_word_hits": hits, "blocklist_url_hit": url_hit}
        if url_hit:
            return FilterResult(False, "blocked_url", s)
        if hits > p.max_word_hits:
            return FilterResult(False, "blocked_words", s)
        return FilterResult(True, None, s)
