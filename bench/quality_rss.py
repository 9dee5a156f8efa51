"""Peak RSS of the four quality filters chained over a long stream: it must stay flat from 100k to 1M documents.

Documents are the bench corpus without the whole books (bench/quality_corpus.py), cycled with a
counter appended so that every text is new to the caches; batches of 1,000 go through
gopher_repetition → gopher_quality → c4 → fineweb_quality, as in a shard task. Peak RSS
(``ru_maxrss``) is printed at each checkpoint.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from quality_agreement import FILTERS, NullContext  # type: ignore[import-not-found]

from datacraft.document import Document

HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=HERE / "out" / "quality_corpus.jsonl")
    ap.add_argument("--checkpoints", default="100000,250000,500000,1000000", help="document counts to report at")
    ap.add_argument("--max-chars", type=int, default=20_000, help="leave out longer documents (whole books)")
    args = ap.parse_args()
    with open(args.corpus, encoding="utf-8") as fh:
        texts = [t for t in (json.loads(line)["text"] for line in fh) if len(t) <= args.max_chars]
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))
    stages = [cls() for cls in FILTERS.values()]
    ctx = NullContext()
    mean = sum(map(len, texts)) / len(texts)
    print(f"{len(texts)} distinct texts, mean {mean:.0f} chars; peak RSS at start {peak_rss_mb():.1f} MB")
    done = kept = 0
    t0 = time.process_time()
    batch = 1000
    while done < checkpoints[-1]:
        docs = [Document(str(done + i), f"{texts[(done + i) % len(texts)]}\n{done + i}", {}) for i in range(batch)]
        for s in stages:
            docs = s.process_batch(docs, ctx)
        kept += len(docs)
        done += batch
        if done in checkpoints:
            cpu = time.process_time() - t0
            print(f"{done:>9,} docs  peak RSS {peak_rss_mb():7.1f} MB  kept {kept:,}  {done / cpu:,.0f} docs/CPU-s")


if __name__ == "__main__":
    main()
