"""Local process pool vs Ray on the same corpus and pipeline: throughput, engine overhead, per-task overhead.

Every measurement runs in a fresh interpreter. For Ray, the local Ray start (``ray.init``) and the first
round of worker processes are timed apart from the pipeline run, so the table shows both what a user
waits for once per run and the steady engine overhead. The per-task overhead is the wall time of many
empty tasks beyond the first ten, divided by their number, on warm workers, with the executor's
default bound on tasks in flight (2 × workers) and, for Ray, with 256 in flight.

    python bench/ray_bench.py --docs 100000 --shards 8 --workers 1 2 --tiny-tasks 2000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_corpus import generate  # noqa: E402

MEASURE = r"""
import json, operator, sys, time
t0 = time.perf_counter()
from datacraft.executors import LocalExecutor, InProcessExecutor
from datacraft.pipeline.config import build_config
from datacraft.pipeline.runner import run_pipeline
kind, workers, src, dst, tiny = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
out = {}
if kind == "ray":
    from datacraft.executors.ray import RayExecutor
    ex = RayExecutor(workers=workers)
    t = time.perf_counter(); ex.connect(); out["start_s"] = time.perf_counter() - t
    t = time.perf_counter(); list(ex.run(operator.neg, list(range(workers)))); out["warmup_s"] = time.perf_counter() - t
else:
    ex = LocalExecutor(workers) if workers > 1 else InProcessExecutor()
    out["start_s"] = out["warmup_s"] = 0.0
cfg = build_config({"input": {"paths": [src]}, "output": {"path": dst}, "workers": workers,
                    "stages": [{"normalize": {}}, {"length": {"min_words": 20}}]})
t = time.perf_counter(); result = run_pipeline(cfg, force=True, executor=ex); out["run_s"] = time.perf_counter() - t
out["docs"] = result.merged["totals"]["docs_in"]
if tiny:  # the difference of N and 10 empty tasks: per-run costs (a pool's start) cancel out
    times = []
    for n in (10, tiny):
        t = time.perf_counter(); assert sum(1 for _ in ex.run(operator.neg, list(range(n)))) == n
        times.append(time.perf_counter() - t)
    out["per_task_ms"] = 1000 * (times[1] - times[0]) / (tiny - 10)
    if kind == "ray":  # the same with a deep queue: what is left is Ray's submit/complete cost
        ex.max_in_flight = 256
        t = time.perf_counter(); assert sum(1 for _ in ex.run(operator.neg, list(range(tiny)))) == tiny
        out["per_task_deep_ms"] = 1000 * (time.perf_counter() - t) / tiny
if kind == "ray":
    ex.close()
out["total_s"] = time.perf_counter() - t0
print("RESULT " + json.dumps(out))
"""


def measure(kind: str, workers: int, src: Path, dst: Path, tiny: int) -> dict[str, float]:
    """One fresh interpreter: start the engine, run the pipeline, then the empty tasks.

    Adds ``cpu_s``: user+system CPU of that process and every process it started and reaped (pool
    workers; a local Ray's daemons and workers), so Ray's own processes count as overhead.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", MEASURE, kind, str(workers), str(src), str(dst), str(tiny)], stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("RESULT ")]
        if status != 0 or not lines:
            raise SystemExit(f"{kind} x{workers} failed (status {status}):\n{err.read()[-3000:]}")
    result = json.loads(lines[-1][len("RESULT ") :])
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tiny-tasks", type=int, default=2000, help="empty tasks for the per-task overhead")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each configuration (best is kept)")
    ap.add_argument("--workdir", type=Path, default=HERE / "out" / "ray_bench")
    args = ap.parse_args()
    src = args.workdir / f"corpus-{args.docs}-{args.shards}"
    if not src.exists():
        generate(src, args.docs, -(-args.docs // args.shards), seed=0)
    best: dict[tuple[str, int], dict[str, float]] = {}
    for _ in range(args.repeat):
        for workers in args.workers:
            for kind in ("local", "ray"):  # side by side, alternated
                m = measure(kind, workers, src, args.workdir / f"out-{kind}-{workers}", args.tiny_tasks)
                prev = best.get((kind, workers))
                best[(kind, workers)] = m if prev is None or m["run_s"] < prev["run_s"] else prev
    print(f"corpus: {args.docs:,} docs in {args.shards} shards; pipeline normalize + length; best of {args.repeat}")
    print()
    print(
        "| executor | workers | engine start s | worker warm-up s | pipeline run s | docs/s | run vs local "
        "| start+run vs local | CPU s, all processes | per empty task ms | same, 256 in flight |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workers in args.workers:
        for kind in ("local", "ray"):
            m, ref = best[(kind, workers)], best[("local", workers)]
            total = m["start_s"] + m["warmup_s"] + m["run_s"]
            per_task = f"{m['per_task_ms']:.3f}" if "per_task_ms" in m else "-"
            deep = f"{m['per_task_deep_ms']:.3f}" if "per_task_deep_ms" in m else "-"
            print(
                f"| {kind} | {workers} | {m['start_s']:.1f} | {m['warmup_s']:.1f} | {m['run_s']:.2f} | "
                f"{m['docs'] / m['run_s']:,.0f} | {m['run_s'] / ref['run_s']:.2f}× | {total / ref['run_s']:.2f}× | "
                f"{m['cpu_s']:.1f} | {per_task} | {deep} |"
            )


if __name__ == "__main__":
    main()
