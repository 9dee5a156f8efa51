"""Ablation on the bundled data: the same LM, token budget, tokenizer and seed trained on the raw mix
(fortunes + raw Gutenberg books with their boilerplate + KJV) and on its curated output
(pipelines/ablate-curated.yaml), both scored on one clean held-out set: Gutenberg chapters of books
in neither (Pride and Prejudice, Tom Sawyer; one edition per chapter) and every Nth KJV chapter
(removed from the training input of both).

    python bench/ablate_bench.py --tokens 300000 --out bench/out/ablate
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLE = REPO / "data" / "sample"
RAW_FILES = ["fortunes-00.jsonl.gz", "fortunes-01.jsonl.gz", "gutenberg-books-raw.jsonl.gz"]
HELDOUT_BOOKS = ("pride-and-prejudice", "tom-sawyer")


def split_kjv(train_path: Path, heldout_rows: list[dict], every: int) -> None:
    """KJV chapters: every ``every``-th to the held-out rows, the others to ``train_path``."""
    from datacraft.io.paths import list_shards
    from datacraft.io.readers import ReadOptions, read_shard

    train = []
    for i, doc in enumerate(read_shard(list_shards([str(SAMPLE / "kjv-chapters.jsonl.zst")])[0], ReadOptions())):
        row = {"id": doc.id, "text": doc.text}
        (heldout_rows if i % every == 0 else train).append(row)
    train_path.parent.mkdir(parents=True, exist_ok=True)
    train_path.write_text("".join(json.dumps(r) + "\n" for r in train))


def heldout_jsonl(path: Path, per_book: int, extra: list[dict]) -> int:
    """One edition of the first ``per_book`` chapters of each held-out book, as JSONL."""
    seen: set[str] = set()
    rows = []
    with gzip.open(SAMPLE / "gutenberg-editions.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            book = r["cluster"].split(":")[0]
            if book in HELDOUT_BOOKS and r["cluster"] not in seen:
                seen.add(r["cluster"])
                rows.append(r)
    picked = []
    for book in HELDOUT_BOOKS:
        picked += sorted((r for r in rows if r["cluster"].startswith(book + ":")), key=lambda r: r["id"])[:per_book]
    picked += extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in picked))
    return len(picked)


def curate(inputs: list[str], out: Path, stages: list, workers: int) -> dict:
    from datacraft.pipeline.config import build_config
    from datacraft.pipeline.runner import run_pipeline

    cfg = build_config(
        {"input": {"paths": inputs}, "output": {"path": str(out)}, "stages": stages, "workers": workers}, "bench"
    )
    return run_pipeline(cfg).merged["totals"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "ablate")
    ap.add_argument("--tokens", type=int, default=300_000, help="training token budget per model")
    ap.add_argument("--config", default=str(REPO / "configs" / "train-lm.yaml"))
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="training config KEY=VALUE")
    ap.add_argument("--heldout-chapters", type=int, default=20, help="chapters per held-out book")
    ap.add_argument("--kjv-every", type=int, default=30, help="every Nth KJV chapter is held out")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from datacraft.train import quiet_tensorflow

    quiet_tensorflow()
    from datacraft.pipeline.config import load_pipeline
    from datacraft.train.ablate import Variant, markdown_table, run_ablation
    from datacraft.train.config import load_train_config

    t0 = time.perf_counter()
    out: Path = args.out
    kjv_held: list[dict] = []
    split_kjv(out / "inputs" / "kjv-train.jsonl", kjv_held, args.kjv_every)
    n_held = heldout_jsonl(out / "heldout-src" / "heldout.jsonl", args.heldout_chapters, kjv_held)
    curate([str(out / "heldout-src")], out / "heldout", [{"normalize": {"form": "NFC"}}], 1)
    raw_inputs = [str(SAMPLE / f) for f in RAW_FILES] + [str(out / "inputs" / "kjv-train.jsonl")]
    raw_totals = curate(raw_inputs, out / "raw", [], args.workers)
    pipe = load_pipeline(
        REPO / "pipelines" / "ablate-curated.yaml",
        updates={"input.paths": raw_inputs, "output.path": str(out / "curated"), "workers": args.workers},
    )
    from datacraft.pipeline.runner import run_pipeline

    cur_totals = run_pipeline(pipe).merged["totals"]
    t_prep = time.perf_counter() - t0
    cfg = load_train_config(args.config, args.overrides)
    res = run_ablation(
        [Variant("raw", str(out / "raw")), Variant("curated", str(out / "curated"))],
        str(out / "heldout"),
        cfg,
        out / "runs",
        max_train_tokens=args.tokens,
        quiet=True,
    )
    summary = {
        "heldout_docs": n_held,
        "raw_docs": raw_totals,
        "curated_docs": cur_totals,
        "prep_seconds": round(t_prep, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "ablation": {k: v for k, v in res.items() if k != "config"},
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    print(markdown_table(res))
    print(json.dumps({k: v for k, v in summary.items() if k != "ablation"}, indent=2, default=str))


if __name__ == "__main__":
    main()
