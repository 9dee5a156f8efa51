"""The writer lock of s3:// outputs (conditional PUT + heartbeat, two real processes on moto), and the
cleaning of staging files that a killed run left behind."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datacraft.io import fs
from tests.helpers import make_corpus, tree_digest
from tests.s3_server import S3Server, s3_server  # noqa: F401 - the fixture
from tests.test_storage_s3 import REPO, datacraft, s3_digest, write_pipeline

BUCKET = "datacraft-lock"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_clean_staging_removes_only_dead_processes_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATACRAFT_SCRATCH", str(tmp_path))
    staging = fs.scratch_dir() / "staging"
    staging.mkdir(parents=True)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f"0123456789abcdef-tmp-{fs.HOST}-{_dead_pid()}-part-00001-0000.parquet",
            "live": f"0123456789abcdef-tmp-{fs.HOST}-{live.pid}-part-00002-0000.parquet",
            "mine": f"0123456789abcdef-tmp-{fs.HOST}-{os.getpid()}-part-00003-0000.parquet",
            "other_host": "0123456789abcdef-tmp-elsewhere-1-part-00004-0000.parquet",
            "not_staging": "notes.txt",
        }
        for name in names.values():
            (staging / name).write_bytes(b"x")
        assert fs.clean_staging(f"tmp-{fs.HOST}-") == 1
        assert sorted(p.name for p in staging.iterdir()) == sorted(v for k, v in names.items() if k != "dead")
    finally:
        live.kill()
        live.wait()


def test_no_conditional_writes_means_no_lock_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    from datacraft.io.lock import output_lock

    with caplog.at_level(logging.WARNING, logger="datacraft.io.lock"), output_lock("memory://bucket/out") as path:
        assert str(path) == "memory://bucket/out/_lock"
    assert "no writer lock on memory://bucket/out" in caplog.text


def _lock(server: S3Server, prefix: str) -> dict | None:
    store = server.fs()
    try:
        return json.loads(store.cat_file(f"{BUCKET}/{prefix}/_lock"))
    except FileNotFoundError:
        return None


HOLD = """
import sys, time
from datacraft.io.lock import output_lock
with output_lock(sys.argv[1], command="holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_s3_lock_between_two_processes(s3_server: S3Server, tmp_path: Path) -> None:  # noqa: F811
    env = s3_server.client_env(DATACRAFT_LOCK_TTL="2", DATACRAFT_SCRATCH=str(tmp_path / "scratch"))
    make_corpus(tmp_path / "in", shards=4, docs=300)
    store = s3_server.fs()
    store.mkdir(BUCKET)
    store.put(str(tmp_path / "in") + "/", f"{BUCKET}/in/", recursive=True)
    ref = write_pipeline(tmp_path / "ref.yaml", str(tmp_path / "in"), str(tmp_path / "ref"))
    assert datacraft(["run", str(ref), "--quiet"], env).returncode == 0
    pipeline = write_pipeline(tmp_path / "p.yaml", f"s3://{BUCKET}/in", f"s3://{BUCKET}/out")

    # Process 1 holds the lock of the output (as a run does) and keeps its heartbeat (TTL 2 s, every 0.4 s).
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, f"s3://{BUCKET}/out"],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        held = _lock(s3_server, "out")
        assert held is not None and held["pid"] == holder.pid and held["host"] == fs.HOST
        time.sleep(2.5)  # longer than the TTL: only the heartbeat keeps the lock
        second = datacraft(["run", str(pipeline), "--quiet"], env, cwd=tmp_path)
        assert second.returncode == 2, (second.stdout, second.stderr)
        assert f"is being written by pid {holder.pid} on host {fs.HOST}" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr and len(second.stderr.strip().splitlines()) == 1, second.stderr
        beat = _lock(s3_server, "out")
        assert beat is not None and beat["heartbeat_unix"] > held["heartbeat_unix"], "no heartbeat"
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
    assert _lock(s3_server, "out") is not None, "a killed process cannot delete its lock"
    # Its holder is dead (this host, no such pid): the next run takes the lock over at once, holds it
    # under its own pid while it runs, and releases it at the end.
    run = subprocess.Popen(
        [sys.executable, "-m", "datacraft", "run", str(pipeline)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: set[int] = set()  # the holders seen while the run works (a fast run may end between two looks)
    while run.poll() is None:
        current = _lock(s3_server, "out")
        if current is not None:
            seen.add(current["pid"])
        time.sleep(0.02)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "took over the stale lock" in err and f"pid {holder.pid} on host {fs.HOST}" in err, err
    assert seen <= {holder.pid, run.pid}, f"unexpected lock holders {seen}"
    assert s3_digest(s3_server, f"{BUCKET}/out") == tree_digest(tmp_path / "ref")
    assert _lock(s3_server, "out") is None, "the lock was not released"

    # A lock of another host, just written: refused, whatever that host's clock says (a minute behind ours
    # here: its body's heartbeat looks a minute old); the age is the store's (test_lock_age_on_the_stores_clock).
    other = {"pid": 4242, "host": "elsewhere", "started": "2026-01-01T00:00:00Z", "command": "datacraft run x"}
    store.pipe_file(f"{BUCKET}/out/_lock", json.dumps({**other, "heartbeat_unix": time.time() - 60}).encode())
    r = datacraft(["run", str(pipeline), "--quiet"], {**env, "DATACRAFT_LOCK_TTL": "60"}, cwd=tmp_path)
    assert r.returncode == 2 and "pid 4242 on host elsewhere" in r.stderr, r.stderr
    assert re.search(r"last heartbeat \d s ago", r.stderr), r.stderr  # the start-up of the run, not 60 s
    assert s3_digest(s3_server, f"{BUCKET}/out") == tree_digest(tmp_path / "ref")


def test_lock_age_on_the_stores_clock(s3_server: S3Server) -> None:  # noqa: F811
    """Staleness is judged by the lock's Last-Modified against the store's Date, not by the heartbeat time a
    host with a wrong clock wrote into the lock: an hour-behind lock just written is held, an hour-ahead
    lock no longer rewritten is taken over once the store says it is older than the TTL."""
    from datacraft.errors import OutputLockedError
    from datacraft.io.remote_lock import S3Lock

    store = s3_server.fs()
    if not store.exists(BUCKET):
        store.mkdir(BUCKET)
    root = fs.as_path(f"s3://{BUCKET}/skew")
    other = {"pid": 4242, "host": "elsewhere", "command": "datacraft run x"}
    store.pipe_file(f"{BUCKET}/skew/_lock", json.dumps({**other, "heartbeat_unix": time.time() - 3600}).encode())
    with pytest.raises(OutputLockedError, match="pid 4242 on host elsewhere"):
        S3Lock(root, ttl=5).acquire()  # ages are whole seconds (and a loaded machine is slow): a few at most
    store.pipe_file(f"{BUCKET}/skew/_lock", json.dumps({**other, "heartbeat_unix": time.time() + 3600}).encode())
    time.sleep(1.1)  # the store's clock: at least 1 s since the write, more than a TTL of 0.5 s
    lock = S3Lock(root, ttl=0.5)
    lock.acquire()
    try:
        assert _lock(s3_server, "skew")["pid"] == os.getpid()  # type: ignore[index]
    finally:
        lock.release()
    assert _lock(s3_server, "skew") is None


def test_lock_age_from_the_response() -> None:
    from datetime import UTC, datetime

    from datacraft.io.remote_lock import lock_age

    modified = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    answer = {"LastModified": modified, "ResponseMetadata": {"HTTPHeaders": {"date": "Thu, 01 Jan 2026 12:05:00 GMT"}}}
    assert lock_age(answer) == 300.0
    assert lock_age({"ResponseMetadata": {}}) is None
    no_date = lock_age({"LastModified": datetime.now(UTC), "ResponseMetadata": {"HTTPHeaders": {}}})
    assert no_date is not None and 0 <= no_date < 60  # no Date header: this host's clock


def test_a_store_refusing_conditional_writes_gets_a_warning(
    s3_server: S3Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store that answers 501 NotImplemented to If-None-Match (as some S3-compatible stores do): no lock,
    a warning, the run goes on (moto honours conditions, so the answer is simulated at the client call)."""
    import errno

    from datacraft.io.lock import output_lock
    from datacraft.io.remote_lock import S3Lock

    store = s3_server.fs()
    if not store.exists(BUCKET):
        store.mkdir(BUCKET)

    def refuse(self: S3Lock, **condition: str) -> str:
        raise OSError(errno.ENOSYS, "NotImplemented: A header you provided implies functionality not implemented")

    monkeypatch.setattr(S3Lock, "_put", refuse)
    with caplog.at_level(logging.WARNING, logger="datacraft.io.lock"), output_lock(f"s3://{BUCKET}/nolock"):
        pass
    assert f"no writer lock on s3://{BUCKET}/nolock" in caplog.text and "conditional writes" in caplog.text


def test_a_run_whose_lock_was_taken_over_fails(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """Another writer overwrites the lock while this one holds it: the heartbeat notices, the block ends in
    OutputLockLostError (exit 1) instead of reporting success."""
    from datacraft.errors import OutputLockLostError
    from datacraft.io.lock import output_lock

    monkeypatch.setenv("DATACRAFT_LOCK_TTL", "1")  # heartbeat every 0.2 s
    store = s3_server.fs()
    if not store.exists(BUCKET):
        store.mkdir(BUCKET)
    other = {"pid": 4242, "host": "elsewhere", "heartbeat_unix": time.time()}
    lost = pytest.raises(OutputLockLostError, match="taken over by another writer")
    with lost as caught, output_lock(f"s3://{BUCKET}/lost"):
        store.pipe_file(f"{BUCKET}/lost/_lock", json.dumps(other).encode())  # a new ETag: not ours any more
        time.sleep(0.8)
    assert caught.value.exit_code == 1
    assert _lock(s3_server, "lost") == other, "the other writer's lock must be left in place"
