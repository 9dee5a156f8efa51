"""Engine overhead: JSONL.gz → Parquet through an empty datacraft pipeline vs a plain pyarrow copy.

Both run in fresh subprocesses, alternated, on the same shards; we report wall time, CPU time
(user+sys) and peak RSS of each, and their ratios. Peak RSS should not grow with the corpus.

    python bench/passthrough.py --sizes 100000 400000 --shard-docs 50000 --repeat 2

``--before PYTHON`` adds a third side, the same datacraft run under another interpreter (e.g. the
virtualenv of an older checkout), alternated with the other two: before/after in one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_corpus import generate  # noqa: E402

PYARROW_COPY = """
import sys, pathlib, pyarrow.json as pj, pyarrow.parquet as pq
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for i, f in enumerate(sorted(src.glob('*.jsonl.gz'))):
    pq.write_table(pj.read_json(f), dst / f'part-{i:05d}.parquet', compression='zstd', row_group_size=10000)
"""

DATACRAFT_RUN = """
import sys
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
cfg = build_config({"input": {"paths": [sys.argv[1]]}, "output": {"path": sys.argv[2], "rejected": False},
                    "stages": [], "workers": 1})
run_pipeline(cfg, force=True)
"""


def measure(code: str, src: Path, dst: Path, python: str = sys.executable) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; wall, CPU and peak RSS of that process."""
    shutil.rmtree(dst, ignore_errors=True)
    t0 = time.perf_counter()
    # cwd outside any checkout: `python -c` puts the cwd first on sys.path, which would shadow the
    # interpreter's own datacraft (the --before side)
    proc = subprocess.Popen([python, "-c", code, str(src), str(dst)], cwd=dst.parent)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"benchmark subprocess failed with status {status}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000])
    ap.add_argument("--shard-docs", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=HERE / "out" / "passthrough")
    ap.add_argument("--before", help="another interpreter to run the datacraft side with too (before/after)")
    args = ap.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    sides = [("pyarrow", PYARROW_COPY, sys.executable), ("datacraft", DATACRAFT_RUN, sys.executable)]
    if args.before:
        sides.append(("before", DATACRAFT_RUN, args.before))
    rows = []
    for size in args.sizes:
        src = args.workdir / f"corpus-{size}"
        if not src.exists():
            generate(src, size, args.shard_docs, seed=0)
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            for name, code, python in sides:
                m = measure(code, src, args.workdir / f"out-{name}", python)
                prev = best.get(name)
                best[name] = m if prev is None else {k: min(prev[k], m[k]) for k in m}
        rows.append((size, best["pyarrow"], best["datacraft"], best.get("before")))
    print(
        "| docs | pyarrow wall s | datacraft wall s | wall ratio | pyarrow CPU s | datacraft CPU s | CPU ratio "
        "| pyarrow peak RSS MB | datacraft peak RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, p, d, b in rows:
        print(
            f"| {size:,} | {p['wall']:.2f} | {d['wall']:.2f} | {d['wall'] / p['wall']:.2f}× | {p['cpu']:.2f} | "
            f"{d['cpu']:.2f} | {d['cpu'] / p['cpu']:.2f}× | {p['rss_mb']:.0f} | {d['rss_mb']:.0f} |"
        )
        if b is not None:
            print(
                f"| {size:,} before | {p['wall']:.2f} | {b['wall']:.2f} | {b['wall'] / p['wall']:.2f}× | "
                f"{p['cpu']:.2f} | {b['cpu']:.2f} | {b['cpu'] / p['cpu']:.2f}× | {p['rss_mb']:.0f} | "
                f"{b['rss_mb']:.0f} |"
            )


if __name__ == "__main__":
    main()
