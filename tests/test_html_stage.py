"""html_to_text's one-pass trafilatura extraction gives what trafilatura's metadata pass gives."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import pytest
import trafilatura

from datacraft.stages.html import HtmlToText, HtmlToTextParams, TrafilaturaExtractor

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "web" / "article_extraction_benchmark"
BODY = "<p>" + "The river runs north through the valley and the town grows along its banks. " * 8 + "</p>"
PAGES = {
    "og_title": f'<html><head><meta property="og:title" content="Open Graph Title"><title>Tag</title></head>'
    f"<body><h1>Heading</h1>{BODY}</body></html>",
    "meta_name": f'<html><head><meta name="title" content="Meta &amp; Name"></head><body>{BODY}</body></html>',
    "json_ld": '<html><head><script type="application/ld+json">{"@context": "https://schema.org", '
    '"@type": "NewsArticle", "headline": "From JSON-LD"}'
    f"</script></head><body>{BODY}</body></html>",
    "single_h1": f"<html><head><title>Site. Name</title></head><body><h1>The  Only\nHeading</h1>{BODY}</body></html>",
    "title_tag": f"<html><head><title>Rivers | Example</title></head><body><h1>a</h1><h1>b</h1>{BODY}</body></html>",
    "h2_only": f"<html><body><h2>Second level</h2>{BODY}</body></html>",
    "no_title": f"<html><body>{BODY}</body></html>",
    "no_content": "<html><head><title>Empty</title></head><body><script>var x = 1;</script></body></html>",
    "not_html": "just words, no markup",
}


def with_metadata(html: str, url: str | None, favor: str, tables: bool, comments: bool) -> tuple[str, str | None]:
    """The stage's previous way: text and title from ``bare_extraction(..., with_metadata=True)``."""
    result = trafilatura.bare_extraction(
        html,
        url=url,
        favor_precision=favor == "precision",
        favor_recall=favor == "recall",
        include_comments=comments,
        include_tables=tables,
        with_metadata=True,
        deduplicate=False,
    )
    if result is None:
        return "", None
    return result.text or "", result.title or None  # type: ignore[union-attr]


@pytest.mark.parametrize("favor", ["balanced", "precision", "recall"])
@pytest.mark.parametrize("name", sorted(PAGES))
def test_one_pass_equals_metadata_pass(name: str, favor: str) -> None:
    extractor = TrafilaturaExtractor(favor=favor, include_tables=True, include_comments=False)
    assert extractor(PAGES[name], "https://example.org/a") == with_metadata(
        PAGES[name], "https://example.org/a", favor, True, False
    )


def test_titles_found_where_trafilatura_finds_them() -> None:
    extractor = TrafilaturaExtractor(favor="precision", include_tables=True, include_comments=False)
    titles = {name: extractor(html)[1] for name, html in PAGES.items()}
    assert titles["og_title"] == "Open Graph Title"
    assert titles["meta_name"] == "Meta & Name"
    assert titles["json_ld"] == "From JSON-LD"
    assert titles["single_h1"] == "The Only Heading"
    assert titles["title_tag"] == "Rivers"
    assert titles["h2_only"] == "Second level"
    assert titles["not_html"] is None and extractor(PAGES["not_html"])[0] == ""


def test_stage_reuses_options_and_pickles_after_use() -> None:
    stage = HtmlToText(HtmlToTextParams(favor="balanced"))
    first = stage.extract(PAGES["og_title"], "https://example.org/a")
    assert first[1] == "Open Graph Title" and first[0].startswith("Open Graph Title\n\nThe river runs north")
    assert stage.extract(PAGES["meta_name"])[1] == "Meta & Name"  # the per-page url does not stick
    clone = pickle.loads(pickle.dumps(stage))
    assert clone.extract(PAGES["og_title"], "https://example.org/a") == first


@pytest.mark.skipif(not BENCH.is_dir(), reason="needs ../shared/data/web/article_extraction_benchmark")
@pytest.mark.parametrize(
    ("favor", "tables", "comments"), [("precision", True, False), ("balanced", False, True), ("recall", True, False)]
)
def test_real_pages_same_text_and_title(favor: str, tables: bool, comments: bool) -> None:
    truth = json.loads((BENCH / "ground-truth.json").read_text())
    keys = sorted(truth)[::30]  # 7 real pages
    extractor = TrafilaturaExtractor(favor=favor, include_tables=tables, include_comments=comments)
    for key in keys:
        html = gzip.decompress((BENCH / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
        url = truth[key].get("url")
        assert extractor(html, url) == with_metadata(html, url, favor, tables, comments), key
