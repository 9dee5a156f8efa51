"""HTML main-content extraction: token F1 against the article-extraction benchmark, and CPU cost.

Runs every extractor of the ``html_to_text`` stage on the same 181 pages of
``../shared/data/web/article_extraction_benchmark`` (scrapinghub's ground truth) in one process,
side by side with plain ``trafilatura.extract`` on the same pages with the same options (the
reference the stage's overhead is measured against) and with the stage's previous way
(``trafilatura.bare_extraction(..., with_metadata=True)``, one metadata pass more per page).
F1 is over whitespace tokens as bags (the benchmark's own measure), averaged over pages.
Timing: ``--repeat`` rounds, every extractor one pass over all pages per round (the order
rotating between rounds), CPU time of this process (``time.process_time``); the best pass is kept.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from datacraft.stages.html import HtmlToText, HtmlToTextParams

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "web" / "article_extraction_benchmark"
Extract = Callable[[str, "str | None"], str]


def token_prf(pred: str, truth: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of predicted against true whitespace tokens (bags)."""
    p, t = Counter(pred.split()), Counter(truth.split())
    common = sum((p & t).values())
    if not p or not t:
        return (1.0, 1.0, 1.0) if p == t else (0.0, 0.0, 0.0)
    precision, recall = common / sum(p.values()), common / sum(t.values())
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def stage_extract(favor: str | None) -> Extract:
    """The ``html_to_text`` stage's text (no title line), trafilatura with ``favor`` or resiliparse (None)."""
    params = (
        HtmlToTextParams(extractor="resiliparse", title_in_text=False)
        if favor is None
        else HtmlToTextParams(extractor="trafilatura", favor=favor, title_in_text=False)  # type: ignore[arg-type]
    )
    stage = HtmlToText(params)
    return lambda html, url: stage.extract(html, url)[0]


def _stage_options(favor: str) -> dict[str, bool]:
    """The extraction options the stage passes trafilatura for ``favor``."""
    return {
        "favor_precision": favor == "precision",
        "favor_recall": favor == "recall",
        "include_comments": False,
        "include_tables": True,
        "deduplicate": False,
    }


def plain_trafilatura(favor: str) -> Extract:
    """``trafilatura.extract`` with the stage's options (text only, no metadata): the reference."""
    import trafilatura

    def run(html: str, url: str | None) -> str:
        return trafilatura.extract(html, url=url, **_stage_options(favor)) or ""

    return run


def with_metadata_trafilatura(favor: str) -> Extract:
    """The stage's previous way: ``bare_extraction(..., with_metadata=True)`` for text and title."""
    import trafilatura

    def run(html: str, url: str | None) -> str:
        result = trafilatura.bare_extraction(html, url=url, with_metadata=True, **_stage_options(favor))
        return "" if result is None else (result.text or "").strip()  # type: ignore[union-attr]

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT, help="benchmark folder (html/, ground-truth.json)")
    ap.add_argument("--repeat", type=int, default=3, help="timing rounds (best pass kept)")
    ap.add_argument(
        "--favors", default="balanced,precision,recall", help="trafilatura trade-offs to run (comma-separated)"
    )
    ap.add_argument("--no-before", action="store_true", help="skip the with_metadata=True (previous way) rows")
    args = ap.parse_args()
    truth = json.loads((args.data / "ground-truth.json").read_text())
    pages = {}
    for key in sorted(truth):
        pages[key] = gzip.decompress((args.data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
    favors = [f for f in args.favors.split(",") if f]
    runs: dict[str, Extract] = {}
    reference: dict[str, str] = {}  # row -> its plain trafilatura.extract row
    for favor in favors:
        ref = f"trafilatura.extract (favor={favor})"
        runs[f"html_to_text trafilatura (favor={favor})"] = stage_extract(favor)
        runs[ref] = plain_trafilatura(favor)
        reference[f"html_to_text trafilatura (favor={favor})"] = ref
        if not args.no_before:
            runs[f"with_metadata=True, before (favor={favor})"] = with_metadata_trafilatura(favor)
            reference[f"with_metadata=True, before (favor={favor})"] = ref
    runs["html_to_text resiliparse"] = stage_extract(None)
    best = dict.fromkeys(runs, float("inf"))
    texts: dict[str, dict[str, str]] = {}
    names = list(runs)
    for r in range(max(1, args.repeat)):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t0 = time.process_time()
            texts[name] = {k: runs[name](html, truth[k].get("url")) for k, html in pages.items()}
            best[name] = min(best[name], time.process_time() - t0)
    print(f"{len(pages)} pages, best of {args.repeat} passes, CPU seconds of this process")
    head = f"{'precision':>9} {'recall':>7} {'F1':>6} {'CPU s':>7} {'docs/CPU-s':>10} {'vs extract':>10}"
    print(f"{'extractor':46} {head}")
    for name in names:
        scores = [token_prf(texts[name][k], truth[k]["articleBody"]) for k in pages]
        n = len(scores)
        p, r, f = (sum(s[i] for s in scores) / n for i in range(3))
        ratio = f"{best[name] / best[reference[name]]:.2f}×" if name in reference else ""
        print(f"{name:46} {p:9.3f} {r:7.3f} {f:6.3f} {best[name]:7.2f} {len(pages) / best[name]:10.1f} {ratio:>10}")
    for name, ref in reference.items():
        same = sum(texts[name][k] == texts[ref][k].strip() for k in pages)
        print(f"same text as {ref}: {name}: {same}/{len(pages)} pages")


if __name__ == "__main__":
    main()
