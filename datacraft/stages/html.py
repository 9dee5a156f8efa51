"""``html_to_text``: main-content extraction from HTML (trafilatura or resiliparse), title kept.

Trafilatura is the default: on the article-extraction benchmark it has the higher token F1
(see bench/RESULTS.md); resiliparse is several times faster and is the choice for volume.
Documents whose ``content_type`` meta says they are not HTML (e.g. WET conversions) pass unchanged.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field

from datacraft.document import Document
from datacraft.stages.base import Filter, FilterParams, FilterResult, StageContext, columns_to_fields
from datacraft.stages.registry import register


def extract_trafilatura(
    html: str, url: str | None, *, favor: str, include_tables: bool, include_comments: bool
) -> tuple[str, str | None]:
    """(main text, title) by trafilatura; empty text when nothing was found."""
    import trafilatura

    result = trafilatura.bare_extraction(
        html,
        url=url,
        favor_precision=favor == "precision",
        favor_recall=favor == "recall",
        include_comments=include_comments,
        include_tables=include_tables,
        with_metadata=True,
        deduplicate=False,
    )
    if result is None:
        return "", None
    return result.text or "", result.title or None


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
            text, title = extract_trafilatura(
                html, url, favor=p.favor, include_tables=p.include_tables, include_comments=p.include_comments
            )
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
