"""Report parts for people reading a run: example drops, sources, thresholds, timings, links; safe text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import write_jsonl
from report_fixtures import make_run

from datacraft.dedup.config import build_dedup_config
from datacraft.dedup.runner import run_dedup
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
from datacraft.report.build import build_report
from datacraft.report.extras import example_drops, related_runs, source_funnel, thresholds
from datacraft.report.runstats import load_run
from datacraft.report.textsafe import escape_controls, for_terminal, truncate


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("extras"))


def test_example_drops_are_escaped_and_truncated(tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "text": f"\x1b]0;pwned\x07 <b>short</b> {i}"} for i in range(5)]
    rows.append({"id": "long", "text": "word " * 400 + "<script>"})
    write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    run_pipeline(
        build_config(
            {
                "input": {"paths": [str(tmp_path / "in.jsonl")]},
                "output": {"path": str(out)},
                "stages": [{"length": {"min_words": 5, "max_words": 100}}],
            }
        )
    )
    html = example_drops(load_run(out))
    assert "length · too_few_words" in html and "length · too_many_words" in html
    assert html.count('<pre class="doc">') == 4  # 3 of 5 short ones, the long one
    assert "\x1b" not in html and "\x07" not in html and "\\x1b]0;pwned\\x07" in html
    assert "<b>" not in html and "&lt;b&gt;short" in html and "<script>" not in html
    assert "more characters)" in html  # the long one is cut
    assert "length_words=3" in html  # the signal that dropped it


def test_source_funnel_counts_each_input_file(run_dir: Path) -> None:
    html = source_funnel(load_run(run_dir))
    assert "part-0.jsonl.gz" in html and "part-1.jsonl.gz" in html
    assert "length · too_few_words" in html
    stats = json.loads((run_dir / "stats.json").read_text())
    for s in stats["per_shard"]:
        assert f"{s['docs_in']:,}" in html


def test_thresholds_come_from_stage_params(run_dir: Path) -> None:
    limits = thresholds(load_run(run_dir))
    assert (5.0, "length.min_words") in limits["length_words"]
    assert (30.0, "size.max_words") in limits["length_words"]


def test_timing_section_has_wall_and_cpu(run_dir: Path, tmp_path: Path) -> None:
    html = build_report(run_dir, tmp_path / "r.html").read_text()
    assert "wall seconds" in html and "CPU seconds" in html and "documents / CPU s" in html
    assert 'id="sources"' in html and 'id="examples"' in html


def test_run_and_dedup_reports_link_each_other(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    manifest = json.loads((run / "_run.json").read_text())
    manifest["config"]["dedup"] = {"output": str(tmp_path / "dd")}
    (run / "_run.json").write_text(json.dumps(manifest))
    run_dedup(build_dedup_config({"input": {"paths": [str(run)]}, "output": {"path": str(tmp_path / "dd")}}))
    assert 'href="../dd/report.html"' in related_runs(load_run(run))
    back = related_runs(load_run(tmp_path / "dd"))
    assert 'href="../out/report.html"' in back and "input run" in back


def test_text_safety_helpers() -> None:
    evil = "title\x1b]0;pwned\x07 and \x1b[31mred\r\n\u202eevil"
    safe = escape_controls(evil)
    assert "\x1b" not in safe and "\x07" not in safe and "\r" not in safe and "\u202e" not in safe
    assert "\\x1b]0;pwned\\x07" in safe and "\\u202e" in safe and "\n" in safe

    class Tty:
        def isatty(self) -> bool:
            return True

    assert for_terminal(evil, Tty()) == safe
    assert for_terminal(evil, object()) == evil  # not a terminal: untouched (pipes get the real text)
    assert truncate("abcdef", 3) == "abc… (3 more characters)" and truncate("abc", 3) == "abc"


def test_trim_png_cuts_the_blank_bottom(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    from datacraft.report.trim import trim_png

    img = np.full((1000, 50, 3), 255, dtype=np.uint8)
    img[100:300, 10:20] = 0  # content ends at row 299
    Image.fromarray(img).save(tmp_path / "p.png")
    assert trim_png(tmp_path / "p.png", margin=10) == (50, 310)
    assert Image.open(tmp_path / "p.png").size == (50, 310)


def test_example_drops_mark_blocklisted_words_and_repeated_ngram(tmp_path: Path) -> None:
    (tmp_path / "words.txt").write_text("badword\n")
    rows = [
        {"id": "b", "text": "a <i>BadWord</i> sits here among fine words today"},
        {"id": "r", "text": "buy <now> " * 30 + "end"},
        {"id": "ok", "text": "plain fine text with nothing wrong in it at all"},
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    run_pipeline(
        build_config(
            {
                "input": {"paths": [str(tmp_path / "in.jsonl")]},
                "output": {"path": str(out)},
                "stages": [
                    {"blocklist": {"word_lists": [str(tmp_path / "words.txt")]}},
                    {"gopher_repetition": {}},
                ],
            }
        )
    )
    html = example_drops(load_run(out))
    assert "blocklist · blocked_words" in html
    assert "&lt;i&gt;<mark>BadWord</mark>&lt;/i&gt;" in html  # marked, the rest still escaped
    assert "gopher_repetition · top_2_gram" in html
    assert "<mark>buy &lt;</mark>now&gt;" in html  # the most frequent 2-gram as the filter's words
    assert "<i>" not in html and "<now>" not in html


def test_mark_escapes_and_marks_phrases() -> None:
    from datacraft.report.extras import mark

    assert mark("a <b> Foo bar", [["foo", "bar"]]) == "a &lt;b&gt; <mark>Foo bar</mark>"
    assert mark("food <x>", [["foo"]]) == "food &lt;x&gt;"  # whole words only
    assert mark("x & y", []) == "x &amp; y"


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers, trainers

    tok = tokenizers.Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(["alpha beta gamma", "delta epsilon"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


def test_report_counts_tokens_with_a_tokenizer(run_dir: Path, tokenizer_json: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datacraft.cli import main
    from datacraft.report.build import gather, token_totals

    inputs = gather(run_dir, tokenizer=tokenizer_json)
    tokens = token_totals(inputs)
    assert tokens is not None and tokens["kept"] > 0 and tokens["dropped"] > 0
    assert tokens["total"] == tokens["kept"] + tokens["dropped"]
    # Whitespace pre-tokenizer: one token per word or punctuation run, so at least as many tokens as words
    assert token_totals(gather(run_dir)) is None
    dest = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(run_dir), "--out", str(dest), "--tokenizer", str(tokenizer_json)])
    assert result.exit_code == 0, result.output
    html = dest.read_text()
    assert "tokens kept" in html and "tokens dropped" in html and "tokenizer.json" in html
    assert f"{tokens['kept']:,}" in html
    assert "words kept (estimate)" in html


def test_report_tokenizer_errors_exit_2(run_dir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from datacraft.cli import main

    missing = tmp_path / "nope.json"
    result = CliRunner().invoke(
        main, ["report", str(run_dir), "--out", str(tmp_path / "r.html"), "--tokenizer", str(missing)]
    )
    assert result.exit_code == 2 and "nope.json" in result.output and "Traceback" not in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not a tokenizer")
    result = CliRunner().invoke(
        main, ["report", str(run_dir), "--out", str(tmp_path / "r.html"), "--tokenizer", str(bad)]
    )
    assert result.exit_code == 2 and "not a valid tokenizer.json" in result.output
    assert not (tmp_path / "r.html").exists()


def test_highlight_uses_the_words_of_the_documents_language() -> None:
    """The marked n-gram is one the filter counted: words segmented for the dropped document's ``lang``."""
    from datacraft.report.extras import _top_ngram
    from datacraft.text.words import split_words

    han = "中华人民共和国宪法是国家的根本法，具有最高的法律效力。\n全国各族人民都必须以宪法为根本的活动准则。\n" * 3
    marked = {lang: _top_ngram(han, 2, lang) for lang in ("zh", "ja")}
    for lang, [gram] in marked.items():
        words = split_words(han, lang)
        assert any(words[i : i + 2] == gram for i in range(len(words) - 1)), lang
    assert marked["zh"] != marked["ja"]  # Chinese and Japanese segment this Han text differently
