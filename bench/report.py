"""Report, inspect and stats on a synthetic run: time and peak memory as the row cap and the corpus grow.

Builds a run of N synthetic documents (normalize + length, half of them dropped), then, each in a
fresh process so peak RSS is its own: ``datacraft report`` with several ``--sample-rows`` caps,
``inspect`` and ``stats``. Memory should follow the cap, not the corpus.

    python bench/report.py --docs 200000 --caps 10000,100000,0
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VOCAB = [f"w{i}" for i in range(2000)]

CHILD = """
import json, resource, sys, time
from click.testing import CliRunner
from datacraft.cli import main
args = json.loads(sys.argv[1])
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu0 = ru.ru_utime + ru.ru_stime
t0 = time.perf_counter()
result = CliRunner().invoke(main, args)
assert result.exit_code == 0, result.output
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": ru.ru_utime + ru.ru_stime - cpu0,
                  "peak_rss_mb": ru.ru_maxrss / 1024}))
"""


def write_corpus(root: Path, docs: int, shards: int, seed: int) -> Path:
    """``shards`` JSONL.gz files of random-word documents, lengths log-uniform over 2..500 words."""
    rng = random.Random(seed)
    src = root / "in"
    src.mkdir(parents=True)
    per = docs // shards
    for s in range(shards):
        with gzip.open(src / f"shard-{s:03d}.jsonl.gz", "wt", compresslevel=1) as fh:
            for i in range(per):
                n = int(2 * 250 ** rng.random())
                text = " ".join(rng.choices(VOCAB, k=n))
                lang = rng.choice(("en", "en", "en", "fr", "de", "es"))
                fh.write(json.dumps({"id": f"{s}-{i}", "text": text, "lang": lang}) + "\n")
    return src


def child(args: list[str]) -> dict:
    """Run one CLI command in a fresh interpreter; return its wall and CPU seconds and peak RSS."""
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000, help="documents in the synthetic run")
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--caps", default="10000,100000,0", help="--sample-rows values to compare (0: every row)")
    ap.add_argument("--workdir", default=str(REPO / "bench" / "out" / "report"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", action="store_true", help="reuse a finished run of the same --docs in --workdir")
    args = ap.parse_args()

    sys.path.insert(0, str(REPO))
    from datacraft.pipeline.config import build_config
    from datacraft.pipeline.runner import run_pipeline

    work = Path(args.workdir)
    stats = work / "out" / "stats.json"
    if args.reuse and stats.is_file() and json.loads(stats.read_text())["totals"]["docs_in"] == args.docs:
        merged = json.loads(stats.read_text())
        print(f"run: reused {work / 'out'}", end="; ")
    else:
        shutil.rmtree(work, ignore_errors=True)
        src = write_corpus(work, args.docs, args.shards, args.seed)
        config = build_config(
            {
                "name": "bench-report",
                "input": {"paths": [str(src)]},
                "output": {"path": str(work / "out")},
                "stages": [{"normalize": {}}, {"length": {"min_words": 30}}],
                "workers": 2,
            }
        )
        t0 = time.perf_counter()
        merged = run_pipeline(config).merged
        print(f"run: {args.docs:,} docs in {time.perf_counter() - t0:.1f}s", end="; ")
    print(f"kept {merged['totals']['kept']:,}, dropped {merged['totals']['dropped']:,}")
    out = str(work / "out")
    rows = []
    for cap in [int(c) for c in args.caps.split(",")]:
        n = cap or args.docs
        r = child(["report", out, "--out", str(work / f"report-{cap}.html"), "--sample-rows", str(n), "-q"])
        size = (work / f"report-{cap}.html").stat().st_size
        rows.append((f"report --sample-rows {n:,}" + (" (all rows)" if not cap else ""), r, f"{size / 1e3:.0f} kB"))
    rows.append(("inspect --stage length -n 5", child(["inspect", out, "--stage", "length", "-n", "5"]), ""))
    rows.append(("stats --json", child(["stats", out, "--json"]), ""))
    base = rows[0][1]["cpu_seconds"]
    print(f"{'command':<44}{'wall s':>8}{'CPU s':>8}{'CPU vs first':>14}{'peak RSS MB':>13}  output")
    for name, r, note in rows:
        print(
            f"{name:<44}{r['seconds']:>8.2f}{r['cpu_seconds']:>8.2f}{r['cpu_seconds'] / base:>13.2f}x"
            f"{r['peak_rss_mb']:>13.0f}  {note}"
        )


if __name__ == "__main__":
    main()
