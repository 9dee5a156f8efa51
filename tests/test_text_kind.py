"""reflow, split and `when:` routing: units, and a real pipeline run whose ledger balances."""

from __future__ import annotations

from pathlib import Path

import pytest

from datacraft.document import Document
from datacraft.errors import ConfigError
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.stages.length import Length, LengthParams
from datacraft.stages.reflow import Reflow
from datacraft.stages.split import Split, SplitParams, windows
from datacraft.stages.when import compile_condition
from tests.helpers import read_parquet_rows, write_jsonl
from tests.stage_context import Ctx

WRAPPED = (
    "It is a truth universally acknowledged, that a single man in possession\n"
    "of a good fortune, must be in want of a wife. However little known the\n"
    "feelings or views of such a man may be on his first entering a\n"
    "neighbourhood, this truth is so well fixed in the minds of the to-\n"
    "day families."
)
VERSE = (
    "Tyger Tyger, burning bright,\nIn the forests of the night;\n"
    "What immortal hand or eye,\nCould frame thy fearful symmetry?"
)
KJV = (
    "1 In the beginning God created the heaven and the earth.\n"
    "2 And the earth was without form, and void; and darkness was upon the face of the deep.\n"
    "3 And God said, Let there be light: and there was light."
)
CODE = "for (int i = 0; i < n; i++) {\n    total += values[i] * weights[i] + offsets[i];\n}"


def test_reflow_joins_wrapped_prose_only() -> None:
    r = Reflow()
    text, joined = r.reflow(f"{WRAPPED}\n\n{VERSE}\n\n{KJV}\n\n{CODE}")
    blocks = text.split("\n\n")
    assert joined == 1 and len(blocks) == 4
    assert "\n" not in blocks[0] and "possession of a good" in blocks[0] and "today families." not in blocks[0]
    assert "to-day families." in blocks[0]
    assert blocks[1:] == [VERSE, KJV, CODE]
    ctx = Ctx()
    doc = r.map(Document("d", WRAPPED), ctx)
    assert doc.text.count("\n") == 0 and ctx.counts[("reflow", "paragraphs_joined")] == 1
    assert r.reflow("one line only") == ("one line only", 0)


def test_split_by_chapters_and_windows() -> None:
    toc = "CONTENTS\n\nChapter 1\nChapter 2\n\n"  # a table of contents: headings too close to cut
    book = "Title page\n\n" + toc + "CHAPTER I\n\n" + "a" * 50 + "\n\nCHAPTER II.\n\n" + ("word " * 40).strip()
    s = Split(SplitParams(by="chapters", max_chars=300, min_part_chars=40))
    ctx = Ctx()
    out = s.process_batch([Document("b", book, {"lang": "en"}), Document("short", "no cut")], ctx)
    assert [d.id for d in out] == ["b#0", "b#1", "b#2", "short"]
    assert out[0].text.endswith("Chapter 2") and out[1].text.startswith("CHAPTER I\n")
    assert out[2].text.startswith("CHAPTER II.")
    assert out[1].meta == {"lang": "en", "parent_id": "b", "part": 1}
    assert ctx.counts[("split", "docs_created")] == 2
    assert all(len(p) <= 30 for p in windows("word " * 40, 30))
    assert "".join(windows("x" * 100, 30)) == "x" * 100  # no break: hard cut, nothing lost


def test_when_conditions() -> None:
    doc = Document("kjv:Ge1", "t", {"lang": "en", "lang_score": 0.9})
    assert compile_condition({"source": "kjv"})(doc)
    assert compile_condition({"lang": ["de", "en"], "lang_score": {"min": 0.8}})(doc)
    assert not compile_condition({"not": {"id": {"startswith": ["kjv:", "x"]}}})(doc)
    assert compile_condition({"any": [{"lang": "fr"}, {"cluster": {"exists": False}}]})(doc)
    assert compile_condition({"source": "web"})(Document("d", "t", {"source": "web"}))
    with pytest.raises(ValueError, match="unknown test"):
        compile_condition({"lang": {"bogus": 1}})


def test_run_batch_routes_and_keeps_order() -> None:
    stage = Length(LengthParams(min_words=3, when={"source": "web"}))
    docs = [Document("web:1", "a b"), Document("book:1", "x"), Document("web:2", "a b c d"), Document("web:3", "z")]
    ctx = Ctx()
    out = stage.run_batch(docs, ctx)
    assert [d.id for d in out] == ["book:1", "web:2"]
    assert [d[0] for d in ctx.drops] == ["web:1", "web:3"]
    assert ctx.counts[("length", "when_skipped")] == 1


def test_bad_when_is_a_config_error() -> None:
    raw = {"input": {"paths": ["x"]}, "output": {"path": "o"}, "stages": [{"length": {"when": {"lang": {"nope": 1}}}}]}
    with pytest.raises(ConfigError, match="when"):
        build_config(raw)


def test_pipeline_split_reflow_when_ledger_balances(tmp_path: Path) -> None:
    book = "PREFACE\n\n" + "\n\n".join(f"CHAPTER {n}\n\n{WRAPPED}\n\n{WRAPPED}" for n in ("I", "II", "III"))
    write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "gutenberg:b", "text": book}, {"id": "web:1", "text": "short web line"}],
    )
    raw = {
        "input": {"paths": [str(tmp_path / "in.jsonl")]},
        "output": {"path": str(tmp_path / "out")},
        "stages": [
            {"split": {"when": {"source": "gutenberg"}}},
            {"reflow": {"when": {"source": "gutenberg"}}},
            {"length": {"min_words": 5, "when": {"not": {"source": "gutenberg"}}}},
        ],
    }
    result = run_pipeline(build_config(raw))
    rows = {r["id"]: r for r in read_parquet_rows(tmp_path / "out" / "data")}
    assert sorted(rows) == ["gutenberg:b#0", "gutenberg:b#1", "gutenberg:b#2", "gutenberg:b#3"]
    assert rows["gutenberg:b#1"]["parent_id"] == "gutenberg:b" and rows["gutenberg:b#1"]["part"] == 1
    assert rows["gutenberg:b#2"]["text"].count("\n") == 4  # heading, blank, paragraph, blank, paragraph
    m = result.merged
    assert m["ledger_balanced"] and m["totals"]["created"] == 3


def test_reflow_joins_cjk_lines_without_spaces_by_display_width() -> None:
    block = (
        "       chage は、 パスワードを最後に更新してから、 次に変更しなければならない\n"
        "       期日までの日数を変更する。 システムはこの情報を用いて、  ユーザがいつパ\n"
        "       スワードを変更しなければならないかを決定する。"
    )
    text, joined = Reflow().reflow(block)
    assert joined == 1 and "いつパスワード" in text and "ならない期日" in text and text.startswith("       chage")
