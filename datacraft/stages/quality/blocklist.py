"""``blocklist``: drop documents that contain listed words/phrases or come from listed domains.

List files hold one entry per line; blank lines and lines starting with ``#`` are ignored.
Word entries match whole tokens of the shared tokenizer, case-insensitively; an entry of several
words matches that token sequence (so ``ice cream`` does not match ``icecream``). Domain entries
(``example.com`` or a URL) match the host of the document's URL and all its subdomains.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from datacraft.document import Document
from datacraft.errors import ConfigError
from datacraft.stages.base import Filter, FilterParams, FilterResult
from datacraft.stages.quality.verdict import Verdict
from datacraft.stages.registry import register
from datacraft.text.cache import features
from datacraft.text.words import split_words


def read_list(path: str | Path) -> list[str]:
    """Entries of a list file: stripped, non-blank, not ``#`` comments (a ConfigError names a missing file)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"blocklist: cannot read list file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"blocklist: list file {path} is not UTF-8 text: {e}") from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def domain_of(entry: str) -> str:
    """The lower-case host of a URL or bare domain entry (no port, no leading ``www.``/dots)."""
    entry = entry.strip().lower()
    host = urlsplit(entry if "//" in entry else "//" + entry).hostname or ""
    host = host.strip(".")
    return host[4:] if host.startswith("www.") else host


class BlocklistParams(FilterParams):
    word_lists: list[str] = Field([], description="files of blocked words or phrases")
    url_lists: list[str] = Field([], description="files of blocked domains (subdomains included) or URLs")
    url_field: str = Field("url", description="meta field holding the document's URL")
    max_word_hits: int = Field(0, ge=0, description="drop when more blocked word occurrences than this")

    @field_validator("word_lists", "url_lists")
    @classmethod
    def _exists(cls, paths: list[str]) -> list[str]:
        for p in paths:
            if not Path(p).is_file():
                raise ValueError(f"list file {p} does not exist")
        return paths


@register("blocklist")
class Blocklist(Filter):
    """Word and domain blocklists read from files.

    Drop reasons: ``blocked_domain`` (the URL's host or a parent domain is listed) and
    ``blocked_words`` (more than ``max_word_hits`` occurrences of listed words/phrases).
    """

    Params = BlocklistParams

    def setup(self) -> None:
        p: BlocklistParams = self.params  # type: ignore[assignment]
        phrases: set[tuple[str, ...]] = set()
        for path in p.word_lists:
            for entry in read_list(path):
                tokens = tuple(t.lower() for t in split_words(entry))
                if tokens:
                    phrases.add(tokens)
        self._single = frozenset(t[0] for t in phrases if len(t) == 1)
        self._multi: dict[str, set[tuple[str, ...]]] = {}
        for t in phrases:
            if len(t) > 1:
                self._multi.setdefault(t[0], set()).add(t)
        self._domains = frozenset(d for path in p.url_lists for d in map(domain_of, read_list(path)) if d)

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"blocklist_word_hits": "int64", "blocklist_domain_hit": "bool"}

    def word_hits(self, text: str, lang: str | None = None) -> int:
        """Occurrences of blocked words/phrases in ``text`` (words segmented for language ``lang``)."""
        self.ensure_setup()
        if not self._single and not self._multi:
            return 0
        lower = [w.lower() for w in features(text, lang).words]
        hits = sum(1 for w in lower if w in self._single)
        if not self._multi:
            return hits
        for i, w in enumerate(lower):
            for phrase in self._multi.get(w, ()):
                if tuple(lower[i : i + len(phrase)]) == phrase:
                    hits += 1
        return hits

    def domain_hit(self, url: object) -> bool:
        """True when the host of ``url`` or any parent domain is listed."""
        self.ensure_setup()
        if not self._domains or not isinstance(url, str) or not url:
            return False
        host = domain_of(url)
        parts = host.split(".")
        return any(".".join(parts[i:]) in self._domains for i in range(len(parts)))

    def check(self, doc: Document) -> FilterResult:
        p: BlocklistParams = self.params  # type: ignore[assignment]
        v = Verdict(p.mode == "annotate")
        domain = self.domain_hit(doc.meta.get(p.url_field))
        v.signals["blocklist_domain_hit"] = domain
        if domain and v.fail("blocked_domain"):
            return v.result()
        hits = self.word_hits(doc.text, doc.meta.get("lang"))
        v.signals["blocklist_word_hits"] = hits
        if hits > p.max_word_hits:
            v.fail("blocked_words")
        return v.result()
