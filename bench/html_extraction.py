"""HTML main-content extraction: token F1 against the article-extraction benchmark, and docs/s.

Runs every extractor of the ``html_to_text`` stage on the same 181 pages of
``../shared/data/web/article_extraction_benchmark`` (scrapinghub's ground truth) in one process.
F1 is over whitespace tokens as bags (the benchmark's own measure), averaged over pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

from datacraft.stages.html import HtmlToText, HtmlToTextParams

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "web" / "article_extraction_benchmark"


def token_prf(pred: str, truth: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of predicted against true whitespace tokens (bags)."""
    p, t = Counter(pred.split()), Counter(truth.split())
    common = sum((p & t).values())
    if not p or not t:
        return (1.0, 1.0, 1.0) if p == t else (0.0, 0.0, 0.0)
    precision, recall = common / sum(p.values()), common / sum(t.values())
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT, help="benchmark folder (html/, ground-truth.json)")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the pages for the timing")
    args = ap.parse_args()
    truth = json.loads((args.data / "ground-truth.json").read_text())
    pages = {}
    for key in sorted(truth):
        pages[key] = gzip.decompress((args.data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
    configs = {
        "trafilatura (favor=balanced)": HtmlToTextParams(
            extractor="trafilatura", favor="balanced", title_in_text=False
        ),
        "trafilatura (favor=precision)": HtmlToTextParams(
            extractor="trafilatura", favor="precision", title_in_text=False
        ),
        "trafilatura (favor=recall)": HtmlToTextParams(extractor="trafilatura", favor="recall", title_in_text=False),
        "resiliparse": HtmlToTextParams(extractor="resiliparse", title_in_text=False),
    }
    print(f"{len(pages)} pages")
    print(f"{'extractor':32} {'precision':>9} {'recall':>7} {'F1':>6} {'docs/s':>8}")
    for name, params in configs.items():
        stage = HtmlToText(params)
        scores = []
        t0 = time.process_time()
        for _ in range(args.repeat):
            out = {k: stage.extract(html, truth[k].get("url"))[0] for k, html in pages.items()}
        cpu = time.process_time() - t0
        for k, text in out.items():
            scores.append(token_prf(text, truth[k]["articleBody"]))
        n = len(scores)
        p, r, f = (sum(s[i] for s in scores) / n for i in range(3))
        print(f"{name:32} {p:9.3f} {r:7.3f} {f:6.3f} {len(pages) * args.repeat / cpu:8.1f}")


if __name__ == "__main__":
    main()
