"""The bench corpus for the quality filters: every JSONL of ../shared/data plus the benchmark's article bodies.

Written once as one JSONL (id, text) so that datacraft and datatrove read exactly the same documents.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = [
    "quality/dclm_quality_labeled.jsonl",
    "prose/fortunes_en_all.jsonl",
    "prose/kjv_bible_chapters.jsonl",
    "prose/gutenberg_books_raw.jsonl",
    "neardup/gutenberg_editions_chapters.jsonl",
    "langid/udhr_55.jsonl",
    "langid/fortunes_multilingual.jsonl",
]


def build(shared: Path, out: Path, seed: int = 0) -> int:
    """Write the corpus (shuffled with ``seed``) to ``out``; return the number of documents."""
    docs: list[dict[str, str]] = []
    for rel in SOURCES:
        with open(shared / rel, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                row = json.loads(line)
                docs.append({"id": f"{rel}:{row.get('id', i)}", "text": row["text"]})
    truth = json.loads((shared / "web/article_extraction_benchmark/ground-truth.json").read_text())
    for key in sorted(truth):
        docs.append({"id": f"article:{key}", "text": truth[key]["articleBody"]})
    random.Random(seed).shuffle(docs)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(docs)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--out", type=Path, default=Path("bench/out/quality_corpus.jsonl"))
    a = ap.parse_args()
    print(build(a.shared, a.out), "documents in", a.out)
