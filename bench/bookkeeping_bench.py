"""Per-shard bookkeeping cost at 100, 10,000 and 50,000 shards: planning, resume, sweep, clear_shard.

A finished output is laid out the way tasks leave it (marker, stats file, one data, rejected and
quarantine file per shard, tiny contents: bookkeeping never reads them), over real input files.
Measured, in one run: a fresh plan (empty OUT), a resume plan (every marker valid), the one sweep a
run does before its tasks, and ``clear_shard`` as each task calls it — beside the previous
``clear_shard`` (an rglob over every dataset folder per task) for the ratio.

    .venv/bin/python bench/bookkeeping_bench.py [--shards 100,10000,50000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from datacraft.pipeline.config import build_config
from datacraft.pipeline.fingerprint import input_identity
from datacraft.pipeline.layout import SUBDIRS, OutputLayout, shard_stem
from datacraft.pipeline.runner import plan_run


def old_clear_shard(layout: OutputLayout, index: int) -> None:
    """The previous implementation: a recursive listing of every dataset folder per task."""
    stem = shard_stem(index)
    layout.marker(index).unlink(missing_ok=True)
    for sub in SUBDIRS:
        d = layout.root / sub
        if d.is_dir():
            for p in d.rglob("*"):
                if p.is_file() and p.name.startswith((stem + "-", stem + ".", "." + stem)):
                    p.unlink(missing_ok=True)


def build(root: Path, n: int) -> tuple[object, OutputLayout]:
    inp, out = root / "in", root / "out"
    inp.mkdir(parents=True)
    for i in range(n):
        (inp / f"s{i:06d}.jsonl").write_bytes(b'{"text": "x"}\n')
    config = build_config({"input": {"paths": [str(inp)]}, "output": {"path": str(out)}, "stages": ["normalize"]})
    plan = plan_run(config)
    fp = plan.identity["fingerprint"]
    layout = OutputLayout(out)
    for sub in SUBDIRS:
        (out / sub).mkdir(parents=True, exist_ok=True)
    for s in plan.shards:
        stem = shard_stem(s.index)
        files = {f"data/{stem}-0000.parquet": b"d" * 64, f"rejected/{stem}-0000.parquet": b"r" * 32}
        files[f"quarantine/{stem}-0000.jsonl"] = b""
        for rel, data in files.items():
            (out / rel).write_bytes(data)
        layout.stats_file(s.index).write_text("{}")
        marker = {"fingerprint": fp, "name": s.name, **input_identity(s.path)}
        marker["outputs"] = {rel: len(data) for rel, data in files.items()}
        layout.marker(s.index).write_text(json.dumps(marker))
    return config, layout


def timed(fn: object, *args: object) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", default="100,10000,50000")
    args = ap.parse_args()
    rows = []
    for n in (int(x) for x in args.shards.split(",")):
        root = Path(tempfile.mkdtemp(prefix="dc-bookkeeping-"))
        try:
            config, layout = build(root, n)
            fresh_out = config.output.model_copy(update={"path": str(root / "o2")})
            fresh_cfg = config.model_copy(update={"output": fresh_out})
            fresh = timed(plan_run, fresh_cfg)
            resume = timed(plan_run, config)
            assert not plan_run(config).todo, "every shard should be complete"
            sweep = timed(layout.sweep, range(0, n, 100), n)  # one walk; redo 1% of shards
            sample = list(range(1, n, max(1, n // 50)))[:50]
            new = [timed(layout.clear_shard, i) for i in sample]
            old_sample = sample[:3] if n > 10_000 else sample[:10]
            old = [timed(old_clear_shard, layout, i) for i in old_sample]
            new_w, new_c = (sum(x[k] for x in new) / len(new) for k in (0, 1))
            old_w, old_c = (sum(x[k] for x in old) / len(old) for k in (0, 1))
            rows.append((n, fresh, resume, sweep, (new_w, new_c), (old_w, old_c)))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"cpu count {os.cpu_count()}")
    print("wall s / CPU s (CPU µs per shard); per task: wall ms / CPU ms")
    print(
        "| shards | fresh plan | resume plan (all complete) | one sweep per run | clear_shard per task "
        "| previous clear_shard per task | ratio (wall) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")

    def cell(t: tuple[float, float], n: int) -> str:
        return f"{t[0]:.2f} / {t[1]:.2f} ({t[1] / n * 1e6:.0f} µs)"

    for n, fresh, resume, sweep, new, old in rows:
        print(
            f"| {n:,} | {cell(fresh, n)} | {cell(resume, n)} | {cell(sweep, n)} "
            f"| {new[0] * 1e3:.2f} / {new[1] * 1e3:.2f} | {old[0] * 1e3:,.1f} / {old[1] * 1e3:,.1f} "
            f"| {old[0] / new[0]:,.0f}× |"
        )


if __name__ == "__main__":
    main()
