"""Shared fixtures: bundled sample data, the optional ../shared/data corpus, a local Ray cluster."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Ray clusters of the tests use token authentication (Ray's default for new clusters) with a token of the
# test session. Ray reads these when it is imported, so they are set before any test module imports it.
os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"})
os.environ.pop("RAY_AUTH_TOKEN_PATH", None)

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def sample_dir() -> Path:
    """The bundled sample corpus (always present in a clone)."""
    return SAMPLE


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests using it skip cleanly where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@dataclass
class RayCluster:
    """A local Ray cluster started for the tests: its address and the PID of its ``ray start --block``."""

    address: str
    pid: int
    temp_dir: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """A real Ray head on 127.0.0.1 (2 CPUs, 100 MB object store), joined once by this test process.

    Started as ``ray start --head --block`` in its own process group, with no PYTHONPATH, so workers
    can only import datacraft as shipped by the executor (``runtime_env.py_modules``); stopped by PID.
    """
    pytest.importorskip("ray")
    from datacraft.executors.ray import RayExecutor

    temp_dir = Path(tempfile.mkdtemp(prefix="dcray-", dir="/tmp"))  # short: Ray's socket paths are length-limited
    port = _free_port()
    ray_cmd = [sys.executable, "-m", "ray.scripts.scripts"]
    cmd = [
        *ray_cmd, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
        "--num-cpus", "2", "--object-store-memory", str(100 * 1024 * 1024), "--include-dashboard", "false",
        "--disable-usage-stats", "--temp-dir", str(temp_dir), "--dashboard-agent-listen-port", str(_free_port()),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    log_path = temp_dir / "ray-start.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=temp_dir, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while b"Ray runtime started" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start failed:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        executor = RayExecutor(address=f"127.0.0.1:{port}")
        executor.connect()  # one driver for the session: Ray workers are per driver, so they start once
        yield RayCluster(f"127.0.0.1:{port}", proc.pid, temp_dir)
        executor.close()
    finally:
        proc.terminate()  # `ray start --block` stops the processes it started
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture
def read_paths(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``read_paths(chunk=None)``: the row-vs-columnar setup of the reader tests (tests/test_readers_columns.py,
    tests/test_source_fields.py): a spy on ``ShardRun.run_table`` and, when given, a small JSONL block size
    (``jsoncols.CHUNK``) so that one file holds blocks of both kinds."""
    import pyarrow as pa
    from read_paths import ReadPaths

    import datacraft.io.jsoncols as jsoncols
    import datacraft.pipeline.task as task

    def make(chunk: int | None = None) -> ReadPaths:
        if chunk is not None:
            monkeypatch.setattr(jsoncols, "CHUNK", chunk)
        paths = ReadPaths(monkeypatch, [])
        run_table = task.ShardRun.run_table

        def spy(self: task.ShardRun, table: pa.Table) -> None:
            paths.tables.append(table.num_rows)
            run_table(self, table)

        monkeypatch.setattr(task.ShardRun, "run_table", spy)
        return paths

    return make
