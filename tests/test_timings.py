"""Stage timings are honest: CPU seconds are CPU time of the workers, wall seconds are wall time."""

from __future__ import annotations

import json
import resource
from pathlib import Path

from cli_helpers import datacraft, write_pipeline
from helpers import make_corpus

PLUGIN = Path(__file__).parent / "plugins" / "timing_stages.py"


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def test_cpu_seconds_match_the_process_tree(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=3, docs=40)
    out = tmp_path / "out"
    pipe = write_pipeline(
        tmp_path / "p.yaml",
        tmp_path / "in",
        out,
        "  - spin: {rounds: 20000}\n  - nap: {seconds: 0.2}\n  - length: {min_words: 5}",
        workers=2,
        extra=f"plugins: [{PLUGIN}]\n",
    )
    before = _children_cpu()
    r = datacraft("run", str(pipe))
    tree_cpu = _children_cpu() - before  # the real CPU of datacraft and its (reaped) worker processes
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "stats.json").read_text())
    spin, nap = m["stages"]["spin"], m["stages"]["nap"]
    # sleeping costs wall time, not CPU time (the old timings reported wall seconds as CPU)
    assert nap["seconds"] >= 0.2 * 3 * 0.9
    assert nap["cpu_seconds"] < 0.5 * nap["seconds"]
    # one thread hashing: CPU time cannot exceed wall time by more than clock granularity
    assert 0 < spin["cpu_seconds"] <= spin["seconds"] * 1.05 + 0.05
    # what the tasks report is part of what the process tree used, and most of it
    tasks_cpu = m["cpu_seconds"]["total"]
    stage_cpu = sum(s["cpu_seconds"] for s in m["stages"].values())
    assert stage_cpu + m["cpu_seconds"]["read"] + m["cpu_seconds"]["write"] <= tasks_cpu * 1.05 + 0.05
    assert spin["cpu_seconds"] <= tasks_cpu <= tree_cpu + 0.1
    # the run's own process-tree figure agrees with the kernel's, up to interpreter start-up/teardown
    run_cpu = m["time"]["cpu_seconds"]
    assert run_cpu <= tree_cpu + 0.1
    assert run_cpu >= 0.7 * tree_cpu - 1.0
    # writes are timed (closing the Parquet files included)
    assert m["wall_seconds"]["write"] > 0 and m["cpu_seconds"]["write"] > 0
    # the summary shows both columns
    assert "wall s    CPU s" in r.stderr and "CPU s (all processes)" in r.stderr
