"""datatrove's 4-stage MinHash dedup on a folder of JSONL shards (run with the datatrove venv).

Used by bench/dedup_bench.py as the reference; never imported by datacraft.
    $DATATROVE_PYTHON bench/datatrove_minhash.py IN_DIR WORK_DIR [--ngram 5 --buckets 14 --rows 8 --workers 1]
Prints one JSON line: documents kept and the removed ids.
"""

from __future__ import annotations

import argparse
import glob
import json
import os

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("input")
    ap.add_argument("work")
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--buckets", type=int, default=14)
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    shards = len(glob.glob(os.path.join(a.input, "*.jsonl")))
    cfg = MinhashConfig(n_grams=a.ngram, num_buckets=a.buckets, hashes_per_bucket=a.rows)
    w = a.work
    common = {"workers": a.workers, "skip_completed": False}
    LocalPipelineExecutor(
        [JsonlReader(a.input, glob_pattern="*.jsonl"), MinhashDedupSignature(f"{w}/sigs", config=cfg)],
        tasks=shards,
        logging_dir=f"{w}/logs/1",
        **common,
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupBuckets(f"{w}/sigs", f"{w}/buckets", config=cfg)],
        tasks=cfg.num_buckets,
        logging_dir=f"{w}/logs/2",
        **common,
    ).run()
    LocalPipelineExecutor(
        [MinhashDedupCluster(f"{w}/buckets", f"{w}/remove", config=cfg)], tasks=1, logging_dir=f"{w}/logs/3", **common
    ).run()
    LocalPipelineExecutor(
        [
            JsonlReader(a.input, glob_pattern="*.jsonl"),
            MinhashDedupFilter(f"{w}/remove", exclusion_writer=JsonlWriter(f"{w}/removed", compression=None)),
            JsonlWriter(f"{w}/kept", compression=None),
        ],
        tasks=shards,
        logging_dir=f"{w}/logs/4",
        **common,
    ).run()
    removed: list[str] = []
    for f in sorted(glob.glob(f"{w}/removed/*")):
        with open(f) as fh:
            removed += [json.loads(line)["id"] for line in fh]
    kept = 0
    for f in glob.glob(f"{w}/kept/*"):
        with open(f) as fh:
            kept += sum(1 for _ in fh)
    print(json.dumps({"kept": kept, "removed": removed}))


if __name__ == "__main__":
    main()
