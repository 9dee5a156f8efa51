"""``html_to_text``: main-content extraction from HTML (trafilatura or resiliparse), title kept.

Trafilatura is the default: on the article-extraction benchmark it has the higher token F1
(see bench/RESULTS.md); resiliparse is several times faster and is the choice for volume.
Documents whose ``content_type`` meta says they are not HTML (e.g. WET conversions) pass unchanged.
"""

from __future__ import annotations

from contextlib import suppress
from copy import copy
from html import unescape
from typing import TYPE_CHECKING, Literal

import pyarrow as pa
from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult, StageContext, columns_to_fields
from datacraft.stages.registry import register

if TYPE_CHECKING:
    from lxml.html import HtmlElement


class TrafilaturaExtractor:
    """(main text, title) by trafilatura in one pass: the page parsed once, the title read from that tree.

    The same text and title as ``trafilatura.bare_extraction(..., with_metadata=True)``, without its
    metadata pass (date search, author, categories, licence: a quarter of its CPU) and with the
    extraction options built once instead of per page.
    """

    def __init__(self, *, favor: str, include_tables: bool, include_comments: bool) -> None:
        from trafilatura import bare_extraction
        from trafilatura.settings import Extractor
        from trafilatura.utils import load_html

        self._bare_extraction, self._load_html = bare_extraction, load_html

        self.options = Extractor(
            output_format="python",
            precision=favor == "precision",
            recall=favor == "recall",
            comments=include_comments,
            tables=include_tables,
            dedup=False,
        )

    def __call__(self, html: str, url: str | None = None) -> tuple[str, str | None]:
        """(text, title) of one page; empty text and no title when trafilatura finds nothing."""
        try:
            tree = self._load_html(html, self.options.max_file_size)
            if tree is None:
                return "", None
            title = page_title(tree)
        except (TypeError, ValueError):  # what bare_extraction turns into "no result"
            return "", None
        options = copy(self.options)
        options.url = url
        options.source = url and url.encode("utf-8", "replace").decode("utf-8")
        result = self._bare_extraction(tree, options=options)
        if result is None:
            return "", None
        return result.text or "", title


def page_title(tree: HtmlElement) -> str | None:
    """The title trafilatura's metadata pass finds: meta tags, then JSON-LD, then the page's headings.

    The title steps of ``trafilatura.metadata.extract_metadata`` in its order, then the cleaning
    ``Document.clean_and_trim`` applies to it.
    """
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title
    from trafilatura.utils import line_processing

    metadata = examine_meta(tree)
    if not metadata.title:
        with suppress(Exception):  # trafilatura's own guard around its JSON-LD parser
            metadata = extract_meta_json(tree, metadata)
    title = metadata.title or extract_title(tree)
    if not isinstance(title, str):
        return None
    if len(title) > 10000:
        title = title[:9999] + "\u2026"
    return line_processing(unescape(title)) or None


def extract_resiliparse(html: str, *, include_tables: bool) -> tuple[str, str | None]:
    """(main text, title) by resiliparse's main-content heuristics."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    title = (tree.title or "").strip() or None
    if not include_tables and tree.body is not None:
        for table in tree.body.query_selector_all("table"):
            table.decompose()
    text = extract_plain_text(tree, main_content=True, alt_texts=False, list_bullets=True, comments=False)
    return text, title


class HtmlToTextParams(FilterParams):
    extractor: Literal["trafilatura", "resiliparse"] = Field("trafilatura", description="main-content extractor")
    favor: Literal["balanced", "precision", "recall"] = Field(
        "precision", description="trafilatura's trade-off (precision scored best F1 in bench)"
    )
    include_tables: bool = Field(True, description="keep text of tables")
    include_comments: bool = Field(False, description="keep user comments (trafilatura)")
    title_in_text: bool = Field(True, description="put the title as the first line of the text")
    min_chars: int = Field(1, ge=0, description="drop documents with less extracted text (reason no_content)")
    url_field: str = Field("url", description="meta field with the page URL (helps trafilatura)")


@register("html_to_text")
class HtmlToText(Filter):
    """Extract the main text of HTML documents (boilerplate removed, title kept); drop pages with no content."""

    Params = HtmlToTextParams

    @classmethod
    def output_columns(cls) -> dict[str, str]:
        return {"title": "string", "html_chars": "int64"}

    def output_fields(self) -> list[pa.Field]:
        """``title`` and ``html_chars`` in both modes; the drop reason when annotating."""
        fields = columns_to_fields(self.output_columns())
        if self.params.mode == "annotate":  # type: ignore[attr-defined]
            fields.append(pa.field(f"{self.label}_drop_reason", pa.string()))
        return fields

    def extract(self, html: str, url: str | None = None) -> tuple[str, str | None]:
        """(text, title) of one HTML page, the title first in the text when ``title_in_text``."""
        p: HtmlToTextParams = self.params  # type: ignore[assignment]
        if p.extractor == "trafilatura":
            extractor = self.__dict__.get("_trafilatura")
            if extractor is None:  # built once per stage (per worker), not per page
                extractor = self.__dict__["_trafilatura"] = TrafilaturaExtractor(
                    favor=p.favor, include_tables=p.include_tables, include_comments=p.include_comments
                )
            text, title = extractor(html, url)
        else:
            text, title = extract_resiliparse(html, include_tables=p.include_tables)
        text = text.strip()
        if p.title_in_text and title and text and not text.startswith(title):
            text = f"{title}\n\n{text}"
        return text, title

    def check(self, doc: Document) -> FilterResult:
        text, _ = self.extract(doc.text, doc.meta.get(self.params.url_field))  # type: ignore[attr-defined]
        ok = len(text) >= self.params.min_chars  # type: ignore[attr-defined]
        return FilterResult(ok, None if ok else "no_content", {"html_chars": len(doc.text)})

    def process_batch(self, docs: list[Document], ctx: StageContext) -> list[Document]:
        p: HtmlToTextParams = self.params  # type: ignore[assignment]
        out: list[Document] = []
        for doc in docs:
            ctype = doc.meta.get("content_type")
            if isinstance(ctype, str) and "html" not in ctype:
                ctx.count(self.label, "not_html")
                out.append(doc)
                continue
            html_chars = len(doc.text)
            text, title = self.extract(doc.text, doc.meta.get(p.url_field))
            if len(text) < p.min_chars and p.mode == "filter":
                ctx.drop(doc, self.label, "no_content", {"html_chars": html_chars})
                continue
            doc.text = text
            doc.meta["title"] = title
            doc.meta["html_chars"] = html_chars
            if p.mode == "annotate":
                doc.meta[f"{self.label}_drop_reason"] = None if len(text) >= p.min_chars else "no_content"
            out.append(doc)
        return out
