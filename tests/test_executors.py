"""Choosing an executor and its options; guarantees every executor relies on (no Ray needed here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from datacraft.cli import main
from datacraft.errors import ConfigError
from datacraft.executors import InProcessExecutor, LocalExecutor, close_executor, make_executor
from datacraft.pipeline.config import build_config, load_pipeline
from datacraft.pipeline.runner import run_pipeline
from tests.helpers import make_corpus, tree_digest


def raw(inp: Path, out: Path) -> dict[str, object]:
    return {
        "input": {"paths": [str(inp)]},
        "output": {"path": str(out), "rows_per_file": 20},
        "stages": [{"normalize": {}}, {"length": {"min_words": 10}}],
    }


def test_local_executors_by_worker_count() -> None:
    assert isinstance(make_executor("local", 1), InProcessExecutor)
    assert isinstance(make_executor("local", 3), LocalExecutor)
    close_executor(make_executor("local", 3))  # nothing to release, and no error


def test_missing_ray_is_a_config_error_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where the extra is not installed
    with pytest.raises(ConfigError, match=r"pip install 'datacraft\[ray\]'"):
        make_executor("ray", 2)
    make_corpus(tmp_path / "in", shards=1, docs=5)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump(raw(tmp_path / "in", tmp_path / "out")))
    result = CliRunner().invoke(main, ["run", str(pipeline), "--executor", "ray", "--quiet"])
    assert result.exit_code == 2 and "datacraft[ray]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_ray_options_validated_overridable_and_outside_the_fingerprint(tmp_path: Path) -> None:
    base = raw(tmp_path / "in", tmp_path / "out")
    plain = build_config(base)
    assert plain.ray.num_cpus == 1 and plain.ray.max_retries == 3 and plain.ray.memory is None
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump({**base, "executor": "ray", "ray": {"memory": "2GiB"}}))
    cfg = load_pipeline(pipeline, ["ray.num_cpus=0.5", "ray.max_in_flight=8", "ray_address=auto"])
    assert (cfg.ray.num_cpus, cfg.ray.memory, cfg.ray.max_in_flight) == (0.5, 2 * 1024**3, 8)
    assert cfg.ray_address == "auto" and cfg.fingerprint() == plain.fingerprint()
    with pytest.raises(ConfigError, match=r"ray\.max_retries: Input should be greater than or equal to 0"):
        build_config({**base, "ray": {"max_retries": -1}})
    with pytest.raises(ConfigError, match=r"ray\.num_gpus: unknown key"):
        build_config({**base, "ray": {"num_gpus": 1}})


def test_marker_whose_outputs_are_gone_is_not_trusted(tmp_path: Path) -> None:
    # What a late duplicate attempt (a retried task's zombie) or lost shared storage can leave: a marker
    # without its files. The shard is redone, not skipped.
    make_corpus(tmp_path / "in", shards=3, docs=40)
    cfg = build_config(raw(tmp_path / "in", tmp_path / "out"))
    run_pipeline(cfg)
    digest = tree_digest(tmp_path / "out")
    victim = sorted((tmp_path / "out" / "data").glob("part-00001-*.parquet"))[-1]
    victim.unlink()
    again = run_pipeline(cfg)
    assert again.ran == 1 and tree_digest(tmp_path / "out") == digest
    (tmp_path / "out" / "rejected" / "part-00002-0000.parquet").write_bytes(b"truncated")
    assert run_pipeline(cfg).ran == 1 and tree_digest(tmp_path / "out") == digest


def test_ray_address_on_the_command_line_implies_the_ray_executor(tmp_path: Path) -> None:
    make_corpus(tmp_path / "in", shards=1, docs=5)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(yaml.safe_dump(raw(tmp_path / "in", tmp_path / "out")))
    result = CliRunner().invoke(main, ["run", str(pipeline), "--ray-address", "10.0.0.5:6379", "--dry-run"])
    assert result.exit_code == 0 and "executor ray (10.0.0.5:6379)" in result.output
    result = CliRunner().invoke(main, ["run", str(pipeline), "--executor", "ray", "--dry-run"])
    assert "executor ray (a local Ray)" in result.output


def test_pool_size_follows_the_input_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from datacraft.executors.local import MIN_BYTES_PER_WORKER, pool_size

    monkeypatch.delenv("DATACRAFT_MIN_BYTES_PER_WORKER", raising=False)
    assert pool_size(4, None) == 4  # size unknown: as asked
    assert pool_size(4, 0) == pool_size(4, MIN_BYTES_PER_WORKER - 1) == 1  # small: in this process
    assert pool_size(4, 2 * MIN_BYTES_PER_WORKER) == 2 and pool_size(4, 100 * MIN_BYTES_PER_WORKER) == 4
    assert pool_size(1, 100 * MIN_BYTES_PER_WORKER) == 1
    monkeypatch.setenv("DATACRAFT_MIN_BYTES_PER_WORKER", "0")
    assert pool_size(4, 10) == 4


def _burn(n: int) -> int:
    import time

    t = time.process_time()
    while time.process_time() - t < 0.3:
        pass
    return n


def test_local_pool_is_reused_and_its_cpu_counted_while_alive() -> None:
    from datacraft.executors.local import LocalExecutor
    from datacraft.timing import Clock

    ex = LocalExecutor(2)
    try:
        clock = Clock()
        assert sorted(r for _, r in ex.run(_burn, [1, 2])) == [1, 2]
        pool = ex._pool
        pids = {p.pid for p in pool._processes.values()}
        assert sorted(r for _, r in ex.run(_burn, [3, 4])) == [3, 4]
        assert ex._pool is pool and {p.pid for p in pool._processes.values()} == pids  # same workers
        assert clock.read()["cpu_seconds"] >= 1.1  # four tasks of 0.3 CPU-s in live workers, not yet reaped
    finally:
        ex.close()
    assert clock.read()["cpu_seconds"] >= 1.1  # still counted once reaped
    assert sorted(r for _, r in ex.run(_burn, [5])) == [5]  # closed: a later run starts a new pool
    ex.close()


def _pid_of(n: int) -> tuple[int, int]:
    return n, os.getpid()


def _fail_on(n: int) -> int:
    if n == 3:
        raise ValueError(f"task {n} failed")
    return n


def _interrupt_in_driver(n: int) -> int:
    if os.getpid() == DRIVER:
        raise KeyboardInterrupt
    return n


DRIVER = os.getpid()


@pytest.mark.slow
def test_inline_pool_shares_tasks_with_the_driver_propagates_errors_and_stops_when_interrupted() -> None:
    ex = LocalExecutor(2, inline=True)
    try:
        assert [r for _, r in ex.run(_pid_of, [0])] == [(0, os.getpid())]
        assert ex._pool is None  # one task: no process started for it
        results = [r for _, r in ex.run(_pid_of, list(range(6)))]
        assert sorted(n for n, _ in results) == list(range(6))
        pool = ex._pool
        assert pool is not None and len(pool._processes) == 1  # workers - 1 processes
        # the first tasks go to the pool, the next one runs here at once: both ran some
        pids = {pid for _, pid in results}
        assert pids == {os.getpid(), *(p.pid for p in pool._processes.values())}
        with pytest.raises(ValueError, match="task 3 failed"):
            list(ex.run(_fail_on, list(range(8))))
        assert sorted(r for _, r in ex.run(_fail_on, [0, 1, 2])) == [0, 1, 2]  # the pool survives an error
        assert ex._pool is pool
        procs = list(pool._processes.values())
        with pytest.raises(KeyboardInterrupt):
            list(ex.run(_interrupt_in_driver, list(range(6))))
        assert ex._pool is None and not any(p.is_alive() for p in procs)  # interrupted: workers stopped
    finally:
        ex.close()
    assert ex._pool is None


def test_an_inline_task_error_surfaces_as_a_pool_task_error_does_and_close_leaves_no_process() -> None:
    # int is a builtin: the spawned worker imports nothing of the tests. One pool process keeps two tasks
    # queued, so the third task runs in the driver (inline), the first in the pool.
    ex = LocalExecutor(2, inline=True)
    errors = []
    try:
        for tasks in (["1", "2", "x", "4"], ["x", "2", "3", "4"]):
            with pytest.raises(ValueError) as info:
                list(ex.run(int, tasks))
            errors.append((type(info.value), str(info.value)))
        pool = ex._pool
        assert pool is not None
        procs = list(pool._processes.values())
        assert sorted(r for _, r in ex.run(int, ["5", "6", "7"])) == [5, 6, 7]  # the same pool survives both
        assert ex._pool is pool
    finally:
        ex.close()
    assert ex._pool is None and procs and not any(p.is_alive() for p in procs)
    assert errors[0] == errors[1] == (ValueError, "invalid literal for int() with base 10: 'x'")
