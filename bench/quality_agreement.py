"""Quality filters against datatrove: per-filter keep/drop agreement and chained speed, in one run.

datatrove runs in its own environment (``bench/setup_datatrove_env.sh``, plus spaCy, which its
English word tokenizer needs) through ``bench/_datatrove_quality.py``; datacraft runs here. Both see
the same corpus (``bench/quality_corpus.py``). Agreement: each filter alone on each original document.
Speed: the four filters chained (gopher_repetition → gopher_quality → c4 → fineweb_quality) in
documents per CPU-second of each process.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from datacraft.document import Document
from datacraft.stages.base import Filter
from datacraft.stages.quality.c4 import C4
from datacraft.stages.quality.fineweb_quality import FineWebQuality
from datacraft.stages.quality.gopher_quality import GopherQuality
from datacraft.stages.quality.gopher_repetition import GopherRepetition

HERE = Path(__file__).resolve().parent
FILTERS: dict[str, type[Filter]] = {
    "gopher_repetition": GopherRepetition,
    "gopher_quality": GopherQuality,
    "c4": C4,
    "fineweb_quality": FineWebQuality,
}


class NullContext:
    """A StageContext that only counts drops."""

    def __init__(self) -> None:
        self.drops: Counter[tuple[str, str]] = Counter()

    def drop(self, doc: Document, stage: str, reason: str, signals: dict[str, Any] | None = None) -> None:
        self.drops[stage, reason] += 1

    def count(self, stage: str, key: str, n: int = 1) -> None:
        pass


def datatrove(python: str, corpus: Path, mode: str) -> dict[str, Any]:
    """Run the helper in the datatrove environment; verdicts are cached beside the corpus."""
    cache = corpus.with_name(f"{corpus.stem}.datatrove-{mode}.json")
    if mode == "verdicts" and cache.exists() and cache.stat().st_mtime > corpus.stat().st_mtime:
        return json.loads(cache.read_text())
    out = subprocess.run(
        [python, str(HERE / "_datatrove_quality.py"), str(corpus), mode], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"datatrove helper failed:\n{out.stderr[-3000:]}")
    if mode == "verdicts":
        cache.write_text(out.stdout)
    return json.loads(out.stdout)


_SPACELESS = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")


def spaceless(text: str) -> bool:
    """A document mostly in a script written without spaces (Chinese, Japanese, Thai, …)."""
    return len(_SPACELESS.findall(text)) >= 0.1 * max(1, len(text))


def our_chain(rows: list[dict[str, str]], batch: int = 1000) -> tuple[float, int]:
    stages = [cls() for cls in FILTERS.values()]
    docs = [Document(r["id"], r["text"], {}) for r in rows]
    ctx = NullContext()
    kept = 0
    t0 = time.process_time()
    for i in range(0, len(docs), batch):
        part = docs[i : i + batch]
        for s in stages:
            part = s.process_batch(part, ctx)
        kept += len(part)
    return time.process_time() - t0, kept


def compare(name: str, f: Filter, rows: list[dict[str, str]], theirs: dict[str, Any], examples: int) -> None:
    """Print the agreement of one filter and its disagreement classes."""
    dis: dict[tuple[str, str], list[str]] = defaultdict(list)
    agree = 0
    both: Counter[tuple[bool, bool]] = Counter()
    for r in rows:
        ours = f.check(Document(r["id"], r["text"], {}))
        keep_t, reason_t = theirs[r["id"]]
        both[ours.keep, keep_t] += 1
        if ours.keep == keep_t:
            agree += 1
        else:
            key = (f"datatrove:{'keep' if keep_t else reason_t}", f"datacraft:{'keep' if ours.keep else ours.reason}")
            dis[key].append(r["id"])
    n = len(rows)
    spaced = [r["id"] for r in rows if not spaceless(r["text"])]
    missed = {i for ids in dis.values() for i in ids}
    agree_spaced = sum(1 for i in spaced if i not in missed)
    print(
        f"{name}: agreement {agree / n:.2%} ({agree}/{n}); kept by both {both[True, True]}, "
        f"dropped by both {both[False, False]}; without space-less scripts {agree_spaced / len(spaced):.2%} "
        f"({agree_spaced}/{len(spaced)})"
    )
    for (t, o), ids in sorted(dis.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(ids):5d}  {t:32} {o:34} e.g. {', '.join(ids[:examples])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=HERE / "out" / "quality_corpus.jsonl")
    ap.add_argument("--limit", type=int, default=0, help="first N documents only (0: all)")
    ap.add_argument("--datatrove-python", default=str(HERE / ".venv-datatrove" / "bin" / "python"))
    ap.add_argument("--examples", type=int, default=2, help="example ids per disagreement class")
    ap.add_argument("--skip-speed", action="store_true", help="agreement only")
    ap.add_argument("--skip-agreement", action="store_true", help="speed only")
    args = ap.parse_args()
    corpus = args.corpus
    if not corpus.exists():
        from quality_corpus import SHARED, build  # type: ignore[import-not-found]

        build(SHARED, corpus)
    with open(corpus, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    if args.limit:
        rows = rows[: args.limit]
        corpus = HERE / "out" / f"quality_corpus_{args.limit}.jsonl"
        corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"corpus: {len(rows)} documents, {sum(len(r['text']) for r in rows) / 1e6:.1f} M characters")

    theirs = {} if args.skip_agreement else datatrove(args.datatrove_python, corpus, "verdicts")
    for split_spaceless in () if args.skip_agreement else (True, False):
        print(f"\n=== datacraft with split_spaceless={split_spaceless} ===")
        for name, cls in FILTERS.items():
            compare(name, cls(cls.Params(split_spaceless=split_spaceless)), rows, theirs[name], args.examples)

    if not args.skip_speed:
        ours_cpu, ours_kept = our_chain(rows)
        t = datatrove(args.datatrove_python, corpus, "chain")
        ours_rate, their_rate = len(rows) / ours_cpu, t["docs"] / t["cpu_seconds"]
        print(
            f"\nchained four filters: datacraft {ours_rate:,.0f} docs/CPU-s (kept {ours_kept}), "
            f"datatrove {their_rate:,.0f} docs/CPU-s (kept {t['kept']}): {ours_rate / their_rate:.1f}x"
        )


if __name__ == "__main__":
    main()
