"""WARC/WET input, HTML extraction, blocklists, stored-signal thresholds, and a web pipeline end to end."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from stage_context import Ctx
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from datacraft.document import Document
from datacraft.errors import InputError
from datacraft.io.paths import list_shards
from datacraft.io.readers import ReadOptions, read_shard
from datacraft.io.records import BadRecord
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.stages.html import HtmlToText

ARTICLE = """<html><head><title>Rivers of the North</title></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li><li><a href="/shop">Shop</a></li></ul></nav>
<article><h1>Rivers of the North</h1>
<p>The northern rivers freeze early in the autumn, and the people who live along their banks have learned
to read the ice with great care. Every village keeps a record of the first frost and of the day the ice breaks.</p>
<p>In spring the thaw brings floods that reshape the valleys. Old maps show channels that no longer exist,
and new islands appear where boats once passed. Contact the archive at archive@rivers.example for copies.</p>
<p>Scientists measure the thickness of the ice at fixed points each winter, and the long series of
measurements shows how the climate of the region has changed over the last two centuries.</p>
</article>
<footer><p>Copyright 2024 Rivers Magazine. All rights reserved.</p><p>Privacy policy | Terms of use</p></footer>
</body></html>"""


def warc_record(writer: WARCWriter, url: str, body: str, ctype: str = "text/html; charset=utf-8") -> None:
    headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.0")
    rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body.encode()), http_headers=headers)
    writer.write_record(rec)


def make_warc(path: Path, *, gz: bool, bad_middle: bool = False) -> None:
    parts = []
    for i, (url, body, ctype) in enumerate(
        [
            ("http://a.example/rivers", ARTICLE, "text/html; charset=utf-8"),
            ("http://b.example/data.json", '{"not": "text"}', "application/json"),
            ("http://c.example/page", "<html><body><p>Third page.</p></body></html>", "text/html"),
        ]
    ):
        buf = io.BytesIO()
        warc_record(WARCWriter(buf, gzip=gz), url, body, ctype)
        parts.append(buf.getvalue())
        if bad_middle and i == 0:
            bad = b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99\r\n\r\nHTTP/1.0 200 OK\r\n\r\ncut\r\n\r\n"
            parts.append(gzip.compress(bad, mtime=0) if gz else bad)
    path.write_bytes(b"".join(parts))


def read_all(path: Path) -> list[Document | BadRecord]:
    """Documents and bad records (records skipped by design are counted, see test_warc_contract.py)."""
    [shard] = list_shards([str(path)])
    return [i for i in read_shard(shard, ReadOptions()) if isinstance(i, Document | BadRecord)]


@pytest.mark.parametrize("gz", [False, True])
def test_warc_responses_become_documents(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("x.warc.gz" if gz else "x.warc")
    make_warc(path, gz=gz)
    docs = read_all(path)
    assert [d.meta["url"] for d in docs if isinstance(d, Document)] == [
        "http://a.example/rivers",
        "http://c.example/page",
    ]
    first = docs[0]
    assert isinstance(first, Document)
    assert first.text == ARTICLE
    assert first.id.startswith("urn:uuid:")
    assert first.meta["content_type"] == "text/html" and first.meta["warc_type"] == "response"
    assert first.meta["date"] and first.meta["warc_record_id"].startswith("<urn:uuid:")


@pytest.mark.parametrize("gz", [False, True])
def test_malformed_record_is_quarantined_and_rest_is_read(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("bad.warc.gz" if gz else "bad.warc")
    make_warc(path, gz=gz, bad_middle=True)
    items = read_all(path)
    bad = [i for i in items if isinstance(i, BadRecord)]
    docs = [i for i in items if isinstance(i, Document)]
    assert len(bad) == 1 and "malformed WARC record" in bad[0].error and bad[0].position.startswith("record 1 ")
    assert [d.meta["url"] for d in docs] == ["http://a.example/rivers", "http://c.example/page"]
    assert "Third page" in docs[1].text


def test_oversize_payload_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "x.warc"
    make_warc(path, gz=False)
    [shard] = list_shards([str(path)])
    items = [i for i in read_shard(shard, ReadOptions(max_record_bytes=100)) if isinstance(i, Document | BadRecord)]
    assert [type(i).__name__ for i in items] == ["BadRecord", "Document"]


def test_missing_warc_is_input_error(tmp_path: Path) -> None:
    from datacraft.io.paths import Shard
    from datacraft.io.warc import read_warc

    with pytest.raises(InputError, match="cannot open"):
        list(read_warc(Shard(0, str(tmp_path / "nope.warc"), "nope.warc", "warc"), ReadOptions()))


def test_real_warc_fixtures(shared_data: Path) -> None:
    web = shared_data / "web"
    wet = read_all(web / "commoncrawl_whirlwind" / "whirlwind.warc.wet.gz")
    assert len(wet) == 1 and wet[0].meta["warc_type"] == "conversion" and "Escopete" in wet[0].text
    warc = read_all(web / "commoncrawl_whirlwind" / "whirlwind.warc.gz")
    assert len(warc) == 1 and warc[0].meta["url"] == "https://an.wikipedia.org/wiki/Escopete"
    fixtures = web / "warcio_test_fixtures"
    for name in ("example.warc.gz", "example.warc", "example.arc.gz", "example-bad-non-chunked.warc.gz"):
        items = read_all(fixtures / name)
        assert len(items) == 1 and isinstance(items[0], Document), name
        assert "Example Domain" in items[0].text
    # A gzip member that ends inside a record: the record is re-read whole, not cut short.
    [doc] = read_all(fixtures / "example-wrong-chunks.warc.gz")
    assert "Example Domain" in doc.text


# --- html_to_text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("extractor", ["trafilatura", "resiliparse"])
def test_html_main_content_with_title(extractor: str) -> None:
    stage = HtmlToText(HtmlToText.Params(extractor=extractor))
    text, title = stage.extract(ARTICLE)
    assert title == "Rivers of the North"
    assert text.startswith("Rivers of the North")
    assert "read the ice with great care" in text and "two centuries" in text
    assert "About us" not in text and "All rights reserved" not in text


def test_html_stage_drops_empty_and_passes_non_html() -> None:
    ctx = Ctx()
    html = Document("a", ARTICLE, {"url": "http://a.example/"})
    empty = Document("b", "<html><body><script>var x = 1;</script></body></html>", {})
    plain = Document("c", "Already text.", {"content_type": "text/plain"})
    out = HtmlToText().process_batch([html, empty, plain], ctx)
    assert [d.id for d in out] == ["a", "c"]
    assert out[0].meta["title"] == "Rivers of the North" and out[0].meta["html_chars"] == len(ARTICLE)
    assert out[1].text == "Already text."
    assert ctx.drops == [("b", "html_to_text", "no_content")]
    assert ctx.counts[("html_to_text", "not_html")] == 1


# --- end to end ------------------------------------------------------------------------------------


def test_web_pipeline_annotate_then_threshold(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    make_warc(tmp_path / "in" / "crawl.warc.gz", gz=True, bad_middle=True)
    raw: dict[str, Any] = {
        "name": "web",
        "input": {"paths": [str(tmp_path / "in")]},
        "output": {"path": str(tmp_path / "annotated")},
        "max_quarantine_fraction": 1,  # one malformed record on purpose
        "stages": [
            {"html_to_text": {}},
            {"clean": {}},
            {"pii": {}},
            {"gopher_quality": {"mode": "annotate", "min_words": 20}},
            {"gopher_repetition": {"mode": "annotate"}},
            {"c4": {"mode": "annotate", "min_num_sentences": 3}},
            {"fineweb_quality": {"mode": "annotate"}},
        ],
    }
    result = run_pipeline(build_config(raw))
    totals = result.merged["totals"]
    assert (totals["docs_in"], totals["quarantined"], totals["kept"]) == (3, 1, 2)
    assert result.merged["counters"]["pii"] == {"email": 1}
    table = pq.read_table(tmp_path / "annotated" / "data")
    rows = table.to_pylist()
    assert [r["url"] for r in rows] == ["http://a.example/rivers", "http://c.example/page"]
    assert "<EMAIL>" in rows[0]["text"] and rows[0]["title"] == "Rivers of the North"
    assert rows[0]["gopher_quality_drop_reason"] is None and rows[1]["gopher_quality_drop_reason"] == "too_few_words"
    assert table.schema.field("gopher_word_count").type == "int64"
    assert table.schema.field("gopher_rep_dup_line_frac").type == "double"
    assert json.loads((tmp_path / "annotated" / "stats.json").read_text())["counters"]["pii"] == {"email": 1}

    second: dict[str, Any] = {
        "name": "threshold",
        "input": {"paths": [str(tmp_path / "annotated" / "data")]},
        "output": {"path": str(tmp_path / "filtered")},
        "stages": [{"threshold": {"rules": ["gopher_word_count >= 20", "c4_sentences >= 3"]}}],
    }
    result = run_pipeline(build_config(second))
    assert result.merged["totals"]["kept"] == 1
    kept = pq.read_table(tmp_path / "filtered" / "data").to_pylist()
    assert [r["url"] for r in kept] == ["http://a.example/rivers"]
    rejected = pq.read_table(tmp_path / "filtered" / "rejected").to_pylist()
    assert len(rejected) == 1 and rejected[0]["stage"] == "threshold"
