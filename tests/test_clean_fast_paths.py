"""clean's fast paths (ftfy only on lines it could change, boilerplate hint check) give the same text."""

from __future__ import annotations

import json
from pathlib import Path

import ftfy
import pytest

from datacraft.stages.clean import BOILERPLATE_LINES, Clean, CleanParams, may_have_default_boilerplate

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TRICKY = [
    "",
    "plain ascii only",
    "first line\nsecond line\n",
    "caf\u00c3\u00a9 au lait\nplain line\nna\u00c3\u00afve\n",  # mojibake on two lines, ASCII between
    "plain\nplain\n\u00c3\u00a9t\u00c3\u00a9\n\u00c3\u00a0 la\nplain tail",  # adjacent trigger lines, no final \n
    "\u00c3\u00a9 first line is the trigger\nrest",
    "Tom &amp; Jerry\nno entity\nAT&amp;T &lt;3\n",
    "windows\r\nline breaks\r\nand a lone\rcarriage return\n",
    "\x1b[36mcolour\x1b[0m\nbell\x07 and nul\x00\nok\n",
    "\n\nleading newlines and \u2028 separator\u2029 and \x85 next line\n",
    "curly \u201cquotes\u201d, \ufb01 ligature, \uff21 wide, \u00a0 nbsp\n",
    "\u00e2\u0080\u0099 c1 mojibake\nplain\n\u0080\u0093 raw c1\n",
    "tab\tseparated\tascii\n" * 5 + "\u00c3\u00b1\n",
]


def real_texts(limit: int) -> list[str]:
    texts: list[str] = []
    for name in ("quality/dclm_quality_labeled.jsonl", "langid/fortunes_multilingual.jsonl", "langid/udhr_55.jsonl"):
        with (DATA / name).open() as f:
            texts += [json.loads(line)["text"] for _, line in zip(range(limit), f, strict=False)]
    return texts


@pytest.mark.parametrize("text", TRICKY)
def test_fix_text_equals_ftfy(text: str) -> None:
    clean = Clean()
    assert clean.fix_text(text) == ftfy.fix_text(text, clean._ftfy)


def test_boilerplate_hint_never_misses_a_default_pattern() -> None:
    clean = Clean()
    lines = [
        "We use cookies to improve your experience.",
        "ACCEPT ALL COOKIES",
        "By continuing to browse this website, you agree to our terms",
        "Please enable JavaScript to view the comments",
        "JavaScript is disabled in your browser",
        "Your browser does not support the video tag.",
        "Skip to main content",
        "  Back to top ^",
        "Share this article on Facebook",
        "All Rights Reserved.",
        "By using this \u017fite, you agree",  # long s: re.I folds it onto "s"
        "W\u0130 use cookies",  # non-ASCII text, ASCII hint
    ]
    for line in lines:
        if any(clean._boilerplate.search(x) for x in line.split("\n")):  # type: ignore[union-attr]
            assert may_have_default_boilerplate(f"intro\n{line}\nend"), line
    assert not may_have_default_boilerplate("A quiet text about rivers.\nNothing else here.")
    assert not may_have_default_boilerplate("Ein ruhiger Text über Flüsse.")


@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
def test_real_text_same_as_without_fast_paths() -> None:
    fast = Clean()
    # the same patterns plus one that never matches: no hint check, the per-line search always runs
    slow = Clean(CleanParams(boilerplate_patterns=[*BOILERPLATE_LINES, "(?!)"]))
    for text in real_texts(400):
        assert fast.fix_text(text) == ftfy.fix_text(text, fast._ftfy)
        counts_fast: dict[str, int] = {}
        counts_slow: dict[str, int] = {}
        assert fast.clean(text, counts_fast) == slow.clean(text, counts_slow)
        assert counts_fast == counts_slow
        if not may_have_default_boilerplate(text):
            assert not any(fast._boilerplate.search(line) for line in text.split("\n"))  # type: ignore[union-attr]
